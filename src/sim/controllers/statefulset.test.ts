import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.ts';
import { waitFor } from '../../testing/wait.ts';
import { record } from '../pods.ts';
import { statefulSetsRef } from '../resources.ts';
import { controllerRevisionHashLabel, podIndexLabel, statefulSetController, statefulSetPodNameLabel, statefulSetRevision } from './statefulset.ts';
import { startControllerHarness, type ControllerHarness } from './test-harness.ts';

function statefulSet(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 3,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
      ...spec,
    },
  };
}

describe('StatefulSet controller', () => {
  let h: ControllerHarness;
  before(async () => { h = await startControllerHarness('sts', [statefulSetController]); });
  after(async () => { await h.stop(); });

  const names = (pods: KubeObject[]) => pods.map((p) => p.metadata.name);
  const getSet = (name: string) => h.client.get(statefulSetsRef, 'default', name);

  it('creates ordinals one at a time, each only once the one before is running and ready', async () => {
    await h.client.create(statefulSetsRef, 'default', statefulSet('web'));
    const [first] = await waitFor('web-0', async () => { const p = await h.pods('default', 'app=web'); return p.length === 1 && p; });
    assert.equal(first!.metadata.name, 'web-0');
    assert.equal(first!.metadata.labels?.[statefulSetPodNameLabel], 'web-0');
    assert.equal(first!.metadata.labels?.[podIndexLabel], '0');
    assert.equal(record(first!.spec).hostname, 'web-0');
    assert.equal(record(first!.spec).subdomain, 'web');
    assert.equal(first!.metadata.ownerReferences?.[0]?.kind, 'StatefulSet');

    // Running but not ready: web-1 must not appear.
    await h.runPod(first!, false);
    await waitFor('status to see web-0', async () => record((await getSet('web')).status).replicas === 1);
    assert.deepEqual(names(await h.pods('default', 'app=web')), ['web-0']);

    await h.runPod(first!);
    const second = await waitFor('web-1', async () => (await h.pods('default', 'app=web')).find((p) => p.metadata.name === 'web-1'));
    assert.deepEqual(names(await h.pods('default', 'app=web')), ['web-0', 'web-1']);
    await h.runPod(second);
    const third = await waitFor('web-2', async () => (await h.pods('default', 'app=web')).find((p) => p.metadata.name === 'web-2'));
    await h.runPod(third);

    const set = await waitFor('all ready in status', async () => {
      const s = await getSet('web');
      return record(s.status).readyReplicas === 3 && s;
    });
    const status = record(set.status);
    assert.equal(status.replicas, 3);
    assert.equal(status.availableReplicas, 3);
    assert.equal(status.currentReplicas, 3);
    assert.equal(status.updatedReplicas, 3);
    assert.equal(status.currentRevision, statefulSetRevision(set));
    assert.equal(status.updateRevision, statefulSetRevision(set));
    assert.equal(status.observedGeneration, set.metadata.generation);
  });

  it('scales down from the highest ordinal, one at a time', async () => {
    await h.client.patch(statefulSetsRef, 'default', 'web', 'merge', { spec: { replicas: 1 } });
    await waitFor('scaled to 1', async () => names(await h.pods('default', 'app=web')).join() === 'web-0');
    const status = record((await waitFor('status replicas 1', async () => {
      const s = await getSet('web');
      return record(s.status).replicas === 1 && s;
    })).status);
    assert.equal(status.readyReplicas, 1);
    const events = await h.client.list({ group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true }, 'default');
    const reasons = events.items.filter((e) => record(e.involvedObject).name === 'web').map((e) => String(e.reason));
    assert.ok(reasons.includes('SuccessfulCreate'));
    assert.ok(reasons.includes('SuccessfulDelete'));
  });

  it('rolls a new template from the highest ordinal down, honouring the partition', async () => {
    await h.client.create(statefulSetsRef, 'default', statefulSet('db', {
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } },
    }));
    // Parallel: all three at once, without waiting for readiness.
    const pods = await waitFor('three pods', async () => { const p = await h.pods('default', 'app=db'); return p.length === 3 && p; });
    for (const pod of pods) await h.runPod(pod);
    const oldRevision = pods[0]!.metadata.labels?.[controllerRevisionHashLabel];
    await waitFor('all ready', async () => record((await getSet('db')).status).readyReplicas === 3);

    await h.client.patch(statefulSetsRef, 'default', 'db', 'merge', { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1.28' }] } } } });
    const newRevision = statefulSetRevision(await getSet('db'));
    assert.notEqual(newRevision, oldRevision);
    // db-2 goes first; db-1 waits until db-2 is back and ready.
    const db2 = await waitFor('db-2 on the new revision', async () => (await h.pods('default', 'app=db')).find((p) => p.metadata.name === 'db-2' && p.metadata.labels?.[controllerRevisionHashLabel] === newRevision));
    const db1Before = (await h.pods('default', 'app=db')).find((p) => p.metadata.name === 'db-1')!;
    assert.equal(db1Before.metadata.labels?.[controllerRevisionHashLabel], oldRevision);
    assert.equal((record(db2.spec).containers as Array<{ image: string }>)[0]!.image, 'nginx:1.28');
    await h.runPod(db2);
    const db1 = await waitFor('db-1 on the new revision', async () => (await h.pods('default', 'app=db')).find((p) => p.metadata.name === 'db-1' && p.metadata.labels?.[controllerRevisionHashLabel] === newRevision));
    await h.runPod(db1);

    const status = record((await waitFor('status: two updated', async () => {
      const s = await getSet('db');
      const st = record(s.status);
      return st.updatedReplicas === 2 && st.readyReplicas === 3 && s;
    })).status);
    // db-0 is below the partition: it keeps the old revision, so the rollout is not complete.
    const db0 = (await h.pods('default', 'app=db')).find((p) => p.metadata.name === 'db-0')!;
    assert.equal(db0.metadata.labels?.[controllerRevisionHashLabel], oldRevision);
    assert.equal(status.currentRevision, oldRevision);
    assert.equal(status.updateRevision, newRevision);
    assert.equal(status.currentReplicas, 1);

    // A deleted pod below the partition comes back on the current (old) revision.
    await h.client.delete({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }, 'default', 'db-0');
    const recreated = await waitFor('db-0 recreated', async () => (await h.pods('default', 'app=db')).find((p) => p.metadata.name === 'db-0' && p.metadata.uid !== db0.metadata.uid));
    assert.equal(recreated.metadata.labels?.[controllerRevisionHashLabel], oldRevision);
    assert.equal((record(recreated.spec).containers as Array<{ image: string }>)[0]!.image, 'nginx:1.27');
    await h.runPod(recreated);

    // Partition 0 finishes the rollout, and the current revision moves to the new one.
    await h.client.patch(statefulSetsRef, 'default', 'db', 'merge', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
    const db0New = await waitFor('db-0 on the new revision', async () => (await h.pods('default', 'app=db')).find((p) => p.metadata.name === 'db-0' && p.metadata.labels?.[controllerRevisionHashLabel] === newRevision));
    await h.runPod(db0New);
    await waitFor('rollout complete', async () => {
      const st = record((await getSet('db')).status);
      return st.currentRevision === newRevision && st.currentReplicas === 3 && st.updatedReplicas === 3;
    });
  });

  it('leaves pods alone under OnDelete until they are deleted', async () => {
    await h.client.create(statefulSetsRef, 'default', statefulSet('cache', { replicas: 2, podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' } }));
    const pods = await waitFor('two pods', async () => { const p = await h.pods('default', 'app=cache'); return p.length === 2 && p; });
    for (const pod of pods) await h.runPod(pod);
    await h.client.patch(statefulSetsRef, 'default', 'cache', 'merge', { spec: { template: { metadata: { labels: { app: 'cache', v: '2' } } } } });
    const newRevision = statefulSetRevision(await getSet('cache'));
    await waitFor('update revision in status', async () => record((await getSet('cache')).status).updateRevision === newRevision);
    assert.ok((await h.pods('default', 'app=cache')).every((p) => p.metadata.labels?.[controllerRevisionHashLabel] !== newRevision));

    await h.client.delete({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }, 'default', 'cache-1');
    const recreated = await waitFor('cache-1 recreated', async () => (await h.pods('default', 'app=cache')).find((p) => p.metadata.name === 'cache-1' && p.metadata.labels?.[controllerRevisionHashLabel] === newRevision));
    assert.equal(recreated.metadata.labels?.v, '2');
  });
});
