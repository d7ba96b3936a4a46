/**
 * GPUTopology filters on the GPU model a pod asks for (`nephele.dev/gpu-model` against the node's
 * `nvidia.com/gpu.product` label) and, for pods annotated `nephele.dev/gpu-linked: "true"`, on an
 * NVLink island (`nephele.dev/gpu-topology`) with enough free GPUs. It scores the tightest fit
 * highest, so whole islands stay free for the pods that need them. Which GPU indices each pod
 * holds is tracked per node (NodeInfo.gpu).
 */
import type { FilterPlugin, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../interfaces.ts';
import { maxNodeScore } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

export function gpuTopology(rawArgs: Record<string, unknown> = {}): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  checkKeys(rawArgs, [], 'GPUTopology args');
  return {
    name: 'GPUTopology',
    preFilter(_state, pod) {
      return pod.gpuCount > 0 || pod.gpuModel !== undefined ? Status.success : Status.skip;
    },
    filter(_state, pod, node) {
      if (pod.gpuModel !== undefined && node.gpuModel !== pod.gpuModel) return Status.unresolvable(`node(s) didn't have GPU model ${pod.gpuModel}`);
      if (pod.gpuCount <= 0) return Status.success;
      const gpu = node.gpu;
      if (!gpu) return Status.unresolvable("node(s) didn't have GPUs");
      if (pod.gpuLinked && pod.gpuCount > 1 && !gpu.islands.some((i) => i.length >= pod.gpuCount)) {
        return Status.unresolvable(`node(s) had no NVLink island of ${pod.gpuCount} GPUs`);
      }
      if (gpu.choose(pod.gpuCount, pod.gpuLinked)) return Status.success;
      return Status.unschedulable(pod.gpuLinked ? `node(s) had no NVLink island with ${pod.gpuCount} free GPUs` : 'Insufficient nvidia.com/gpu');
    },
    preScore(_state, pod) {
      return pod.gpuCount > 0 ? Status.success : Status.skip;
    },
    score(_state, pod, node) {
      const gpu = node.gpu;
      if (!gpu) return 0;
      const picked = gpu.choose(pod.gpuCount, pod.gpuLinked);
      if (!picked) return 0;
      // GPUs left free in the islands the pod would touch: fewer means a tighter fit.
      const touched = new Set(picked.map((i) => gpu.islandOf[i]!));
      let leftover = 0;
      for (const island of touched) leftover += gpu.freeIn(gpu.islands[island]!);
      leftover -= picked.length;
      return maxNodeScore * (1 - leftover / gpu.count);
    },
  } satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin;
}
