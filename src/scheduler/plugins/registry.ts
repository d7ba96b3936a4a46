/**
 * Every in-tree plugin by name, and the default profile's plugins with their score weights.
 */
import type { PluginFactory } from '../interfaces.ts';
import { defaultBinder, defaultPreemption } from './default-preemption.ts';
import { gpuTopology } from './gpu-topology.ts';
import { interPodAffinity } from './inter-pod-affinity.ts';
import { nodeAffinity } from './node-affinity.ts';
import { nodeResourcesBalancedAllocation, nodeResourcesFit } from './node-resources.ts';
import { numaAlignment } from './numa-alignment.ts';
import { podTopologySpread } from './pod-topology-spread.ts';
import { nodeName, nodePorts, nodeUnschedulable } from './simple.ts';
import { taintToleration } from './taint-toleration.ts';
import { checkKeys } from './args.ts';

function noArgs<T>(name: string, make: () => T): PluginFactory {
  return (args) => {
    checkKeys(args, [], `${name} args`);
    return make() as ReturnType<PluginFactory>;
  };
}

export const inTreeRegistry: Readonly<Record<string, PluginFactory>> = {
  NodeUnschedulable: noArgs('NodeUnschedulable', nodeUnschedulable),
  NodeName: noArgs('NodeName', nodeName),
  NodePorts: noArgs('NodePorts', nodePorts),
  NodeResourcesFit: (args) => nodeResourcesFit(args),
  NodeResourcesBalancedAllocation: (args) => nodeResourcesBalancedAllocation(args),
  NodeAffinity: (args) => nodeAffinity(args),
  TaintToleration: (args) => taintToleration(args),
  PodTopologySpread: (args) => podTopologySpread(args),
  InterPodAffinity: (args, handle) => interPodAffinity(args, handle),
  NUMAAlignment: (args) => numaAlignment(args),
  GPUTopology: (args) => gpuTopology(args),
  DefaultPreemption: (args, handle) => defaultPreemption(args, handle),
  DefaultBinder: (args, handle) => defaultBinder(args, handle),
};

/** The default profile, in order: filters run in this order, and these are the score weights. */
export const defaultPlugins: ReadonlyArray<{ name: string; weight: number }> = [
  { name: 'NodeUnschedulable', weight: 0 },
  { name: 'NodeName', weight: 0 },
  { name: 'TaintToleration', weight: 3 },
  { name: 'NodeAffinity', weight: 2 },
  { name: 'NodePorts', weight: 0 },
  { name: 'NodeResourcesFit', weight: 1 },
  { name: 'NUMAAlignment', weight: 0 },
  { name: 'GPUTopology', weight: 1 },
  { name: 'PodTopologySpread', weight: 2 },
  { name: 'InterPodAffinity', weight: 2 },
  { name: 'DefaultPreemption', weight: 0 },
  { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  { name: 'DefaultBinder', weight: 0 },
];
