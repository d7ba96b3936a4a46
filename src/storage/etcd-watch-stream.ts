/**
 * EtcdWatchStream multiplexes a store's etcd watches over one gRPC Watch stream, opened on first
 * use and closed when the last watch goes. It hands every response for a watch to that watch,
 * untouched, and reports a broken stream to every watch on it rather than resuming silently.
 *
 * What a Kubernetes-style store needs of it, and why it does not resume by itself: a compacted
 * watch's `compact_revision` is passed on (so Expired can say from where), progress notifications
 * reach the watch (bookmarks rely on them), and a lost stream ends each watch with an error, so
 * that the watcher (an informer) resumes from the last revision it really saw, as Kubernetes
 * clients do. Resuming here from the revision of the last response header could skip events,
 * since during a catch-up that header can lie beyond the events delivered.
 */
import type { EtcdClient, EtcdStream } from './etcd-client.ts';
import { decodeWatchResponse, encodeWatchCancel, encodeWatchCreate, type WatchCreateRequest, type WatchResponse } from './etcd-proto.ts';

export interface EtcdWatchTarget {
  /** Every response for the watch after its creation: events, progress notifications, cancellation. */
  onResponse(response: WatchResponse): void;
  /** The stream under the watch broke; the watch is gone. */
  onLost(err: Error): void;
}

interface Registration {
  target: EtcdWatchTarget;
  /** Settles the creation; cleared once etcd confirmed it. */
  created?: { resolve(response: WatchResponse): void; reject(err: Error): void };
}

export class EtcdWatchStream {
  readonly #client: EtcdClient;
  #stream: EtcdStream | undefined;
  #opening: Promise<EtcdStream> | undefined;
  /** IDs are ours (etcd >= 3.4 honours `watch_id`), so responses match watches without guessing. */
  #nextId = 1;
  readonly #registrations = new Map<number, Registration>();
  #closed = false;

  constructor(client: EtcdClient) {
    this.#client = client;
  }

  /** Creates a watch and resolves with etcd's `created` response, whose header holds the revision then. */
  async create(request: Omit<WatchCreateRequest, 'watchId'>, target: EtcdWatchTarget): Promise<{ id: number; created: WatchResponse }> {
    if (this.#closed) throw new Error('the etcd store is closed');
    const id = this.#nextId++;
    const created = new Promise<WatchResponse>((resolve, reject) => {
      this.#registrations.set(id, { target, created: { resolve, reject } });
    });
    // Closing while the stream opens rejects `created` before anyone awaits it; that is handled below.
    created.catch(() => undefined);
    let stream: EtcdStream;
    try {
      stream = await this.#open();
    } catch (err) {
      this.#registrations.delete(id);
      throw err;
    }
    if (!this.#registrations.has(id)) return { id, created: await created };
    stream.send(encodeWatchCreate({ ...request, watchId: id }));
    return { id, created: await created };
  }

  /** Ends one watch. Idempotent; responses already in flight for it are dropped. */
  cancel(id: number): void {
    if (!this.#registrations.delete(id)) return;
    const stream = this.#stream;
    if (!stream) return;
    if (this.#registrations.size === 0) {
      // The last watch went: drop the stream so an idle store holds no call open.
      this.#drop(stream);
    } else {
      stream.send(encodeWatchCancel(id));
    }
  }

  /** Ends every watch with `err` and the stream with them; later `create` calls fail. */
  close(err: Error): void {
    this.#closed = true;
    this.#failAll(err);
    if (this.#stream) this.#drop(this.#stream);
  }

  #open(): Promise<EtcdStream> {
    if (this.#stream) return Promise.resolve(this.#stream);
    let opened: EtcdStream | undefined;
    this.#opening ??= this.#client.stream({
      onMessage: (reader) => {
        let response: WatchResponse;
        try {
          response = decodeWatchResponse(reader);
        } catch (err) {
          if (opened) this.#broken(opened, err as Error);
          return;
        }
        this.#route(response);
      },
      onEnd: (err) => {
        if (opened) this.#broken(opened, err);
      },
    }).then(
      (stream) => {
        this.#opening = undefined;
        opened = stream;
        if (this.#closed || this.#registrations.size === 0) {
          stream.cancel();
          if (this.#closed) throw new Error('the etcd store is closed');
          return stream;
        }
        this.#stream = stream;
        return stream;
      },
      (err: unknown) => {
        this.#opening = undefined;
        throw err;
      },
    );
    return this.#opening;
  }

  #route(response: WatchResponse): void {
    const registration = this.#registrations.get(response.watchId);
    if (!registration) return;
    if (response.created) {
      const created = registration.created;
      registration.created = undefined;
      if (response.canceled) {
        this.#registrations.delete(response.watchId);
        created?.reject(new Error(`etcd refused the watch: ${response.cancelReason || 'no reason given'}`));
      } else {
        created?.resolve(response);
      }
      return;
    }
    if (response.canceled) this.#registrations.delete(response.watchId);
    registration.target.onResponse(response);
  }

  #broken(stream: EtcdStream, err: Error): void {
    if (stream !== this.#stream) return;
    this.#stream = undefined;
    stream.cancel();
    this.#failAll(new Error(`the etcd watch stream broke: ${err.message}`, { cause: err }));
  }

  #failAll(err: Error): void {
    const registrations = [...this.#registrations.values()];
    this.#registrations.clear();
    for (const registration of registrations) {
      if (registration.created) registration.created.reject(err);
      else registration.target.onLost(err);
    }
  }

  #drop(stream: EtcdStream): void {
    if (stream === this.#stream) this.#stream = undefined;
    stream.cancel();
  }
}
