/**
 * kube-state-metrics for a simulated cluster: the object-state series real dashboards and
 * right-sizing queries join against (pod info and owners, container requests and limits, phases,
 * readiness, Deployment replicas, ReplicaSet owners, node info, labels, capacity and allocatable),
 * with the metric and label names of kube-state-metrics v2.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { array, record } from '../pods.ts';
import { parseQuantity } from '../../machinery/quantity.ts';
import { formatPrometheusText, sanitizeLabelName, type Labels, type MetricFamily, type Sample } from './exposition.ts';

/** The objects kube-state-metrics reports on; any list may be empty. */
export interface KubeStateObjects {
  pods?: readonly KubeObject[];
  nodes?: readonly KubeObject[];
  deployments?: readonly KubeObject[];
  replicaSets?: readonly KubeObject[];
}

const podPhases = ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'] as const;

/** The resource name and unit kube-state-metrics gives a Kubernetes resource name. */
export function resourceLabels(resource: string): { resource: string; unit: string } {
  const unit = resource === 'cpu' ? 'core'
    : resource === 'memory' || resource === 'storage' || resource === 'ephemeral-storage' || resource.startsWith('hugepages-') ? 'byte'
      : 'integer';
  return { resource: sanitizeLabelName(resource), unit };
}

function quantity(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  try {
    // 15 significant digits drop binary noise: 3800m is 3.8 cores, as kube-state-metrics says.
    return Number(parseQuantity(value).toPrecision(15));
  } catch {
    return undefined;
  }
}

function podLabels(pod: KubeObject): Labels {
  return { namespace: pod.metadata.namespace ?? '', pod: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' };
}

function containersOf(pod: KubeObject): Record<string, unknown>[] {
  return array(record(pod.spec).containers);
}

/** `kube_pod_owner` samples of one pod: one per ownerReference, or one `<none>` sample. */
export function podOwnerSamples(pod: KubeObject): Sample[] {
  const refs = pod.metadata.ownerReferences ?? [];
  if (refs.length === 0) return [{ labels: { ...podLabels(pod), owner_kind: '<none>', owner_name: '<none>', owner_is_controller: '<none>' }, value: 1 }];
  return refs.map((ref) => ({ labels: { ...podLabels(pod), owner_kind: ref.kind, owner_name: ref.name, owner_is_controller: String(ref.controller === true) }, value: 1 }));
}

/** `kube_pod_container_resource_requests` (or `_limits`) samples of one pod's containers. */
export function containerResourceSamples(pod: KubeObject, which: 'requests' | 'limits'): Sample[] {
  const node = String(record(pod.spec).nodeName ?? '');
  const samples: Sample[] = [];
  for (const container of containersOf(pod)) {
    for (const [resource, raw] of Object.entries(record(record(container.resources)[which]))) {
      const value = quantity(raw);
      if (value === undefined) continue;
      samples.push({ labels: { ...podLabels(pod), container: String(container.name ?? ''), node, ...resourceLabels(resource) }, value });
    }
  }
  return samples;
}

function statusOf(pod: KubeObject, container: string): Record<string, unknown> | undefined {
  return array(record(pod.status).containerStatuses).find((s) => s.name === container);
}

/** `kube_node_status_capacity` (or `_allocatable`) samples of one node. */
export function nodeResourceSamples(node: KubeObject, which: 'capacity' | 'allocatable'): Sample[] {
  const samples: Sample[] = [];
  for (const [resource, raw] of Object.entries(record(record(node.status)[which]))) {
    const value = quantity(raw);
    if (value !== undefined) samples.push({ labels: { node: node.metadata.name ?? '', ...resourceLabels(resource) }, value });
  }
  return samples;
}

function byName(a: KubeObject, b: KubeObject): number {
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The kube-state-metrics families for `objects`, each object's series sorted by namespace and name. */
export function kubeStateMetricsFamilies(objects: KubeStateObjects): MetricFamily[] {
  const pods = [...(objects.pods ?? [])].sort(byName);
  const nodes = [...(objects.nodes ?? [])].sort(byName);
  const deployments = [...(objects.deployments ?? [])].sort(byName);
  const replicaSets = [...(objects.replicaSets ?? [])].sort(byName);
  const family = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name, type: 'gauge', help, samples });

  return [
    family('kube_pod_info', 'Information about pod.', pods.map((pod) => {
      const spec = record(pod.spec);
      const status = record(pod.status);
      const owner = pod.metadata.ownerReferences?.find((r) => r.controller === true) ?? pod.metadata.ownerReferences?.[0];
      return {
        labels: {
          ...podLabels(pod),
          host_ip: String(status.hostIP ?? ''),
          pod_ip: String(status.podIP ?? ''),
          node: String(spec.nodeName ?? ''),
          created_by_kind: owner?.kind ?? '<none>',
          created_by_name: owner?.name ?? '<none>',
          priority_class: String(spec.priorityClassName ?? ''),
          host_network: String(spec.hostNetwork === true),
        },
        value: 1,
      };
    })),
    family('kube_pod_owner', 'Information about the Pod\'s owner.', pods.flatMap(podOwnerSamples)),
    family('kube_pod_container_info', 'Information about a container in a pod.', pods.flatMap((pod) => containersOf(pod).map((c) => {
      const name = String(c.name ?? '');
      const s = statusOf(pod, name);
      return {
        labels: {
          ...podLabels(pod), container: name, image_spec: String(c.image ?? ''), image: String(s?.image ?? c.image ?? ''),
          image_id: String(s?.imageID ?? ''), container_id: String(s?.containerID ?? ''),
        },
        value: 1,
      };
    }))),
    family('kube_pod_container_resource_requests', 'The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.', pods.flatMap((pod) => containerResourceSamples(pod, 'requests'))),
    family('kube_pod_container_resource_limits', 'The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.', pods.flatMap((pod) => containerResourceSamples(pod, 'limits'))),
    family('kube_pod_status_phase', 'The pods current phase.', pods.flatMap((pod) => {
      const phase = String(record(pod.status).phase ?? 'Pending');
      return podPhases.map((p) => ({ labels: { ...podLabels(pod), phase: p }, value: p === phase ? 1 : 0 }));
    })),
    family('kube_pod_container_status_ready', 'Describes whether the containers readiness check succeeded.', pods.flatMap((pod) =>
      array(record(pod.status).containerStatuses).map((s) => ({ labels: { ...podLabels(pod), container: String(s.name ?? '') }, value: s.ready === true ? 1 : 0 })))),
    family('kube_deployment_spec_replicas', 'Number of desired pods for a deployment.', deployments.map((d) => ({
      labels: { namespace: d.metadata.namespace ?? '', deployment: d.metadata.name ?? '' },
      value: typeof record(d.spec).replicas === 'number' ? record(d.spec).replicas as number : 1,
    }))),
    family('kube_replicaset_owner', 'Information about the ReplicaSet\'s owner.', replicaSets.flatMap((rs) => {
      const base = { namespace: rs.metadata.namespace ?? '', replicaset: rs.metadata.name ?? '' };
      const refs = rs.metadata.ownerReferences ?? [];
      if (refs.length === 0) return [{ labels: { ...base, owner_kind: '<none>', owner_name: '<none>', owner_is_controller: '<none>' }, value: 1 }];
      return refs.map((ref) => ({ labels: { ...base, owner_kind: ref.kind, owner_name: ref.name, owner_is_controller: String(ref.controller === true) }, value: 1 }));
    })),
    family('kube_node_info', 'Information about a cluster node.', nodes.map((node) => {
      const info = record(record(node.status).nodeInfo);
      const internal = array(record(node.status).addresses).find((a) => a.type === 'InternalIP');
      return {
        labels: {
          node: node.metadata.name ?? '',
          kernel_version: String(info.kernelVersion ?? ''),
          os_image: String(info.osImage ?? ''),
          container_runtime_version: String(info.containerRuntimeVersion ?? ''),
          kubelet_version: String(info.kubeletVersion ?? ''),
          kubeproxy_version: String(info.kubeProxyVersion ?? ''),
          provider_id: String(record(node.spec).providerID ?? ''),
          pod_cidr: String(record(node.spec).podCIDR ?? ''),
          internal_ip: String(internal?.address ?? ''),
          system_uuid: String(info.systemUUID ?? ''),
        },
        value: 1,
      };
    })),
    family('kube_node_labels', 'Kubernetes labels converted to Prometheus labels.', nodes.map((node) => {
      const labels: Labels = { node: node.metadata.name ?? '' };
      for (const key of Object.keys(node.metadata.labels ?? {}).sort()) labels[`label_${sanitizeLabelName(key)}`] = node.metadata.labels![key]!;
      return { labels, value: 1 };
    })),
    family('kube_node_status_capacity', 'The capacity for different resources of a node.', nodes.flatMap((n) => nodeResourceSamples(n, 'capacity'))),
    family('kube_node_status_allocatable', 'The allocatable for different resources of a node that are available for scheduling.', nodes.flatMap((n) => nodeResourceSamples(n, 'allocatable'))),
  ];
}

/**
 * The kube-state-metrics exposition (text format 0.0.4) for `objects`. `now` is accepted so callers
 * render every endpoint the same way; state series carry no timestamps, as upstream's do not.
 */
export function renderKubeStateMetrics(objects: KubeStateObjects, now?: number): string {
  void now;
  return formatPrometheusText(kubeStateMetricsFamilies(objects));
}
