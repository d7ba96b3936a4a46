import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.ts';
import { waitFor } from '../../testing/wait.ts';
import { array, record } from '../pods.ts';
import { daemonSetsRef, nodesRef } from '../resources.ts';
import { daemonPodTolerations, daemonSetController, matchesNodeSelectorTerms, nodePlacement, targetNodeOf } from './daemonset.ts';
import { tolerates } from '../pods.ts';
import { controllerRevisionHashLabel } from './statefulset.ts';
import { startControllerHarness, type ControllerHarness } from './test-harness.ts';

function node(name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec,
    status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '4', memory: '16Gi', pods: '110' } },
  };
}

function daemonSet(name: string, spec: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'agent', image: 'agent:1' }], ...podSpec } },
      ...spec,
    },
  };
}

describe('DaemonSet controller', () => {
  let h: ControllerHarness;
  before(async () => {
    h = await startControllerHarness('ds', [daemonSetController]);
    await h.client.create(nodesRef, undefined, node('n1', { disk: 'ssd' }));
    await h.client.create(nodesRef, undefined, node('n2', {}, { taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] }));
    await h.client.create(nodesRef, undefined, node('n3', {}, { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] }));
  });
  after(async () => { await h.stop(); });

  const podsByNode = async (app: string) => {
    const pods = (await h.pods('default', `app=${app}`)).filter((p) => !p.metadata.deletionTimestamp);
    return new Map(pods.map((p) => [targetNodeOf(p)!, p]));
  };
  const getDs = (name: string) => h.client.get(daemonSetsRef, 'default', name);

  it('runs one pod on every node whose taints it tolerates, pinned by node affinity', async () => {
    await h.client.create(daemonSetsRef, 'default', daemonSet('logs'));
    const byNode = await waitFor('pods on n1 and n3', async () => { const m = await podsByNode('logs'); return m.size === 2 && m; });
    // n2's taint is not tolerated; n3 is unschedulable, which daemon pods tolerate.
    assert.deepEqual([...byNode.keys()].sort(), ['n1', 'n3']);
    const pod = byNode.get('n1')!;
    assert.deepEqual(record(record(record(pod.spec).affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution, {
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
    });
    const tolerationKeys = array(record(pod.spec).tolerations).map((t) => `${String(t.key)}:${String(t.effect)}`);
    for (const t of daemonPodTolerations) assert.ok(tolerationKeys.includes(`${String(t.key)}:${String(t.effect)}`), `${String(t.key)} tolerated`);
    assert.equal(record(pod.spec).nodeName, undefined, 'binding is left to the scheduler');

    for (const p of byNode.values()) await h.runPod(p);
    const ds = await waitFor('status', async () => { const d = await getDs('logs'); return record(d.status).numberReady === 2 && d; });
    const status = record(ds.status);
    assert.equal(status.desiredNumberScheduled, 2);
    assert.equal(status.currentNumberScheduled, 2);
    assert.equal(status.numberAvailable, 2);
    assert.equal(status.updatedNumberScheduled, 2);
    assert.equal(status.numberMisscheduled, 0);
    assert.equal(status.observedGeneration, ds.metadata.generation);
  });

  it('follows nodes: a new node gets a pod, a NoExecute taint removes it', async () => {
    await h.client.create(nodesRef, undefined, node('n4'));
    const pod = await waitFor('pod on n4', async () => (await podsByNode('logs')).get('n4'));
    await h.runPod(pod);
    await h.client.patch(nodesRef, undefined, 'n4', 'merge', { spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } });
    await waitFor('pod off n4', async () => !(await podsByNode('logs')).has('n4'));
    await waitFor('desired back to 2', async () => record((await getDs('logs')).status).desiredNumberScheduled === 2);
  });

  it('keeps pods off nodes its nodeSelector does not match, and counts a NoSchedule-tainted node as misscheduled', async () => {
    await h.client.create(daemonSetsRef, 'default', daemonSet('ssd', {}, { nodeSelector: { disk: 'ssd' } }));
    const byNode = await waitFor('pod on n1 only', async () => { const m = await podsByNode('ssd'); return m.size === 1 && m; });
    assert.ok(byNode.has('n1'));
    // A NoSchedule taint does not evict the pod already there, but it is now misscheduled.
    await h.client.patch(nodesRef, undefined, 'n1', 'merge', { spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } });
    const ds = await waitFor('misscheduled', async () => { const d = await getDs('ssd'); return record(d.status).numberMisscheduled === 1 && d; });
    assert.equal(record(ds.status).desiredNumberScheduled, 0);
    assert.ok((await podsByNode('ssd')).has('n1'));
    await h.client.patch(nodesRef, undefined, 'n1', 'merge', { spec: { taints: null } });
  });

  it('rolls a new template out one node at a time (maxUnavailable 1)', async () => {
    const before = await podsByNode('logs');
    assert.equal(before.size, 2);
    await h.client.patch(daemonSetsRef, 'default', 'logs', 'merge', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'agent:2' }] } } } });
    const first = await waitFor('one node replaced', async () => {
      const m = await podsByNode('logs');
      const fresh = [...m.values()].filter((p) => !before.has(targetNodeOf(p)!) || before.get(targetNodeOf(p)!)!.metadata.uid !== p.metadata.uid);
      return fresh.length === 1 && m.size === 2 && fresh[0];
    });
    const oldHash = [...before.values()][0]!.metadata.labels?.[controllerRevisionHashLabel];
    assert.notEqual(first.metadata.labels?.[controllerRevisionHashLabel], oldHash);
    // The other node keeps its old pod until the new one is available.
    const other = [...(await podsByNode('logs')).values()].find((p) => p.metadata.uid !== first.metadata.uid)!;
    assert.equal(other.metadata.labels?.[controllerRevisionHashLabel], oldHash);
    await h.runPod(first);
    const second = await waitFor('second node replaced', async () => {
      const p = (await podsByNode('logs')).get(targetNodeOf(other)!);
      return p && p.metadata.uid !== other.metadata.uid && p;
    });
    await h.runPod(second);
    await waitFor('all updated and available', async () => {
      const st = record((await getDs('logs')).status);
      return st.updatedNumberScheduled === 2 && st.numberAvailable === 2;
    });
  });

  it('replaces a failed daemon pod', async () => {
    const pod = (await podsByNode('logs')).get('n1')!;
    await h.finishPod(pod, 'Failed');
    await waitFor('a new pod on n1', async () => {
      const p = (await podsByNode('logs')).get('n1');
      return p && p.metadata.uid !== pod.metadata.uid;
    });
  });
});

describe('DaemonSet placement rules', () => {
  const n = node('a', { zone: 'z1', cores: '8' });
  it('matches node selector terms: ORed terms, ANDed requirements, Gt/Lt, matchFields', () => {
    assert.equal(matchesNodeSelectorTerms([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2'] }] }, { matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['4'] }] }], n), true);
    assert.equal(matchesNodeSelectorTerms([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }, { key: 'gpu', operator: 'Exists' }] }], n), false);
    assert.equal(matchesNodeSelectorTerms([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }], n), true);
    assert.equal(matchesNodeSelectorTerms([], n), false);
  });
  it('tolerates by key, value and effect', () => {
    const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
    assert.equal(tolerates({ key: 'k', value: 'v', effect: 'NoSchedule' }, taint), true);
    assert.equal(tolerates({ key: 'k', value: 'w' }, taint), false);
    assert.equal(tolerates({ operator: 'Exists' }, taint), true);
    assert.equal(tolerates({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, taint), false);
  });
  it('lets a pod stay on a NoSchedule-tainted node but not a NoExecute one', () => {
    const template = { spec: { containers: [] } };
    assert.deepEqual(nodePlacement(template, node('b', {}, { taints: [{ key: 'x', effect: 'NoSchedule' }] })), { shouldRun: false, shouldContinueRunning: true });
    assert.deepEqual(nodePlacement(template, node('b', {}, { taints: [{ key: 'x', effect: 'NoExecute' }] })), { shouldRun: false, shouldContinueRunning: false });
    assert.deepEqual(nodePlacement(template, node('b', {}, { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] })), { shouldRun: true, shouldContinueRunning: true });
  });
});
