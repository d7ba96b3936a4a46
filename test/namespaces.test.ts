/**
 * End-to-end: creates respect a namespace's life, on the memory and the SQLite store. The hub
 * remembers namespaces it has seen active (so most creates read no namespace), and must forget
 * one the moment it starts terminating or is gone: a create then gets 403 or 404, never 201.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { makeConfigMap } from '../src/testing/config-map.ts';
import { waitFor } from '../src/testing/wait.ts';

const json = { 'content-type': 'application/json' };

for (const store of ['memory', 'sqlite'] as const) {
  describe(`creates and the namespace's life (${store} store)`, () => {
    let hub: TestHub | undefined;
    afterEach(async () => {
      await hub?.close();
      hub = undefined;
    });

    it('refuses content in a namespace that is terminating or gone, and accepts it again once it is back', async () => {
      hub = await startTestHub({ store });
      const h = hub;
      const createIn = (ns: string, name: string) => h.call('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: makeConfigMap().name(name).json(), headers: json });

      const missing = await createIn('nowhere', 'a');
      assert.equal(missing.status, 404);
      assert.match(missing.json().message, /namespaces "nowhere" not found/);

      assert.equal((await h.call('POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shortlived' } }), headers: json })).status, 201);
      for (let i = 0; i < 3; i++) assert.equal((await createIn('shortlived', `before-${i}`)).status, 201);

      // 202: the namespace is terminating while its content is removed.
      assert.equal((await h.call('DELETE', '/api/v1/namespaces/shortlived')).status, 202);
      const during = await createIn('shortlived', 'after');
      assert.ok(during.status === 403 || during.status === 404, `a create right after the delete got ${during.status}: ${during.body}`);
      if (during.status === 403) assert.match(during.json().message, /being terminated/);

      // Once the namespace is gone, creating it again makes it usable again.
      await waitFor('the namespace to be deleted', async () => (await h.call('GET', '/api/v1/namespaces/shortlived')).status === 404);
      assert.equal((await createIn('shortlived', 'gone')).status, 404);
      assert.equal((await h.call('POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shortlived' } }), headers: json })).status, 201);
      assert.equal((await createIn('shortlived', 'again')).status, 201);
    });
  });
}
