import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualScheduler } from '../controller/index.ts';
import type { KubeObject } from '../machinery/object.ts';
import type { Binder } from './interfaces.ts';
import { Scheduler, type ScheduleOutcome } from './scheduler.ts';
import { makeNode, makePod } from './testing.ts';

/** A Binder that records calls and echoes them back to the scheduler as informer events. */
class EchoBinder implements Binder {
  scheduler!: Scheduler;
  binds: Array<[string, string]> = [];
  deletes: string[] = [];
  failNext = 0;

  async bind(pod: KubeObject, nodeName: string): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('conflict');
    }
    this.binds.push([pod.metadata.name!, nodeName]);
    this.scheduler.updatePod(pod, { ...pod, spec: { ...(pod.spec as object), nodeName } });
  }

  async deletePod(victim: KubeObject): Promise<void> {
    this.deletes.push(victim.metadata.name!);
    this.scheduler.deletePod(victim);
  }
}

function setup() {
  const timers = new ManualScheduler();
  const binder = new EchoBinder();
  const outcomes: ScheduleOutcome[] = [];
  const scheduler = new Scheduler({ binder, timers, random: () => 0, onOutcome: (o) => outcomes.push(o) });
  binder.scheduler = scheduler;
  return { timers, binder, scheduler, outcomes };
}

describe('Scheduler', () => {
  it('binds pending pods, assuming them so the next cycle counts them', async () => {
    const { binder, scheduler, timers } = setup();
    scheduler.addNode(makeNode().name('n1').capacity({ cpu: '1' }).obj());
    scheduler.addNode(makeNode().name('n2').capacity({ cpu: '1' }).obj());
    scheduler.addPod(makePod().name('a').requests({ cpu: '1' }).obj());
    scheduler.addPod(makePod().name('b').requests({ cpu: '1' }).obj());
    scheduler.addPod(makePod().name('c').requests({ cpu: '1' }).obj());
    const results = [await scheduler.scheduleOne(), await scheduler.scheduleOne(), await scheduler.scheduleOne()];
    assert.deepEqual(results.map((r) => r?.result), ['Scheduled', 'Scheduled', 'Unschedulable']);
    assert.equal(new Set(binder.binds.map(([, n]) => n)).size, 2);
    assert.match(results[2]!.message, /0\/2 nodes are available: 2 Insufficient cpu/);
    assert.equal(await scheduler.scheduleOne(), undefined);
    // A new node is a cluster event: the unschedulable pod is retried (after its 1 s backoff) and fits.
    scheduler.addNode(makeNode().name('n3').capacity({ cpu: '1' }).obj());
    assert.equal(await scheduler.scheduleOne(), undefined);
    await timers.advance(1000);
    const retry = await scheduler.scheduleOne();
    assert.equal(retry?.nodeName, 'n3');
  });

  it('forgets the assumed pod when binding fails and retries after backoff', async () => {
    const { binder, scheduler, timers } = setup();
    scheduler.addNode(makeNode().name('n1').capacity({ cpu: '1' }).obj());
    binder.failNext = 1;
    scheduler.addPod(makePod().name('a').requests({ cpu: '1' }).obj());
    const first = await scheduler.scheduleOne();
    assert.equal(first?.result, 'Error');
    assert.equal(scheduler.cache.get('n1')!.pods.length, 0, 'the failed bind left nothing assumed');
    assert.equal(await scheduler.scheduleOne(), undefined, 'backing off');
    await timers.advance(1000);
    const second = await scheduler.scheduleOne();
    assert.equal(second?.result, 'Scheduled');
    assert.equal(scheduler.cache.get('n1')!.pods.length, 1);
  });

  it('preempts: deletes the victims, nominates the node, and binds there once they are gone', async () => {
    const { binder, scheduler, timers } = setup();
    scheduler.addNode(makeNode().name('n1').capacity({ cpu: '2' }).obj());
    scheduler.addPod(makePod().name('low').node('n1').priority(1).requests({ cpu: '2' }).obj());
    scheduler.addPod(makePod().name('high').priority(100).requests({ cpu: '2' }).obj());
    const first = await scheduler.scheduleOne();
    assert.equal(first?.result, 'Preempting');
    assert.equal(first?.nominatedNodeName, 'n1');
    assert.deepEqual(binder.deletes, ['low']);
    assert.equal(scheduler.nominatedNodeOf('default/high'), 'n1');
    await timers.advance(1000);
    const second = await scheduler.scheduleOne();
    assert.equal(second?.result, 'Scheduled');
    assert.equal(second?.nodeName, 'n1');
    assert.equal(scheduler.nominatedNodeOf('default/high'), undefined);
  });

  it('keeps room for a nominated pod: an equal-priority pod preempts elsewhere, even on a node added after the nomination', async () => {
    const { binder, scheduler, outcomes } = setup();
    scheduler.addNode(makeNode().name('n1').capacity({ cpu: '4' }).obj());
    scheduler.addPod(makePod().name('low1').node('n1').priority(1).requests({ cpu: '3' }).obj());
    scheduler.addPod(makePod().name('high1').priority(10).requests({ cpu: '3' }).obj());
    assert.equal((await scheduler.scheduleOne())?.nominatedNodeName, 'n1');
    assert.deepEqual(binder.deletes, ['low1']);
    // high1 waits out its backoff; n1 is empty but its room is spoken for.
    scheduler.addNode(makeNode().name('n2').capacity({ cpu: '4' }).obj());
    scheduler.addPod(makePod().name('low2').node('n2').priority(1).requests({ cpu: '3' }).obj());
    scheduler.addPod(makePod().name('high2').priority(10).requests({ cpu: '3' }).obj());
    const second = await scheduler.scheduleOne();
    assert.equal(second?.pod.name, 'high2');
    assert.equal(second?.result, 'Preempting');
    assert.equal(second?.nominatedNodeName, 'n2');
    assert.deepEqual(binder.deletes, ['low1', 'low2']);
    assert.equal(scheduler.cache.get('n2')!.nominatedPods?.[0]?.name, 'high2');
    // A node that leaves and comes back still knows what was nominated to it.
    scheduler.deleteNode('n1');
    scheduler.addNode(makeNode().name('n1').capacity({ cpu: '4' }).obj());
    assert.equal(scheduler.cache.get('n1')!.nominatedPods?.[0]?.name, 'high1');
    assert.equal(outcomes.filter((o) => o.result === 'Scheduled').length, 0);
  });

  it('leaves pods of other schedulers alone and runs a loop until stopped', async () => {
    const { binder, scheduler } = setup();
    scheduler.addNode(makeNode().name('n1').obj());
    scheduler.addPod(makePod().name('other').schedulerName('someone-else').obj());
    scheduler.run();
    scheduler.addPod(makePod().name('mine').obj());
    await scheduler.idle();
    await scheduler.stop();
    assert.deepEqual(binder.binds, [['mine', 'n1']]);
  });
});
