/**
 * What each of the hub's users may do. Users with tokens from `tokens.json` (the admin, and any
 * added with `addToken`) may do anything. A bootstrap token (`nephele token create`) is handed to
 * a pull agent so that it can register its cluster, and nothing more: its user, in group
 * `system:bootstrappers`, may only
 *
 * - read discovery, OpenAPI, version and health;
 * - get, create, update and patch Clusters (and their status), as the agent does to register
 *   and to report heartbeats;
 * - create Namespaces (the agent creates its cluster's execution namespace);
 * - get, list, watch, update and patch Works (and their status) in execution namespaces
 *   (`nephele-cluster-NAME`), to apply them and report how they went.
 *
 * So a leaked bootstrap token cannot read Secrets (a push member's kubeconfig among them), list
 * what runs where, change policies, delete anything, or reach member clusters through the
 * portal's proxy. What it still can do: register a cluster of any name, and read and report on
 * the Works of any execution namespace, since a token is not bound to one cluster.
 */
import type { Authorizer, Decision, RequestAttributes } from '../../apiserver/authorization.ts';
import { isResourceRequest } from '../../apiserver/authorization.ts';
import { fleetGroup } from '../../api/kinds/fleet.ts';
import { bootstrapGroup } from './tokens.ts';

/** A rule of what bootstrappers may do; every listed part must match. */
interface Rule {
  group: string;
  resource: string;
  /** Subresources allowed besides the resource itself. */
  subresources?: readonly string[];
  verbs: readonly string[];
  /** Only in namespaces that start with this. */
  namespacePrefix?: string;
}

const bootstrapRules: readonly Rule[] = [
  { group: fleetGroup, resource: 'clusters', subresources: ['status'], verbs: ['get', 'create', 'update', 'patch'] },
  { group: '', resource: 'namespaces', verbs: ['create'] },
  { group: fleetGroup, resource: 'works', subresources: ['status'], verbs: ['get', 'list', 'watch', 'update', 'patch'], namespacePrefix: 'nephele-cluster-' },
];

/** Discovery, OpenAPI, version and health: what every client reads before anything else. */
function isPublicInfo(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/apis' || path.startsWith('/apis/')
    || path === '/openapi/v3' || path.startsWith('/openapi/v3/')
    || path === '/version' || path === '/healthz' || path === '/livez' || path === '/readyz';
}

const allowed: Decision = { allowed: true };

export function hubAuthorizer(): Authorizer {
  return {
    authorize(attributes: RequestAttributes): Decision {
      if (!attributes.user.groups.includes(bootstrapGroup)) return allowed;
      const refused: Decision = { allowed: false, reason: 'a bootstrap token may only register a cluster and work on its Works' };
      if (!isResourceRequest(attributes)) return attributes.verb === 'get' && isPublicInfo(attributes.path) ? allowed : refused;
      const { group, resource, subresource, verb, namespace } = attributes;
      const match = bootstrapRules.some((rule) =>
        rule.group === group
        && rule.resource === resource
        && (subresource === undefined || (rule.subresources ?? []).includes(subresource))
        && rule.verbs.includes(verb)
        && (rule.namespacePrefix === undefined || (namespace !== undefined && namespace.startsWith(rule.namespacePrefix))));
      return match ? allowed : refused;
    },
  };
}
