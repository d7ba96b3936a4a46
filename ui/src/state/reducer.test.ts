import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectionReducer, compareResourceVersions, emptyCollection, objectKey, type WatchedObject } from './reducer.ts';

function obj(name: string, rv: string, extra: Record<string, unknown> = {}, namespace?: string): WatchedObject {
  return { metadata: { name, resourceVersion: rv, ...(namespace ? { namespace } : {}) }, ...extra };
}

test('a list replaces the collection and records its resourceVersion', () => {
  const s = collectionReducer(emptyCollection(), { type: 'listed', items: [obj('a', '3'), obj('b', '5')], resourceVersion: '7' });
  assert.equal(s.loaded, true);
  assert.equal(s.resourceVersion, '7');
  assert.deepEqual([...s.items.keys()], ['a', 'b']);
});

test('events newer than the list are applied in order: added, modified, deleted', () => {
  let s = collectionReducer(emptyCollection(), { type: 'listed', items: [obj('a', '3')], resourceVersion: '7' });
  s = collectionReducer(s, { type: 'events', events: [
    { type: 'ADDED', object: obj('b', '8') },
    { type: 'MODIFIED', object: obj('a', '9', { spec: { x: 1 } }) },
    { type: 'DELETED', object: obj('b', '10') },
  ] });
  assert.equal(s.resourceVersion, '10');
  assert.deepEqual([...s.items.keys()], ['a']);
  assert.deepEqual(s.items.get('a')!.spec, { x: 1 });
});

test('an event no newer than the collection is dropped as stale', () => {
  const listed = collectionReducer(emptyCollection(), { type: 'listed', items: [obj('a', '6', { v: 'new' })], resourceVersion: '7' });
  const after = collectionReducer(listed, { type: 'events', events: [
    { type: 'MODIFIED', object: obj('a', '5', { v: 'old' }) },
    { type: 'DELETED', object: obj('a', '7') },
  ] });
  assert.equal(after, listed, 'nothing changed, so the same state comes back');
  assert.equal(after.items.get('a')!.v, 'new');
});

test('an event older than the object it would replace is dropped even when newer than the collection', () => {
  // A re-list at 20 shows a at 20; an old stream then delivers a at 15 after a bookmark moved the collection back.
  let s = collectionReducer(emptyCollection(), { type: 'listed', items: [obj('a', '20', { v: 'listed' })], resourceVersion: '10' });
  s = collectionReducer(s, { type: 'events', events: [{ type: 'MODIFIED', object: obj('a', '15', { v: 'stale' }) }] });
  assert.equal(s.items.get('a')!.v, 'listed');
});

test('bookmarks advance the resourceVersion without touching the items', () => {
  const listed = collectionReducer(emptyCollection(), { type: 'listed', items: [obj('a', '1')], resourceVersion: '2' });
  const s = collectionReducer(listed, { type: 'events', events: [{ type: 'BOOKMARK', object: obj('', '40') }] });
  assert.equal(s.resourceVersion, '40');
  assert.equal(s.items, listed.items);
  const stale = collectionReducer(s, { type: 'events', events: [{ type: 'ADDED', object: obj('z', '30') }] });
  assert.equal(stale.items.has('z'), false);
});

test('a list older than the one shown is ignored', () => {
  const s = collectionReducer(emptyCollection(), { type: 'listed', items: [obj('a', '9')], resourceVersion: '9' });
  assert.equal(collectionReducer(s, { type: 'listed', items: [], resourceVersion: '4' }), s);
});

test('namespaced objects are keyed by namespace and name', () => {
  assert.equal(objectKey(obj('web', '1', {}, 'shop')), 'shop/web');
  assert.equal(objectKey(obj('aws', '1')), 'aws');
});

test('resourceVersions compare as numbers, opaque ones as unknown', () => {
  assert.equal(compareResourceVersions('9', '10'), -1);
  assert.equal(compareResourceVersions('10', '10'), 0);
  assert.ok(Number.isNaN(compareResourceVersions('abc', '1')));
});
