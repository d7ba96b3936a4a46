/**
 * The portal's one client for the hub's API: requests with the bearer token, errors as the API's
 * own Status message, and watches read from a streamed fetch (one JSON event a line).
 */
import type { WatchEvent, WatchedObject } from '../state/reducer.ts';

/** A Kubernetes Status cause: which field was wrong and why. */
export interface StatusCause {
  field?: string;
  message?: string;
  reason?: string;
}

/** An answer other than success, carrying the API's Status: its message is shown as is. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly causes: StatusCause[];

  constructor(code: number, reason: string, message: string, causes: StatusCause[] = []) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.causes = causes;
  }
}

/** A list answer: items and the resourceVersion to watch from. */
export interface ListResult<T extends WatchedObject = WatchedObject> {
  items: T[];
  resourceVersion: string;
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const status = JSON.parse(text) as { message?: string; reason?: string; details?: { causes?: StatusCause[] } };
    return new ApiError(res.status, status.reason ?? 'Unknown', status.message ?? `${res.status} ${res.statusText}`, status.details?.causes ?? []);
  } catch {
    return new ApiError(res.status, 'Unknown', text.trim() || `${res.status} ${res.statusText}`);
  }
}

export class ApiClient {
  readonly token: string;
  readonly base: string;

  constructor(token: string, base = '') {
    this.token = token;
    this.base = base;
  }

  /** Sends one request; resolves with the parsed JSON body, rejects with an ApiError. */
  async request<T = unknown>(method: string, path: string, body?: string, contentType = 'application/json'): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
        ...(body !== undefined ? { body } : {}),
      });
    } catch (err) {
      throw new ApiError(0, 'NetworkError', `cannot reach the hub: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!res.ok) throw await errorFrom(res);
    return (await res.json()) as T;
  }

  async list<T extends WatchedObject = WatchedObject>(path: string): Promise<ListResult<T>> {
    const list = await this.request<{ items?: T[]; metadata?: { resourceVersion?: string } }>('GET', path);
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /** Checks the token by reading /version's authenticated neighbour, the API group list. */
  async verify(): Promise<void> {
    await this.request('GET', '/apis/fleet.nephele.dev/v1alpha1');
  }

  /**
   * Watches `path` from `resourceVersion` with bookmarks, calling `onEvents` with each batch of
   * events that arrived in one chunk. Resolves when the stream ends; rejects with an ApiError
   * (410 Expired included, so the caller re-lists) or when `signal` aborts.
   */
  async watch<T extends WatchedObject = WatchedObject>(path: string, resourceVersion: string, onEvents: (events: WatchEvent<T>[]) => void, signal: AbortSignal): Promise<void> {
    const sep = path.includes('?') ? '&' : '?';
    const res = await fetch(`${this.base}${path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`, {
      headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json' },
      signal,
    });
    if (!res.ok || !res.body) throw await errorFrom(res);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += value;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      const events: WatchEvent<T>[] = [];
      for (const line of lines) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as { type: string; object: T & { code?: number; reason?: string; message?: string } };
        if (event.type === 'ERROR') {
          if (events.length > 0) onEvents(events);
          throw new ApiError(event.object.code ?? 500, event.object.reason ?? 'Unknown', event.object.message ?? 'the watch failed');
        }
        events.push(event as WatchEvent<T>);
      }
      if (events.length > 0) onEvents(events);
    }
  }
}

/** A list path for a resource, all namespaces or one: `/api/v1/events`, `/apis/g/v/namespaces/ns/plural`. */
export function resourcePath(group: string, version: string, plural: string, namespace?: string, name?: string): string {
  const root = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return `${root}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
