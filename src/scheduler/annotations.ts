/**
 * The labels and annotations this scheduler reads beyond upstream Kubernetes' own.
 */

/** Pod annotation: `single-numa-node` asks that a Guaranteed pod's CPU and memory come from one NUMA node. */
export const numaPolicyAnnotation = 'nephele.dev/numa-policy';
/** Node annotation: JSON list of NUMA nodes, `[{"cpu":"32","memory":"128Gi"},{"cpu":"32","memory":"128Gi"}]`. */
export const numaTopologyAnnotation = 'nephele.dev/numa-topology';
/** Node label (upstream GPU feature discovery): the GPU model, e.g. `NVIDIA-A100-SXM4-80GB`. */
export const gpuProductLabel = 'nvidia.com/gpu.product';
/** Pod annotation: the GPU model the pod needs (alternative to a nodeSelector on `nvidia.com/gpu.product`). */
export const gpuModelAnnotation = 'nephele.dev/gpu-model';
/** Node annotation: NVLink islands as JSON lists of GPU indices, `[[0,1,2,3],[4,5,6,7]]`. */
export const gpuTopologyAnnotation = 'nephele.dev/gpu-topology';
/** Pod annotation: `"true"` asks that all the pod's GPUs come from one NVLink island. */
export const gpuLinkedAnnotation = 'nephele.dev/gpu-linked';
/** Pod annotation the scheduler's cache reads, when present, for the GPU indices a bound pod holds (`"0,1"`). */
export const gpuIndicesAnnotation = 'nephele.dev/gpu-indices';
/** Well-known node label for the node's name, the usual anti-affinity topology key. */
export const hostnameLabel = 'kubernetes.io/hostname';
export const zoneLabel = 'topology.kubernetes.io/zone';
