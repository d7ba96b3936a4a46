/**
 * Follows every object under a store prefix: one list, then a watch from the list's revision,
 * and a fresh list whenever the watch ends (history compacted, connection lost). The callbacks
 * see a complete picture after `onSync` and every change after it, in revision order. This is
 * the hub's own minimal informer for its built-in controllers, which read raw stored objects.
 */
import type { KubeObject } from '../../machinery/object.ts';
import type { Store, Watch, WatchEvent, WatchHandlers } from '../../storage/store.ts';

export interface FollowerHandlers {
  /** Called with every object after each (re-)list. */
  onSync(items: Array<{ key: string; object: KubeObject }>): void | Promise<void>;
  onEvent(event: WatchEvent): void | Promise<void>;
}

export interface StoreFollower {
  stop(): void;
  /** Resolves after the first sync. */
  synced: Promise<void>;
}

/** Where a follower's watch comes from: the store itself, or a shared watch cache. */
export type WatchSource = (prefix: string, fromRevision: number, handlers: WatchHandlers) => Promise<Watch>;

export function followStore(store: Store, prefix: string, keyOf: (obj: KubeObject) => string, handlers: FollowerHandlers, watchSource?: WatchSource): StoreFollower {
  const openWatch: WatchSource = watchSource ?? ((p, from, h) => store.watch(p, { fromRevision: from }, h));
  let stopped = false;
  let watch: Watch | undefined;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  let chain = Promise.resolve();
  const serial = (work: () => void | Promise<void>) => {
    chain = chain.then(work).catch((err: unknown) => console.error(`store follower ${prefix}:`, err));
  };

  const start = async (delayMs: number): Promise<void> => {
    if (stopped) return;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs).unref());
    try {
      const all: KubeObject[] = [];
      let token: string | undefined;
      let revision = 0;
      do {
        const page = await store.list(prefix, { limit: 500, continue: token });
        all.push(...page.items);
        token = page.continue;
        if (revision === 0) revision = page.revision;
      } while (token);
      serial(() => handlers.onSync(all.map((object) => ({ key: keyOf(object), object }))));
      serial(markSynced);
      watch = await openWatch(prefix, revision, {
        onEvent: (event) => serial(() => handlers.onEvent(event)),
        onError: () => {
          watch = undefined;
          void start(500);
        },
      });
      if (stopped) watch.stop();
    } catch (err) {
      if (!stopped) {
        console.error(`store follower ${prefix}: re-listing after error:`, err instanceof Error ? err.message : err);
        void start(Math.min(Math.max(delayMs * 2, 500), 30_000));
      }
    }
  };
  void start(0);
  return {
    synced,
    stop() {
      stopped = true;
      watch?.stop();
    },
  };
}
