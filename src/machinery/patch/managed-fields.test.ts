import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../object.ts';
import { schemaNode } from '../schema-node.ts';
import { StatusError } from '../status-error.ts';
import {
  fieldSetFromFieldsV1,
  fieldSetFromPaths,
  fieldSetPaths,
  fieldSetToFieldsV1,
  formatFieldPath,
  hasFieldPath,
  intersectFieldSets,
  isEmptyFieldSet,
  subtractFieldSets,
  subtractFieldSubtrees,
  unionFieldSets,
} from './field-set.ts';
import { compareFields, fieldSetOf } from './object-fields.ts';
import { decodeManagedFields, defaultFieldManager, encodeManagedFields, maxUpdateManagers, trackUpdate, trackedFields, mainResourceIgnoredFields } from './managed-fields.ts';
import { deploymentSchema, dig, makeDeployment } from './testing/deployments.ts';

const schema = deploymentSchema();

function deployment() {
  return makeDeployment('web')
    .replicas(3)
    .label('app', 'web')
    .container({ name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }] })
    .obj();
}

describe('FieldSet', () => {
  const a = fieldSetFromPaths([['f:spec', 'f:replicas'], ['f:metadata', 'f:labels', 'f:app']]);
  const b = fieldSetFromPaths([['f:spec', 'f:replicas'], ['f:spec', 'f:paused']]);

  it('unions, intersects and subtracts paths', () => {
    assert.deepEqual(fieldSetPaths(unionFieldSets(a, b)).map(formatFieldPath), ['.metadata.labels.app', '.spec.paused', '.spec.replicas']);
    assert.deepEqual(fieldSetPaths(intersectFieldSets(a, b)).map(formatFieldPath), ['.spec.replicas']);
    assert.deepEqual(fieldSetPaths(subtractFieldSets(a, b)).map(formatFieldPath), ['.metadata.labels.app']);
    assert.ok(isEmptyFieldSet(subtractFieldSets(a, a)));
    assert.ok(hasFieldPath(a, ['f:spec', 'f:replicas']));
    assert.ok(!hasFieldPath(a, ['f:spec']));
  });

  it('subtracts whole subtrees when asked', () => {
    const withStatus = fieldSetFromPaths([['f:spec', 'f:replicas'], ['f:status', 'f:replicas'], ['f:status']]);
    assert.deepEqual(fieldSetPaths(subtractFieldSubtrees(withStatus, fieldSetFromPaths([['f:status']]))), [['f:spec', 'f:replicas']]);
    // Plain subtraction removes the path only.
    assert.deepEqual(fieldSetPaths(subtractFieldSets(withStatus, fieldSetFromPaths([['f:status']]))).map(formatFieldPath), ['.spec.replicas', '.status.replicas']);
  });

  it('formats paths the way kube-apiserver prints them', () => {
    assert.equal(formatFieldPath(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image']), '.spec.template.spec.containers[name="web"].image');
    assert.equal(formatFieldPath(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}']), '.spec.ports[port=80,protocol="TCP"]');
    assert.equal(formatFieldPath(['f:metadata', 'f:finalizers', 'v:"example.com/x"']), '.metadata.finalizers[="example.com/x"]');
    assert.equal(formatFieldPath(['f:items', 'i:3']), '.items[3]');
  });

  it('round-trips FieldsV1 and canonicalizes keys', () => {
    const fieldsV1 = {
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } } },
    };
    assert.deepEqual(fieldSetToFieldsV1(fieldSetFromFieldsV1(fieldsV1)), fieldsV1);
    const spaced = fieldSetFromFieldsV1({ 'f:ports': { 'k:{ "protocol": "TCP", "containerPort": 80 }': {} } });
    assert.deepEqual(fieldSetPaths(spaced), [['f:ports', 'k:{"containerPort":80,"protocol":"TCP"}']]);
    assert.deepEqual(fieldSetToFieldsV1(fieldSetFromPaths([])), {});
  });

  it('rejects what is not FieldsV1 with a 400', () => {
    for (const bad of [{ 'x:foo': {} }, { 'k:notjson': {} }, { 'f:a': 1 }, { 'f:a': { '.': { x: {} } } }, { 'i:01': {} }]) {
      assert.throws(() => fieldSetFromFieldsV1(bad), (err: unknown) => err instanceof StatusError && err.code === 400, JSON.stringify(bad));
    }
  });
});

describe('fieldSetOf (the fields an applied configuration sets)', () => {
  it('claims leaves, list items and map entries, not the objects around them', () => {
    const set = trackedFields(fieldSetOf(deployment(), schema, { strict: true }), mainResourceIgnoredFields);
    assert.deepEqual(fieldSetToFieldsV1(set), {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"web"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
  });

  it('claims set items by value, atomic lists whole, and null or empty fields', () => {
    const obj = makeDeployment().meta({ finalizers: ['example.com/a'] }).container({ name: 'web', args: ['a', 'b'], env: null as never, resources: {} }).obj();
    const paths = fieldSetPaths(fieldSetOf(obj, schema)).map(formatFieldPath);
    assert.ok(paths.includes('.metadata.finalizers[="example.com/a"]'));
    assert.ok(paths.includes('.spec.template.spec.containers[name="web"].args'));
    assert.ok(!paths.some((p) => p.includes('.args[')));
    assert.ok(paths.includes('.spec.template.spec.containers[name="web"].env'));
    assert.ok(paths.includes('.spec.template.spec.containers[name="web"].resources'));
  });

  it('rejects keyed list items without their key, or repeated, with a 400 naming the path', () => {
    // Kubernetes publishes `default: ""` for most key fields, so use a list whose key has no default.
    const keyed = schemaNode({ type: 'object', properties: { spec: { type: 'object', properties: { rules: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } } }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['id'] } } } } }, () => undefined);
    assert.throws(() => fieldSetOf({ spec: { rules: [{ id: 'a' }, { other: 1 }] } }, keyed, { strict: true }), (err: unknown) => err instanceof StatusError && err.code === 400 && /^\.spec\.rules: element 1 omits key field "id"/.test(err.message));
    // A key field left out takes its schema default (containerPort defaults protocol to TCP).
    assert.ok(hasFieldPath(fieldSetOf(deployment(), schema), ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}']));
    const twice = makeDeployment().container({ name: 'web' }).container({ name: 'web' }).obj();
    assert.throws(() => fieldSetOf(twice, schema, { strict: true }), (err: unknown) => err instanceof StatusError && /duplicate entries for key \[name="web"\]/.test(err.message));
    // Stored objects are read leniently.
    assert.ok(!isEmptyFieldSet(fieldSetOf(twice, schema)));
  });
});

describe('compareFields', () => {
  it('reports added containers, modified leaves and removed entries', () => {
    const before = deployment();
    const after = makeDeployment('web').replicas(5).container({ name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }).container({ name: 'log', image: 'fluentbit' }).obj();
    const changes = compareFields(before, after, schema);
    assert.deepEqual(fieldSetPaths(changes.modified).map(formatFieldPath), ['.spec.replicas']);
    assert.deepEqual(fieldSetPaths(changes.added).map(formatFieldPath), [
      '.spec.template.spec.containers[name="log"]',
      '.spec.template.spec.containers[name="log"].image',
      '.spec.template.spec.containers[name="log"].name',
    ]);
    assert.deepEqual(fieldSetPaths(changes.removed).map(formatFieldPath), ['.metadata.labels', '.metadata.labels.app']);
  });
});

describe('managedFields entries', () => {
  it('decodes and encodes entries in kube-apiserver order', () => {
    const entries = [
      { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:replicas': {} } }, subresource: 'status' },
      { manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', time: '2024-05-01T11:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    ];
    const records = decodeManagedFields(entries);
    assert.equal(records.length, 2);
    assert.deepEqual(encodeManagedFields(records), [entries[1], entries[0]]);
  });

  it('rejects malformed entries with a 400', () => {
    const bad = [
      [{ manager: 'a', operation: 'Patch', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }],
      [{ manager: 'a', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {} }],
      [{ manager: 'a', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV2', fieldsV1: {} }],
      'nope',
    ];
    for (const entries of bad) assert.throws(() => decodeManagedFields(entries), (err: unknown) => err instanceof StatusError && err.code === 400);
  });
});

describe('defaultFieldManager', () => {
  it('takes the User-Agent up to the first slash', () => {
    assert.equal(defaultFieldManager('kubectl/v1.31.0 (linux/amd64) kubernetes/6911225'), 'kubectl');
    assert.equal(defaultFieldManager('kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/6911225/system:serviceaccount:kube-system:deployment-controller'), 'kube-controller-manager');
    assert.equal(defaultFieldManager('Go-http-client/2.0'), 'Go-http-client');
    assert.equal(defaultFieldManager('curl'), 'curl');
    assert.equal(defaultFieldManager('x'.repeat(300)), 'x'.repeat(128));
    assert.equal(defaultFieldManager('bad\u0000name/1'), 'badname');
    assert.equal(defaultFieldManager(''), 'unknown');
    assert.equal(defaultFieldManager(undefined), 'unknown');
    assert.equal(defaultFieldManager('/v1'), 'unknown');
  });
});

describe('trackUpdate', () => {
  const opts = { manager: 'kubectl-create', apiVersion: 'apps/v1', now: '2024-05-01T10:00:00Z', schema };
  const entriesOf = (obj: KubeObject) => obj.metadata.managedFields ?? [];

  it('gives the creator every field it set', () => {
    const created = trackUpdate(undefined, deployment(), opts);
    const [entry] = entriesOf(created);
    assert.equal(entriesOf(created).length, 1);
    assert.equal(entry!.manager, 'kubectl-create');
    assert.equal(entry!.operation, 'Update');
    assert.equal(entry!.apiVersion, 'apps/v1');
    assert.equal(entry!.time, '2024-05-01T10:00:00Z');
    const fields = entry!.fieldsV1 as Record<string, any>;
    assert.deepEqual(fields['f:metadata'], { 'f:labels': { '.': {}, 'f:app': {} } });
    assert.deepEqual(fields['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"web"}'], {
      '.': {},
      'f:image': {},
      'f:name': {},
      'f:ports': { '.': {}, 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
    });
    assert.equal(dig(created, 'spec', 'replicas'), 3, 'the object itself is unchanged');
  });

  it('records on create exactly what comparing with an empty object finds, status and duplicate items left out', () => {
    const objects: KubeObject[] = [
      deployment(),
      { ...deployment(), status: { replicas: 3, conditions: [{ type: 'Available', status: 'True' }] } },
      makeDeployment('many').annotation('a', '1').label('tier', 'front').replicas(0)
        .container({ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }], args: ['--x'] })
        .container({ name: 'b', image: 'y', ports: [{ containerPort: 81 }, { containerPort: 82, protocol: 'UDP' }] })
        .obj(),
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bare', finalizers: ['example.com/a', 'example.com/a'] }, spec: { selector: null, template: {} } },
    ];
    for (const obj of objects) {
      for (const subresource of [undefined, 'status']) {
        const ignored = subresource ? fieldSetFromPaths([]) : mainResourceIgnoredFields;
        const changes = compareFields({ metadata: {} }, { ...obj, status: subresource ? obj.status : undefined }, schema);
        const expected = trackedFields(unionFieldSets(changes.added, changes.modified), ignored);
        const created = trackUpdate(undefined, obj, { ...opts, ...(subresource ? { subresource } : {}) });
        const fieldsV1 = entriesOf(created)[0]?.fieldsV1 ?? {};
        assert.deepEqual(fieldSetPaths(fieldSetFromFieldsV1(fieldsV1)), fieldSetPaths(expected), `${obj.metadata.name}, subresource ${subresource}`);
      }
    }
  });

  it('moves a changed field to the updating manager and leaves the rest', () => {
    const created = trackUpdate(undefined, deployment(), opts);
    const scaled = structuredClone(created);
    scaled.spec = { ...(scaled.spec as object), replicas: 5 };
    const updated = trackUpdate(created, scaled, { ...opts, manager: 'kubectl', now: '2024-05-01T11:00:00Z' });
    const [creator, scaler] = decodeManagedFields(updated.metadata.managedFields);
    assert.equal(creator!.manager, 'kubectl-create');
    assert.ok(!hasFieldPath(creator!.fields, ['f:spec', 'f:replicas']));
    assert.ok(hasFieldPath(creator!.fields, ['f:metadata', 'f:labels', 'f:app']));
    assert.equal(scaler!.manager, 'kubectl');
    assert.deepEqual(fieldSetPaths(scaler!.fields), [['f:spec', 'f:replicas']]);
    assert.equal(scaler!.time, '2024-05-01T11:00:00Z');
  });

  it('drops removed fields from every manager and entries that become empty', () => {
    const created = trackUpdate(undefined, deployment(), opts);
    const next = makeDeployment('web').replicas(3).label('app', 'web').container({ name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }).obj();
    next.metadata.managedFields = created.metadata.managedFields;
    // Nothing changed: no new entry, no new time.
    const same = trackUpdate(created, next, { ...opts, manager: 'other', now: '2024-05-01T12:00:00Z' });
    assert.deepEqual(same.metadata.managedFields, created.metadata.managedFields);
    // Everything the creator owned is removed: its entry goes, only the remover's gains remain.
    const emptied = trackUpdate(created, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'other' } } }, { ...opts, manager: 'cleaner' });
    const records = decodeManagedFields(emptied.metadata.managedFields);
    const creator = records.find((r) => r.manager === 'kubectl-create');
    const cleaner = records.find((r) => r.manager === 'cleaner');
    // The creator keeps only the labels map it created (still there); its spec and the changed label are gone.
    assert.deepEqual(fieldSetPaths(creator!.fields).map(formatFieldPath), ['.metadata.labels']);
    assert.deepEqual(fieldSetPaths(cleaner!.fields).map(formatFieldPath), ['.metadata.labels.app']);
    const gone = trackUpdate(emptied, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } }, { ...opts, manager: 'cleaner' });
    assert.equal(gone.metadata.managedFields, undefined);
  });

  it('does not take status on the main resource, and records subresource writes separately', () => {
    const created = trackUpdate(undefined, deployment(), opts);
    const withStatus = { ...structuredClone(created), status: { replicas: 3 } };
    const main = trackUpdate(created, withStatus, { ...opts, manager: 'someone' });
    assert.equal(entriesOf(main).length, 1);
    const viaStatus = trackUpdate(created, withStatus, { ...opts, manager: 'kube-controller-manager', subresource: 'status' });
    const entry = entriesOf(viaStatus).find((e) => e.manager === 'kube-controller-manager');
    assert.equal(entry?.subresource, 'status');
    assert.deepEqual(entry?.fieldsV1, { 'f:status': { '.': {}, 'f:replicas': {} } });
  });

  it('respects managed fields the client sets, and clears them on [] or [{}]', () => {
    const created = trackUpdate(undefined, deployment(), opts);
    const custom = structuredClone(created);
    custom.metadata.managedFields = [{ manager: 'imported', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }];
    assert.deepEqual(entriesOf(trackUpdate(created, custom, opts)).map((e) => e.manager), ['imported']);
    for (const reset of [[], [{}]]) {
      const cleared = structuredClone(created);
      cleared.metadata.managedFields = reset as never;
      const result = trackUpdate(created, cleared, opts);
      assert.equal(result.metadata.managedFields, undefined);
      // An object without managed fields stays untracked by later updates.
      const later = structuredClone(result);
      later.spec = { ...(later.spec as object), replicas: 9 };
      assert.equal(trackUpdate(result, later, opts).metadata.managedFields, undefined);
    }
    // Garbage from the client is ignored in favour of what is stored.
    const garbage = structuredClone(created);
    garbage.metadata.managedFields = [{ manager: 'x', operation: 'Nope' } as never];
    assert.deepEqual(trackUpdate(created, garbage, opts).metadata.managedFields, created.metadata.managedFields);
  });

  it(`keeps at most ${maxUpdateManagers} Update entries, merging the oldest into ancient-changes`, () => {
    let obj = trackUpdate(undefined, deployment(), { ...opts, now: '2024-05-01T00:00:00Z' });
    for (let i = 0; i < 12; i++) {
      const next = structuredClone(obj);
      next.metadata.annotations = { ...next.metadata.annotations, [`n${i}`]: 'x' };
      obj = trackUpdate(obj, next, { ...opts, manager: `m${i}`, now: `2024-05-01T01:${String(i).padStart(2, '0')}:00Z` });
    }
    const managers = entriesOf(obj).map((e) => e.manager);
    assert.equal(managers.length, maxUpdateManagers);
    assert.ok(managers.includes('ancient-changes'));
    assert.ok(managers.includes('m11'));
    assert.ok(!managers.includes('kubectl-create'));
  });
});
