/**
 * Watch groups, end to end over HTTP/2: watches of the same kind, namespace, selectors and
 * bookmark setting share one watch of the cache once they have caught up with it, and each still
 * gets exactly the events its own resourceVersion asked for, in order, once each.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import type { TestHub } from '../src/testing/hub.ts';
import { startHubOverH2, stopHubOverH2, h2Request, h2Watch, type H2WatchEvent } from '../src/testing/http2.ts';
import { makeConfigMap } from '../src/testing/config-map.ts';
import { waitFor } from '../src/testing/wait.ts';

describe('watch groups', () => {
  let hub: TestHub;
  let session: ClientHttp2Session;
  const base = '/api/v1/namespaces/default/configmaps';
  before(async () => ({ hub, session } = await startHubOverH2()));
  after(() => stopHubOverH2({ hub, session }));

  async function write(name: string, value: string, labels: Record<string, string> = {}): Promise<string> {
    const existing = await h2Request(session, 'GET', `${base}/${name}`, { token: hub.token });
    const body = makeConfigMap().name(name).labels(labels).data({ v: value }).json();
    const answer = existing.status === 404
      ? await h2Request(session, 'POST', base, { token: hub.token, body })
      : await h2Request(session, 'PUT', `${base}/${name}`, { token: hub.token, body });
    assert.ok(answer.status < 300, answer.body);
    return JSON.parse(answer.body).metadata.resourceVersion as string;
  }

  const summary = (events: H2WatchEvent[]) => events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name} ${e.object.data?.v}`);

  it('gives each member the events after its own resourceVersion, once each and in order, through one shared watch', async () => {
    const before = hub.handler.watchGroups;
    const r0 = await write('g-a', '1');
    const founder = h2Watch(session, `${base}?watch=true&resourceVersion=${r0}`, hub.token);
    await waitFor('the first watch to found a group', () => hub.handler.watchGroups.groups === before.groups + 1);
    await write('g-a', '2');
    const r2 = await write('g-b', '1');
    // From an older revision: replays two changes alone, then joins.
    const older = h2Watch(session, `${base}?watch=true&resourceVersion=${r0}`, hub.token);
    // From the newest revision: nothing to replay.
    const newest = h2Watch(session, `${base}?watch=true&resourceVersion=${r2}`, hub.token);
    // From a revision not reached yet: alone until the cache gets there, then a member.
    const ahead = h2Watch(session, `${base}?watch=true&resourceVersion=${Number(r2) + 1}`, hub.token);
    // Without a resourceVersion: the current objects as ADDED first.
    const fresh = h2Watch(session, `${base}?watch=true`, hub.token);
    // Other selectors or a Table are other streams of bytes: not members.
    const labelled = h2Watch(session, `${base}?watch=true&resourceVersion=${r2}&labelSelector=tier%3Dfront`, hub.token);
    const table = h2Watch(session, `${base}?watch=true&resourceVersion=${r2}`, hub.token, { accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' });
    await waitFor('every watch to be open', () => hub.handler.watchCount >= 7 && [older, newest, ahead, fresh, labelled, table].every((w) => w.status() === 200));
    await waitFor('the older watch to replay', () => older.events.length === 2);
    await waitFor('the fresh watch to list', () => fresh.events.length === 2);
    // Founder, older, newest and fresh share one group; the labelled watch has one of its own.
    assert.deepEqual(hub.handler.watchGroups, { groups: before.groups + 2, members: before.members + 5 });
    const metrics = await h2Request(session, 'GET', '/metrics', { token: hub.token });
    assert.match(metrics.body, new RegExp(`^apiserver_watch_groups ${before.groups + 2}$`, 'm'));

    await write('g-a', '3', { tier: 'front' });
    await write('g-c', '1');
    await waitFor('the watch from ahead to get its first change', () => ahead.events.length === 1);
    assert.deepEqual(hub.handler.watchGroups, { groups: before.groups + 2, members: before.members + 6 });
    // The founder leaves; the group carries on for the others.
    founder.close();
    await waitFor('the founder to be gone', () => hub.handler.watchCount === 6);
    await write('g-b', '2');

    const shared = ['MODIFIED g-a 3', 'ADDED g-c 1', 'MODIFIED g-b 2'];
    await waitFor('every change to arrive', () => newest.events.length >= 3 && older.events.length >= 5 && fresh.events.length >= 5 && labelled.events.length >= 1 && table.events.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(summary(founder.events), ['MODIFIED g-a 2', 'ADDED g-b 1', 'MODIFIED g-a 3', 'ADDED g-c 1']);
    assert.deepEqual(summary(older.events), ['MODIFIED g-a 2', 'ADDED g-b 1', ...shared]);
    assert.deepEqual(summary(newest.events), shared);
    assert.deepEqual(summary(ahead.events), shared.slice(1));
    assert.deepEqual(summary(fresh.events).sort().slice(0, 2), ['ADDED g-a 2', 'ADDED g-b 1']);
    assert.deepEqual(summary(fresh.events).slice(2), shared);
    // g-a enters the selector with its update, so this watch sees it as ADDED.
    assert.deepEqual(summary(labelled.events), ['ADDED g-a 3']);
    assert.deepEqual(table.events.map((e) => `${e.type} ${e.object.kind}`), ['MODIFIED Table', 'ADDED Table', 'MODIFIED Table']);
    for (const watch of [older, newest, ahead, fresh, labelled, table]) watch.close();
    await waitFor('the groups to be gone once their members are', () => hub.handler.watchGroups.groups === before.groups);
    assert.deepEqual(hub.handler.watchGroups, before);
  });

  it('gives every watch exactly the changes after its resourceVersion while writes and joins interleave', async () => {
    /** The creates and updates the writer made, in order: "TYPE name revision". */
    const changes: Array<{ line: string; revision: number }> = [];
    const record = (type: string, body: string) => {
      const object = JSON.parse(body) as { metadata: { name: string; resourceVersion: string } };
      changes.push({ line: `${type} ${object.metadata.name} ${object.metadata.resourceVersion}`, revision: Number(object.metadata.resourceVersion) });
    };
    const line = (e: H2WatchEvent) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`;
    const first = await h2Request(session, 'POST', base, { token: hub.token, body: makeConfigMap().name('churn-0').data({ n: '0' }).json() });
    record('ADDED', first.body);
    const start = changes[0]!.revision;
    // Every change after the first, deletes included (whose revision only a watch tells).
    const reference = h2Watch(session, `${base}?watch=true&resourceVersion=${start}`, hub.token);
    const watches: Array<{ from: number; watch: ReturnType<typeof h2Watch> }> = [];
    const opening = (async () => {
      // Watches open while the writes go on, each from a revision already written (older ones
      // replay first) or from the next one (which may have been written by the time it arrives).
      for (let i = 0; i < 60; i++) {
        const known = changes.map((c) => c.revision);
        const from = i % 10 === 9 ? known[known.length - 1]! + 1 : known[Math.floor(Math.random() * known.length)]!;
        watches.push({ from, watch: h2Watch(session, `${base}?watch=true&resourceVersion=${from}`, hub.token) });
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
    for (let n = 1; n <= 120; n++) {
      const name = `churn-${n % 6}`;
      const body = makeConfigMap().name(name).data({ n: String(n) }).json();
      const put = await h2Request(session, 'PUT', `${base}/${name}`, { token: hub.token, body });
      if (put.status === 404) record('ADDED', (await h2Request(session, 'POST', base, { token: hub.token, body })).body);
      else record('MODIFIED', put.body);
      if (n % 40 === 0) assert.equal((await h2Request(session, 'DELETE', `${base}/${name}`, { token: hub.token })).status, 200);
    }
    await opening;
    const last = changes[changes.length - 1]!.revision;
    await waitFor('the reference watch to see the last write', () => reference.events.some((e) => Number(e.object.metadata.resourceVersion) === last));
    const all = reference.events.filter((e) => e.type !== 'BOOKMARK');
    // The reference saw every create and update, in the writer's order, and the three deletes between them.
    assert.deepEqual(all.filter((e) => e.type !== 'DELETED').map(line), changes.slice(1).map((c) => c.line));
    assert.equal(all.filter((e) => e.type === 'DELETED').length, 3);
    const expected = (from: number) => all.filter((e) => Number(e.object.metadata.resourceVersion) > from).map(line);
    const got = (w: ReturnType<typeof h2Watch>) => w.events.filter((e) => e.type !== 'BOOKMARK').map(line);
    await waitFor('every watch to see the last change', () => watches.every(({ from, watch }) => got(watch).length >= expected(from).length), { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const groups = hub.handler.watchGroups;
    for (const { from, watch } of watches) {
      assert.deepEqual(got(watch), expected(from), `the watch from ${from} (of ${start}..${last})`);
    }
    // By now they (and the reference watch) share one group: each joined once it had caught up.
    assert.ok(groups.groups >= 1 && groups.members >= 55, `watch groups: ${JSON.stringify(groups)}`);
    for (const { watch } of watches) watch.close();
    reference.close();
  });
});
