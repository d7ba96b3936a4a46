import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, toKubeTime } from './clock.ts';

describe('toKubeTime', () => {
  it('writes RFC 3339 to the second, and the remembered second never answers for another', () => {
    const start = Date.parse('2026-03-01T12:34:56.000Z');
    assert.equal(toKubeTime(start), '2026-03-01T12:34:56Z');
    assert.equal(toKubeTime(start + 999), '2026-03-01T12:34:56Z');
    assert.equal(toKubeTime(start + 1000), '2026-03-01T12:34:57Z');
    assert.equal(toKubeTime(start - 1), '2026-03-01T12:34:55Z');
    assert.equal(toKubeTime(start + 500), '2026-03-01T12:34:56Z');
    assert.throws(() => toKubeTime(Number.NaN), RangeError);
  });

  it('is what a manual clock reports as it moves', () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    assert.equal(clock.nowIso(), '2026-01-01T00:00:00Z');
    clock.advance(61_500);
    assert.equal(clock.nowIso(), '2026-01-01T00:01:01Z');
  });
});
