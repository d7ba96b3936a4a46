import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { startTestHub, type TestHub } from '../testing/hub.ts';

// On SQLite the hub writes list items from the store's own JSON text; these check that what
// goes out is exactly what serialising the objects gives, in every shape a list takes.
describe('list responses on a SQLite hub', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ store: 'sqlite' });
    await hub.call('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: 'lists' } }) });
    const configMaps = [
      { metadata: { name: 'plain' }, data: { a: '1' } },
      { metadata: { name: 'awkward', labels: { shape: 'odd' } }, data: { text: 'é ✓ "quoted" \\ \u2028 </script>', 10: 'integer-like key', 2: 'another' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typed', labels: { shape: 'odd' } }, binaryData: { blob: 'AAEC' } },
    ];
    for (const body of configMaps) {
      const created = await hub.call('POST', '/api/v1/namespaces/lists/configmaps', { body: JSON.stringify(body) });
      assert.equal(created.status, 201, created.body);
    }
    const secret = await hub.call('POST', '/api/v1/namespaces/lists/secrets', { body: JSON.stringify({ metadata: { name: 's' }, stringData: { password: 'hunter2' } }) });
    assert.equal(secret.status, 201, secret.body);
  });
  after(() => hub.close());

  const getEach = async (plural: string, names: string[]) =>
    Promise.all(names.map(async (name) => (await hub.call('GET', `/api/v1/namespaces/lists/${plural}/${name}`)).json()));

  it('lists the same objects a get of each returns, with the list kind and a resourceVersion', async () => {
    const response = await hub.call('GET', '/api/v1/namespaces/lists/configmaps');
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    const list = response.json();
    assert.equal(list.kind, 'ConfigMapList');
    assert.equal(list.apiVersion, 'v1');
    assert.match(list.metadata.resourceVersion, /^\d+$/);
    assert.deepEqual(list.items, await getEach('configmaps', ['awkward', 'plain', 'typed']));
  });

  it('pages and filters the same way', async () => {
    const first = (await hub.call('GET', '/api/v1/namespaces/lists/configmaps?limit=2')).json();
    assert.deepEqual(first.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['awkward', 'plain']);
    assert.ok(first.metadata.continue);
    const rest = (await hub.call('GET', `/api/v1/namespaces/lists/configmaps?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`)).json();
    assert.deepEqual(rest.items, await getEach('configmaps', ['typed']));
    assert.equal(rest.metadata.continue, undefined);
    const odd = (await hub.call('GET', '/api/v1/namespaces/lists/configmaps?labelSelector=shape%3Dodd')).json();
    assert.deepEqual(odd.items, await getEach('configmaps', ['awkward', 'typed']));
  });

  it('answers YAML with the same list, and 406 for a type it cannot write', async () => {
    const json = (await hub.call('GET', '/api/v1/namespaces/lists/configmaps')).json();
    const yaml = await hub.call('GET', '/api/v1/namespaces/lists/configmaps', { headers: { accept: 'application/yaml' } });
    assert.equal(yaml.status, 200);
    assert.deepEqual(parseYaml(yaml.body), json);
    const refused = await hub.call('GET', '/api/v1/namespaces/lists/configmaps', { headers: { accept: 'text/csv' } });
    assert.equal(refused.status, 406);
    assert.equal(refused.json().reason, 'NotAcceptable');
  });

  it('lists Secrets decrypted, as a get returns them, not as they are stored', async () => {
    const list = (await hub.call('GET', '/api/v1/namespaces/lists/secrets')).json();
    assert.deepEqual(list.items, await getEach('secrets', ['s']));
    assert.equal(Buffer.from(list.items[0].data.password, 'base64').toString(), 'hunter2');
  });
});
