/**
 * Test fixtures for "this wrote nothing" checks. A running hub writes on its own (its
 * controllers' Lease is renewed every couple of seconds), so these compare the store without
 * that Lease and record every other write made in between.
 */
import type { KubeObject } from '../machinery/object.ts';
import type { Hub } from '../hub/hub.ts';

/** The Lease the hub's controllers renew in the background. */
export const hubLeaseKey = '/registry/coordination.k8s.io/leases/nephele-system/nephele-hub-controllers';

function isHubLease(obj: KubeObject): boolean {
  return obj.kind === 'Lease' && obj.metadata.namespace === 'nephele-system' && obj.metadata.name === 'nephele-hub-controllers';
}

/** Every stored object but the hub's Lease, serialised, for before/after comparisons. */
export async function storeSnapshot(hub: Pick<Hub, 'store'>): Promise<string> {
  const { items } = await hub.store.list('/registry/');
  return JSON.stringify(items.filter((obj) => !isHubLease(obj)));
}

export interface WriteRecorder {
  /** Keys written since the recorder started, the hub's Lease left out (waits for pending events). */
  keys(): Promise<string[]>;
  stop(): void;
}

/** Records the key of every write from now on, so even a write that was undone is caught. */
export async function recordWrites(hub: Pick<Hub, 'store'>): Promise<WriteRecorder> {
  const keys: string[] = [];
  const watch = await hub.store.watch('/registry/', { fromRevision: await hub.store.currentRevision() }, {
    onEvent: (event) => {
      if (event.key && event.key !== hubLeaseKey) keys.push(`${event.type} ${event.key}`);
    },
  });
  return {
    async keys() {
      await new Promise((r) => setTimeout(r, 50));
      return [...keys];
    },
    stop: () => watch.stop(),
  };
}
