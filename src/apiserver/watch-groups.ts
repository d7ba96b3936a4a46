/**
 * Watch groups: API watches that would write the very same bytes share one registry watch.
 *
 * A thousand informers watching one kind each hold a watch with the same kind, namespace,
 * selectors and bookmark setting. Served one by one, every change runs through the watch cache,
 * the registry's filter and the handler's encoder a thousand times to produce a thousand copies
 * of the same frame. In a group it runs through them once, and each member's stream only queues
 * the shared frame.
 *
 * A watch starts alone: it replays what it asked for from its own resourceVersion, like any
 * other. As soon as it stands where its group's watch stands (both served by the watch cache, at
 * the same position, so both get the same events from then on), it stops its own watch and joins;
 * the first watch of a key founds the group, and its registry watch becomes the group's. A watch
 * that cannot join (the cache passed it to the store, or it asked to start from a revision the
 * cache has not reached) stays alone and tries again with each event it receives.
 */
import type { RegistryWatch } from './registry.ts';
import type { WatchFrame, WatchStream } from './watch-stream.ts';

export interface GroupMember {
  /** Where the member's events are queued. */
  stream: WatchStream;
  /** The group's watch ended (with `err` when it failed); the member ends its stream. */
  end(err: Error | undefined): void;
}

export class WatchGroup {
  readonly #groups: WatchGroups;
  readonly key: string;
  readonly #watch: RegistryWatch;
  readonly #members = new Set<GroupMember>();

  constructor(groups: WatchGroups, key: string, watch: RegistryWatch) {
    this.#groups = groups;
    this.key = key;
    this.#watch = watch;
  }

  get size(): number {
    return this.#members.size;
  }

  /** Where the group's watch stands (see `RegistryWatch.position`). */
  position(): number | undefined {
    return this.#watch.position();
  }

  join(member: GroupMember): void {
    this.#members.add(member);
  }

  /** Takes a member out; the last one out stops the group's watch. Idempotent. */
  leave(member: GroupMember): void {
    if (!this.#members.delete(member) || this.#members.size > 0) return;
    this.#groups.forget(this);
    this.#watch.stop();
  }

  /** Hands one frame to every member. */
  broadcast(frame: WatchFrame): void {
    for (const member of this.#members) member.stream.send(frame);
  }

  /** The group's watch ended: every member ends with it, and the key is free for a new group. */
  end(err: Error | undefined): void {
    this.#groups.forget(this);
    const members = [...this.#members];
    this.#members.clear();
    for (const member of members) member.end(err);
  }
}

export class WatchGroups {
  readonly #groups = new Map<string, WatchGroup>();

  /** Number of groups with members right now. */
  get size(): number {
    return this.#groups.size;
  }

  /** Number of watch streams in a group right now. */
  get members(): number {
    let members = 0;
    for (const group of this.#groups.values()) members += group.size;
    return members;
  }

  /**
   * Puts a lone watch in the group under `key`: into the one there, when both stand at the same
   * position (its own watch is then stopped), or into a new one it founds with its watch, when
   * there is none yet. Undefined when the watch must stay alone for now (it stands elsewhere, or
   * the cache does not serve it).
   */
  place(key: string, watch: RegistryWatch, member: GroupMember): { group: WatchGroup; founded: boolean } | undefined {
    const position = watch.position();
    if (position === undefined) return undefined;
    const existing = this.#groups.get(key);
    if (existing) {
      if (position !== existing.position()) return undefined;
      watch.stop();
      existing.join(member);
      return { group: existing, founded: false };
    }
    const group = new WatchGroup(this, key, watch);
    group.join(member);
    this.#groups.set(key, group);
    return { group, founded: true };
  }

  forget(group: WatchGroup): void {
    if (this.#groups.get(group.key) === group) this.#groups.delete(group.key);
  }
}
