import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../machinery/clock.ts';
import { podInfo } from './pod-info.ts';
import { SchedulingQueue } from './queue.ts';
import { makePod } from './testing.ts';

const info = (name: string, priority = 0) => podInfo(makePod().name(name).priority(priority).obj());

describe('SchedulingQueue', () => {
  it('pops by priority, then arrival', () => {
    const clock = new ManualClock();
    const q = new SchedulingQueue({ clock });
    q.add(info('low-1', 1));
    clock.advance(1);
    q.add(info('high', 10));
    clock.advance(1);
    q.add(info('low-2', 1));
    assert.deepEqual([q.pop(), q.pop(), q.pop()].map((x) => x?.info.name), ['high', 'low-1', 'low-2']);
    assert.equal(q.pop(), undefined);
  });

  it('backs off 1 s, 2 s, 4 s ... up to 10 s on the injected clock', () => {
    const clock = new ManualClock();
    const q = new SchedulingQueue({ clock });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => q.backoffDuration(n)), [1000, 2000, 4000, 8000, 10000, 10000]);
    q.add(info('p'));
    let p = q.pop()!;
    q.requeue(p, 'error');
    assert.equal(q.stats().backoff, 1);
    clock.advance(999);
    assert.equal(q.pop(), undefined);
    clock.advance(1);
    p = q.pop()!;
    assert.equal(p.info.name, 'p');
    assert.equal(p.attempts, 2);
    q.requeue(p, 'error');
    clock.advance(1999);
    assert.equal(q.pop(), undefined);
    clock.advance(1);
    assert.equal(q.pop()?.attempts, 3);
  });

  it('keeps unschedulable pods until a cluster event, then respects their backoff', () => {
    const clock = new ManualClock();
    const q = new SchedulingQueue({ clock });
    q.add(info('p'));
    const p = q.pop()!;
    q.requeue(p, 'unschedulable', ['NodeResourcesFit']);
    assert.equal(q.stats().unschedulable, 1);
    clock.advance(60_000);
    assert.equal(q.pop(), undefined, 'time alone (under 5 min) does not retry it');
    q.moveAllToActiveOrBackoff('NodeAdd');
    assert.equal(q.pop()?.info.name, 'p', 'its 1 s backoff ran out long ago');
  });

  it('sends a pod moved during its backoff to backoffQ', () => {
    const clock = new ManualClock();
    const q = new SchedulingQueue({ clock });
    q.add(info('p'));
    const p = q.pop()!;
    q.requeue(p, 'unschedulable');
    q.moveAllToActiveOrBackoff('PodDelete');
    assert.deepEqual(q.stats(), { active: 0, backoff: 1, unschedulable: 0, inFlight: 0 });
    clock.advance(1000);
    assert.equal(q.pop()?.info.name, 'p');
  });

  it('an event during the attempt sends the pod to backoff rather than unschedulable', () => {
    const clock = new ManualClock();
    const q = new SchedulingQueue({ clock });
    q.add(info('p'));
    const p = q.pop()!;
    q.moveAllToActiveOrBackoff('NodeAdd');
    q.requeue(p, 'unschedulable');
    assert.equal(q.stats().backoff, 1);
  });

  it('flushes pods unschedulable for 5 minutes', () => {
    const clock = new ManualClock();
    const q = new SchedulingQueue({ clock });
    q.add(info('p'));
    q.requeue(q.pop()!, 'unschedulable');
    clock.advance(299_999);
    assert.equal(q.pop(), undefined);
    assert.equal(q.nextWakeAt(), clock.now() + 1);
    clock.advance(1);
    assert.equal(q.pop()?.info.name, 'p');
  });

  it('moves an updated unschedulable pod back, and forgets deleted ones', () => {
    const clock = new ManualClock();
    const q = new SchedulingQueue({ clock });
    q.add(info('p'));
    q.requeue(q.pop()!, 'unschedulable');
    clock.advance(5_000);
    q.update(info('p', 5));
    assert.equal(q.pop()?.info.priority, 5);
    q.add(info('gone'));
    q.delete('default/gone');
    assert.equal(q.pop(), undefined);
  });
});
