/**
 * EtcdWatchStream multiplexes a store's etcd watches over one gRPC Watch stream, opened on first
 * use and closed when the last watch goes. It hands every response for a watch to that watch,
 * untouched, and reports a broken stream to every watch on it rather than resuming silently.
 *
 * Why not the etcd3 package's Watcher: it hides what a Kubernetes-style store needs. It drops the
 * `compact_revision` of a compacted watch (so Expired could not say from where), swallows the
 * progress notifications that bookmarks rely on, and after a reconnect resumes from the revision
 * in the last response header, which during a catch-up can lie beyond the events delivered. Here
 * a lost stream ends each watch with an error, and the watcher (an informer) resumes from the
 * last revision it really saw, as Kubernetes clients do.
 */
import type { Etcd3, IWatchCreateRequest, IWatchRequest, IWatchResponse, IDuplexStream } from 'etcd3';

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

export interface EtcdWatchTarget {
  /** Every response for the watch after its creation: events, progress notifications, cancellation. */
  onResponse(response: IWatchResponse): void;
  /** The stream under the watch broke; the watch is gone. */
  onLost(err: Error): void;
}

interface Registration {
  target: EtcdWatchTarget;
  /** Settles the creation; cleared once etcd confirmed it. */
  created?: { resolve(response: IWatchResponse): void; reject(err: Error): void };
}

export class EtcdWatchStream {
  readonly #client: Etcd3;
  #stream: WatchStream | undefined;
  #opening: Promise<WatchStream> | undefined;
  /** IDs are ours (etcd >= 3.4 honours `watch_id`), so responses match watches without guessing. */
  #nextId = 1;
  readonly #registrations = new Map<string, Registration>();
  #closed = false;

  constructor(client: Etcd3) {
    this.#client = client;
  }

  /** Creates a watch and resolves with etcd's `created` response, whose header holds the revision then. */
  async create(request: IWatchCreateRequest, target: EtcdWatchTarget): Promise<{ id: string; created: IWatchResponse }> {
    if (this.#closed) throw new Error('the etcd store is closed');
    const id = String(this.#nextId++);
    const created = new Promise<IWatchResponse>((resolve, reject) => {
      this.#registrations.set(id, { target, created: { resolve, reject } });
    });
    // Closing while the stream opens rejects `created` before anyone awaits it; that is handled below.
    created.catch(() => undefined);
    let stream: WatchStream;
    try {
      stream = await this.#open();
    } catch (err) {
      this.#registrations.delete(id);
      throw err;
    }
    if (!this.#registrations.has(id)) return { id, created: await created };
    stream.write({ create_request: { ...request, watch_id: id } });
    return { id, created: await created };
  }

  /** Ends one watch. Idempotent; responses already in flight for it are dropped. */
  cancel(id: string): void {
    if (!this.#registrations.delete(id)) return;
    const stream = this.#stream;
    if (!stream) return;
    if (this.#registrations.size === 0) {
      // The last watch went: drop the stream so an idle store holds no call open.
      this.#drop(stream);
    } else {
      stream.write({ cancel_request: { watch_id: id } });
    }
  }

  /** Ends every watch with `err` and the stream with them; later `create` calls fail. */
  close(err: Error): void {
    this.#closed = true;
    this.#failAll(err);
    if (this.#stream) this.#drop(this.#stream);
  }

  #open(): Promise<WatchStream> {
    if (this.#stream) return Promise.resolve(this.#stream);
    this.#opening ??= this.#client.watchClient.watch().then(
      (stream) => {
        this.#opening = undefined;
        if (this.#closed || this.#registrations.size === 0) {
          this.#drop(stream);
          if (this.#closed) throw new Error('the etcd store is closed');
          return stream;
        }
        this.#stream = stream;
        stream.on('data', (response) => this.#route(response));
        stream.on('error', (err) => this.#broken(stream, err));
        stream.on('end', () => this.#broken(stream, new Error('the etcd watch stream ended')));
        return stream;
      },
      (err: unknown) => {
        this.#opening = undefined;
        throw err;
      },
    );
    return this.#opening;
  }

  #route(response: IWatchResponse): void {
    const registration = this.#registrations.get(String(response.watch_id));
    if (!registration) return;
    if (response.created) {
      const created = registration.created;
      registration.created = undefined;
      if (response.canceled) {
        this.#registrations.delete(String(response.watch_id));
        created?.reject(new Error(`etcd refused the watch: ${response.cancel_reason || 'no reason given'}`));
      } else {
        created?.resolve(response);
      }
      return;
    }
    if (response.canceled) this.#registrations.delete(String(response.watch_id));
    registration.target.onResponse(response);
  }

  #broken(stream: WatchStream, err: Error): void {
    if (stream !== this.#stream) return;
    this.#stream = undefined;
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

  #drop(stream: WatchStream): void {
    if (stream === this.#stream) this.#stream = undefined;
    // Cancelling makes gRPC emit a CANCELLED error; it must have a listener, and means nothing.
    stream.on('error', () => undefined);
    stream.cancel();
  }
}
