/**
 * The small filters: NodeUnschedulable (cordoned nodes), NodeName (spec.nodeName) and NodePorts
 * (host ports in use).
 */
import { CycleState } from '../cycle-state.ts';
import type { FilterPlugin, PreFilterPlugin } from '../interfaces.ts';
import type { NodeInfo } from '../node-info.ts';
import { tolerates, type PodInfo } from '../pod-info.ts';
import { Status } from '../status.ts';

const unschedulableTaint = { key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' };

/** Rejects cordoned nodes (spec.unschedulable) unless the pod tolerates the unschedulable taint. */
export function nodeUnschedulable(): FilterPlugin {
  return {
    name: 'NodeUnschedulable',
    nodeOnly: true,
    filter(_state: CycleState, pod: PodInfo, node: NodeInfo) {
      if (!node.unschedulable) return Status.success;
      for (const t of pod.tolerations) if (tolerates(t, unschedulableTaint)) return Status.success;
      return Status.unresolvable('node(s) were unschedulable');
    },
  } satisfies FilterPlugin;
}

/** Rejects every node but the one a pod's spec.nodeName names. */
export function nodeName(): PreFilterPlugin & FilterPlugin {
  return {
    name: 'NodeName',
    nodeOnly: true,
    preFilter(_state, pod) {
      return pod.nodeName ? Status.success : Status.skip;
    },
    filter(_state, pod, node) {
      return pod.nodeName === undefined || pod.nodeName === node.name ? Status.success : Status.unresolvable("node(s) didn't match the requested node name");
    },
  } satisfies PreFilterPlugin & FilterPlugin;
}

/** Rejects nodes where a host port the pod asks for is taken (same protocol and port, overlapping IP). */
export function nodePorts(): PreFilterPlugin & FilterPlugin {
  return {
    name: 'NodePorts',
    preFilter(_state, pod) {
      return pod.hostPorts.length > 0 ? Status.success : Status.skip;
    },
    filter(_state, pod, node) {
      if (!node.usedPorts) return Status.success;
      for (const hp of pod.hostPorts) {
        const ips = node.usedPorts.get(`${hp.protocol}/${hp.port}`);
        if (!ips) continue;
        for (const ip of ips) {
          if (ip === hp.ip || ip === '0.0.0.0' || hp.ip === '0.0.0.0') return Status.unschedulable("node(s) didn't have free ports for the requested pod ports");
        }
      }
      return Status.success;
    },
  } satisfies PreFilterPlugin & FilterPlugin;
}
