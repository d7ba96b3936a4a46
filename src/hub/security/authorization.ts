/**
 * What each of the hub's users may do. Users with tokens from `tokens.json` (the admin, and any
 * added with `addToken`) may do anything. A bootstrap token (`nephele token create`) is handed to
 * a pull agent so that it can register its cluster, and nothing more: its user, in group
 * `system:bootstrappers`, may only
 *
 * - read discovery, OpenAPI, version and health, and ask what it may do (`kubectl auth can-i`,
 *   `kubectl auth whoami`);
 * - get, create, update and patch Clusters (and their status), as the agent does to register
 *   and to report heartbeats;
 * - create Namespaces (the agent creates its cluster's execution namespace);
 * - get, list, watch, update and patch Works (and their status) in execution namespaces
 *   (`nephele-cluster-NAME`), to apply them and report how they went.
 *
 * So a leaked bootstrap token cannot read Secrets (a push member's kubeconfig among them), list
 * what runs where, change policies, delete anything, or reach member clusters through the
 * portal's proxy.
 *
 * A token made with `--cluster NAME` is bound to that cluster: the Cluster it may touch is NAME,
 * the Works are those in `nephele-cluster-NAME`, and the Namespace it may create is that one. A
 * create names its object in the body, which the authorizer does not read, so creates are
 * checked by `bootstrapAdmission` once the object is known. An unbound token may register a
 * cluster of any name and work on the Works of any execution namespace.
 */
import type { ValidatingAdmissionPlugin } from '../../apiserver/admission.ts';
import type { Authorizer, Decision, RequestAttributes, SubjectRules } from '../../apiserver/authorization.ts';
import { isResourceRequest, unlimitedRules } from '../../apiserver/authorization.ts';
import { fleetGroup } from '../../api/kinds/fleet.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { bootstrapGroup, boundCluster } from './tokens.ts';

/** The hub namespace a cluster's Works live in (as `executionNamespace` in the fleet code names it). */
const executionNamespacePrefix = 'nephele-cluster-';

/** A rule of what bootstrappers may do; every listed part must match. */
interface Rule {
  group: string;
  resource: string;
  /** Subresources allowed besides the resource itself. */
  subresources?: readonly string[];
  verbs: readonly string[];
  /** What a token bound to `cluster` may touch: the object's name, or the namespace it is in. */
  bound?: (cluster: string) => { name?: string; namespace?: string };
  /** Only in namespaces that start with this. */
  namespacePrefix?: string;
}

const bootstrapRules: readonly Rule[] = [
  { group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews', verbs: ['create'] },
  { group: 'authorization.k8s.io', resource: 'selfsubjectrulesreviews', verbs: ['create'] },
  { group: 'authentication.k8s.io', resource: 'selfsubjectreviews', verbs: ['create'] },
  { group: fleetGroup, resource: 'clusters', subresources: ['status'], verbs: ['get', 'create', 'update', 'patch'], bound: (cluster) => ({ name: cluster }) },
  { group: '', resource: 'namespaces', verbs: ['create'], bound: (cluster) => ({ name: executionNamespacePrefix + cluster }) },
  {
    group: fleetGroup, resource: 'works', subresources: ['status'], verbs: ['get', 'list', 'watch', 'update', 'patch'],
    namespacePrefix: executionNamespacePrefix, bound: (cluster) => ({ namespace: executionNamespacePrefix + cluster }),
  },
];

/** Discovery, OpenAPI, version and health: what every client reads before anything else. */
const publicInfoPaths = ['/api', '/api/*', '/apis', '/apis/*', '/openapi/v3', '/openapi/v3/*', '/version', '/healthz', '/livez', '/readyz'];

function isPublicInfo(path: string): boolean {
  return publicInfoPaths.some((p) => (p.endsWith('/*') ? path.startsWith(p.slice(0, -1)) : path === p));
}

const allowed: Decision = { allowed: true };

export function hubAuthorizer(): Authorizer {
  return {
    authorize(attributes: RequestAttributes): Decision {
      const groups = attributes.user.groups;
      if (!groups.includes(bootstrapGroup)) return allowed;
      const cluster = boundCluster(groups);
      const refused: Decision = {
        allowed: false,
        reason: cluster === undefined
          ? 'a bootstrap token may only register a cluster and work on its Works'
          : `a bootstrap token bound to cluster ${JSON.stringify(cluster)} may only register that cluster and work on its Works`,
      };
      if (!isResourceRequest(attributes)) return attributes.verb === 'get' && isPublicInfo(attributes.path) ? allowed : refused;
      const { group, resource, subresource, verb, namespace, name } = attributes;
      const rule = bootstrapRules.find((r) => r.group === group && r.resource === resource);
      if (!rule || !rule.verbs.includes(verb)) return refused;
      if (subresource !== undefined && !(rule.subresources ?? []).includes(subresource)) return refused;
      if (rule.namespacePrefix !== undefined && !namespace?.startsWith(rule.namespacePrefix)) return refused;
      if (cluster !== undefined && rule.bound) {
        const bound = rule.bound(cluster);
        // A create carries no name here; bootstrapAdmission checks it.
        if (bound.name !== undefined && name !== undefined && name !== bound.name) return refused;
        if (bound.namespace !== undefined && namespace !== bound.namespace) return refused;
      }
      return allowed;
    },

    rulesFor(user, namespace) {
      if (!user.groups.includes(bootstrapGroup)) return unlimitedRules;
      const cluster = boundCluster(user.groups);
      const resourceRules: SubjectRules['resourceRules'] = [];
      for (const rule of bootstrapRules) {
        const bound = cluster !== undefined ? rule.bound?.(cluster) : undefined;
        // Rules of namespaced resources hold only in the namespaces they name.
        if (rule.namespacePrefix !== undefined && !namespace.startsWith(rule.namespacePrefix)) continue;
        if (bound?.namespace !== undefined && namespace !== bound.namespace) continue;
        resourceRules.push({
          verbs: [...rule.verbs],
          apiGroups: [rule.group],
          resources: [rule.resource, ...(rule.subresources ?? []).map((sub) => `${rule.resource}/${sub}`)],
          ...(bound?.name !== undefined ? { resourceNames: [bound.name] } : {}),
        });
      }
      return { resourceRules, nonResourceRules: [{ verbs: ['get'], nonResourceURLs: [...publicInfoPaths] }] };
    },
  };
}

/**
 * Refuses a bound bootstrap token's create of a Cluster or Namespace other than its own, which
 * the authorizer cannot tell before the body is read.
 */
export const bootstrapAdmission = {
  name: 'BootstrapRestriction',
  validate(request) {
    const cluster = boundCluster(request.user.groups);
    if (cluster === undefined || request.operation !== 'CREATE' || request.subresource !== undefined) return;
    const rule = bootstrapRules.find((r) => r.group === request.type.group && r.resource === request.type.plural);
    const own = rule?.bound?.(cluster).name;
    if (own === undefined || request.name === own) return;
    const { group, plural } = request.type;
    throw new StatusError(
      'Forbidden',
      `${group ? `${plural}.${group}` : plural} ${JSON.stringify(request.name)} is forbidden: User ${JSON.stringify(request.user.username)} is bound to cluster ${JSON.stringify(cluster)} and may only create ${JSON.stringify(own)}`,
      { group, kind: plural, name: request.name },
    );
  },
} satisfies ValidatingAdmissionPlugin;
