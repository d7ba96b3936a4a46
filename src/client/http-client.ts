/**
 * HttpClient is the ObjectClient that speaks the Kubernetes REST API over HTTPS to a hub or any
 * Kubernetes-compatible server, over one keep-alive connection pool. Answers outside 2xx become
 * StatusErrors: the server's Status when it sent one, otherwise a reason derived from the code.
 * Network failures (refused, reset) are rejected as the plain errors Node reports.
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError, statusReasons, type StatusDetails, type StatusReason } from '../machinery/status-error.ts';
import type {
  ClientDeleteOptions, ClientList, ClientListOptions, ClientPatchOptions, ClientPatchType, ClientWatch,
  ClientWatchEvent, ClientWatchOptions, ClientWriteOptions, ObjectClient, ResourceRef,
} from './client.ts';
import { clientList, listQuery, pathOf, writeQuery, type Query } from './rest-paths.ts';

export interface HttpClientOptions {
  /** `https://host:port`, optionally with a path prefix. */
  server: string;
  /** Bearer token sent on every request. */
  token?: string;
  /** CA certificates (PEM) to trust for the server; the system's roots when absent. */
  caPem?: string;
  /** Skips verifying the server's certificate (kubeconfig `insecure-skip-tls-verify`). */
  insecureSkipTlsVerify?: boolean;
  userAgent?: string;
  /** Upper bound on concurrent connections; default 64. */
  maxSockets?: number;
}

const patchContentTypes: Record<ClientPatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};


export class HttpClient implements ObjectClient {
  readonly server: string;
  readonly #token: string | undefined;
  readonly #agent: Agent;
  readonly #userAgent: string;

  constructor(options: HttpClientOptions) {
    const url = new URL(options.server);
    if (url.protocol !== 'https:') throw new Error(`server ${JSON.stringify(options.server)} must be an https URL`);
    this.server = options.server.replace(/\/+$/, '');
    this.#token = options.token;
    this.#userAgent = options.userAgent ?? 'nephele-client';
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 64,
      ...(options.caPem ? { ca: options.caPem } : {}),
      ...(options.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
    });
  }

  /**
   * A client for the current context of a kubeconfig file (or `context`): its cluster's server
   * and CA (inline data or file), and its user's bearer token (inline or file). Throws when the
   * file names no such context, cluster or user, or has no server.
   */
  static fromKubeconfig(path: string, context?: string): HttpClient {
    const doc = parseYaml(readFileSync(path, 'utf8')) as Kubeconfig | null;
    if (!doc || typeof doc !== 'object') throw new Error(`${path} is not a kubeconfig`);
    const contextName = context ?? doc['current-context'];
    const ctx = doc.contexts?.find((c) => c.name === contextName)?.context;
    if (!ctx) throw new Error(`${path} has no context ${JSON.stringify(contextName)}`);
    const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
    if (!cluster?.server) throw new Error(`${path} has no cluster ${JSON.stringify(ctx.cluster)} with a server`);
    const user = ctx.user === undefined ? {} : doc.users?.find((u) => u.name === ctx.user)?.user;
    if (!user) throw new Error(`${path} has no user ${JSON.stringify(ctx.user)}`);
    const base = dirname(path);
    const caPem = cluster['certificate-authority-data']
      ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8')
      : cluster['certificate-authority'] ? readFileSync(resolve(base, cluster['certificate-authority']), 'utf8') : undefined;
    const token = user.token ?? (user.tokenFile ? readFileSync(resolve(base, user.tokenFile), 'utf8').trim() : undefined);
    return new HttpClient({ server: cluster.server, caPem, token, insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true });
  }

  /** Closes the pooled connections; requests in flight fail. */
  close(): void {
    this.#agent.destroy();
  }

  async get(ref: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject> {
    return await this.#call('GET', pathOf(ref, namespace, name)) as KubeObject;
  }

  async list(ref: ResourceRef, namespace: string | undefined, options: ClientListOptions = {}): Promise<ClientList> {
    return clientList(ref, await this.#call('GET', pathOf(ref, namespace), listQuery(options)));
  }

  async create(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options: ClientWriteOptions = {}): Promise<KubeObject> {
    const ns = ref.namespaced ? (namespace ?? obj.metadata?.namespace) : undefined;
    return await this.#call('POST', pathOf(ref, ns), writeQuery(options), { contentType: 'application/json', body: JSON.stringify(obj) }) as KubeObject;
  }

  async update(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options: ClientWriteOptions & { subresource?: 'status' } = {}): Promise<KubeObject> {
    const name = obj.metadata?.name;
    if (!name) throw new StatusError('BadRequest', 'an update needs metadata.name');
    const ns = ref.namespaced ? (namespace ?? obj.metadata.namespace) : undefined;
    return await this.#call('PUT', pathOf(ref, ns, name, options.subresource), writeQuery(options), { contentType: 'application/json', body: JSON.stringify(obj) }) as KubeObject;
  }

  async patch(ref: ResourceRef, namespace: string | undefined, name: string, type: ClientPatchType, patch: unknown, options: ClientPatchOptions = {}): Promise<KubeObject> {
    const query: Query = { ...writeQuery(options), ...(type === 'apply' && options.force !== undefined ? { force: options.force } : {}) };
    return await this.#call('PATCH', pathOf(ref, namespace, name, options.subresource), query, { contentType: patchContentTypes[type], body: JSON.stringify(patch) }) as KubeObject;
  }

  async delete(ref: ResourceRef, namespace: string | undefined, name: string, options: ClientDeleteOptions = {}): Promise<void> {
    const body = {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
      ...(options.preconditions ? { preconditions: options.preconditions } : {}),
    };
    await this.#call('DELETE', pathOf(ref, namespace, name), {}, { contentType: 'application/json', body: JSON.stringify(body) });
  }

  /**
   * Opens a watch stream. Resolves once the server answered 200; rejects with a StatusError for
   * any other answer, or with the network error. Events are newline-delimited JSON, reassembled
   * across chunk boundaries.
   */
  watch(ref: ResourceRef, namespace: string | undefined, options: ClientWatchOptions, onEvent: (event: ClientWatchEvent) => void, onEnd: (err?: Error) => void): Promise<ClientWatch> {
    const query: Query = {
      watch: true,
      resourceVersion: options.resourceVersion || undefined,
      labelSelector: options.labelSelector || undefined,
      fieldSelector: options.fieldSelector || undefined,
      allowWatchBookmarks: options.allowWatchBookmarks || undefined,
      timeoutSeconds: options.timeoutSeconds,
    };
    return new Promise<ClientWatch>((resolvePromise, reject) => {
      let stopped = false;
      let ended = false;
      let opened = false;
      const end = (err?: Error) => {
        if (ended || stopped) return;
        ended = true;
        onEnd(err);
      };
      const handle: ClientWatch = {
        stop: () => {
          if (stopped) return;
          stopped = true;
          req.destroy();
        },
      };
      const req = request(this.#url(pathOf(ref, namespace), query), this.#requestOptions('GET', { accept: 'application/json' }), (res) => {
        if (res.statusCode !== 200) {
          void readAll(res).then((text) => reject(statusErrorOf(res.statusCode ?? 0, text)), reject);
          return;
        }
        opened = true;
        resolvePromise(handle);
        res.setEncoding('utf8');
        let buffered = '';
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line === '' || stopped) continue;
            let event: ClientWatchEvent;
            try {
              event = JSON.parse(line) as ClientWatchEvent;
            } catch {
              end(new Error(`watch stream sent a line that is not JSON: ${line.slice(0, 120)}`));
              req.destroy();
              return;
            }
            onEvent(event);
          }
        });
        res.on('end', () => end());
        res.on('error', (err) => end(err));
        res.on('close', () => {
          if (!res.complete) end(new Error('watch stream closed before it ended'));
        });
      });
      req.on('error', (err) => {
        if (stopped) return;
        if (opened) end(err);
        else reject(err);
      });
      req.end();
    });
  }

  #url(path: string, query: Query = {}): URL {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  #requestOptions(method: string, headers: Record<string, string>): RequestOptions {
    return {
      method,
      agent: this.#agent,
      headers: {
        ...headers,
        'user-agent': this.#userAgent,
        ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
      },
    };
  }

  /** One request and its JSON answer; non-2xx answers are thrown as StatusErrors. */
  #call(method: string, path: string, query: Query = {}, payload?: { contentType: string; body: string }): Promise<unknown> {
    return new Promise((resolvePromise, reject) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (payload) {
        headers['content-type'] = payload.contentType;
        headers['content-length'] = String(Buffer.byteLength(payload.body));
      }
      const req = request(this.#url(path, query), this.#requestOptions(method, headers), (res) => {
        readAll(res).then((text) => {
          const code = res.statusCode ?? 0;
          if (code < 200 || code > 299) return reject(statusErrorOf(code, text));
          try {
            resolvePromise(text === '' ? undefined : JSON.parse(text));
          } catch {
            reject(new StatusError('InternalError', `the server answered ${method} ${path} with a body that is not JSON: ${text.slice(0, 120)}`));
          }
        }, reject);
      });
      req.on('error', reject);
      req.end(payload?.body);
    });
  }
}

interface Kubeconfig {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user?: string; namespace?: string } }>;
  clusters?: Array<{ name: string; cluster: { server?: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string; 'insecure-skip-tls-verify'?: boolean } }>;
  users?: Array<{ name: string; user: { token?: string; tokenFile?: string } }>;
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/**
 * The StatusError for a failed answer: the Status the server sent (its reason, message and
 * details), or, when the body is something else, the reason the HTTP code stands for.
 */
export function statusErrorOf(code: number, body: string): StatusError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isStatus(parsed)) {
    const reason = typeof parsed.reason === 'string' && parsed.reason in statusReasons ? parsed.reason as StatusReason : reasonForCode(code);
    return new StatusError(reason, parsed.message ?? `the server answered ${code}`, parsed.details);
  }
  const text = body.trim().slice(0, 200);
  return new StatusError(reasonForCode(code), text ? `the server answered ${code}: ${text}` : `the server answered ${code}`);
}

function isStatus(value: unknown): value is { kind: 'Status'; reason?: string; message?: string; details?: StatusDetails } {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}

/** The reason an HTTP code stands for when the server did not say. */
export function reasonForCode(code: number): StatusReason {
  const exact: Record<number, StatusReason> = {
    400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
    406: 'NotAcceptable', 409: 'Conflict', 410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType',
    422: 'Invalid', 429: 'TooManyRequests', 502: 'ServiceUnavailable', 503: 'ServiceUnavailable', 504: 'Timeout',
  };
  return exact[code] ?? (code >= 400 && code < 500 ? 'BadRequest' : 'InternalError');
}
