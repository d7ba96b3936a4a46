/** The cluster simulator: member clusters as Kubernetes API endpoints of their own. */
export { startSimulatedCluster, type SimulatedCluster, type SimulatedClusterOptions } from './cluster.ts';
