import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScaledScheduler } from './clock.ts';

test('cluster time runs speed times faster than real time', async () => {
  const clock = new ScaledScheduler({ speed: 3600, start: Date.parse('2026-03-02T00:00:00Z') });
  const before = clock.now();
  await new Promise((r) => setTimeout(r, 50));
  const elapsed = clock.now() - before;
  // 50 real ms at 3600x is 180 cluster seconds; timers may oversleep, never undersleep.
  assert.ok(elapsed >= 170_000, `only ${elapsed} cluster ms passed`);
  assert.match(clock.nowIso(), /^2026-03-02T00:0\d:\d\dZ$/);
});

test('a timer for ten cluster minutes fires after a sixth of a real second at 3600x, not before its cluster time', async () => {
  const clock = new ScaledScheduler({ speed: 3600 });
  const set = clock.now();
  const firedAt = await new Promise<number>((resolve) => clock.after(600_000, () => resolve(clock.now())));
  assert.ok(firedAt - set >= 600_000, `fired ${firedAt - set} cluster ms after it was set`);
});

test('a cancelled timer never fires', async () => {
  const clock = new ScaledScheduler({ speed: 1000 });
  let fired = false;
  const cancel = clock.after(1000, () => { fired = true; });
  cancel();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fired, false);
});

test('a speed that is not a positive number is refused with the reason', () => {
  assert.throws(() => new ScaledScheduler({ speed: 0 }), /speed must be a number of at least 0.001/);
  assert.throws(() => new ScaledScheduler({ speed: Number.NaN }), /speed/);
});
