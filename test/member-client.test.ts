/**
 * One behaviour suite for both MemberClients, each against its own simulated cluster: what the hub
 * may rely on when it reaches a member must not depend on whether the member is across an HTTPS
 * connection or in the same process. Then what only the HTTPS client meets: an Informer over it
 * (re-listing after 410), kubeconfigs from YAML and with contexts, a wrong token, a member that
 * is not there, and a server whose certificate is not trusted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { Informer, type ClientWatchEvent, type ResourceRef } from '../src/client/index.ts';
import type { KubeObject } from '../src/machinery/object.ts';
import { StatusError } from '../src/machinery/status-error.ts';
import { kubernetesVersion } from '../src/hub/hub.ts';
import { startSimulatedCluster, type SimulatedCluster } from '../src/sim/index.ts';
import { makeConfigMap } from '../src/testing/config-map.ts';
import { waitFor } from '../src/testing/wait.ts';
import {
  InProcessMemberClient, KubeMemberClient, MemberClientClosedError, MemberUnreachableError, findResource, type MemberClient,
} from '../src/member/index.ts';

const configMaps: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
const namespaces: ResourceRef = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };
const deployments: ResourceRef = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true };

const configMap = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) =>
  makeConfigMap().name(name).labels(labels).data(data).obj() as unknown as KubeObject;

function deployment(name: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }, { name: 'sidecar', image: 'registry.example/proxy:1' }] },
      },
    },
  };
}

async function rejectsWith(promise: Promise<unknown>, reason: string, code: number): Promise<StatusError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected ${reason}, but the call succeeded`);
}

async function rejectsWithError<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected a ${type.name}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected a ${type.name}, but the call succeeded`);
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const implementations: Array<[string, (cluster: SimulatedCluster) => MemberClient]> = [
  ['KubeMemberClient', (cluster) => KubeMemberClient.fromKubeconfigFile(cluster.name, cluster.kubeconfigPath)],
  ['InProcessMemberClient', (cluster) => new InProcessMemberClient(cluster)],
];

for (const [label, makeClient] of implementations) {
  describe(label, () => {
    let cluster: SimulatedCluster;
    let member: MemberClient;
    const ns = 'suite';
    before(async () => {
      cluster = await startSimulatedCluster({ name: 'member-a', controllers: false });
      member = makeClient(cluster);
      await member.objects.create(namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    });
    after(async () => {
      await member?.close();
      await cluster?.stop();
    });

    it('reports its name, version and readiness', async () => {
      assert.equal(member.name, 'member-a');
      const version = await member.version();
      assert.equal(version.gitVersion, kubernetesVersion);
      assert.equal(version.major, '1');
      assert.equal(version.minor, '32');
      assert.equal(typeof version.platform, 'string');
      assert.equal(await member.healthy(), true);
    });

    it('discovers the served resources, the same ones the catalog serves', async () => {
      const resources = await member.discover();
      assert.deepEqual(findResource(resources, 'apps/v1', 'Deployment'), deployments);
      assert.deepEqual(findResource(resources, 'v1', 'Node'), { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false });
      assert.equal(findResource(resources, 'fleet.nephele.dev/v1alpha1', 'Cluster'), undefined, 'a member cluster serves no fleet kinds');
      assert.ok(resources.every((r) => !r.plural.includes('/')), 'subresources are not resources');
      const expected = cluster.catalog.all().map((t) => `${t.group}/${t.version}/${t.plural}`).sort();
      assert.deepEqual(resources.map((r) => `${r.group}/${r.version}/${r.plural}`).sort(), expected);
    });

    it('creates, gets and lists with label and field selectors', async () => {
      const created = await member.objects.create(configMaps, ns, configMap('a', { tier: 'web' }, { k: 'v' }));
      assert.equal(created.metadata.name, 'a');
      assert.equal(created.kind, 'ConfigMap');
      assert.equal(typeof created.metadata.creationTimestamp, 'string', 'timestamps stay as the wire has them');
      await member.objects.create(configMaps, ns, configMap('b', { tier: 'db' }));
      await member.objects.create(configMaps, ns, configMap('c', { tier: 'web' }));

      const got = await member.objects.get(configMaps, ns, 'a');
      assert.deepEqual(got.data, { k: 'v' });
      assert.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);

      const web = await member.objects.list(configMaps, ns, { labelSelector: 'tier=web' });
      assert.deepEqual(web.items.map((i) => i.metadata.name).sort(), ['a', 'c']);
      assert.ok(Number(web.resourceVersion) >= Number(created.metadata.resourceVersion));
      assert.ok(web.items.every((i) => i.kind === 'ConfigMap' && i.apiVersion === 'v1'));
      const notDb = await member.objects.list(configMaps, ns, { labelSelector: 'tier!=db,tier' });
      assert.deepEqual(notDb.items.map((i) => i.metadata.name).sort(), ['a', 'c']);

      const byName = await member.objects.list(configMaps, ns, { fieldSelector: 'metadata.name=b' });
      assert.deepEqual(byName.items.map((i) => i.metadata.name), ['b']);
    });

    it('pages a list with limit and continue', async () => {
      const first = await member.objects.list(configMaps, ns, { limit: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.continue);
      const rest = await member.objects.list(configMaps, ns, { limit: 10, continue: first.continue });
      assert.equal(rest.continue, undefined);
      const all = await member.objects.list(configMaps, ns);
      assert.equal(all.items.length, 3);
      assert.deepEqual([...first.items, ...rest.items].map((i) => i.metadata.name), all.items.map((i) => i.metadata.name));
    });

    it('updates, and refuses a stale resourceVersion with 409 Conflict', async () => {
      const current = await member.objects.get(configMaps, ns, 'a');
      const updated = await member.objects.update(configMaps, ns, { ...current, data: { k: 'v2' } });
      assert.deepEqual(updated.data, { k: 'v2' });
      assert.notEqual(updated.metadata.resourceVersion, current.metadata.resourceVersion);
      await rejectsWith(member.objects.update(configMaps, ns, { ...current, data: { k: 'stale' } }), 'Conflict', 409);
      assert.deepEqual((await member.objects.get(configMaps, ns, 'a')).data, { k: 'v2' });
    });

    it('deletes with preconditions; a missing object, a taken name and a bad name are errors', async () => {
      const doomed = await member.objects.create(configMaps, ns, configMap('doomed'));
      await rejectsWith(member.objects.delete(configMaps, ns, 'doomed', { preconditions: { uid: 'not-the-uid' } }), 'Conflict', 409);
      await member.objects.patch(configMaps, ns, 'doomed', 'merge', { data: { touched: 'yes' } });
      await rejectsWith(member.objects.delete(configMaps, ns, 'doomed', { preconditions: { resourceVersion: doomed.metadata.resourceVersion } }), 'Conflict', 409);
      await member.objects.delete(configMaps, ns, 'doomed', { preconditions: { uid: doomed.metadata.uid } });
      const err = await rejectsWith(member.objects.get(configMaps, ns, 'doomed'), 'NotFound', 404);
      assert.match(err.message, /doomed/);
      await rejectsWith(member.objects.delete(configMaps, ns, 'doomed'), 'NotFound', 404);
      await rejectsWith(member.objects.get({ ...configMaps, plural: 'nosuchthings' }, ns, 'x'), 'NotFound', 404);
      await rejectsWith(member.objects.create(configMaps, ns, configMap('a')), 'AlreadyExists', 409);
      const invalid = await rejectsWith(member.objects.create(configMaps, ns, configMap('Not_A_Name')), 'Invalid', 422);
      assert.ok(invalid.details?.causes?.some((c) => c.field === 'metadata.name'), JSON.stringify(invalid.details));
    });

    it('applies json, merge, strategic and apply patches', async () => {
      const json = await member.objects.patch(configMaps, ns, 'a', 'json', [{ op: 'add', path: '/data/added', value: '1' }, { op: 'replace', path: '/data/k', value: 'v3' }]);
      assert.deepEqual(json.data, { k: 'v3', added: '1' });
      await rejectsWith(member.objects.patch(configMaps, ns, 'a', 'json', [{ op: 'test', path: '/data/k', value: 'other' }]), 'Invalid', 422);

      const merge = await member.objects.patch(configMaps, ns, 'a', 'merge', { metadata: { labels: { extra: 'yes' } }, data: { added: null } });
      assert.deepEqual(merge.data, { k: 'v3' });
      assert.deepEqual(merge.metadata.labels, { tier: 'web', extra: 'yes' });

      await member.objects.create(deployments, ns, deployment('web'));
      const strategic = await member.objects.patch(deployments, ns, 'web', 'strategic', {
        spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/app:2' }] } } },
      });
      const containers = (strategic.spec as { template: { spec: { containers: Array<{ name: string; image: string }> } } }).template.spec.containers;
      assert.deepEqual(containers.map((c) => [c.name, c.image]), [['app', 'registry.example/app:2'], ['sidecar', 'registry.example/proxy:1']], 'containers merge by name');

      const applied = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: ns }, data: { owner: 'hub' } };
      await rejectsWith(member.objects.patch(configMaps, ns, 'applied', 'apply', applied), 'BadRequest', 400);
      const created = await member.objects.patch(configMaps, ns, 'applied', 'apply', applied, { fieldManager: 'nephele-hub' });
      assert.deepEqual(created.data, { owner: 'hub' });
      assert.ok(created.metadata.managedFields?.some((f) => f.manager === 'nephele-hub' && f.operation === 'Apply'));
      const rival = { ...applied, data: { owner: 'someone-else' } };
      const conflict = await rejectsWith(member.objects.patch(configMaps, ns, 'applied', 'apply', rival, { fieldManager: 'rival' }), 'Conflict', 409);
      assert.match(conflict.message, /nephele-hub/);
      const forced = await member.objects.patch(configMaps, ns, 'applied', 'apply', rival, { fieldManager: 'rival', force: true });
      assert.deepEqual(forced.data, { owner: 'someone-else' });
    });

    it('writes status only through the status subresource', async () => {
      const current = await member.objects.get(deployments, ns, 'web');
      const ignored = await member.objects.update(deployments, ns, { ...current, status: { replicas: 7 } });
      assert.equal((ignored.status as { replicas?: number } | undefined)?.replicas, undefined, 'the main resource ignores status');

      const withStatus = await member.objects.update(deployments, ns, {
        ...ignored,
        spec: { ...(ignored.spec as object), replicas: 9 },
        status: { replicas: 1, observedGeneration: ignored.metadata.generation },
      }, { subresource: 'status' });
      assert.deepEqual(withStatus.status, { replicas: 1, observedGeneration: ignored.metadata.generation });
      assert.equal((withStatus.spec as { replicas: number }).replicas, 1, 'the status subresource ignores spec');

      const patched = await member.objects.patch(deployments, ns, 'web', 'merge', { status: { readyReplicas: 1 } }, { subresource: 'status' });
      assert.equal((patched.status as { readyReplicas?: number }).readyReplicas, 1);
      assert.equal((patched.status as { replicas?: number }).replicas, 1);
      const stale = await rejectsWith(member.objects.update(deployments, ns, { ...withStatus, status: { replicas: 2 } }, { subresource: 'status' }), 'Conflict', 409);
      assert.match(stale.message, /web/);
    });

    it('watches ADDED, MODIFIED and DELETED from a resourceVersion, with a label selector', async () => {
      const start = await member.objects.list(configMaps, ns);
      const events: ClientWatchEvent[] = [];
      let ended = 0;
      const watch = await member.objects.watch(configMaps, ns, { resourceVersion: start.resourceVersion, labelSelector: 'watched=yes', allowWatchBookmarks: true }, (e) => {
        if (e.type !== 'BOOKMARK') events.push(e);
      }, () => ended++);
      try {
        await member.objects.create(configMaps, ns, configMap('unwatched', { watched: 'no' }));
        const created = await member.objects.create(configMaps, ns, configMap('watched', { watched: 'yes' }, { n: '1' }));
        const patched = await member.objects.patch(configMaps, ns, 'watched', 'merge', { data: { n: '2' } });
        await member.objects.delete(configMaps, ns, 'watched');
        await waitFor('three watch events', () => events.length >= 3, { describe: () => JSON.stringify(events.map((e) => e.type)) });
        assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'watched'], ['MODIFIED', 'watched'], ['DELETED', 'watched']]);
        assert.equal(events[0]!.object.metadata.resourceVersion, created.metadata.resourceVersion);
        assert.equal(events[1]!.object.metadata.resourceVersion, patched.metadata.resourceVersion);
        assert.deepEqual(events[1]!.object.data, { n: '2' });
        assert.equal(events[0]!.object.kind, 'ConfigMap');
      } finally {
        watch.stop();
      }
      await member.objects.create(configMaps, ns, configMap('after-stop', { watched: 'yes' }));
      await member.objects.get(configMaps, ns, 'after-stop');
      assert.equal(events.length, 3, 'no events after stop()');
      assert.equal(ended, 0, 'onEnd must not be called after stop()');
    });

    it('answers a watch from a compacted revision with a 410 ERROR event, then ends', async () => {
      const stale = (await member.objects.list(configMaps, ns)).resourceVersion;
      // Two changes: a watch from the revision just before the oldest one kept still replays.
      await member.objects.create(configMaps, ns, configMap('after-stale-1'));
      await member.objects.create(configMaps, ns, configMap('after-stale-2'));
      await cluster.compact(await cluster.store.currentRevision());
      const events: ClientWatchEvent[] = [];
      const ends: Array<Error | undefined> = [];
      await member.objects.watch(configMaps, ns, { resourceVersion: stale }, (e) => events.push(e), (err) => ends.push(err));
      await waitFor('the watch to end', () => ends.length > 0);
      assert.equal(events.length, 1, JSON.stringify(events));
      assert.equal(events[0]!.type, 'ERROR');
      const status = events[0]!.object as unknown as { kind: string; code: number; reason: string };
      assert.equal(status.kind, 'Status');
      assert.equal(status.code, 410);
      assert.equal(status.reason, 'Expired');
      assert.equal(ends.length, 1);
    });

    it('ends a watch cleanly after its timeoutSeconds', async () => {
      const ends: Array<Error | undefined> = [];
      const start = await member.objects.list(configMaps, ns);
      await member.objects.watch(configMaps, ns, { resourceVersion: start.resourceVersion, timeoutSeconds: 1 }, () => undefined, (err) => ends.push(err));
      await waitFor('the watch to time out', () => ends.length > 0, { timeoutMs: 5_000 });
      assert.deepEqual(ends, [undefined]);
    });

    it('stops its watches on close and refuses calls afterwards', async () => {
      const other = makeClient(cluster);
      const events: ClientWatchEvent[] = [];
      let ended = 0;
      const start = await other.objects.list(configMaps, ns);
      await other.objects.watch(configMaps, ns, { resourceVersion: start.resourceVersion }, (e) => events.push(e), () => ended++);
      await other.close();
      await other.close();
      await member.objects.create(configMaps, ns, configMap('after-close'));
      await member.objects.get(configMaps, ns, 'after-close');
      assert.deepEqual(events, []);
      assert.equal(ended, 0);
      await rejectsWithError(other.objects.get(configMaps, ns, 'a'), MemberClientClosedError);
      await rejectsWithError(other.discover(), MemberClientClosedError);
      assert.equal(await other.healthy(), false);
      assert.equal(await member.healthy(), true, 'closing one client leaves the member and its other clients alone');
    });
  });
}

describe('KubeMemberClient over HTTPS', () => {
  let cluster: SimulatedCluster;
  let kubeconfigYaml: string;
  const ns = 'informed';
  before(async () => {
    cluster = await startSimulatedCluster({ name: 'member-b', controllers: false });
    kubeconfigYaml = readFileSync(cluster.kubeconfigPath, 'utf8');
  });
  after(async () => {
    await cluster?.stop();
  });

  it('runs an Informer that follows changes and re-lists after 410', async () => {
    const member = KubeMemberClient.fromKubeconfigYaml('member-b', kubeconfigYaml);
    const informer = new Informer(member.objects, configMaps, { namespace: ns, pageSize: 2, backoff: { initialMs: 10, maxMs: 50 } });
    const errors: Error[] = [];
    informer.onError((err) => errors.push(err));
    try {
      await member.objects.create(namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      for (const name of ['one', 'two', 'three']) await member.objects.create(configMaps, ns, configMap(name));
      informer.start();
      await informer.synced;
      assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ['one', 'three', 'two']);
      assert.equal(informer.stats.lists, 1);

      await member.objects.create(configMaps, ns, configMap('four'));
      await member.objects.patch(configMaps, ns, 'one', 'merge', { data: { v: '2' } });
      await waitFor('the informer to see the changes', () => informer.get(ns, 'four') && (informer.get(ns, 'one')?.data as Record<string, string> | undefined)?.v === '2');

      // Away while its revision is compacted: the watch it resumes with is answered 410.
      informer.pause();
      await member.objects.delete(configMaps, ns, 'two');
      await member.objects.create(configMaps, ns, configMap('five'));
      await cluster.compact(await cluster.store.currentRevision());
      informer.resume();
      await waitFor('the informer to re-list', () => informer.stats.lists === 2 && informer.get(ns, 'five') && !informer.get(ns, 'two'), {
        describe: () => `${JSON.stringify(informer.stats)} ${informer.list().map((o) => o.metadata.name).join(',')}`,
      });
      const listed = await member.objects.list(configMaps, ns);
      assert.deepEqual(informer.list().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort(), listed.items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort());
      assert.deepEqual(errors, [], 'a 410 is handled by re-listing, not reported');
    } finally {
      await informer.stop();
      await member.close();
    }
  });

  it('takes a KubeConfig and a named context without changing the caller\'s current context', async () => {
    const doc = parseYaml(kubeconfigYaml) as { clusters: Array<{ name: string; cluster: Record<string, unknown> }>; contexts: Array<{ name: string; context: { cluster: string; user: string } }>; 'current-context': string };
    const port = await closedPort();
    doc.clusters.push({ name: 'nowhere', cluster: { server: `https://127.0.0.1:${port}` } });
    doc.contexts.push({ name: 'nowhere', context: { cluster: 'nowhere', user: doc.contexts[0]!.context.user } });
    doc['current-context'] = 'nowhere';
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(stringifyYaml(doc));
    const member = new KubeMemberClient('member-b', kubeConfig, { context: 'member-b' });
    try {
      assert.equal(member.server, cluster.url);
      assert.equal(kubeConfig.getCurrentContext(), 'nowhere');
      assert.equal((await member.objects.get(namespaces, undefined, 'default')).metadata.name, 'default');
    } finally {
      await member.close();
    }
    assert.throws(() => new KubeMemberClient('member-b', kubeConfig, { context: 'missing' }), /no context "missing" \(it has member-b, nowhere\)/);
    assert.throws(() => KubeMemberClient.fromKubeconfigYaml('member-b', 'clusters: [unclosed'), /kubeconfig of member cluster "member-b" is not valid/);
    assert.throws(() => KubeMemberClient.fromKubeconfigYaml('member-b', 'apiVersion: v1\nkind: Config\n'), /has no contexts/);
    assert.throws(() => KubeMemberClient.fromKubeconfigFile('member-b', '/nonexistent/kubeconfig'), /cannot load the kubeconfig of member cluster "member-b" from \/nonexistent\/kubeconfig/);
  });

  it('turns a wrong token into an Unauthorized StatusError, for requests and watches', async () => {
    assert.ok(kubeconfigYaml.includes(cluster.token));
    const member = KubeMemberClient.fromKubeconfigYaml('member-b', kubeconfigYaml.replace(cluster.token, 'not-the-token'));
    try {
      await rejectsWith(member.objects.get(namespaces, undefined, 'default'), 'Unauthorized', 401);
      await rejectsWith(member.objects.list(configMaps, 'default'), 'Unauthorized', 401);
      await rejectsWith(member.objects.watch(configMaps, 'default', {}, () => undefined, () => undefined), 'Unauthorized', 401);
      await rejectsWith(member.objects.create(configMaps, 'default', configMap('x')), 'Unauthorized', 401);
      assert.equal(await member.healthy(), true, '/readyz answers anyone, as kube-apiserver\'s does');
    } finally {
      await member.close();
    }
  });

  it('says which server it could not reach, and is not healthy, when the member is not there', async () => {
    const port = await closedPort();
    const server = `https://127.0.0.1:${port}`;
    const member = KubeMemberClient.fromKubeconfigYaml('gone', kubeconfigYaml.replace(cluster.url, server));
    try {
      assert.equal(await member.healthy(), false);
      const err = await rejectsWithError(member.objects.get(namespaces, undefined, 'default'), MemberUnreachableError);
      assert.equal(err.server, server);
      assert.equal(err.member, 'gone');
      assert.match(err.message, new RegExp(`cannot reach member cluster "gone" at ${server}: .*ECONNREFUSED`));
      await rejectsWithError(member.version(), MemberUnreachableError);
      await rejectsWithError(member.discover(), MemberUnreachableError);
      const watchErr = await rejectsWithError(member.objects.watch(configMaps, 'default', {}, () => undefined, () => undefined), MemberUnreachableError);
      assert.match(watchErr.message, new RegExp(server));
    } finally {
      await member.close();
    }
  });

  it('does not trust a server whose certificate its kubeconfig does not vouch for', async () => {
    const doc = parseYaml(kubeconfigYaml) as { clusters: Array<{ cluster: Record<string, unknown> }> };
    delete doc.clusters[0]!.cluster['certificate-authority-data'];
    const member = KubeMemberClient.fromKubeconfigYaml('member-b', stringifyYaml(doc));
    try {
      const err = await rejectsWithError(member.objects.get(namespaces, undefined, 'default'), MemberUnreachableError);
      assert.match(err.message, /certificate/);
      assert.equal(await member.healthy(), false);
    } finally {
      await member.close();
    }
  });

  it('fails healthy() within its short timeout when the server accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const server = `https://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const member = KubeMemberClient.fromKubeconfigYaml('silent', kubeconfigYaml.replace(cluster.url, server), { healthTimeoutMs: 200, requestTimeoutMs: 300 });
    try {
      assert.equal(await member.healthy(), false);
      const err = await rejectsWithError(member.version(), MemberUnreachableError);
      assert.match(err.message, /no answer within 300 ms/);
    } finally {
      await member.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('InProcessMemberClient', () => {
  it('needs a name when its target has none', async () => {
    const cluster = await startSimulatedCluster({ name: 'member-c', controllers: false });
    try {
      const { registry, catalog } = cluster;
      assert.throws(() => new InProcessMemberClient({ registry, catalog }), /needs a name/);
      const named = new InProcessMemberClient({ registry, catalog }, { name: 'renamed' });
      assert.equal(named.name, 'renamed');
      assert.equal(await named.healthy(), true, 'without a store to ask, an open client is healthy');
      assert.ok(findResource(await named.discover(), 'v1', 'Pod'));
      await named.close();
    } finally {
      await cluster.stop();
    }
  });
});

describe('docs/member-clients.md', () => {
  it('runs its example', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const doc = readFileSync(join(root, 'docs/member-clients.md'), 'utf8');
    const example = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, 'the doc has a ```ts example');
    const dir = mkdtempSync(join(tmpdir(), 'nephele-member-doc-'));
    try {
      const file = join(dir, 'example.ts');
      writeFileSync(file, example.replaceAll("'./src/", `'${join(root, 'src')}/`));
      const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 0, run.stderr);
      const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(doc)?.[1];
      assert.ok(printed, 'the doc shows what the example prints');
      assert.equal(run.stdout, printed);
      assert.match(run.stdout, new RegExp(`member-2: ${kubernetesVersion.replaceAll('.', '\\.')}, healthy: true, serves Deployments: true`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
