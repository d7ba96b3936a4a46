/**
 * The hub's live connections to its member clusters, by cluster name. The cluster controller
 * keeps them (push: a MemberClient from the kubeconfig Secret; simulated: an in-process client
 * to the simulated cluster it started; pull: none, the agent comes to the hub), and whatever
 * must reach a member (the execution controller applying Work, status collection) looks here.
 */
import type { MemberClient } from '../member/index.ts';

export type ConnectionListener = (cluster: string, client: MemberClient | undefined) => void;

export class MemberConnections {
  readonly #clients = new Map<string, MemberClient>();
  readonly #listeners = new Set<ConnectionListener>();

  get(cluster: string): MemberClient | undefined {
    return this.#clients.get(cluster);
  }

  names(): string[] {
    return [...this.#clients.keys()];
  }

  /** Sets (or with undefined, removes) the connection to `cluster`, closing a replaced one. */
  async set(cluster: string, client: MemberClient | undefined): Promise<void> {
    const old = this.#clients.get(cluster);
    if (old === client) return;
    if (client) this.#clients.set(cluster, client);
    else this.#clients.delete(cluster);
    for (const listener of this.#listeners) listener(cluster, client);
    await old?.close();
  }

  /** Calls `listener` on every change; returns a function that stops it. */
  onChange(listener: ConnectionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#clients.keys()];
    for (const name of all) await this.set(name, undefined);
  }
}
