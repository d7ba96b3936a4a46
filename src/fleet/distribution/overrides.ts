/**
 * Override policies applied to the manifest bound for one cluster. Every rule whose target
 * matches the cluster applies, policies in a stated order (cluster-wide ones first, then
 * namespaced ones, each by name), rules in their written order, and within a rule the overriders
 * in this fixed order: image, command, args, labels, annotations, replicas, plaintext (JSON
 * patch). The result depends only on the inputs, so re-applying changes nothing.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { cloneJson, isPlainObject } from '../../machinery/object.ts';
import { applyJsonPatch } from '../../machinery/patch/json-patch.ts';
import { clusterMatchesTarget, policyMatches } from './selectors.ts';

type Json = Record<string, unknown>;

/** Orders override policies: cluster-wide before namespaced, then by name. */
export function orderOverridePolicies(policies: KubeObject[]): KubeObject[] {
  return [...policies].sort((a, b) => Number(Boolean(a.metadata.namespace)) - Number(Boolean(b.metadata.namespace)) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

/** The names of the policies and rules that applied, for events and status. */
export interface AppliedOverride {
  policy: string;
  rule: number;
}

/** `manifest` as `cluster` should run it, after every matching override policy. */
export function applyOverrides(manifest: KubeObject, cluster: KubeObject, policies: KubeObject[]): { manifest: KubeObject; applied: AppliedOverride[] } {
  let out = cloneJson(manifest);
  const applied: AppliedOverride[] = [];
  for (const policy of orderOverridePolicies(policies)) {
    if (!policyMatches(policy, manifest)) continue;
    const spec = isPlainObject(policy.spec) ? policy.spec : {};
    const rules = Array.isArray(spec.overrideRules) ? spec.overrideRules : [];
    rules.forEach((rule, index) => {
      if (!isPlainObject(rule) || !clusterMatchesTarget(rule.targetCluster, cluster)) return;
      out = applyOverriders(out, isPlainObject(rule.overriders) ? rule.overriders : {});
      applied.push({ policy: `${policy.metadata.namespace ? `${policy.metadata.namespace}/` : ''}${policy.metadata.name}`, rule: index });
    });
  }
  return { manifest: out, applied };
}

/** The containers of a workload's pod template, or of a Pod. */
function containers(obj: Json): Json[] {
  const spec = isPlainObject(obj.spec) ? obj.spec : {};
  const podSpec = isPlainObject(spec.template) && isPlainObject(spec.template.spec) ? spec.template.spec
    : isPlainObject(spec.jobTemplate) && isPlainObject(spec.jobTemplate.spec) && isPlainObject(spec.jobTemplate.spec.template) && isPlainObject(spec.jobTemplate.spec.template.spec) ? spec.jobTemplate.spec.template.spec
      : obj.kind === 'Pod' ? spec : undefined;
  if (!podSpec) return [];
  return [...(Array.isArray(podSpec.containers) ? podSpec.containers : []), ...(Array.isArray(podSpec.initContainers) ? podSpec.initContainers : [])].filter(isPlainObject);
}

export function applyOverriders(manifest: KubeObject, overriders: Json): KubeObject {
  const out = cloneJson(manifest) as KubeObject & Json;
  for (const o of list(overriders.imageOverrider)) {
    for (const c of containers(out)) {
      if (o.containerName !== undefined && c.name !== o.containerName) continue;
      if (typeof c.image === 'string') c.image = overrideImage(c.image, String(o.component), String(o.operator), o.value === undefined ? undefined : String(o.value));
    }
  }
  for (const [field, key] of [['commandOverrider', 'command'], ['argsOverrider', 'args']] as const) {
    for (const o of list(overriders[field])) {
      for (const c of containers(out)) {
        if (c.name !== o.containerName) continue;
        const current = Array.isArray(c[key]) ? (c[key] as unknown[]).map(String) : [];
        const values = Array.isArray(o.value) ? o.value.map(String) : [];
        c[key] = o.operator === 'remove' ? current.filter((v) => !values.includes(v)) : [...current, ...values];
      }
    }
  }
  for (const [field, key] of [['labelsOverrider', 'labels'], ['annotationsOverrider', 'annotations']] as const) {
    for (const o of list(overriders[field])) {
      const current = { ...(out.metadata[key] ?? {}) } as Record<string, string>;
      const values = isPlainObject(o.value) ? (o.value as Record<string, string>) : {};
      for (const [k, v] of Object.entries(values)) {
        if (o.operator === 'remove') delete current[k];
        else if (o.operator === 'replace') {
          if (k in current) current[k] = String(v);
        } else if (o.operator === 'addIfAbsent') {
          if (!(k in current)) current[k] = String(v);
        } else current[k] = String(v);
      }
      out.metadata[key] = current;
    }
  }
  if (typeof overriders.replicasOverrider === 'number' && isPlainObject(out.spec) && 'replicas' in out.spec) {
    out.spec.replicas = overriders.replicasOverrider;
  }
  const plaintext = list(overriders.plaintext);
  if (plaintext.length > 0) {
    const patch = plaintext.map((p) => (p.operator === 'remove' ? { op: 'remove', path: p.path } : { op: p.operator, path: p.path, value: p.value }));
    return applyJsonPatch(out, patch);
  }
  return out;
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isPlainObject) : [];
}

/** Splits `registry/repository:tag` (digests kept with the repository) and changes one part. */
export function overrideImage(image: string, component: string, operator: string, value: string | undefined): string {
  const parsed = parseImage(image);
  const part = component === 'Registry' ? 'registry' : component === 'Repository' ? 'repository' : 'tag';
  const current = parsed[part];
  let next: string;
  if (operator === 'remove') next = '';
  else if (operator === 'add') next = part === 'registry' ? `${value ?? ''}${current ? `/${current}` : ''}`.replace(/\/$/, '') : current ? `${current}${value ?? ''}` : (value ?? '');
  else next = value ?? '';
  parsed[part] = next;
  return `${parsed.registry ? `${parsed.registry}/` : ''}${parsed.repository}${parsed.tag ? `:${parsed.tag}` : ''}${parsed.digest}`;
}

function parseImage(image: string): { registry: string; repository: string; tag: string; digest: string } {
  let rest = image;
  let digest = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at);
    rest = rest.slice(0, at);
  }
  let registry = '';
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag = '';
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { registry, repository: rest, tag, digest };
}
