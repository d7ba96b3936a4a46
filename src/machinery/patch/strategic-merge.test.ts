import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unknownSchemaNode } from '../schema-node.ts';
import { StatusError } from '../status-error.ts';
import { applyStrategicMergePatch } from './strategic-merge.ts';
import { deploymentSchema, dig, makeDeployment } from './testing/deployments.ts';

const schema = deploymentSchema();

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StatusError, String(err));
    assert.equal(err.code, 400);
    assert.match(err.message, message);
    return true;
  });
}

const containers = (obj: unknown) => dig(obj, 'spec', 'template', 'spec', 'containers') as Array<Record<string, any>>;
const names = (list: Array<Record<string, any>>) => list.map((item) => item.name);

function liveDeployment() {
  return makeDeployment('web')
    .replicas(3)
    .label('app', 'web')
    .container({
      name: 'web',
      image: 'nginx:1.25',
      args: ['--port', '8080'],
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
      ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }],
      volumeMounts: [{ name: 'config', mountPath: '/etc/config' }],
    })
    .container({ name: 'istio-proxy', image: 'istio/proxyv2' })
    .volume({ name: 'config', configMap: { name: 'web-config' } })
    .volume({ name: 'tmp', emptyDir: {} })
    .meta({ finalizers: ['example.com/a', 'example.com/b'] })
    .obj();
}

describe('applyStrategicMergePatch', () => {
  it('applies the patch kubectl apply (client-side) sends, keeping server-added containers', () => {
    const live = liveDeployment();
    const before = structuredClone(live);
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{...}' } },
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }],
            containers: [
              {
                '$setElementOrder/env': [{ name: 'A' }, { name: 'C' }],
                env: [{ name: 'C', value: '3' }, { $patch: 'delete', name: 'B' }],
                image: 'nginx:1.27',
                name: 'web',
              },
              { image: 'envoyproxy/envoy', name: 'sidecar' },
            ],
          },
        },
      },
    };
    const result = applyStrategicMergePatch(live, patch, schema);
    assert.deepEqual(live, before, 'the original is not changed');
    assert.deepEqual(names(containers(result)), ['web', 'istio-proxy', 'sidecar']);
    const web = containers(result)[0]!;
    assert.equal(web.image, 'nginx:1.27');
    assert.deepEqual(web.env, [{ name: 'A', value: '1' }, { name: 'C', value: '3' }]);
    assert.deepEqual(web.ports, [{ containerPort: 8080, protocol: 'TCP', name: 'http' }], 'untouched fields stay');
    assert.equal(result.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], '{...}');
    assert.equal(dig(result, 'spec', 'replicas'), 3);
  });

  it('reorders with $setElementOrder alone', () => {
    const result = applyStrategicMergePatch(liveDeployment(), { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'istio-proxy' }, { name: 'web' }] } } } }, schema);
    assert.deepEqual(names(containers(result)), ['istio-proxy', 'web']);
  });

  it('deletes a container with $patch: delete', () => {
    const result = applyStrategicMergePatch(liveDeployment(), { spec: { template: { spec: { containers: [{ name: 'istio-proxy', $patch: 'delete' }] } } } }, schema);
    assert.deepEqual(names(containers(result)), ['web']);
  });

  it('merges list items by key and appends new ones in the patch order', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'web', ports: [{ containerPort: 9090, name: 'metrics' }], volumeMounts: [{ mountPath: '/etc/config', readOnly: true }] },
              { name: 'b-sidecar', image: 'b' },
              { name: 'a-sidecar', image: 'a' },
            ],
          },
        },
      },
    };
    const result = applyStrategicMergePatch(liveDeployment(), patch, schema);
    assert.deepEqual(names(containers(result)), ['web', 'istio-proxy', 'b-sidecar', 'a-sidecar']);
    const web = containers(result)[0]!;
    assert.deepEqual(web.ports, [
      { containerPort: 8080, protocol: 'TCP', name: 'http' },
      { containerPort: 9090, name: 'metrics' },
    ]);
    assert.deepEqual(web.volumeMounts, [{ name: 'config', mountPath: '/etc/config', readOnly: true }]);
  });

  it('puts the items a patch names in the patch order, leaving the others in place', () => {
    const live = makeDeployment().container({ name: 'one' }).container({ name: 'two', image: 'b' }).container({ name: 'three' }).obj();
    const patch = { spec: { template: { spec: { containers: [{ name: 'three', image: 'c' }, { name: 'one', image: 'a' }] } } } };
    const result = applyStrategicMergePatch(live, patch, schema);
    assert.deepEqual(containers(result), [{ name: 'two', image: 'b' }, { name: 'three', image: 'c' }, { name: 'one', image: 'a' }]);
  });

  it('replaces a whole list with $patch: replace', () => {
    const patch = { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } } } };
    assert.deepEqual(containers(applyStrategicMergePatch(liveDeployment(), patch, schema)), [{ name: 'only', image: 'x' }]);
  });

  it('replaces or clears a map with $patch directives', () => {
    const replaced = applyStrategicMergePatch(liveDeployment(), { metadata: { labels: { $patch: 'replace', team: 'a' } } }, schema);
    assert.deepEqual(replaced.metadata.labels, { team: 'a' });
    const cleared = applyStrategicMergePatch(liveDeployment(), { metadata: { labels: { $patch: 'delete' } } }, schema);
    assert.deepEqual(cleared.metadata.labels, {});
    const merged = applyStrategicMergePatch(liveDeployment(), { metadata: { labels: { $patch: 'merge', team: 'a' } } }, schema);
    assert.deepEqual(merged.metadata.labels, { app: 'web', team: 'a' });
  });

  it('deletes fields set to null, at any depth', () => {
    const patch = { spec: { replicas: null, template: { spec: { containers: [{ name: 'web', args: null }] } } } };
    const result = applyStrategicMergePatch(liveDeployment(), patch, schema);
    assert.equal('replicas' in (result.spec as object), false);
    assert.equal('args' in containers(result)[0]!, false);
  });

  it('replaces lists that have no merge strategy', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'web', args: ['--verbose'] }], tolerations: [{ key: 'gpu', operator: 'Exists' }] } } } };
    const result = applyStrategicMergePatch(liveDeployment(), patch, schema);
    assert.deepEqual(containers(result)[0]!.args, ['--verbose']);
    assert.deepEqual(dig(result, 'spec', 'template', 'spec', 'tolerations'), [{ key: 'gpu', operator: 'Exists' }]);
  });

  it('merges primitive lists with the merge strategy as sets, and deletes from them', () => {
    const added = applyStrategicMergePatch(liveDeployment(), { metadata: { finalizers: ['example.com/b', 'example.com/c'] } }, schema);
    assert.deepEqual(added.metadata.finalizers, ['example.com/a', 'example.com/b', 'example.com/c']);
    const removed = applyStrategicMergePatch(liveDeployment(), { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'] } }, schema);
    assert.deepEqual(removed.metadata.finalizers, ['example.com/b']);
    const both = applyStrategicMergePatch(
      liveDeployment(),
      { metadata: { '$setElementOrder/finalizers': ['example.com/c', 'example.com/b'], '$deleteFromPrimitiveList/finalizers': ['example.com/a'], finalizers: ['example.com/c'] } },
      schema,
    );
    assert.deepEqual(both.metadata.finalizers, ['example.com/c', 'example.com/b']);
  });

  it('clears fields not listed in $retainKeys (Deployment strategy)', () => {
    const live = makeDeployment().obj();
    live.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } };
    const result = applyStrategicMergePatch(live, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, schema);
    assert.deepEqual(dig(result, 'spec', 'strategy'), { type: 'Recreate' });
    rejects(() => applyStrategicMergePatch(live, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: {} } } }, schema), /doesn't match retainKeys list/);
  });

  it('switches a volume source with $retainKeys inside a merged list item', () => {
    const patch = { spec: { template: { spec: { volumes: [{ name: 'config', $retainKeys: ['emptyDir', 'name'], emptyDir: { medium: 'Memory' } }] } } } };
    const result = applyStrategicMergePatch(liveDeployment(), patch, schema);
    assert.deepEqual(dig(result, 'spec', 'template', 'spec', 'volumes'), [
      { name: 'config', emptyDir: { medium: 'Memory' } },
      { name: 'tmp', emptyDir: {} },
    ]);
  });

  it('creates lists and maps from the patch when the original has none, processing directives', () => {
    const live = makeDeployment().container({ name: 'web' }).obj();
    const patch = { spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'A', value: '1' }, { name: 'GONE', $patch: 'delete' }] }], nodeSelector: { disk: 'ssd' } } } } };
    const result = applyStrategicMergePatch(live, patch, schema);
    assert.deepEqual(containers(result)[0]!.env, [{ name: 'A', value: '1' }]);
    assert.deepEqual(dig(result, 'spec', 'template', 'spec', 'nodeSelector'), { disk: 'ssd' });
  });

  it('without a schema, behaves like a JSON merge patch (lists replace)', () => {
    const result = applyStrategicMergePatch({ metadata: {}, items: [{ name: 'a' }], keep: 1 }, { items: [{ name: 'b' }] }, unknownSchemaNode);
    assert.deepEqual(result, { metadata: {}, items: [{ name: 'b' }], keep: 1 });
  });

  it('does not share values with the patch', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'new', env: [{ name: 'X', value: '1' }] }] } } } };
    const result = applyStrategicMergePatch(liveDeployment(), patch, schema);
    patch.spec.template.spec.containers[0]!.env[0]!.value = 'changed';
    assert.equal(containers(result)[2]!.env[0].value, '1');
  });

  it('rejects malformed patches with a 400', () => {
    const live = liveDeployment();
    rejects(() => applyStrategicMergePatch(live, [], schema), /must be a JSON object/);
    rejects(() => applyStrategicMergePatch(live, { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, schema), /does not contain declared merge key: name/);
    rejects(() => applyStrategicMergePatch(live, { spec: { template: { spec: { containers: [{ $patch: 'delete' }] } } } }, schema), /merge key: name/);
    rejects(() => applyStrategicMergePatch(live, { metadata: { labels: { $patch: 'remove' } } }, schema), /unknown patch type "remove"/);
    rejects(
      () =>
        applyStrategicMergePatch(
          live,
          { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'web' }, { name: 'istio-proxy' }], containers: [{ name: 'istio-proxy' }, { name: 'web' }] } } } },
          schema,
        ),
      /doesn't match the \$setElementOrder\/containers list/,
    );
    rejects(() => applyStrategicMergePatch(live, { metadata: { '$deleteFromPrimitiveList/finalizers': 'example.com/a' } }, schema), /primitive list/);
    rejects(() => applyStrategicMergePatch(live, { metadata: { finalizers: [['nested']] } }, schema), /lists of lists/);
  });
});
