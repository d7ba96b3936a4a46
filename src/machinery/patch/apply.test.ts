import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../object.ts';
import { StatusError } from '../status-error.ts';
import { apply, type ApplyOptions } from './apply.ts';
import { fieldSetPaths, formatFieldPath, hasFieldPath } from './field-set.ts';
import { decodeManagedFields, trackUpdate } from './managed-fields.ts';
import { deploymentSchema, dig, makeDeployment, type ContainerSpec } from './testing/deployments.ts';

const schema = deploymentSchema();
const T0 = '2024-05-01T10:00:00Z';
const T1 = '2024-05-01T11:00:00Z';
const T2 = '2024-05-01T12:00:00Z';

function applyAs(manager: string, live: KubeObject | undefined, config: KubeObject, extra: Partial<ApplyOptions> = {}): KubeObject {
  return apply(live, config, { manager, force: false, apiVersion: 'apps/v1', now: T0, schema, ...extra });
}

function config(build: (d: ReturnType<typeof makeDeployment>) => ReturnType<typeof makeDeployment> = (d) => d) {
  return build(makeDeployment('web').label('app', 'web')).obj();
}

const web = (extra: Partial<ContainerSpec> = {}): ContainerSpec => ({ name: 'web', image: 'nginx:1.25', ...extra });
const containers = (obj: unknown) => dig(obj, 'spec', 'template', 'spec', 'containers') as Array<Record<string, any>>;
const owned = (obj: KubeObject, manager: string, operation = 'Apply') => {
  const record = decodeManagedFields(obj.metadata.managedFields).find((r) => r.manager === manager && r.operation === operation);
  return record ? fieldSetPaths(record.fields).map(formatFieldPath) : [];
};

function conflict(fn: () => unknown): StatusError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return err instanceof StatusError;
  });
  const err = caught as StatusError;
  assert.equal(err.code, 409);
  assert.equal(err.reason, 'Conflict');
  return err;
}

describe('apply', () => {
  it('creates an object and records the applier as an Apply manager', () => {
    const applied = config((d) => d.replicas(3).container(web({ ports: [{ containerPort: 80 }] })));
    const before = structuredClone(applied);
    const created = applyAs('kubectl', undefined, applied);
    assert.deepEqual(applied, before, 'the configuration is not changed');
    assert.equal(dig(created, 'spec', 'replicas'), 3);
    assert.deepEqual(created.metadata.managedFields, [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': {
                'f:containers': {
                  'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } },
                },
              },
            },
          },
        },
      },
    ]);
  });

  it('reports a conflict between two appliers in kube-apiserver words', () => {
    const live = applyAs('team-a', undefined, config((d) => d.replicas(3).container(web())));
    const err = conflict(() => applyAs('team-b', live, config((d) => d.replicas(5).container(web()))));
    assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "team-a": .spec.replicas');
    assert.deepEqual(err.details?.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "team-a"', field: '.spec.replicas' }]);
  });

  it('lists several conflicts by manager', () => {
    const live = applyAs('team-a', undefined, config((d) => d.replicas(3).container(web())));
    const err = conflict(() => applyAs('team-b', live, config((d) => d.replicas(5).container(web({ image: 'nginx:1.27' })))));
    assert.equal(err.message, 'Apply failed with 2 conflicts: conflicts with "team-a":\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image');
    assert.equal(err.details?.causes?.length, 2);
  });

  it('with force, takes ownership of the conflicting fields', () => {
    const live = applyAs('team-a', undefined, config((d) => d.replicas(3).container(web())));
    const forced = applyAs('team-b', live, config((d) => d.replicas(5)), { force: true, now: T1 });
    assert.equal(dig(forced, 'spec', 'replicas'), 5);
    assert.ok(!owned(forced, 'team-a').includes('.spec.replicas'));
    assert.ok(owned(forced, 'team-a').includes('.spec.template.spec.containers[name="web"].image'));
    assert.ok(owned(forced, 'team-b').includes('.spec.replicas'));
    // team-a no longer owns replicas, so dropping it from its configuration leaves it alone.
    const again = applyAs('team-a', forced, config((d) => d.container(web())), { now: T2 });
    assert.equal(dig(again, 'spec', 'replicas'), 5);
  });

  it('removes a field the applier owned alone when it stops applying it', () => {
    const live = applyAs('kubectl', undefined, config((d) => d.replicas(3).label('tier', 'frontend').container(web({ env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }))));
    const next = applyAs('kubectl', live, config((d) => d.container(web({ env: [{ name: 'A', value: '1' }] }))), { now: T1 });
    assert.equal('replicas' in (next.spec as object), false);
    assert.deepEqual(next.metadata.labels, { app: 'web' });
    assert.deepEqual(containers(next)[0]!.env, [{ name: 'A', value: '1' }]);
    assert.ok(!owned(next, 'kubectl').includes('.spec.replicas'));
    assert.equal(next.metadata.managedFields?.[0]?.time, T1);
  });

  it('removes a whole container the applier stops applying', () => {
    const live = applyAs('kubectl', undefined, config((d) => d.container(web()).container({ name: 'sidecar', image: 'envoy' })));
    const next = applyAs('kubectl', live, config((d) => d.container(web())));
    assert.deepEqual(containers(next).map((c) => c.name), ['web']);
  });

  it('shares ownership of equal values, and keeps a field while anyone still owns it', () => {
    const live = applyAs('team-a', undefined, config((d) => d.replicas(3).container(web())));
    const shared = applyAs('team-b', live, config((d) => d.replicas(3)), { now: T1 });
    assert.ok(owned(shared, 'team-a').includes('.spec.replicas'));
    assert.ok(owned(shared, 'team-b').includes('.spec.replicas'));
    const dropped = applyAs('team-a', shared, config((d) => d.container(web())), { now: T2 });
    assert.equal(dig(dropped, 'spec', 'replicas'), 3, 'team-b still owns it');
    assert.ok(!owned(dropped, 'team-a').includes('.spec.replicas'));
  });

  it('kubectl scale, then kubectl apply: the Update owner wins replicas and the applier conflicts', () => {
    const applied = config((d) => d.replicas(3).container(web()));
    const live = applyAs('kubectl', undefined, applied);
    const scaledObject = structuredClone(live);
    (scaledObject.spec as Record<string, unknown>).replicas = 5;
    const scaled = trackUpdate(live, scaledObject, { manager: 'kubectl', apiVersion: 'apps/v1', now: T1, schema, subresource: 'scale' });
    assert.ok(!owned(scaled, 'kubectl').includes('.spec.replicas'));
    const err = conflict(() => applyAs('kubectl', scaled, applied, { now: T2 }));
    assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas');
    // Leaving replicas out of the configuration hands it over for good (the HPA pattern).
    const handedOver = applyAs('kubectl', scaled, config((d) => d.container(web())), { now: T2 });
    assert.equal(dig(handedOver, 'spec', 'replicas'), 5);
  });

  it('conflicts with a client-side apply (Update) owner, naming its API version', () => {
    const created = trackUpdate(undefined, config((d) => d.replicas(2).container(web())), { manager: 'kubectl-client-side-apply', apiVersion: 'apps/v1', now: T0, schema });
    const err = conflict(() => applyAs('kubectl', created, config((d) => d.replicas(4).container(web())), { now: T1 }));
    assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
    assert.deepEqual(err.details?.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: '.spec.replicas' }]);
    // Applying the values already there is not a conflict.
    const same = applyAs('kubectl', created, config((d) => d.replicas(2).container(web())), { now: T1 });
    assert.ok(owned(same, 'kubectl').includes('.spec.replicas'));
    assert.ok(owned(same, 'kubectl-client-side-apply', 'Update').includes('.spec.replicas'));
  });

  it('merges lists as the schema says: containers by name, finalizers as a set, args atomically', () => {
    let live = applyAs('kubectl', undefined, config((d) => d.meta({ finalizers: ['example.com/a'] }).container(web({ args: ['--a'] }))));
    // Another manager injects a sidecar and a finalizer with ordinary writes.
    const injected = structuredClone(live);
    containers(injected).push({ name: 'istio-proxy', image: 'istio/proxyv2' });
    injected.metadata.finalizers = ['example.com/a', 'example.com/mesh'];
    live = trackUpdate(live, injected, { manager: 'istio', apiVersion: 'apps/v1', now: T1, schema });
    const next = applyAs('kubectl', live, config((d) => d.meta({ finalizers: ['example.com/a', 'example.com/b'] }).container(web({ image: 'nginx:1.27', args: ['--b'] }))), { now: T2 });
    assert.deepEqual(containers(next), [
      { name: 'web', image: 'nginx:1.27', args: ['--b'] },
      { name: 'istio-proxy', image: 'istio/proxyv2' },
    ]);
    assert.deepEqual(next.metadata.finalizers, ['example.com/a', 'example.com/mesh', 'example.com/b']);
    assert.ok(owned(next, 'istio', 'Update').includes('.spec.template.spec.containers[name="istio-proxy"]'));
  });

  it('follows the configuration order for the items it names, keeping live-only items ahead of what followed them', () => {
    const live = applyAs('kubectl', undefined, config((d) => d.container({ name: 'a' }).container({ name: 'b' })));
    const injected = structuredClone(live);
    containers(injected).splice(1, 0, { name: 'x' });
    const withX = trackUpdate(live, injected, { manager: 'injector', apiVersion: 'apps/v1', now: T1, schema });
    const appended = applyAs('kubectl', withX, config((d) => d.container({ name: 'a' }).container({ name: 'b' }).container({ name: 'c' })), { now: T2 });
    assert.deepEqual(containers(appended).map((c) => c.name), ['a', 'x', 'b', 'c']);
    const reordered = applyAs('kubectl', appended, config((d) => d.container({ name: 'c' }).container({ name: 'a' }).container({ name: 'b' })), { now: T2 });
    assert.deepEqual(containers(reordered).map((c) => c.name), ['x', 'c', 'a', 'b']);
  });

  it('matches list items by keys with defaults (ports without protocol)', () => {
    const live = trackUpdate(undefined, config((d) => d.container(web({ ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }] }))), { manager: 'creator', apiVersion: 'apps/v1', now: T0, schema });
    const next = applyAs('kubectl', live, config((d) => d.container(web({ ports: [{ containerPort: 80 }] }))), { now: T1 });
    assert.deepEqual(containers(next)[0]!.ports, [{ containerPort: 80, protocol: 'TCP', name: 'http' }]);
  });

  it('merges volumes and volume mounts by their keys', () => {
    const first = config((d) =>
      d.container(web({ volumeMounts: [{ name: 'config', mountPath: '/etc/config' }] })).volume({ name: 'config', configMap: { name: 'web-v1' } }),
    );
    const live = applyAs('kubectl', undefined, first);
    const second = config((d) =>
      d
        .container(web({ volumeMounts: [{ name: 'config', mountPath: '/etc/config', readOnly: true }, { name: 'cache', mountPath: '/cache' }] }))
        .volume({ name: 'config', configMap: { name: 'web-v2' } })
        .volume({ name: 'cache', emptyDir: {} }),
    );
    const next = applyAs('kubectl', live, second, { now: T1 });
    assert.deepEqual(containers(next)[0]!.volumeMounts, [
      { name: 'config', mountPath: '/etc/config', readOnly: true },
      { name: 'cache', mountPath: '/cache' },
    ]);
    assert.deepEqual(dig(next, 'spec', 'template', 'spec', 'volumes'), [
      { name: 'config', configMap: { name: 'web-v2' } },
      { name: 'cache', emptyDir: {} },
    ]);
  });

  it('a field applied as null is removed and owned', () => {
    const live = trackUpdate(undefined, config((d) => d.replicas(2).podSpec({ hostname: 'h' }).container(web())), { manager: 'creator', apiVersion: 'apps/v1', now: T0, schema });
    const cleared = structuredClone(config((d) => d.container(web())));
    (cleared.spec.template.spec as Record<string, unknown>).hostname = null;
    const err = conflict(() => applyAs('kubectl', live, cleared));
    assert.match(err.message, /\.spec\.template\.spec\.hostname/);
    const next = applyAs('kubectl', live, cleared, { force: true });
    assert.equal('hostname' in dig(next, 'spec', 'template', 'spec'), false);
    assert.ok(owned(next, 'kubectl').includes('.spec.template.spec.hostname'));
  });

  it('leaves status and server-set metadata out of the applied set', () => {
    const applied = { ...config((d) => d.replicas(1)), status: { replicas: 1 } };
    applied.metadata.uid = 'abc';
    applied.metadata.resourceVersion = '7';
    const created = applyAs('kubectl', undefined, applied);
    const paths = owned(created, 'kubectl');
    assert.ok(!paths.some((p) => p.startsWith('.status') || p === '.metadata.uid' || p === '.metadata.resourceVersion' || p === '.metadata.name'));
  });

  it('keeps the time of a no-op apply', () => {
    const applied = config((d) => d.replicas(3));
    const live = applyAs('kubectl', undefined, applied);
    const again = applyAs('kubectl', live, applied, { now: T2 });
    assert.deepEqual(again, live);
  });

  it('does not change the live object', () => {
    const live = applyAs('team-a', undefined, config((d) => d.replicas(3).container(web())));
    const snapshot = structuredClone(live);
    applyAs('team-b', live, config((d) => d.replicas(5)), { force: true });
    assert.deepEqual(live, snapshot);
  });

  it('rejects bad configurations with a 400', () => {
    const bad = (applied: KubeObject, re: RegExp, extra: Partial<ApplyOptions> = {}) =>
      assert.throws(() => applyAs('kubectl', undefined, applied, extra), (err: unknown) => err instanceof StatusError && err.code === 400 && re.test(err.message));
    const withManaged = config();
    withManaged.metadata.managedFields = [{ manager: 'x', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: {} }];
    bad(withManaged, /metadata\.managedFields must be nil/);
    bad({ ...config(), apiVersion: 'apps/v1beta1' }, /Incorrect version specified in apply patch/);
    bad(config((d) => d.container(web()).container(web())), /duplicate entries for key \[name="web"\]/);
    bad(config(), /requires a fieldManager/, { manager: '' });
  });

  it('records apply through a subresource separately from the main resource', () => {
    const live = applyAs('kubectl', undefined, config((d) => d.replicas(1)));
    const withStatus = apply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, status: { replicas: 1 } }, { manager: 'controller', force: false, apiVersion: 'apps/v1', now: T1, schema, subresource: 'status' });
    const entry = withStatus.metadata.managedFields?.find((e) => e.manager === 'controller');
    assert.equal(entry?.subresource, 'status');
    assert.ok(hasFieldPath(decodeManagedFields([entry]).at(0)!.fields, ['f:status', 'f:replicas']));
    assert.ok(owned(withStatus, 'kubectl').includes('.spec.replicas'));
  });
});
