/**
 * The fleet controller: a Fleet's status lists its member clusters (those named in spec.clusters
 * that exist, plus those spec.clusterSelector matches; sorted), how many are Ready, and a Ready
 * condition that is True when every member is (False with the names of those that are not, or
 * when the fleet has no members).
 */
import type { FleetSpec } from '../../api/kinds/fleet.ts';
import { newControllerBuilder, type BuiltController, type Runnable } from '../../controller/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject, jsonEqual } from '../../machinery/object.ts';
import { labelSelectorFromObject } from '../../machinery/selectors.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { fleetRefs, type FleetContext, type FleetController } from '../context.ts';
import { isClusterReady, setCondition, type Condition } from './conditions.ts';

/** The members of a fleet among `clusters`, by name, sorted. */
export function fleetMembers(fleetSpec: FleetSpec, clusters: readonly KubeObject[]): string[] {
  const named = new Set(fleetSpec.clusters ?? []);
  const selector = fleetSpec.clusterSelector ? labelSelectorFromObject(fleetSpec.clusterSelector) : undefined;
  return clusters
    .filter((c) => named.has(c.metadata.name!) || (selector !== undefined && selector.matches(c.metadata.labels)))
    .map((c) => c.metadata.name!)
    .sort();
}


/** The fleet controller as a FleetController. */
export function fleetController(): FleetController {
  return (context) => fleetRunnable(context);
}

function fleetRunnable(context: FleetContext): Runnable {
  let built: BuiltController | undefined;
  return {
    async start() {
      built = newControllerBuilder({ name: 'fleet', client: context.client, scheduler: context.scheduler, metrics: context.metrics, log: context.log })
        .for(fleetRefs.fleets)
        // Any cluster change may change any fleet's membership or readiness; fleets are few.
        .watches(fleetRefs.clusters, () => (built?.informers[0]?.list() ?? []).map((f) => ({ name: f.metadata.name! })))
        .complete({
          async reconcile({ name }) {
            const fleet = built!.informers[0]!.get(undefined, name);
            if (!fleet || fleet.metadata.deletionTimestamp) return;
            const clusters = built!.informers[1]!.list();
            const members = fleetMembers((isPlainObject(fleet.spec) ? fleet.spec : {}) as FleetSpec, clusters);
            const byName = new Map(clusters.map((c) => [c.metadata.name!, c]));
            const notReady = members.filter((m) => !isClusterReady(byName.get(m)!));
            const previous = (isPlainObject(fleet.status) ? fleet.status : {}) as { conditions?: Condition[] };
            const now = context.scheduler.nowIso();
            const ready = members.length === 0
              ? { type: 'Ready', status: 'False' as const, reason: 'NoClusters', message: 'no cluster is named in spec.clusters or matches spec.clusterSelector' }
              : notReady.length === 0
                ? { type: 'Ready', status: 'True' as const, reason: 'AllClustersReady', message: `all ${members.length} clusters are ready` }
                : { type: 'Ready', status: 'False' as const, reason: 'ClustersNotReady', message: `${notReady.length} of ${members.length} clusters not ready: ${notReady.join(', ')}` };
            const next = { clusters: members, readyClusters: members.length - notReady.length, conditions: setCondition(previous.conditions, ready, now) };
            if (jsonEqual(next, fleet.status)) return;
            try {
              await context.client.patch(fleetRefs.fleets, undefined, name, 'json', [{ op: 'add', path: '/status', value: next }], { subresource: 'status' });
            } catch (err) {
              if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
            }
          },
        });
      await built.start();
    },
    async stop() {
      await built?.stop();
    },
  };
}
