/**
 * Applying one Work to one member cluster, the same way whoever does it: the hub for push and
 * simulated members, the agent beside a pull member. Each manifest goes to the member with
 * server-side apply under one field manager, labelled with the Work it came from; manifests the
 * Work listed before (its status) but no longer does are deleted, and `pruneWork` deletes all of
 * them when the Work goes. Only objects carrying the Work's labels are ever deleted, so an object
 * someone else made with the same name is left alone.
 *
 * Outcomes are values, not exceptions: one manifest that fails (an unknown kind, an invalid
 * object) is reported in `errors` and the rest are still applied. Only an unreachable member
 * rejects.
 */
import type { ResourceRef } from '../../client/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { findResource, type MemberClient } from '../../member/index.ts';
import { setCondition, type Condition } from './conditions.ts';

/** Label on every object applied from a Work: the Work's name. */
export const workNameLabel = 'fleet.nephele.dev/work';
/** Label on every object applied from a Work: the Work's namespace (the execution namespace). */
export const workNamespaceLabel = 'fleet.nephele.dev/work-namespace';
/** The field manager applies use unless told otherwise. */
export const defaultWorkFieldManager = 'nephele-agent';

/** Names one manifest, as Work status does. */
export interface ManifestIdentifier {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface ManifestStatus {
  identifier: ManifestIdentifier;
  /** The member object's status after the apply. */
  status?: unknown;
  /** Healthy, Unhealthy or Unknown, from the status as far as the kind is understood. */
  health?: string;
}

export interface ManifestError {
  identifier: ManifestIdentifier;
  message: string;
}

/** What applying one Work did. */
export interface WorkStatusSummary {
  /** Every manifest was applied. */
  applied: boolean;
  manifestStatuses: ManifestStatus[];
  errors: ManifestError[];
  /** Objects deleted because the Work no longer lists them. */
  pruned: ManifestIdentifier[];
}

export interface ApplyWorkOptions {
  /** Field manager of the server-side applies; default `nephele-agent`. */
  fieldManager?: string;
}

/** The identifier of a manifest, or undefined when it lacks apiVersion, kind or name. */
export function manifestIdentifier(manifest: unknown): ManifestIdentifier | undefined {
  if (!isPlainObject(manifest) || !isPlainObject(manifest.metadata)) return undefined;
  const { apiVersion, kind } = manifest;
  const { name, namespace } = manifest.metadata;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof name !== 'string' || !apiVersion || !kind || !name) return undefined;
  return { apiVersion, kind, name, ...(typeof namespace === 'string' && namespace ? { namespace } : {}) };
}

function sameIdentifier(a: ManifestIdentifier, b: ManifestIdentifier): boolean {
  return a.apiVersion === b.apiVersion && a.kind === b.kind && (a.namespace ?? '') === (b.namespace ?? '') && a.name === b.name;
}

function describe(id: ManifestIdentifier): string {
  return `${id.kind} ${id.namespace ? `${id.namespace}/` : ''}${id.name} (${id.apiVersion})`;
}

function manifestsOf(work: KubeObject): unknown[] {
  const spec = isPlainObject(work.spec) ? work.spec : {};
  const workload = isPlainObject(spec.workload) ? spec.workload : {};
  return Array.isArray(workload.manifests) ? workload.manifests : [];
}

/** What the Work's status says was applied last time. */
export function appliedIdentifiers(work: KubeObject): ManifestIdentifier[] {
  const status = isPlainObject(work.status) ? work.status : {};
  const list = Array.isArray(status.manifestStatuses) ? status.manifestStatuses : [];
  return list.flatMap((m) => {
    const id = isPlainObject(m) && isPlainObject(m.identifier) ? m.identifier : undefined;
    const parsed = id ? manifestIdentifier({ apiVersion: id.apiVersion, kind: id.kind, metadata: { name: id.name, namespace: id.namespace } }) : undefined;
    return parsed ? [parsed] : [];
  });
}

/** Served resources per member, asked again when a kind is not found (a CRD may have arrived). */
const discovery = new WeakMap<MemberClient, Promise<ResourceRef[]>>();

async function resolve(member: MemberClient, id: ManifestIdentifier): Promise<ResourceRef | undefined> {
  let resources = discovery.get(member);
  if (!resources) {
    resources = member.discover();
    discovery.set(member, resources);
    resources.catch(() => discovery.delete(member));
  }
  const found = findResource(await resources, id.apiVersion, id.kind);
  if (found) return found;
  const fresh = member.discover();
  discovery.set(member, fresh);
  return findResource(await fresh, id.apiVersion, id.kind);
}

/** A coarse health reading of a member object's status. */
export function healthOf(kind: string, obj: KubeObject): string {
  const spec = isPlainObject(obj.spec) ? obj.spec : {};
  const status = isPlainObject(obj.status) ? obj.status : undefined;
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'ReplicaSet': {
      if (!status) return 'Unknown';
      const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
      const current = (obj.metadata.generation ?? 0) <= Number(status.observedGeneration ?? 0);
      return current && Number(status.readyReplicas ?? 0) >= want && Number(status.updatedReplicas ?? want) >= want ? 'Healthy' : 'Unhealthy';
    }
    case 'Job':
      if (!status) return 'Unknown';
      return Number(status.failed ?? 0) > 0 && !status.succeeded ? 'Unhealthy' : 'Healthy';
    case 'Pod':
      return status?.phase === 'Running' || status?.phase === 'Succeeded' ? 'Healthy' : status?.phase === 'Failed' ? 'Unhealthy' : 'Unknown';
    default:
      return 'Healthy';
  }
}

const namespacesRef: ResourceRef = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };

async function ensureNamespace(member: MemberClient, namespace: string, known: Set<string>): Promise<void> {
  if (known.has(namespace)) return;
  try {
    await member.objects.create(namespacesRef, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  } catch (err) {
    if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
  }
  known.add(namespace);
}

function isUnreachable(err: unknown): boolean {
  return err instanceof Error && (err.name === 'MemberUnreachableError' || err.name === 'MemberClientClosedError');
}

/**
 * Applies every manifest of `work` to `member` (server-side apply, forced, labelled with the
 * Work) and deletes what the Work's status lists that its spec no longer does. Namespaces the
 * manifests name are created on the member when missing. Rejects only when the member cannot be
 * reached; everything else is in the summary.
 */
export async function applyWork(member: MemberClient, work: KubeObject, options: ApplyWorkOptions = {}): Promise<WorkStatusSummary> {
  const fieldManager = options.fieldManager ?? defaultWorkFieldManager;
  const labels = { [workNameLabel]: work.metadata.name!, [workNamespaceLabel]: work.metadata.namespace ?? '' };
  const summary: WorkStatusSummary = { applied: true, manifestStatuses: [], errors: [], pruned: [] };
  const listed: ManifestIdentifier[] = [];
  const namespaces = new Set<string>();
  for (const [index, manifest] of manifestsOf(work).entries()) {
    const id = manifestIdentifier(manifest);
    if (!id) {
      summary.errors.push({ identifier: { apiVersion: '', kind: '', name: `manifests[${index}]` }, message: `manifests[${index}] needs apiVersion, kind and metadata.name` });
      continue;
    }
    listed.push(id);
    try {
      const ref = await resolve(member, id);
      if (!ref) throw new Error(`member cluster ${member.name} does not serve ${id.kind} in ${id.apiVersion}`);
      const namespace = ref.namespaced ? id.namespace ?? 'default' : undefined;
      if (namespace) await ensureNamespace(member, namespace, namespaces);
      const body = manifest as KubeObject;
      const applied = await member.objects.patch(ref, namespace, id.name, 'apply', {
        ...body,
        metadata: { ...body.metadata, ...(namespace ? { namespace } : {}), labels: { ...body.metadata.labels, ...labels } },
      }, { fieldManager, force: true });
      summary.manifestStatuses.push({ identifier: id, ...(applied.status !== undefined ? { status: applied.status } : {}), health: healthOf(id.kind, applied) });
    } catch (err) {
      if (isUnreachable(err)) throw err;
      summary.errors.push({ identifier: id, message: `${describe(id)}: ${(err as Error).message}` });
    }
  }
  summary.applied = summary.errors.length === 0;
  const stale = appliedIdentifiers(work).filter((old) => !listed.some((id) => sameIdentifier(id, old)));
  for (const id of stale) {
    if (await deleteIfOurs(member, work, id)) summary.pruned.push(id);
  }
  return summary;
}

/**
 * Deletes from `member` every object `work` lists (in its spec or as applied in its status) that
 * carries the Work's labels; what is already gone is skipped. Returns what was deleted. For a
 * Work that is being deleted, before its finalizer is released.
 */
export async function pruneWork(member: MemberClient, work: KubeObject): Promise<ManifestIdentifier[]> {
  const all = [...manifestsOf(work).map(manifestIdentifier).filter((id): id is ManifestIdentifier => id !== undefined), ...appliedIdentifiers(work)];
  const unique = all.filter((id, i) => all.findIndex((other) => sameIdentifier(id, other)) === i);
  const pruned: ManifestIdentifier[] = [];
  for (const id of unique) if (await deleteIfOurs(member, work, id)) pruned.push(id);
  return pruned;
}

async function deleteIfOurs(member: MemberClient, work: KubeObject, id: ManifestIdentifier): Promise<boolean> {
  const ref = await resolve(member, id);
  if (!ref) return false;
  const namespace = ref.namespaced ? id.namespace ?? 'default' : undefined;
  try {
    const current = await member.objects.get(ref, namespace, id.name);
    const labels = current.metadata.labels ?? {};
    if (labels[workNameLabel] !== work.metadata.name || labels[workNamespaceLabel] !== (work.metadata.namespace ?? '')) return false;
    await member.objects.delete(ref, namespace, id.name, { propagationPolicy: 'Background', preconditions: { uid: current.metadata.uid! } });
    return true;
  } catch (err) {
    if (err instanceof StatusError && (err.reason === 'NotFound' || err.reason === 'Conflict')) return false;
    throw err;
  }
}

/**
 * The Work status for a summary: an Applied condition (True, or False naming what failed) and
 * the manifests' statuses, keeping the condition's lastTransitionTime while it holds.
 */
export function workStatus(summary: WorkStatusSummary, previous: KubeObject['status'], now: string): { conditions: Condition[]; manifestStatuses: ManifestStatus[] } {
  const conditions = isPlainObject(previous) && Array.isArray(previous.conditions) ? previous.conditions as Condition[] : [];
  const applied: Omit<Condition, 'lastTransitionTime'> = summary.applied
    ? { type: 'Applied', status: 'True', reason: 'AppliedSuccessful', message: `applied ${summary.manifestStatuses.length} manifest(s)` }
    : { type: 'Applied', status: 'False', reason: 'AppliedFailed', message: summary.errors.map((e) => e.message).join('; ') };
  return { conditions: setCondition(conditions, applied, now), manifestStatuses: summary.manifestStatuses };
}
