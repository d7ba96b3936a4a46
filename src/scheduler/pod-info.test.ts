import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../machinery/object.ts';
import { podInfo } from './pod-info.ts';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Parts shared the way the store's hash-consing shares them between the pods of one template. */
const containers = deepFreeze([{ name: 'app', image: 'app:1', resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '500m', memory: '1Gi' } } }]);
const tolerations = deepFreeze([{ key: 'spot', operator: 'Exists', effect: 'NoSchedule' }]);
const labels = deepFreeze({ app: 'web' });

function pod(name: string, extra: { namespace?: string; priority?: number; nodeName?: string; containers?: unknown } = {}): KubeObject {
  return deepFreeze({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: extra.namespace ?? 'shop', uid: `uid-${name}`, labels },
    spec: { containers: extra.containers ?? containers, tolerations, ...(extra.priority !== undefined ? { priority: extra.priority } : {}), ...(extra.nodeName ? { nodeName: extra.nodeName } : {}) },
  }) as KubeObject;
}

describe('podInfo', () => {
  it('keeps what is the pod own and reads the rest from its spec', () => {
    const info = podInfo(pod('web-1', { nodeName: 'n1', priority: 7 }));
    assert.equal(info.key, 'shop/web-1');
    assert.equal(info.uid, 'uid-web-1');
    assert.equal(info.nodeName, 'n1');
    assert.equal(info.priority, 7);
    assert.equal(info.requests.milliCpu, 500);
    assert.equal(info.requests.memory, 1024 ** 3);
    assert.equal(info.guaranteed, true);
    assert.equal(info.tolerations.length, 1);
    assert.equal(info.schedulerName, 'default-scheduler');
    assert.ok('requests' in info, 'the spec-derived fields are visible to `in`, as the scheduler cache checks');
  });

  it('shares one spec reading between the pods of one template, wherever they run', () => {
    const a = podInfo(pod('web-1', { nodeName: 'n1' }));
    const b = podInfo(pod('web-2', { nodeName: 'n2' }));
    const pending = podInfo(pod('web-3'));
    assert.equal(a.spec, b.spec);
    assert.equal(a.spec, pending.spec);
    assert.notEqual(a.key, b.key);
  });

  it('reads the spec again when something that matters differs', () => {
    const base = podInfo(pod('web-1'));
    assert.notEqual(podInfo(pod('web-2', { priority: 100 })).spec, base.spec, 'another priority');
    assert.notEqual(podInfo(pod('web-3', { namespace: 'other' })).spec, base.spec, 'another namespace (affinity terms default to it)');
    const bigger = deepFreeze([{ name: 'app', image: 'app:1', resources: { requests: { cpu: '2', memory: '1Gi' } } }]);
    const other = podInfo(pod('web-4', { containers: bigger }));
    assert.notEqual(other.spec, base.spec, 'other containers');
    assert.equal(other.requests.milliCpu, 2000);
    assert.equal(base.requests.milliCpu, 500, 'the first reading is untouched');
  });

  it('does not share readings of specs that may still change (not frozen)', () => {
    const mutable = (): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'm', namespace: 'shop' }, spec: { containers: [{ name: 'c', resources: { requests: { cpu: '1' } } }] } });
    const first = mutable();
    const one = podInfo(first);
    const two = podInfo(mutable());
    assert.notEqual(one.spec, two.spec);
    assert.equal(one.requests.milliCpu, 1000);
  });
});
