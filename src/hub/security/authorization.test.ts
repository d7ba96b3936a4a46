import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorizeOrThrow, resourceVerb, type ResourceAttributes } from '../../apiserver/authorization.ts';
import { StatusError } from '../../machinery/status-error.ts';
import type { AdmissionRequest } from '../../apiserver/admission.ts';
import type { ResourceType } from '../../api/resource-type.ts';
import { bootstrapAdmission, hubAuthorizer } from './authorization.ts';
import { bootstrapGroup, boundCluster, clusterBoundGroup } from './tokens.ts';

const admin = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
const agent = { username: 'system:bootstrap:abcdef', groups: [bootstrapGroup, 'system:authenticated'] };
const boundAgent = { username: 'system:bootstrap:ghijkl', groups: [bootstrapGroup, clusterBoundGroup('edge'), 'system:authenticated'] };
const fleet = 'fleet.nephele.dev';

describe('hubAuthorizer', () => {
  const authorizer = hubAuthorizer();
  const allows = (attributes: Omit<ResourceAttributes, 'user'>, user = agent) => authorizer.authorize({ user, ...attributes }).allowed;

  it('lets a bootstrap token register a cluster, report its status and work on Works in execution namespaces', () => {
    for (const verb of ['get', 'create', 'update', 'patch']) assert.ok(allows({ verb, group: fleet, resource: 'clusters', name: 'edge' }), verb);
    assert.ok(allows({ verb: 'patch', group: fleet, resource: 'clusters', subresource: 'status', name: 'edge' }));
    assert.ok(allows({ verb: 'create', group: '', resource: 'namespaces' }));
    for (const verb of ['get', 'list', 'watch', 'update', 'patch']) assert.ok(allows({ verb, group: fleet, resource: 'works', namespace: 'nephele-cluster-edge' }), verb);
    assert.ok(allows({ verb: 'patch', group: fleet, resource: 'works', subresource: 'status', namespace: 'nephele-cluster-edge', name: 'web' }));
  });

  it('refuses a bootstrap token everything else', () => {
    assert.ok(!allows({ verb: 'delete', group: fleet, resource: 'clusters', name: 'edge' }));
    assert.ok(!allows({ verb: 'list', group: fleet, resource: 'clusters' }));
    assert.ok(!allows({ verb: 'get', group: fleet, resource: 'clusters', subresource: 'proxy', name: 'edge' }));
    assert.ok(!allows({ verb: 'delete', group: fleet, resource: 'works', namespace: 'nephele-cluster-edge', name: 'web' }));
    assert.ok(!allows({ verb: 'list', group: fleet, resource: 'works', namespace: 'default' }));
    assert.ok(!allows({ verb: 'list', group: fleet, resource: 'works' }), 'works across all namespaces');
    assert.ok(!allows({ verb: 'get', group: '', resource: 'secrets', namespace: 'nephele-cluster-edge', name: 'kubeconfig' }));
    assert.ok(!allows({ verb: 'get', group: '', resource: 'namespaces', name: 'default' }));
    assert.ok(!authorizer.authorize({ user: agent, verb: 'get', path: '/metrics' }).allowed);
    assert.ok(authorizer.authorize({ user: agent, verb: 'get', path: '/apis/fleet.nephele.dev/v1alpha1' }).allowed);
    assert.ok(authorizer.authorize({ user: agent, verb: 'get', path: '/openapi/v3' }).allowed);
    assert.ok(!authorizer.authorize({ user: agent, verb: 'post', path: '/apis' }).allowed);
  });

  it('leaves every other user unlimited', () => {
    assert.ok(allows({ verb: 'delete', group: '', resource: 'secrets', namespace: 'default', name: 'x' }, admin));
    assert.ok(authorizer.authorize({ user: admin, verb: 'get', path: '/metrics' }).allowed);
  });

  it('refuses with a 403 Status worded as kube-apiserver words it', () => {
    const refuse = (attributes: Parameters<typeof authorizeOrThrow>[1]): StatusError => {
      try {
        authorizeOrThrow(authorizer, attributes);
      } catch (err) {
        assert.ok(err instanceof StatusError);
        return err;
      }
      assert.fail('allowed');
    };
    const named = refuse({ user: agent, verb: 'delete', group: fleet, resource: 'works', namespace: 'nephele-cluster-edge', name: 'web' });
    assert.equal(named.code, 403);
    assert.equal(named.reason, 'Forbidden');
    assert.match(named.message, /^works\.fleet\.nephele\.dev "web" is forbidden: User "system:bootstrap:abcdef" cannot delete resource "works" in API group "fleet\.nephele\.dev" in the namespace "nephele-cluster-edge": /);
    assert.deepEqual(named.details, { group: fleet, kind: 'works', name: 'web' });
    assert.match(refuse({ user: agent, verb: 'list', group: '', resource: 'secrets' }).message, /^secrets is forbidden: .* cannot list resource "secrets" in API group "" at the cluster scope/);
    assert.match(refuse({ user: agent, verb: 'get', group: fleet, resource: 'clusters', subresource: 'proxy', name: 'a' }).message, /cannot get resource "clusters\/proxy"/);
    assert.match(refuse({ user: agent, verb: 'get', path: '/metrics' }).message, /^forbidden: User "system:bootstrap:abcdef" cannot get path "\/metrics"/);
  });
});

describe('a bootstrap token bound to one cluster', () => {
  const authorizer = hubAuthorizer();
  const allows = (attributes: Omit<ResourceAttributes, 'user'>) => authorizer.authorize({ user: boundAgent, ...attributes }).allowed;

  it('is told apart by its group', () => {
    assert.equal(boundCluster(boundAgent.groups), 'edge');
    assert.equal(boundCluster(agent.groups), undefined);
  });

  it('may touch its own Cluster and the Works in its own execution namespace', () => {
    assert.ok(allows({ verb: 'get', group: fleet, resource: 'clusters', name: 'edge' }));
    assert.ok(allows({ verb: 'patch', group: fleet, resource: 'clusters', subresource: 'status', name: 'edge' }));
    assert.ok(allows({ verb: 'create', group: fleet, resource: 'clusters' }), 'a create is checked once its name is known');
    assert.ok(allows({ verb: 'watch', group: fleet, resource: 'works', namespace: 'nephele-cluster-edge' }));
    assert.ok(allows({ verb: 'patch', group: fleet, resource: 'works', subresource: 'status', namespace: 'nephele-cluster-edge', name: 'web' }));
  });

  it('may not touch another cluster or its Works', () => {
    assert.ok(!allows({ verb: 'get', group: fleet, resource: 'clusters', name: 'core' }));
    assert.ok(!allows({ verb: 'patch', group: fleet, resource: 'clusters', subresource: 'status', name: 'core' }));
    assert.ok(!allows({ verb: 'list', group: fleet, resource: 'works', namespace: 'nephele-cluster-core' }));
    const refusal = authorizer.authorize({ user: boundAgent, verb: 'get', group: fleet, resource: 'clusters', name: 'core' });
    assert.deepEqual(refusal, { allowed: false, reason: 'a bootstrap token bound to cluster "edge" may only register that cluster and work on its Works' });
  });

  it('may create only its own Cluster and execution namespace, checked at admission', () => {
    const clusters = { group: fleet, plural: 'clusters' } as ResourceType;
    const namespaces = { group: '', plural: 'namespaces' } as ResourceType;
    const create = (type: ResourceType, name: string, user = boundAgent): AdmissionRequest =>
      ({ operation: 'CREATE', type, namespace: undefined, name, subresource: undefined, object: { metadata: { name } }, oldObject: undefined, user, dryRun: false });
    bootstrapAdmission.validate(create(clusters, 'edge'));
    bootstrapAdmission.validate(create(namespaces, 'nephele-cluster-edge'));
    bootstrapAdmission.validate(create(clusters, 'core', agent)); // an unbound token: any name
    bootstrapAdmission.validate(create(clusters, 'core', admin));
    assert.throws(() => bootstrapAdmission.validate(create(clusters, 'core')), (err: unknown) =>
      err instanceof StatusError && err.code === 403
      && /^clusters\.fleet\.nephele\.dev "core" is forbidden: User "system:bootstrap:ghijkl" is bound to cluster "edge" and may only create "edge"$/.test(err.message));
    assert.throws(() => bootstrapAdmission.validate(create(namespaces, 'nephele-cluster-core')), /namespaces "nephele-cluster-core" is forbidden/);
  });
});

describe('resourceVerb', () => {
  it('names a request\'s verb as Kubernetes does', () => {
    assert.equal(resourceVerb('GET', true, false), 'get');
    assert.equal(resourceVerb('GET', false, false), 'list');
    assert.equal(resourceVerb('GET', false, true), 'watch');
    assert.equal(resourceVerb('HEAD', true, false), 'get');
    assert.equal(resourceVerb('POST', false, false), 'create');
    assert.equal(resourceVerb('PUT', true, false), 'update');
    assert.equal(resourceVerb('PATCH', true, false), 'patch');
    assert.equal(resourceVerb('DELETE', true, false), 'delete');
    assert.equal(resourceVerb('DELETE', false, false), 'deletecollection');
  });
});
