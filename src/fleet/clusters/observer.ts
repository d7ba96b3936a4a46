/**
 * MemberObserver keeps what status collection needs of one member cluster in caches: an Informer
 * each for its nodes and pods (over the member's ObjectClient, so in process for simulated
 * members and one watch per type over HTTPS for real ones), so a heartbeat reads memory instead
 * of listing every pod of a large member. The resource model, which costs scheduling cycles, is
 * recomputed only after nodes or pods changed, one member at a time on a shared ModelQueue.
 */
import { Informer, type ResourceRef } from '../../client/index.ts';
import type { MemberClient } from '../../member/index.ts';
import { fleetGroup } from '../../api/kinds/fleet.ts';
import { summarizeHubMembers } from './hub-summary.ts';
import { resourceModel, standardShapes, summarizeResources, type ClusterResourceSummary, type ResourceModelEntry, type ResourceShape } from './summary.ts';

const nodesRef: ResourceRef = { group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };
const podsRef: ResourceRef = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
const clustersRef: ResourceRef = { group: fleetGroup, version: 'v1alpha1', kind: 'Cluster', plural: 'clusters', namespaced: false };

/** Everything a heartbeat reports about a reachable member, Ready condition aside. */
export interface MemberReport extends ClusterResourceSummary {
  kubernetesVersion: string;
  /** The member serves fleet.nephele.dev: it is a hub with members of its own. */
  hub: boolean;
  /** The last computed model; undefined until the first computation finishes. */
  resourceModel: ResourceModelEntry[] | undefined;
}

/**
 * Runs resource-model computations one after another, yielding to the event loop between them,
 * so a thousand members registering at once do not starve the heartbeats.
 */
export class ModelQueue {
  #tail: Promise<void> = Promise.resolve();

  /** Queues `work`; resolves with its result once it ran. */
  run<T>(work: () => T): Promise<T> {
    const result = this.#tail.then(() => new Promise<T>((resolve, reject) => {
      setImmediate(() => {
        try {
          resolve(work());
        } catch (err) {
          reject(err as Error);
        }
      });
    }));
    this.#tail = result.then(() => undefined, () => undefined);
    return result;
  }
}

export interface MemberObserverOptions {
  shapes?: readonly ResourceShape[];
  /** Stop counting replicas of a shape here; default 100,000. */
  modelLimit?: number;
  /** Where model computations queue; a private queue when absent. */
  modelQueue?: ModelQueue;
  /** Told when a newly computed model differs from the last one, so it can be reported. */
  onModel?: () => void;
}

export class MemberObserver {
  readonly member: MemberClient;
  readonly #nodes: Informer;
  readonly #pods: Informer;
  /** For a member that is itself a hub: its Clusters, whose status sums up to its own. */
  readonly #clusters: Informer;
  readonly #options: MemberObserverOptions;
  readonly #queue: ModelQueue;
  /** Bumped on every node or pod change. */
  #changes = 0;
  #modelAt = -1;
  #modelRunning = false;
  #model: ResourceModelEntry[] | undefined;
  #version: string | undefined;
  #hub: boolean | undefined;
  #started: Promise<void> | undefined;
  #stopped = false;

  constructor(member: MemberClient, options: MemberObserverOptions = {}) {
    this.member = member;
    this.#options = options;
    this.#queue = options.modelQueue ?? new ModelQueue();
    this.#nodes = new Informer(member.objects, nodesRef);
    this.#pods = new Informer(member.objects, podsRef);
    this.#clusters = new Informer(member.objects, clustersRef);
    for (const informer of [this.#nodes, this.#pods, this.#clusters]) {
      const changed = () => { this.#changes++; };
      informer.onAdd(changed);
      informer.onUpdate(changed);
      informer.onDelete(changed);
    }
  }

  /** Starts the informers and waits until both listed once. Idempotent. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      // A hub has no nodes or pods of its own: follow its Clusters instead.
      this.#hub = (await this.member.discover()).some((r) => r.group === fleetGroup);
      if (this.#hub) {
        this.#clusters.start();
        await this.#clusters.synced;
        return;
      }
      this.#nodes.start();
      this.#pods.start();
      await Promise.all([this.#nodes.synced, this.#pods.synced]);
    })();
    this.#started.catch(() => { this.#started = undefined; });
    return this.#started;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.#nodes.stop(), this.#pods.stop(), this.#clusters.stop()]);
  }

  /**
   * One heartbeat's report from the caches. Version and discovery are asked once per observer (a
   * member's version changes only with an upgrade, which reconnects it in practice). Rejects when
   * the member cannot be asked. The resource model is the last one computed: call `refreshModel`
   * once the report is written, so the computation never delays the heartbeat.
   */
  async report(): Promise<MemberReport> {
    await this.start();
    if (this.#version === undefined) this.#version = (await this.member.version()).gitVersion;
    if (this.#hub) {
      const { resourceModel: model, ...summary } = summarizeHubMembers(this.#clusters.list());
      return { ...summary, kubernetesVersion: this.#version, hub: true, resourceModel: model };
    }
    const nodes = this.#nodes.list();
    const pods = this.#pods.list();
    return { ...summarizeResources(nodes, pods), kubernetesVersion: this.#version, hub: this.#hub ?? false, resourceModel: this.#model };
  }

  /** Whether a model computation is queued or running. */
  get modelPending(): boolean {
    return this.#modelRunning;
  }

  /** Queues a model computation when nodes or pods changed since the last one; `onModel` tells when a new model is ready. */
  refreshModel(): void {
    if (this.#hub || this.#modelRunning || this.#modelAt === this.#changes) return;
    this.#modelRunning = true;
    void this.#queue.run(() => {
      if (this.#stopped) return;
      const at = this.#changes;
      const model = resourceModel(this.#nodes.list(), this.#pods.list(), this.#options.shapes ?? standardShapes, this.#options.modelLimit ?? 100_000);
      const changed = JSON.stringify(model) !== JSON.stringify(this.#model);
      this.#model = model;
      this.#modelAt = at;
      if (changed) this.#options.onModel?.();
    }).finally(() => {
      this.#modelRunning = false;
    });
  }
}
