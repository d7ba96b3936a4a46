/**
 * A simulated member cluster: a Kubernetes API endpoint of its own, running the same API machinery
 * as the hub on a memory store, with its own CA, admin token and kubeconfig in its own home, and
 * serving the kinds a real cluster has (Nodes, Pods, ReplicaSets, ...; see the hub's `cluster`
 * profile). Nothing acts on those objects yet: no scheduler, kubelet or workload controllers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../machinery/clock.ts';
import { startHub, type Hub } from '../hub/hub.ts';

export interface SimulatedClusterOptions {
  /** The cluster's name, as the fleet knows it. */
  name: string;
  /** Directory for the cluster's certificates, token and kubeconfig; a fresh temporary one (removed on stop) when absent. */
  home?: string;
  /** Port to listen on (127.0.0.1); 0, the default, picks a free one. */
  port?: number;
  clock?: Clock;
}

export interface SimulatedCluster extends Hub {
  readonly name: string;
}

export async function startSimulatedCluster(options: SimulatedClusterOptions): Promise<SimulatedCluster> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(options.name)) throw new Error(`simulated cluster name ${JSON.stringify(options.name)} is not a DNS label`);
  const ownHome = options.home === undefined;
  const home = options.home ?? mkdtempSync(join(tmpdir(), `nephele-sim-${options.name}-`));
  let hub: Hub;
  try {
    hub = await startHub({ home, port: options.port ?? 0, store: 'memory', profile: 'cluster', kubeconfigName: options.name, ...(options.clock ? { clock: options.clock } : {}) });
  } catch (err) {
    if (ownHome) rmSync(home, { recursive: true, force: true });
    throw err;
  }
  return {
    ...hub,
    name: options.name,
    async stop() {
      await hub.stop();
      if (ownHome) rmSync(home, { recursive: true, force: true });
    },
  };
}
