import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../status-error.ts';
import { applyJsonPatch, maxJsonPatchOperations, parseJsonPatch, parseJsonPointer } from './json-patch.ts';
import { dig, makeDeployment } from './testing/deployments.ts';

function rejects(fn: () => unknown, code: number, message?: RegExp | string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

describe('parseJsonPointer', () => {
  it('unescapes ~1 before ~0, as RFC 6901 requires', () => {
    assert.deepEqual(parseJsonPointer(''), []);
    assert.deepEqual(parseJsonPointer('/'), ['']);
    assert.deepEqual(parseJsonPointer('/a~1b/m~0n/~01'), ['a/b', 'm~n', '~1']);
    assert.deepEqual(parseJsonPointer('/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration'), ['metadata', 'annotations', 'kubectl.kubernetes.io/last-applied-configuration']);
  });

  it('rejects malformed pointers with a 400', () => {
    rejects(() => parseJsonPointer('spec'), 400, /must be empty or start with "\/"/);
    rejects(() => parseJsonPointer('/a~2b'), 400, /"~" must be followed by 0 or 1/);
    rejects(() => parseJsonPointer('/a~'), 400);
  });
});

describe('applyJsonPatch: RFC 6902 appendix A', () => {
  const cases: Array<[string, unknown, unknown, unknown]> = [
    ['A.1 adding an object member', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }], { baz: 'qux', foo: 'bar' }],
    ['A.2 adding an array element', { foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }], { foo: ['bar', 'qux', 'baz'] }],
    ['A.3 removing an object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
    ['A.4 removing an array element', { foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }], { foo: ['bar', 'baz'] }],
    ['A.5 replacing a value', { baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }], { baz: 'boo', foo: 'bar' }],
    [
      'A.6 moving a value',
      { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    ],
    ['A.7 moving an array element', { foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }], { foo: ['all', 'cows', 'eat', 'grass'] }],
    [
      'A.8 testing a value: success',
      { baz: 'qux', foo: ['a', 2, 'c'] },
      [
        { op: 'test', path: '/baz', value: 'qux' },
        { op: 'test', path: '/foo/1', value: 2 },
      ],
      { baz: 'qux', foo: ['a', 2, 'c'] },
    ],
    ['A.10 adding a nested member object', { foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }], { foo: 'bar', child: { grandchild: {} } }],
    ['A.11 ignoring unrecognized elements', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }], { foo: 'bar', baz: 'qux' }],
    ['A.14 ~ escape ordering', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }], { '/': 9, '~1': 10 }],
    ['A.16 adding an array value', { foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], { foo: ['bar', ['abc', 'def']] }],
  ];
  for (const [name, doc, patch, expected] of cases) {
    it(name, () => assert.deepEqual(applyJsonPatch(doc, patch), expected));
  }

  it('A.9 testing a value: error is a 422', () => {
    rejects(() => applyJsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]), 422, /the JSON patch op "test" at \/baz: test failed/);
  });

  it('A.12 adding to a nonexistent target is a 422', () => {
    rejects(() => applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]), 422, /path does not exist/);
  });

  it('A.15 comparing strings and numbers fails the test', () => {
    rejects(() => applyJsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]), 422);
  });
});

describe('applyJsonPatch on Kubernetes objects', () => {
  const deployment = makeDeployment('web').replicas(2).label('app', 'web').container({ name: 'web', image: 'nginx:1.25', env: [{ name: 'A', value: '1' }] }).obj();

  it('never mutates the input, and shares nothing with the patch', () => {
    const before = structuredClone(deployment);
    const value = { name: 'sidecar', image: 'envoy' };
    const result = applyJsonPatch(deployment, [
      { op: 'replace', path: '/spec/replicas', value: 5 },
      { op: 'add', path: '/spec/template/spec/containers/-', value },
      { op: 'remove', path: '/spec/template/spec/containers/0/env/0' },
    ]);
    assert.deepEqual(deployment, before);
    assert.equal(dig(result, 'spec', 'replicas'), 5);
    assert.deepEqual(dig(result, 'spec', 'template', 'spec', 'containers', 1), value);
    value.image = 'changed';
    assert.equal(dig(result, 'spec', 'template', 'spec', 'containers', 1, 'image'), 'envoy');
    assert.deepEqual(dig(result, 'spec', 'template', 'spec', 'containers', 0, 'env'), []);
  });

  it('adds an annotation whose key contains a slash', () => {
    const result = applyJsonPatch(deployment, [{ op: 'add', path: '/metadata/annotations', value: {} }, { op: 'add', path: '/metadata/annotations/example.com~1owner', value: 'team-a' }]);
    assert.deepEqual(result.metadata.annotations, { 'example.com/owner': 'team-a' });
  });

  it('copies values deeply', () => {
    const result = applyJsonPatch(deployment, [{ op: 'copy', from: '/metadata/labels', path: '/spec/template/metadata/labels' }]);
    assert.deepEqual(dig(result, 'spec', 'template', 'metadata', 'labels'), { app: 'web' });
    assert.notEqual(dig(result, 'spec', 'template', 'metadata', 'labels'), result.metadata.labels);
  });

  it('replaces the whole document with path ""', () => {
    assert.deepEqual(applyJsonPatch(deployment, [{ op: 'replace', path: '', value: { a: 1 } }]), { a: 1 });
  });

  it('is atomic: a later failure leaves nothing applied', () => {
    rejects(() => applyJsonPatch(deployment, [{ op: 'replace', path: '/spec/replicas', value: 9 }, { op: 'remove', path: '/spec/foo' }]), 422, 'the JSON patch op "remove" at /spec/foo: path does not exist');
    assert.equal(deployment.spec.replicas, 2);
  });

  it('explains failures that depend on the object with a 422', () => {
    rejects(() => applyJsonPatch(deployment, [{ op: 'replace', path: '/spec/paused', value: true }]), 422, /"replace" at \/spec\/paused: path does not exist/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'add', path: '/spec/template/spec/containers/3', value: {} }]), 422, /index 3 is out of bounds \(the list has 1 item\)/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'remove', path: '/spec/template/spec/containers/-' }]), 422, /"-"/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'remove', path: '/spec/template/spec/containers/01' }]), 422, /not a valid list index/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'move', from: '/spec', path: '/spec/template/x' }]), 422, /own children/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'copy', from: '/spec/nothing', path: '/spec/x' }]), 422, /the "from" path does not exist/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'add', path: '/spec/replicas/x', value: 1 }]), 422, /not an object or a list/);
  });

  it('rejects malformed patch documents with a 400', () => {
    rejects(() => applyJsonPatch(deployment, { op: 'add' }), 400, /must be a list of operations/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'upsert', path: '/a', value: 1 }]), 400, /unknown op "upsert"/);
    rejects(() => applyJsonPatch(deployment, [{ path: '/a' }]), 400, /no "op"/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'add', value: 1 }]), 400, /missing "path"/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'add', path: '/a' }]), 400, /missing "value"/);
    rejects(() => applyJsonPatch(deployment, [{ op: 'move', path: '/a' }]), 400, /missing "from"/);
    rejects(() => applyJsonPatch(deployment, ['add']), 400, /must be an object/);
  });

  it('accepts null as a value', () => {
    assert.equal(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/a', value: null }]).a, null);
  });

  it('refuses patches with too many operations with a 413', () => {
    const ops = Array.from({ length: maxJsonPatchOperations + 1 }, () => ({ op: 'test', path: '', value: {} }));
    rejects(() => parseJsonPatch(ops), 413);
  });
});
