/**
 * KubeMemberClient reaches a member cluster over HTTPS with @kubernetes/client-node: any
 * Kubernetes API server a kubeconfig describes (a cloud provider's, kind's, or a simulated
 * cluster's), with whatever credentials the kubeconfig carries (bearer token, client
 * certificate, exec plugin). Requests go through client-node's own request machinery (its
 * kubeconfig authentication, TLS settings and HTTP library), watches through its `Watch`.
 *
 * client-node's typed `KubernetesObjectApi` is not used for objects: it needs apiVersion and kind
 * on every call and asks discovery for the plural, cannot address subresources, cannot send a
 * JSON patch (an array has no metadata to route by), and turns timestamps into `Date`s. A
 * ResourceRef already names the REST path, so requests are built from it directly.
 *
 * Answers outside 2xx become StatusErrors carrying the server's reason, message and details (the
 * causes of an Invalid, for instance). A member that cannot be reached is a
 * MemberUnreachableError naming the server URL.
 */
import { HttpMethod, KubeConfig, Watch, type Configuration, type RequestContext } from '@kubernetes/client-node';
import {
  reasonForCode, statusErrorOf, type ClientDeleteOptions, type ClientList, type ClientListOptions, type ClientPatchOptions,
  type ClientPatchType, type ClientWatch, type ClientWatchEvent, type ClientWatchOptions, type ClientWriteOptions, type ObjectClient,
  type ResourceRef,
} from '../client/index.ts';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import {
  MemberClientClosedError, MemberUnreachableError, compareResourceRefs, versionFromGitVersion, type MemberClient, type MemberVersion,
} from './member-client.ts';
import { clientList, listQuery, pathOf, writeQuery, type Query } from '../client/rest-paths.ts';

export interface KubeMemberClientOptions {
  /** The kubeconfig context to use; default its current context. */
  context?: string;
  /** How long a request (not a watch) may take before the member counts as unreachable; default 30 s. */
  requestTimeoutMs?: number;
  /** How long `healthy()` waits for /readyz; default 2 s. */
  healthTimeoutMs?: number;
}

type Method = (typeof HttpMethod)[keyof typeof HttpMethod];
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

interface RawResponse {
  code: number;
  text: string;
}

const patchContentTypes: Record<ClientPatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

const aggregatedDiscovery = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;q=0.9';

/** Only here to be handed client-node's Configuration (base server, HTTP library, middleware). */
class ConfigurationHolder {
  readonly configuration: Configuration;
  constructor(configuration: Configuration) {
    this.configuration = configuration;
  }
}

export class KubeMemberClient implements MemberClient {
  readonly name: string;
  /** The API server URL of the kubeconfig's context. */
  readonly server: string;
  readonly objects: ObjectClient;
  readonly #transport: KubeTransport;

  /**
   * A client for `name` from a loaded KubeConfig. With `options.context`, that context is used
   * without changing the caller's KubeConfig. Throws when the context does not exist or names no
   * cluster with a server.
   */
  constructor(name: string, kubeConfig: KubeConfig, options: KubeMemberClientOptions = {}) {
    if (!name) throw new Error('a member client needs the member\'s name');
    this.name = name;
    this.#transport = new KubeTransport(name, withContext(name, kubeConfig, options.context), options);
    this.server = this.#transport.server;
    this.objects = new KubeObjectClient(this.#transport);
  }

  /** A client from a kubeconfig file; relative certificate and token paths resolve against its folder. */
  static fromKubeconfigFile(name: string, path: string, options: KubeMemberClientOptions = {}): KubeMemberClient {
    const kubeConfig = new KubeConfig();
    try {
      kubeConfig.loadFromFile(path);
    } catch (err) {
      throw new Error(`cannot load the kubeconfig of member cluster ${JSON.stringify(name)} from ${path}: ${(err as Error).message}`, { cause: err });
    }
    return new KubeMemberClient(name, kubeConfig, options);
  }

  /** A client from kubeconfig YAML, such as the hub keeps in a member's Secret. */
  static fromKubeconfigYaml(name: string, yaml: string, options: KubeMemberClientOptions = {}): KubeMemberClient {
    const kubeConfig = new KubeConfig();
    try {
      kubeConfig.loadFromString(yaml);
    } catch (err) {
      throw new Error(`the kubeconfig of member cluster ${JSON.stringify(name)} is not valid: ${(err as Error).message}`, { cause: err });
    }
    if (kubeConfig.getContexts().length === 0) throw new Error(`the kubeconfig of member cluster ${JSON.stringify(name)} has no contexts`);
    return new KubeMemberClient(name, kubeConfig, options);
  }

  /** The server's own major and minor (EKS says `"29+"`), read from gitVersion when it leaves them out. */
  async version(): Promise<MemberVersion> {
    const body = parseBody(await this.#transport.request('GET', '/version')) as Partial<Record<'gitVersion' | 'major' | 'minor' | 'platform', unknown>> | undefined;
    if (typeof body?.gitVersion !== 'string') throw new StatusError('InternalError', `member cluster ${JSON.stringify(this.name)} answered /version without a gitVersion`);
    const platform = typeof body.platform === 'string' ? body.platform : undefined;
    if (typeof body.major === 'string' && body.major !== '' && typeof body.minor === 'string' && body.minor !== '') {
      return { gitVersion: body.gitVersion, major: body.major, minor: body.minor, ...(platform ? { platform } : {}) };
    }
    return versionFromGitVersion(body.gitVersion, platform);
  }

  async healthy(): Promise<boolean> {
    if (this.#transport.closed) return false;
    try {
      const res = await this.#transport.request('GET', '/readyz', {}, { accept: 'text/plain, application/json', timeoutMs: this.#transport.healthTimeoutMs, raw: true });
      return res.code >= 200 && res.code <= 299;
    } catch {
      return false;
    }
  }

  /**
   * Asks aggregated discovery (apidiscovery.k8s.io/v2, two requests) first; a server that does not
   * serve it answers the same paths with the legacy lists, which are then followed group-version by
   * group-version. A group-version that fails (an aggregated API that is down) is left out.
   */
  async discover(): Promise<ResourceRef[]> {
    const [core, named] = await Promise.all([
      this.#transport.request('GET', '/api', {}, { accept: aggregatedDiscovery }),
      this.#transport.request('GET', '/apis', {}, { accept: aggregatedDiscovery }),
    ]);
    const coreDoc = (parseBody(core) ?? {}) as DiscoveryDocument;
    const namedDoc = (parseBody(named) ?? {}) as DiscoveryDocument;
    let refs: ResourceRef[];
    if (coreDoc.kind === 'APIGroupDiscoveryList' && namedDoc.kind === 'APIGroupDiscoveryList') {
      refs = [...fromAggregated(coreDoc), ...fromAggregated(namedDoc)];
    } else {
      const groupVersions = [
        ...(coreDoc.versions ?? []).map((version) => ({ group: '', version })),
        ...(namedDoc.groups ?? []).flatMap((g) => (g.versions ?? []).map((v) => ({ group: g.name, version: v.version }))),
      ];
      const lists = await Promise.all(groupVersions.map(async ({ group, version }) => {
        const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
        try {
          const list = parseBody(await this.#transport.request('GET', path)) as { resources?: LegacyResource[] } | undefined;
          return (list?.resources ?? []).filter((r) => !r.name.includes('/')).map((r): ResourceRef => ({ group, version, plural: r.name, kind: r.kind, namespaced: r.namespaced }));
        } catch (err) {
          if (err instanceof StatusError) return [];
          throw err;
        }
      }));
      refs = lists.flat();
    }
    return refs.sort(compareResourceRefs);
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

/**
 * How requests and watches reach the member: client-node's configuration (base server, HTTP
 * library, middleware) and its kubeconfig authentication, one shared connection pool, and the
 * translation of failures into StatusError, MemberUnreachableError or MemberClientClosedError.
 */
class KubeTransport {
  readonly member: string;
  readonly server: string;
  readonly healthTimeoutMs: number;
  readonly #kubeConfig: KubeConfig;
  readonly #configuration: Configuration;
  readonly #requestTimeoutMs: number;
  readonly #closing = new AbortController();
  readonly #watches = new Set<AbortController>();
  #dispatcher: Dispatcher | undefined;

  constructor(member: string, kubeConfig: KubeConfig, options: KubeMemberClientOptions) {
    this.member = member;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster?.server) {
      throw new Error(`the kubeconfig of member cluster ${JSON.stringify(member)} has no cluster with a server for context ${JSON.stringify(kubeConfig.getCurrentContext())}`);
    }
    try {
      new URL(cluster.server);
    } catch {
      throw new Error(`the kubeconfig of member cluster ${JSON.stringify(member)} has a server that is not a URL: ${JSON.stringify(cluster.server)}`);
    }
    this.server = cluster.server.replace(/\/+$/, '');
    this.#kubeConfig = kubeConfig;
    this.#configuration = kubeConfig.makeApiClient(ConfigurationHolder).configuration;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 2_000;
  }

  get closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /** Aborts requests in flight and open watches (without their `onEnd`), and drops the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.#closing.abort();
    for (const watch of this.#watches) watch.abort();
    this.#watches.clear();
    const dispatcher = this.#dispatcher;
    this.#dispatcher = undefined;
    // destroy, not close: close waits for requests in flight, and a member that never answers
    // would hold it forever.
    await dispatcher?.destroy().catch(() => undefined);
  }

  /**
   * One request. Resolves with any answer the server gave; with `raw` unset, answers outside 2xx
   * are thrown as StatusErrors. Failing to reach the server is a MemberUnreachableError.
   */
  async request(method: Method, path: string, query: Query = {}, options: { body?: string; contentType?: string; accept?: string; timeoutMs?: number; raw?: boolean } = {}): Promise<RawResponse> {
    if (this.closed) throw new MemberClientClosedError(this.member);
    const ctx = this.#configuration.baseServer.makeRequestContext(path, method);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) ctx.setQueryParam(key, String(value));
    }
    ctx.setHeaderParam('Accept', options.accept ?? 'application/json');
    if (options.body !== undefined) {
      ctx.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      ctx.setBody(options.body);
    }
    const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
    ctx.setSignal(AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#closing.signal]));
    let prepared = ctx;
    let code: number;
    let text: string;
    try {
      await this.#authenticate(prepared);
      for (const middleware of this.#configuration.middleware) prepared = await middleware.pre(prepared).toPromise();
      let response = await this.#configuration.httpApi.send(prepared).toPromise();
      for (const middleware of this.#configuration.middleware) response = await middleware.post(response).toPromise();
      code = response.httpStatusCode;
      text = await response.body.text();
    } catch (err) {
      throw this.failure(err, timeoutMs);
    }
    if (!options.raw && (code < 200 || code > 299)) throw statusErrorOf(code, text);
    return { code, text };
  }

  /**
   * Opens a watch with client-node's Watch, through this transport's authentication. `done` is
   * not called for a watch that `close()` stopped.
   */
  async openWatch(path: string, query: Query, onEvent: (type: string, object: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
    if (this.closed) throw new MemberClientClosedError(this.member);
    // Watch reads the cluster from, and authenticates through, the KubeConfig it is given.
    const config = Object.create(this.#kubeConfig) as KubeConfig;
    config.applySecurityAuthentication = (ctx: RequestContext) => this.#authenticate(ctx);
    let controller: AbortController | undefined;
    let ended = false;
    const controllerDone = (err: unknown) => {
      ended = true;
      if (controller) this.#watches.delete(controller);
      if (!this.closed) done(err);
    };
    controller = await new Watch(config).watch(path, query, onEvent, controllerDone);
    if (this.closed) controller.abort();
    else if (!ended) this.#watches.add(controller);
    return controller;
  }

  /** The error for a request or watch that did not get an answer from the server. */
  failure(err: unknown, timeoutMs?: number): Error {
    if (err instanceof StatusError || err instanceof MemberClientClosedError || err instanceof MemberUnreachableError) return err;
    if (this.closed) return new MemberClientClosedError(this.member);
    if (isTimeout(err)) return new MemberUnreachableError(this.member, this.server, `no answer within ${timeoutMs ?? this.#requestTimeoutMs} ms`, { cause: err });
    return new MemberUnreachableError(this.member, this.server, describeNetworkError(err), { cause: err });
  }

  /**
   * Applies the kubeconfig's credentials to a request, and has every request share one
   * connection pool: client-node builds a fresh one per request, which would cost a TLS
   * handshake each time. The pool depends only on the cluster's TLS settings, which a
   * kubeconfig fixes, while credentials (headers) are applied afresh every time.
   */
  async #authenticate(ctx: RequestContext): Promise<void> {
    await this.#kubeConfig.applySecurityAuthentication(ctx);
    const fresh = ctx.getDispatcher();
    if (!fresh) return;
    if (this.closed) throw new MemberClientClosedError(this.member);
    this.#dispatcher ??= fresh;
    if (fresh !== this.#dispatcher) void fresh.destroy().catch(() => undefined);
    ctx.setDispatcher(this.#dispatcher);
  }
}

/**
 * The ObjectClient half of KubeMemberClient: REST paths built from the ResourceRef, bodies as
 * JSON, and watches through client-node's Watch.
 */
class KubeObjectClient implements ObjectClient {
  readonly #transport: KubeTransport;

  constructor(transport: KubeTransport) {
    this.#transport = transport;
  }

  async get(ref: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.#object(await this.#transport.request('GET', pathOf(ref, namespace, name)));
  }

  async list(ref: ResourceRef, namespace: string | undefined, options: ClientListOptions = {}): Promise<ClientList> {
    return clientList(ref, parseBody(await this.#transport.request('GET', pathOf(ref, namespace), listQuery(options))));
  }

  async create(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options: ClientWriteOptions = {}): Promise<KubeObject> {
    const ns = ref.namespaced ? (namespace ?? obj.metadata?.namespace) : undefined;
    return this.#object(await this.#transport.request('POST', pathOf(ref, ns), writeQuery(options), { body: JSON.stringify(obj) }));
  }

  async update(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options: ClientWriteOptions & { subresource?: 'status' } = {}): Promise<KubeObject> {
    const name = obj.metadata?.name;
    if (!name) throw new StatusError('BadRequest', 'an update needs metadata.name');
    const ns = ref.namespaced ? (namespace ?? obj.metadata.namespace) : undefined;
    return this.#object(await this.#transport.request('PUT', pathOf(ref, ns, name, options.subresource), writeQuery(options), { body: JSON.stringify(obj) }));
  }

  async patch(ref: ResourceRef, namespace: string | undefined, name: string, type: ClientPatchType, patch: unknown, options: ClientPatchOptions = {}): Promise<KubeObject> {
    if (!(type in patchContentTypes)) throw new StatusError('BadRequest', `unknown patch type ${JSON.stringify(type)}; use json, merge, strategic or apply`);
    if (type === 'apply' && !options.fieldManager) {
      throw new StatusError('BadRequest', 'fieldManager is required for apply requests (server-side apply)');
    }
    const query: Query = { ...writeQuery(options), ...(type === 'apply' && options.force !== undefined ? { force: options.force } : {}) };
    return this.#object(await this.#transport.request('PATCH', pathOf(ref, namespace, name, options.subresource), query, {
      body: JSON.stringify(patch),
      contentType: patchContentTypes[type],
    }));
  }

  async delete(ref: ResourceRef, namespace: string | undefined, name: string, options: ClientDeleteOptions = {}): Promise<void> {
    const body = {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
      ...(options.preconditions ? { preconditions: options.preconditions } : {}),
    };
    await this.#transport.request('DELETE', pathOf(ref, namespace, name), {}, { body: JSON.stringify(body) });
  }

  /**
   * Opens a watch. Resolves once the server accepted it; rejects with a StatusError when it
   * refused (client-node's Watch keeps only the code of a refusal, so the reason and message are
   * fetched with a one-item list of the same collection), or a MemberUnreachableError. Events
   * that arrive before the handle is returned are held back until it is, so callers always see
   * the handle first, then events, then `onEnd`. client-node ends a watch that has been silent for
   * 30 s; that ends the stream cleanly (`onEnd()` without an error), and the caller watches again
   * from its last resourceVersion.
   */
  async watch(ref: ResourceRef, namespace: string | undefined, options: ClientWatchOptions, onEvent: (event: ClientWatchEvent) => void, onEnd: (err?: Error) => void): Promise<ClientWatch> {
    const query: Query = {
      resourceVersion: options.resourceVersion || undefined,
      labelSelector: options.labelSelector || undefined,
      fieldSelector: options.fieldSelector || undefined,
      allowWatchBookmarks: options.allowWatchBookmarks || undefined,
      timeoutSeconds: options.timeoutSeconds,
    };
    let stopped = false;
    let ended = false;
    let early: { events: ClientWatchEvent[]; end?: { err: unknown } } | undefined = { events: [] };
    const finish = (err: unknown) => {
      if (ended || stopped) return;
      ended = true;
      if (err === undefined || err === null || isTimeout(err)) onEnd();
      else onEnd(this.#transport.failure(err));
    };
    const controller = await this.#transport.openWatch(pathOf(ref, namespace), query, (type, object) => {
      const event = { type, object } as ClientWatchEvent;
      if (early) early.events.push(event);
      else if (!stopped && !ended) onEvent(event);
    }, (err) => {
      if (early) early.end = { err };
      else finish(err);
    });
    const held = early;
    early = undefined;
    const handle: ClientWatch = {
      stop: () => {
        if (stopped) return;
        stopped = true;
        controller.abort();
      },
    };
    if (held.end && held.events.length === 0 && held.end.err) {
      // The watch never opened: refused by the server, or the server was not reached.
      const err = held.end.err as { statusCode?: unknown };
      if (typeof err.statusCode === 'number') throw await this.#refusal(ref, namespace, options, err.statusCode);
      throw this.#transport.failure(err);
    }
    if (held.events.length > 0 || held.end) {
      queueMicrotask(() => {
        for (const event of held.events) if (!stopped && !ended) onEvent(event);
        if (held.end) finish(held.end.err);
      });
    }
    return handle;
  }

  /** The server's own Status for a refused watch, from a list of the same collection. */
  async #refusal(ref: ResourceRef, namespace: string | undefined, options: ClientWatchOptions, code: number): Promise<Error> {
    try {
      await this.list(ref, namespace, { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: 1 });
    } catch (err) {
      if (err instanceof StatusError && err.code === code) return err;
    }
    return new StatusError(reasonForCode(code), `the server refused to watch ${pathOf(ref, namespace)} with code ${code}`);
  }

  #object(res: RawResponse): KubeObject {
    return parseBody(res) as KubeObject;
  }
}

interface DiscoveryDocument {
  kind?: string;
  versions?: string[];
  groups?: Array<{ name: string; versions?: Array<{ version: string }> }>;
  items?: Array<{
    metadata?: { name?: string };
    versions?: Array<{ version: string; resources?: Array<{ resource: string; responseKind?: { kind?: string }; scope?: string }> }>;
  }>;
}

interface LegacyResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

function fromAggregated(doc: DiscoveryDocument): ResourceRef[] {
  return (doc.items ?? []).flatMap((item) => (item.versions ?? []).flatMap((v) => (v.resources ?? []).map((r): ResourceRef => ({
    group: item.metadata?.name ?? '',
    version: v.version,
    plural: r.resource,
    kind: r.responseKind?.kind ?? '',
    namespaced: r.scope === 'Namespaced',
  }))));
}

function parseBody(res: RawResponse): unknown {
  if (res.text === '') return undefined;
  try {
    return JSON.parse(res.text);
  } catch {
    throw new StatusError('InternalError', `the server answered with a body that is not JSON: ${res.text.slice(0, 120)}`);
  }
}

function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'TimeoutError';
}

/** The most telling words of a network failure: fetch wraps the socket's error in `cause`. */
function describeNetworkError(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 4; depth++) {
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (cause === undefined) break;
    current = cause;
  }
  if (current instanceof AggregateError && current.errors.length > 0) current = current.errors[0];
  if (current instanceof Error) {
    const code = (current as { code?: unknown }).code;
    return current.message || (typeof code === 'string' ? code : String(current));
  }
  return String(current);
}

/**
 * The KubeConfig to use: the caller's own when no context is asked for, else a copy that
 * points at `context`, so the caller's current context is left alone.
 */
function withContext(member: string, kubeConfig: KubeConfig, context: string | undefined): KubeConfig {
  if (context === undefined) {
    if (!kubeConfig.getCurrentContext()) throw new Error(`the kubeconfig of member cluster ${JSON.stringify(member)} has no current context; name one`);
    return kubeConfig;
  }
  if (!kubeConfig.getContextObject(context)) {
    const known = kubeConfig.getContexts().map((c) => c.name);
    throw new Error(`the kubeconfig of member cluster ${JSON.stringify(member)} has no context ${JSON.stringify(context)}${known.length ? ` (it has ${known.join(', ')})` : ''}`);
  }
  const copy = Object.create(kubeConfig) as KubeConfig;
  copy.currentContext = context;
  return copy;
}
