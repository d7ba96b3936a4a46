/**
 * SchedulerCache holds every node's NodeInfo and where every known pod sits, updated one event at
 * a time (addNode, addPod, assumePod, ...) so a scheduling cycle reads ready sums instead of
 * recomputing them. A cycle runs synchronously, so it reads the cache itself as its snapshot:
 * no informer event can land in the middle of one.
 */
import type { KubeObject } from '../machinery/object.ts';
import { NodeInfo } from './node-info.ts';
import { hasPodAffinity, podInfo, type PodInfo } from './pod-info.ts';

/** What a scheduling cycle reads: nodes in a stable order, and quick ways to the ones that matter for affinity. */
export interface Snapshot {
  readonly nodes: readonly NodeInfo[];
  get(name: string): NodeInfo | undefined;
  /** Nodes holding at least one pod with pod affinity or anti-affinity terms. */
  nodesWithAffinityPods(): readonly NodeInfo[];
  /** Nodes holding at least one pod with required anti-affinity terms. */
  nodesWithRequiredAntiAffinityPods(): readonly NodeInfo[];
  /** Every pod placed on a node (bound or assumed). */
  pods(): Iterable<PodInfo>;
}

export class SchedulerCache implements Snapshot {
  #byName = new Map<string, NodeInfo>();
  #list: NodeInfo[] = [];
  /** Every pod placed on a node, bound or assumed, by key. */
  #pods = new Map<string, PodInfo>();
  /** The nodes of assumed pods (bound pods carry their node in `nodeName`). */
  #assumed = new Map<string, string>();
  /** Pods bound to nodes the cache has not heard of yet, attached when the node arrives. */
  #waiting = new Map<string, PodInfo[]>();
  #affinityDirty = true;
  #withAffinity: NodeInfo[] = [];
  #withAntiAffinity: NodeInfo[] = [];

  get nodes(): readonly NodeInfo[] {
    return this.#list;
  }

  get(name: string): NodeInfo | undefined {
    return this.#byName.get(name);
  }

  get nodeCount(): number {
    return this.#list.length;
  }

  /** Adds a node, or updates it when one of that name is known. */
  addNode(node: KubeObject): NodeInfo {
    const name = node.metadata.name ?? '';
    const known = this.#byName.get(name);
    if (known) {
      known.setNode(node);
      return known;
    }
    const info = new NodeInfo(node);
    this.#byName.set(name, info);
    this.#list.push(info);
    for (const p of this.#waiting.get(name) ?? []) info.addPod(p);
    this.#waiting.delete(name);
    this.#affinityDirty = true;
    return info;
  }

  updateNode(node: KubeObject): NodeInfo {
    return this.addNode(node);
  }

  /** Forgets a node; its pods stay known and come back if a node of that name returns. */
  removeNode(name: string): void {
    const info = this.#byName.get(name);
    if (!info) return;
    this.#byName.delete(name);
    const i = this.#list.indexOf(info);
    if (i >= 0) this.#list.splice(i, 1);
    if (info.pods.length > 0) this.#waiting.set(name, [...info.pods]);
    this.#affinityDirty = true;
  }

  #place(info: PodInfo, nodeName: string): void {
    const node = this.#byName.get(nodeName);
    if (node) {
      node.addPod(info);
      if (hasPodAffinity(info)) this.#affinityDirty = true;
    } else {
      const waiting = this.#waiting.get(nodeName);
      if (waiting) waiting.push(info);
      else this.#waiting.set(nodeName, [info]);
    }
  }

  #unplace(info: PodInfo, nodeName: string): void {
    const node = this.#byName.get(nodeName);
    if (node) {
      node.removePod(info);
      if (hasPodAffinity(info)) this.#affinityDirty = true;
    } else {
      const waiting = this.#waiting.get(nodeName);
      const i = waiting?.findIndex((p) => p.key === info.key) ?? -1;
      if (i >= 0) waiting!.splice(i, 1);
    }
  }

  /**
   * Records a pod bound to a node (from an informer). An assumed pod of the same key is
   * confirmed; one assumed elsewhere moves. Pods without spec.nodeName are ignored.
   */
  addPod(pod: KubeObject | PodInfo): PodInfo | undefined {
    const info = 'key' in pod && 'requests' in pod ? (pod as PodInfo) : podInfo(pod as KubeObject);
    if (!info.nodeName) return undefined;
    this.#forget(info.key);
    this.#place(info, info.nodeName);
    this.#pods.set(info.key, info);
    return info;
  }

  updatePod(pod: KubeObject): PodInfo | undefined {
    const info = podInfo(pod);
    if (!info.nodeName) {
      this.removePod(pod);
      return undefined;
    }
    return this.addPod(info);
  }

  /** Forgets a pod, bound or assumed; unknown pods are ignored. */
  removePod(pod: KubeObject | PodInfo): void {
    const key = 'key' in pod && 'requests' in pod ? (pod as PodInfo).key : `${(pod as KubeObject).metadata.namespace ?? 'default'}/${(pod as KubeObject).metadata.name ?? ''}`;
    if (this.#forget(key)) this.#pods.delete(key);
  }

  /** Counts `info` on `nodeName` before the bind is confirmed, so the next cycle sees it. */
  assumePod(info: PodInfo, nodeName: string): void {
    this.#forget(info.key);
    this.#place(info, nodeName);
    this.#pods.set(info.key, info);
    this.#assumed.set(info.key, nodeName);
  }

  /** Undoes assumePod after a failed bind; a pod already confirmed by an informer stays. */
  forgetPod(info: PodInfo): void {
    if (!this.#assumed.has(info.key)) return;
    this.#forget(info.key);
    this.#pods.delete(info.key);
  }

  /** Takes a known pod off its node (keeping its entry, for the caller to replace or delete); false when unknown. */
  #forget(key: string): boolean {
    const known = this.#pods.get(key);
    if (!known) return false;
    this.#unplace(known, this.nodeOf(key)!);
    this.#assumed.delete(key);
    return true;
  }

  isAssumed(key: string): boolean {
    return this.#assumed.has(key);
  }

  /** The node a known pod sits on (bound or assumed). */
  nodeOf(key: string): string | undefined {
    return this.#assumed.get(key) ?? this.#pods.get(key)?.nodeName;
  }

  get podCount(): number {
    return this.#pods.size;
  }

  *pods(): Iterable<PodInfo> {
    yield* this.#pods.values();
  }

  #refreshAffinityLists(): void {
    if (!this.#affinityDirty) return;
    this.#withAffinity = [];
    this.#withAntiAffinity = [];
    for (const n of this.#list) {
      if (n.podsWithAffinity.length > 0) this.#withAffinity.push(n);
      if (n.podsWithRequiredAntiAffinity.length > 0) this.#withAntiAffinity.push(n);
    }
    this.#affinityDirty = false;
  }

  nodesWithAffinityPods(): readonly NodeInfo[] {
    this.#refreshAffinityLists();
    return this.#withAffinity;
  }

  nodesWithRequiredAntiAffinityPods(): readonly NodeInfo[] {
    this.#refreshAffinityLists();
    return this.#withAntiAffinity;
  }
}
