import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyJson, JsonInterner } from './interner.ts';

const pod = (name: string, phase: string) => ({
  metadata: { name, labels: { app: 'web' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-1', controller: true }] },
  spec: { containers: [{ name: 'app', image: 'app:1', resources: { requests: { cpu: '100m' } } }], tolerations: [] },
  status: { phase },
});

describe('JsonInterner', () => {
  it('returns a deep-frozen copy equal to the input, leaving the input alone', () => {
    const interner = new JsonInterner();
    const input = pod('a', 'Pending');
    const out = interner.intern(input);
    assert.deepEqual(out, input);
    assert.notEqual(out, input);
    assert.ok(Object.isFrozen(out) && Object.isFrozen(out.metadata) && Object.isFrozen(out.spec.containers[0]!.resources));
    assert.ok(!Object.isFrozen(input.metadata));
  });

  it('shares equal parts between objects and between versions of one object', () => {
    const interner = new JsonInterner();
    const a = interner.intern(pod('a', 'Pending'));
    const b = interner.intern(pod('b', 'Pending'));
    const a2 = interner.intern(pod('a', 'Running'));
    assert.equal(a.spec, b.spec);
    assert.equal(a.metadata.labels, b.metadata.labels);
    assert.equal(a.metadata.ownerReferences, b.metadata.ownerReferences);
    assert.notEqual(a.metadata, b.metadata);
    assert.equal(a2.metadata, a.metadata);
    assert.notEqual(a2.status, a.status);
    assert.equal(a2.status.phase, 'Running');
  });

  it('keeps key order and tells apart values that only differ in order or type', () => {
    const interner = new JsonInterner();
    const ab = interner.intern({ a: 1, b: 2 });
    const ba = interner.intern({ b: 2, a: 1 });
    assert.deepEqual(Object.keys(ba), ['b', 'a']);
    assert.notEqual(ab, ba);
    const one = interner.intern({ v: 1 });
    const text = interner.intern({ v: '1' });
    assert.equal(text.v, '1');
    assert.equal(one.v, 1);
    assert.deepEqual(interner.intern([[], {}]), [[], {}]);
    assert.deepEqual(interner.intern([1, [2]]), [1, [2]]);
    assert.notDeepEqual(interner.intern([[1], 2]), interner.intern([1, [2]]));
  });

  it('writes values as JSON does: no undefined properties, null for what JSON cannot hold', () => {
    const interner = new JsonInterner();
    const out = interner.intern({ a: undefined, b: [undefined, Number.NaN], c: new Date(0), d: null }) as Record<string, unknown>;
    assert.deepEqual(out, { b: [null, null], c: '1970-01-01T00:00:00.000Z', d: null });
    assert.ok(!('a' in out));
  });

  it('keeps a __proto__ key as data', () => {
    const interner = new JsonInterner();
    const input = JSON.parse('{"__proto__": {"x": 1}, "y": 2}') as Record<string, unknown>;
    const out = interner.intern(input);
    assert.deepEqual(Object.keys(out), ['__proto__', 'y']);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    const copy = copyJson(input);
    assert.deepEqual(Object.keys(copy), ['__proto__', 'y']);
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  });

  it('holds at most two generations of parts, and still returns equal values once they are forgotten', () => {
    const interner = new JsonInterner({ capacity: 8 });
    const first = interner.intern({ keep: { x: 1 } });
    for (let i = 0; i < 100; i++) interner.intern({ n: { i } });
    assert.ok(interner.size <= 16);
    const again = interner.intern({ keep: { x: 1 } });
    assert.deepEqual(again, first);
  });
});

describe('copyJson', () => {
  it('makes a deep, unfrozen copy', () => {
    const frozen = new JsonInterner().intern(pod('a', 'Running'));
    const copy = copyJson(frozen);
    assert.deepEqual(copy, frozen);
    copy.spec.containers[0]!.image = 'app:2';
    assert.equal(frozen.spec.containers[0]!.image, 'app:1');
  });
});
