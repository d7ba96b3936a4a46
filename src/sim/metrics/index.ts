/** Prometheus metrics of a simulated cluster: cAdvisor and kube-state-metrics, from the usage model and the cluster's objects. */
export {
  cadvisorFamilies, cfsPeriodMs, podCgroup, podCgroupLabels, qosClassOf, readContainer, renderCadvisor, runningContainers,
  type CadvisorOptions, type ContainerReading, type RunningContainer,
} from './cadvisor.ts';
export { containerResourceSamples, kubeStateMetricsFamilies, nodeResourceSamples, podOwnerSamples, renderKubeStateMetrics, resourceLabels, type KubeStateObjects } from './kube-state-metrics.ts';
export {
  escapeLabelValue, formatLabels, formatPrometheusText, formatValue, sanitizeLabelName, textContentType,
  type Labels, type MetricFamily, type Sample,
} from './exposition.ts';
export { cadvisorPath, installMetricsEndpoints, kubeStateMetricsPath, type MetricsCluster, type MetricsEndpoints, type MetricsEndpointsOptions } from './endpoints.ts';
