/**
 * From a template on the hub to what a member runs: the manifest for one cluster (server fields
 * and status dropped, the cluster's share of the replicas, overrides applied), the Work that
 * carries it (with the template's namespace first), and the template status summed back from the
 * members' copies.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { cloneJson, isPlainObject } from '../../machinery/object.ts';
import { executionNamespace } from '../context.ts';
import { applyOverrides } from './overrides.ts';

export const bindingLabel = 'fleet.nephele.dev/binding';
export const clusterLabel = 'fleet.nephele.dev/cluster';

type Json = Record<string, unknown>;

/** Where the binding of a template lives and what it is called. */
export function bindingIdentity(template: KubeObject): { namespace: string; name: string; label: string } {
  const namespace = template.metadata.namespace ?? 'nephele-system';
  const name = `${template.metadata.name}-${template.kind!.toLowerCase()}`;
  return { namespace, name, label: `${namespace}.${name}`.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '') };
}

/** Whether the template's kind divides replicas (it has spec.replicas). */
export function replicasOf(template: KubeObject): number | undefined {
  const spec = isPlainObject(template.spec) ? template.spec : {};
  return typeof spec.replicas === 'number' ? spec.replicas : template.kind === 'Deployment' || template.kind === 'StatefulSet' || template.kind === 'ReplicaSet' ? 1 : undefined;
}

/** The template as a member should receive it, before overrides. */
export function baseManifest(template: KubeObject, replicas: number | undefined, label: string): KubeObject {
  const { metadata, status: _status, ...rest } = cloneJson(template) as KubeObject & Json;
  void _status;
  const manifest: KubeObject & Json = {
    ...rest,
    metadata: {
      name: metadata.name,
      ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
      labels: { ...(metadata.labels ?? {}), [bindingLabel]: label },
      ...(metadata.annotations ? { annotations: stripAnnotations(metadata.annotations) } : {}),
    },
  };
  if (replicas !== undefined && isPlainObject(manifest.spec)) manifest.spec.replicas = replicas;
  return manifest;
}

function stripAnnotations(annotations: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) if (k !== 'kubectl.kubernetes.io/last-applied-configuration' && !k.startsWith('deployment.kubernetes.io/')) out[k] = v;
  return out;
}

/** The Work that runs `template` (with `replicas` of it) on `cluster`, overrides applied. */
export function workFor(template: KubeObject, cluster: KubeObject, replicas: number | undefined, overridePolicies: KubeObject[]): { work: KubeObject; appliedOverrides: string[] } {
  const id = bindingIdentity(template);
  const { manifest, applied } = applyOverrides(baseManifest(template, replicas, id.label), cluster, overridePolicies);
  // applyWork creates the namespace on the member when it is missing; it is not the Work's to delete.
  const manifests: KubeObject[] = [manifest];
  const clusterName = cluster.metadata.name!;
  return {
    work: {
      apiVersion: 'fleet.nephele.dev/v1alpha1',
      kind: 'Work',
      metadata: {
        name: workName(template),
        namespace: executionNamespace(clusterName),
        labels: { [bindingLabel]: id.label, [clusterLabel]: clusterName },
        annotations: { 'fleet.nephele.dev/template': `${template.apiVersion}/${template.kind}/${template.metadata.namespace ?? ''}/${template.metadata.name}` },
      },
      spec: { workload: { manifests } },
    },
    appliedOverrides: applied.map((a) => `${a.policy}#${a.rule}`),
  };
}

export function workName(template: KubeObject): string {
  const id = bindingIdentity(template);
  return `${id.namespace}.${id.name}`;
}

/** The replicas a Work asks for (its workload manifest's spec.replicas). */
export function workReplicas(work: KubeObject): number | undefined {
  const manifest = workloadManifest(work);
  const spec = manifest && isPlainObject(manifest.spec) ? manifest.spec : undefined;
  return spec && typeof spec.replicas === 'number' ? spec.replicas : undefined;
}

/** The manifest of a Work that is not the namespace it brings along. */
export function workloadManifest(work: KubeObject): KubeObject | undefined {
  const spec = isPlainObject(work.spec) ? work.spec : {};
  const workload = isPlainObject(spec.workload) ? spec.workload : {};
  const manifests = Array.isArray(workload.manifests) ? workload.manifests.filter(isPlainObject) as KubeObject[] : [];
  return manifests.find((m) => m.kind !== 'Namespace') ?? manifests[0];
}

/** The member's status of the workload a Work carries, as the Work's status reports it. */
export function memberStatus(work: KubeObject): Json | undefined {
  const manifest = workloadManifest(work);
  const status = isPlainObject(work.status) ? work.status : {};
  const entries = Array.isArray(status.manifestStatuses) ? status.manifestStatuses.filter(isPlainObject) : [];
  const entry = entries.find((e) => isPlainObject(e.identifier) && e.identifier.kind === manifest?.kind && e.identifier.name === manifest?.metadata.name);
  return entry && isPlainObject(entry.status) ? entry.status : undefined;
}

export function workApplied(work: KubeObject): boolean {
  const status = isPlainObject(work.status) ? work.status : {};
  return (Array.isArray(status.conditions) ? status.conditions : []).some((c) => isPlainObject(c) && c.type === 'Applied' && c.status === 'True');
}

/** Ready replicas a member reports for a Work's workload (0 until it reports). */
export function readyReplicasOf(work: KubeObject): number {
  const status = memberStatus(work);
  return Number(status?.readyReplicas ?? 0) || 0;
}

const summed = ['replicas', 'readyReplicas', 'availableReplicas', 'updatedReplicas', 'currentReplicas', 'active', 'succeeded', 'failed', 'ready'];

/** The template's status: the members' counters summed (Deployments, StatefulSets, Jobs, ...). */
export function aggregateStatus(template: KubeObject, works: KubeObject[]): Json | undefined {
  const statuses = works.map(memberStatus).filter((s): s is Json => s !== undefined);
  if (statuses.length === 0) return undefined;
  const out: Json = {};
  for (const field of summed) {
    if (statuses.some((s) => typeof s[field] === 'number')) out[field] = statuses.reduce((n, s) => n + (Number(s[field] ?? 0) || 0), 0);
  }
  if (Object.keys(out).length === 0) return undefined;
  out.observedGeneration = template.metadata.generation ?? 1;
  const replicas = replicasOf(template);
  if (replicas !== undefined && typeof out.availableReplicas === 'number') {
    out.unavailableReplicas = Math.max(0, replicas - out.availableReplicas);
  }
  return out;
}
