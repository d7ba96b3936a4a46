/**
 * End-to-end: optimistic concurrency on one object, on the memory and the SQLite store. What
 * this proves:
 *
 * - a PUT carrying a resourceVersion is a compare-and-swap: with several writers racing
 *   read-modify-write cycles on one ConfigMap (each round starts them from the same read, so
 *   every round is a real race), losers get 409 Conflict, retry on a fresh read, and no update
 *   is lost: each writer's key ends holding every one of its rounds, in order;
 * - a stale resourceVersion answers 409 with a Kubernetes Status (reason Conflict, details
 *   naming the object) and leaves the object as it was;
 * - merge patches (which carry no resourceVersion) racing on one object all land, even 40 at
 *   once: the hub queues read-modify-write work per object and retries any race it still loses,
 *   instead of failing or dropping a patch.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { makeConfigMap } from '../src/testing/config-map.ts';

const writers = 3;
const rounds = 50;
const json = { 'content-type': 'application/json' };

/** Lets `parties` callers through once all of them have arrived, round after round. */
function roundBarrier(parties: number) {
  let waiting: Array<() => void> = [];
  return () => new Promise<void>((resolve) => {
    waiting.push(resolve);
    if (waiting.length === parties) {
      const released = waiting;
      waiting = [];
      for (const release of released) release();
    }
  });
}

for (const store of ['memory', 'sqlite'] as const) {
  describe(`optimistic concurrency on one ConfigMap (${store} store)`, () => {
    let hub: TestHub | undefined;
    afterEach(async () => {
      await hub?.close();
      hub = undefined;
    });
    const path = '/api/v1/namespaces/default/configmaps/shared';

    it(`${writers} racing read-modify-write writers lose no update; losers get 409 and retry`, async () => {
      hub = await startTestHub({ store });
      const h = hub;
      const created = await h.call('POST', '/api/v1/namespaces/default/configmaps', { body: makeConfigMap().name('shared').json(), headers: json });
      assert.equal(created.status, 201, created.body);

      const arrive = roundBarrier(writers);
      let conflicts = 0;
      const unexpected: string[] = [];
      /** Appends `round` to this writer's own key, retrying on 409 until the write lands. */
      const writer = async (id: number) => {
        const key = `writer-${id}`;
        for (let round = 0; round < rounds; round++) {
          let first = true;
          for (;;) {
            const read = await h.call('GET', path);
            assert.equal(read.status, 200, read.body);
            const current = read.json();
            // Every writer has read before any of them writes: in each round all but one lose.
            if (first) await arrive();
            first = false;
            const data: Record<string, string> = { ...current.data };
            data[key] = data[key] === undefined ? String(round) : `${data[key]},${round}`;
            const body = makeConfigMap().name('shared').data(data).resourceVersion(current.metadata.resourceVersion).json();
            const put = await h.call('PUT', path, { body, headers: json });
            if (put.status === 200) break;
            if (put.status === 409 && put.json().reason === 'Conflict') {
              conflicts++;
              continue;
            }
            unexpected.push(`${put.status} ${put.body}`);
            return;
          }
        }
      };
      await Promise.all(Array.from({ length: writers }, (_, id) => writer(id)));

      assert.deepEqual(unexpected, []);
      // Each round has one winner at the first attempt; the others conflict at least once.
      assert.ok(conflicts >= rounds * (writers - 1), `only ${conflicts} conflicts in ${rounds} rounds of ${writers} racing writers`);
      const final = (await h.call('GET', path)).json();
      const everyRound = Array.from({ length: rounds }, (_, r) => r).join(',');
      assert.deepEqual(final.data, Object.fromEntries(Array.from({ length: writers }, (_, id) => [`writer-${id}`, everyRound])));
      // One create plus exactly one successful update per writer per round.
      assert.equal(Number(final.metadata.resourceVersion) - Number(created.json().metadata.resourceVersion), writers * rounds);
    });

    it('answers a PUT with a stale resourceVersion with 409 and a Conflict Status, and changes nothing', async () => {
      hub = await startTestHub({ store });
      const created = await hub.call('POST', '/api/v1/namespaces/default/configmaps', { body: makeConfigMap().name('shared').data({ v: '1' }).json(), headers: json });
      assert.equal(created.status, 201, created.body);
      const staleRv = created.json().metadata.resourceVersion;
      const fresh = await hub.call('PUT', path, { body: makeConfigMap().name('shared').data({ v: '2' }).resourceVersion(staleRv).json(), headers: json });
      assert.equal(fresh.status, 200, fresh.body);

      const stale = await hub.call('PUT', path, { body: makeConfigMap().name('shared').data({ v: 'stale' }).resourceVersion(staleRv).json(), headers: json });
      assert.equal(stale.status, 409, stale.body);
      assert.match(String(stale.headers['content-type']), /^application\/json/);
      const status = stale.json();
      assert.equal(status.kind, 'Status');
      assert.equal(status.apiVersion, 'v1');
      assert.equal(status.status, 'Failure');
      assert.equal(status.reason, 'Conflict');
      assert.equal(status.code, 409);
      assert.equal(status.details?.name, 'shared');
      assert.equal(status.details?.kind, 'configmaps');
      assert.match(status.message, /the object has been modified/);

      const now = (await hub.call('GET', path)).json();
      assert.deepEqual(now.data, { v: '2' });
      assert.equal(now.metadata.resourceVersion, fresh.json().metadata.resourceVersion);
    });

    /**
     * Sends `rounds` rounds of `parallel` merge patches, each setting its own key of one
     * ConfigMap, and returns the answers that were not 200 and how many times the store refused
     * a compare-and-swap (a patch that lost a race and had to be recomputed).
     */
    async function patchStorm(h: TestHub, parallel: number, patchRounds: number) {
      const created = await h.call('POST', '/api/v1/namespaces/default/configmaps', { body: makeConfigMap().name('shared').json(), headers: json });
      assert.equal(created.status, 201, created.body);
      let lostRaces = 0;
      const update = h.store.update.bind(h.store);
      h.store.update = async (...args) => {
        try {
          return await update(...args);
        } catch (err) {
          if ((err as { reason?: string }).reason === 'Conflict') lostRaces++;
          throw err;
        }
      };
      // Open the connections first, so the patches leave together instead of one per TLS handshake.
      await Promise.all(Array.from({ length: parallel }, () => h.call('GET', path)));
      const failed: string[] = [];
      for (let round = 0; round < patchRounds; round++) {
        const results = await Promise.all(Array.from({ length: parallel }, (_, i) => h.call('PATCH', path, {
          body: JSON.stringify({ data: { [`k${round}-${i}`]: String(i) } }),
          headers: { 'content-type': 'application/merge-patch+json' },
        })));
        failed.push(...results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.json().reason}`));
      }
      const final = (await h.call('GET', path)).json();
      const want: Record<string, string> = {};
      for (let round = 0; round < patchRounds; round++) for (let i = 0; i < parallel; i++) want[`k${round}-${i}`] = String(i);
      return { failed, lostRaces, final, want, writes: Number(final.metadata.resourceVersion) - Number(created.json().metadata.resourceVersion) };
    }

    it('lands every one of several racing merge patches on one object, retrying lost races', async () => {
      hub = await startTestHub({ store });
      const parallel = 8;
      const patchRounds = 5;
      const storm = await patchStorm(hub, parallel, patchRounds);
      assert.deepEqual(storm.failed, []);
      assert.deepEqual(storm.final.data, storm.want);
      assert.equal(storm.writes, parallel * patchRounds);
    });

    it('lands every one of 40 racing merge patches on one object', async () => {
      hub = await startTestHub({ store });
      const storm = await patchStorm(hub, 40, 2);
      assert.equal(storm.failed.length, 0, `${storm.failed.length} of 80 patches failed, as ${[...new Set(storm.failed)].join(', ')}`);
      assert.deepEqual(storm.final.data, storm.want);
      assert.equal(storm.writes, 80);
    });
  });
}
