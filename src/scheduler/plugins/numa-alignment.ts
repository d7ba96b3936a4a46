/**
 * NUMAAlignment: a Guaranteed pod annotated `nephele.dev/numa-policy: single-numa-node` must get
 * all its CPU and memory from one NUMA node. Nodes describe their NUMA nodes in the
 * `nephele.dev/numa-topology` annotation; the node's NodeInfo tracks what aligned pods hold of
 * each. Pods that did not ask, or are not Guaranteed, are not aligned and pass.
 */
import type { FilterPlugin, PreFilterPlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

export function numaAlignment(rawArgs: Record<string, unknown> = {}): PreFilterPlugin & FilterPlugin {
  checkKeys(rawArgs, [], 'NUMAAlignment args');
  return {
    name: 'NUMAAlignment',
    preFilter(_state, pod) {
      return pod.numaAligned ? Status.success : Status.skip;
    },
    filter(_state, pod, node) {
      const numa = node.numa;
      if (!numa) return Status.unresolvable("node(s) didn't describe their NUMA topology");
      const cpu = pod.requests.milliCpu;
      const mem = pod.requests.memory;
      if (!numa.cells.some((c) => c.milliCpu >= cpu && c.memory >= mem)) return Status.unresolvable('node(s) had no NUMA node large enough for the pod');
      return numa.choose(cpu, mem) >= 0 ? Status.success : Status.unschedulable('node(s) had no NUMA node with enough free cpu and memory');
    },
  } satisfies PreFilterPlugin & FilterPlugin;
}
