/**
 * The HTTP face of the API: routes Kubernetes REST paths to the ObjectRegistry, negotiates JSON,
 * YAML and Table output, streams watches, authenticates bearer tokens and audits every mutating
 * request. Any failure becomes a Kubernetes `Status`; client mistakes are 4xx, never 5xx.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringify as toYaml } from 'yaml';
import type { KubeObject } from '../machinery/object.ts';
import { isPlainObject } from '../machinery/object.ts';
import { StatusError, errors, toStatus } from '../machinery/status-error.ts';
import { parseFieldSelector, parseLabelSelector } from '../machinery/selectors.ts';
import { readFieldPath, writeFieldPath } from '../machinery/field-path.ts';
import { applyJsonPatch, applyMergePatch, defaultFieldManager } from '../machinery/patch/index.ts';
import type { ResourceType } from '../api/resource-type.ts';
import { apiVersionOf, namesType, withTypeMeta } from '../api/resource-type.ts';
import type { TypeCatalog } from '../api/type-catalog.ts';
import type { UserInfo } from './admission.ts';
import { authorizeOrThrow, resourceVerb, type Authorizer, type RequestAttributes } from './authorization.ts';
import { answerReview } from './reviews.ts';
import type { FieldValidation, ListOutcome, ObjectRegistry, PatchType, PropagationPolicy, RegistryWatch } from './registry.ts';
import { supportedFieldLabels } from './registry.ts';
import { Discovery, aggregatedDiscoveryMediaType } from './discovery.ts';
import { OpenAPIDocuments } from './openapi.ts';
import { toTable, type IncludeObject } from './table.ts';
import { mediaType, parseJson, parseObjectBody, parseYamlText, readBody } from './request-body.ts';
import type { ApiMetrics } from './metrics.ts';
import { WatchStream, chunkFrame, type WatchFrame } from './watch-stream.ts';
import { WatchGroups, type GroupMember, type WatchGroup } from './watch-groups.ts';

export interface Authenticator {
  authenticate(authorization: string | undefined): UserInfo | undefined;
}

export interface AuditSink {
  append(record: { user: string; verb: string; resource: string; namespace?: string; name?: string; code: number; time?: string; requestURI?: string; userAgent?: string }): void;
}

export interface ApiHandlerOptions {
  catalog: TypeCatalog;
  registry: ObjectRegistry;
  authenticator: Authenticator;
  /** Decides what each authenticated user may do; without one, every authenticated user may do anything. */
  authorizer?: Authorizer;
  audit?: AuditSink;
  metrics?: ApiMetrics;
  /** Answers /readyz; the hub says ready once its store and controllers are up. */
  ready: () => boolean;
  gitVersion: string;
}

/** Paths that only answer reads: health, version, metrics and the path list. */
const readOnlyPaths = new Set(['/healthz', '/livez', '/readyz', '/version', '/metrics', '/']);

/** Paths any caller may read without a token: health, version and the discovery roots. */
const anonymousPaths = new Set(['/healthz', '/livez', '/readyz', '/version', '/api', '/apis', '/']);

interface ResourceRoute {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  user: UserInfo | undefined;
  warnings: string[];
  /** Audit fields, filled in as the request is understood. */
  audit: { verb: string; resource: string; namespace?: string; name?: string };
}

const verbsByMethod: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** What an action subresource (pods/binding, pods/eviction) is given: the object named and the POSTed body. */
export interface ActionRequest {
  type: ResourceType;
  namespace: string | undefined;
  name: string;
  body: Record<string, unknown>;
  user: UserInfo;
  dryRun: boolean;
}

/** Performs an action; returns the status code and body to answer with. Throw a StatusError to refuse. */
export type ActionHandler = (request: ActionRequest) => Promise<{ code: number; body: unknown }>;

/** Serves an extra authenticated GET path (`/metrics/cadvisor`); writes the whole response itself. */
export type PathHandler = (req: IncomingMessage, res: ServerResponse, user: UserInfo) => void | Promise<void>;

/** Serves the paths under a prefix (see `addPrefix`); `user` is undefined for an anonymous caller. */
export type PrefixHandler = (req: IncomingMessage, res: ServerResponse, path: string, user: UserInfo | undefined) => void | Promise<void>;

export class ApiHandler {
  readonly options: ApiHandlerOptions;
  readonly discovery: Discovery;
  readonly openapi: OpenAPIDocuments;
  #openWatches = new Set<ServerResponse>();
  readonly #watchGroups = new WatchGroups();
  readonly #actions = new Map<string, ActionHandler>();
  readonly #paths = new Map<string, PathHandler>();
  readonly #prefixes: Array<{ prefix: string | RegExp; handler: PrefixHandler; anonymous: boolean }> = [];

  /** Serves the action subresource `name` of `type`, which the type must declare in `subresources.actions`. */
  addAction(type: ResourceType, name: string, handler: ActionHandler): void {
    if (!type.subresources.actions?.some((a) => a.name === name)) throw new Error(`${type.plural} does not declare the action subresource ${name}`);
    this.#actions.set(`${type.group}/${type.plural}/${name}`, handler);
  }

  /** Serves `path` (GET only, bearer token required) with `handler`. */
  addPath(path: string, handler: PathHandler): void {
    this.#paths.set(path, handler);
  }

  /**
   * Serves every path `prefix` matches (a string: the path starts with it; a RegExp: it matches)
   * with `handler`, GET and HEAD only, before the API routes. With `anonymous` no token is needed
   * (static files such as the portal's); otherwise the caller must present a valid bearer token.
   */
  addPrefix(prefix: string | RegExp, handler: PrefixHandler, options: { anonymous?: boolean } = {}): void {
    this.#prefixes.push({ prefix, handler, anonymous: options.anonymous ?? false });
  }

  constructor(options: ApiHandlerOptions) {
    this.options = options;
    this.discovery = new Discovery(options.catalog);
    this.openapi = new OpenAPIDocuments(options.catalog);
  }

  /** Number of watch streams currently open. */
  get watchCount(): number {
    return this.#openWatches.size;
  }

  /** Groups of watch streams that share one registry watch, and the streams in them (see watch-groups.ts). */
  get watchGroups(): { groups: number; members: number } {
    return { groups: this.#watchGroups.size, members: this.#watchGroups.members };
  }

  /** Ends every open watch stream (used on shutdown so connections close promptly). */
  closeWatches(): void {
    for (const res of this.#openWatches) res.end();
    this.#openWatches.clear();
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://hub');
    } catch {
      this.#sendStatus(res, new StatusError('BadRequest', 'the request URL cannot be parsed'));
      return;
    }
    const ctx: RequestContext = { req, res, url, user: undefined, warnings: [], audit: { verb: (verbsByMethod[req.method ?? ''] ?? 'get'), resource: url.pathname } };
    this.#dispatch(ctx)
      .catch((err: unknown) => {
        try {
          if (!res.headersSent) this.#sendStatus(res, err, ctx.warnings);
          else res.end();
        } catch (failure) {
          console.error('could not send an error response:', failure);
          res.destroy();
        }
      })
      .finally(() => {
        const code = res.statusCode;
        this.options.metrics?.observe(ctx.audit.verb, ctx.audit.resource, code, (performance.now() - started) / 1000);
        if (verbsByMethod[req.method ?? ''] && this.options.audit) {
          this.options.audit.append({
            user: ctx.user?.username ?? 'system:anonymous',
            verb: ctx.audit.verb,
            resource: ctx.audit.resource,
            ...(ctx.audit.namespace ? { namespace: ctx.audit.namespace } : {}),
            ...(ctx.audit.name ? { name: ctx.audit.name } : {}),
            code,
            requestURI: `${url.pathname}${url.search}`.slice(0, 2048),
            userAgent: String(req.headers['user-agent'] ?? '').slice(0, 256),
          });
        }
      });
  };

  async #dispatch(ctx: RequestContext): Promise<void> {
    const { req, res, url } = ctx;
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const method = req.method ?? 'GET';
    const prefixed = this.#prefixes.find((p) => (typeof p.prefix === 'string' ? url.pathname.startsWith(p.prefix) : p.prefix.test(url.pathname)));
    if (prefixed) {
      ctx.user = this.options.authenticator.authenticate(req.headers.authorization);
      if (!prefixed.anonymous && !ctx.user) {
        req.resume();
        throw new StatusError('Unauthorized', 'Unauthorized: send a bearer token (the token in the hub\'s kubeconfig, `nephele kubeconfig --home DIR`)');
      }
      if (method !== 'GET' && method !== 'HEAD') {
        req.resume();
        throw new StatusError('MethodNotAllowed', `${method} is not allowed on ${url.pathname}; it is read-only, use GET`);
      }
      if (!prefixed.anonymous) this.#authorize(ctx, { user: ctx.user!, verb: 'get', path: url.pathname });
      return prefixed.handler(req, res, url.pathname, ctx.user);
    }
    if (!anonymousPaths.has(path)) {
      ctx.user = this.options.authenticator.authenticate(req.headers.authorization);
      if (!ctx.user) {
        req.resume();
        throw new StatusError('Unauthorized', 'Unauthorized: send a bearer token (the token in the hub\'s kubeconfig, `nephele kubeconfig --home DIR`)');
      }
    } else {
      ctx.user = this.options.authenticator.authenticate(req.headers.authorization);
    }
    if (readOnlyPaths.has(path) || path.startsWith('/openapi/')) {
      if (method !== 'GET' && method !== 'HEAD') {
        req.resume();
        throw new StatusError('MethodNotAllowed', `${method} is not allowed on ${path}; it is read-only, use GET`);
      }
    }
    const parts = path.split('/').filter(Boolean);
    // Requests on resources are authorized once their route is known (#groupVersion).
    if (!anonymousPaths.has(path) && !isResourcePath(parts)) {
      this.#authorize(ctx, { user: ctx.user!, verb: method === 'HEAD' ? 'get' : method.toLowerCase(), path });
    }
    if (path === '/healthz' || path === '/livez') return this.#sendText(res, 200, 'ok');
    if (path === '/readyz') return this.options.ready() ? this.#sendText(res, 200, 'ok') : this.#sendText(res, 503, 'not ready');
    if (path === '/version') return this.#sendJson(ctx, 200, versionInfo(this.options.gitVersion));
    if (path === '/metrics') {
      if (!this.options.metrics) throw errors.notFound('metrics', '', 'metrics');
      const text = await this.options.metrics.render(this.#openWatches.size, this.#watchGroups.size);
      res.writeHead(200, { 'Content-Type': this.options.metrics.contentType });
      res.end(text);
      return;
    }
    const extra = this.#paths.get(path);
    if (extra) {
      if (method !== 'GET' && method !== 'HEAD') {
        req.resume();
        throw new StatusError('MethodNotAllowed', `${method} is not allowed on ${path}; it is read-only, use GET`);
      }
      return extra(req, res, ctx.user!);
    }
    if (path === '/') return this.#sendJson(ctx, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/metrics', '/openapi/v3', '/readyz', '/version', ...this.options.catalog.groupVersions().filter((g) => g.group).map((g) => `/apis/${g.group}/${g.version}`)] });
    if (path.startsWith('/openapi/')) return this.#openApi(ctx, path);
    const segments = parts.map(decodePathSegment);
    if (segments[0] === 'api') return this.#coreApi(ctx, method, segments.slice(1));
    if (segments[0] === 'apis') return this.#groupApi(ctx, method, segments.slice(1));
    throw new StatusError('NotFound', `the server could not find the requested resource (${method} ${path}); see /api and /apis for what is served`);
  }

  #openApi(ctx: RequestContext, path: string): void {
    if (path === '/openapi/v3') return this.#sendJson(ctx, 200, this.openapi.index());
    if (path === '/openapi/v2') throw new StatusError('NotFound', 'OpenAPI v2 is not served; use /openapi/v3');
    const doc = this.openapi.document(path.replace(/^\/openapi\/v3\//, ''));
    if (!doc) throw new StatusError('NotFound', `no OpenAPI document at ${path}; /openapi/v3 lists them`);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ETag: `"${doc.hash}"` };
    if (ctx.url.searchParams.get('hash') === doc.hash) headers['Cache-Control'] = 'public, immutable';
    ctx.res.writeHead(200, headers);
    ctx.res.end(doc.json);
  }

  async #coreApi(ctx: RequestContext, method: string, rest: string[]): Promise<void> {
    if (rest.length === 0) {
      this.#onlyGet(method);
      if (wantsAggregated(ctx.req)) return this.#sendAggregated(ctx, this.discovery.aggregated(true));
      return this.#sendJson(ctx, 200, this.discovery.coreVersions(String(ctx.req.headers.host ?? '')));
    }
    return this.#groupVersion(ctx, method, '', rest[0]!, rest.slice(1));
  }

  async #groupApi(ctx: RequestContext, method: string, rest: string[]): Promise<void> {
    if (rest.length === 0) {
      this.#onlyGet(method);
      if (wantsAggregated(ctx.req)) return this.#sendAggregated(ctx, this.discovery.aggregated(false));
      return this.#sendJson(ctx, 200, this.discovery.groups());
    }
    if (rest.length === 1) {
      this.#onlyGet(method);
      const group = this.discovery.group(rest[0]!);
      if (!group) throw new StatusError('NotFound', `the server does not serve the API group "${rest[0]}"`);
      return this.#sendJson(ctx, 200, { kind: 'APIGroup', apiVersion: 'v1', ...group });
    }
    return this.#groupVersion(ctx, method, rest[0]!, rest[1]!, rest.slice(2));
  }

  async #groupVersion(ctx: RequestContext, method: string, group: string, version: string, rest: string[]): Promise<void> {
    if (rest.length === 0) {
      this.#onlyGet(method);
      const list = this.discovery.resources(group, version);
      if (!list) throw new StatusError('NotFound', `the server does not serve ${group ? `${group}/${version}` : version}`);
      return this.#sendJson(ctx, 200, list);
    }
    const route = this.#route(group, version, rest);
    ctx.audit.resource = route.type.plural + (route.subresource ? `/${route.subresource}` : '');
    ctx.audit.namespace = route.namespace;
    ctx.audit.name = route.name;
    ctx.audit.verb = resourceVerb(method, route.name !== undefined, isTrue(ctx.url.searchParams.get('watch')));
    this.#authorize(ctx, {
      user: ctx.user!,
      verb: ctx.audit.verb,
      group: route.type.group,
      resource: route.type.plural,
      ...(route.subresource !== undefined ? { subresource: route.subresource } : {}),
      ...(route.type.namespaced && route.namespace !== undefined ? { namespace: route.namespace } : {}),
      ...(route.name !== undefined ? { name: route.name } : {}),
    });
    return this.#resource(ctx, method, route);
  }

  /** Refuses the request with 403 when the authorizer (if any) does not allow it; the body is left unread. */
  #authorize(ctx: RequestContext, attributes: RequestAttributes): void {
    if (!this.options.authorizer) return;
    try {
      authorizeOrThrow(this.options.authorizer, attributes);
    } catch (err) {
      ctx.req.resume();
      throw err;
    }
  }

  #route(group: string, version: string, rest: string[]): ResourceRoute {
    const catalog = this.options.catalog;
    const gv = group ? `${group}/${version}` : version;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const type = catalog.byResource(group, version, rest[2]!);
      if (type && type.namespaced) {
        if (rest.length > 5) throw new StatusError('NotFound', `the server could not find the requested resource: unexpected path after ${rest.slice(0, 5).join('/')}`);
        return { type, namespace: rest[1], name: rest[3], subresource: rest[4] };
      }
      if (!type && group === '' && (rest[2] === 'status' || rest[2] === 'finalize') && rest.length === 3) {
        return { type: catalog.byResource('', 'v1', 'namespaces')!, namespace: undefined, name: rest[1], subresource: rest[2] };
      }
      if (!type && !catalog.byResource(group, version, 'namespaces')) {
        throw new StatusError('NotFound', `the server could not find the requested resource "${rest[2]}" in ${gv}`);
      }
      if (!type) throw new StatusError('NotFound', `the server doesn't have a resource type "${rest[2]}" in ${gv}`);
    }
    const type = catalog.byResource(group, version, rest[0]!);
    if (!type) throw new StatusError('NotFound', `the server doesn't have a resource type "${rest[0]}" in ${gv}`);
    if (rest.length > 3) throw new StatusError('NotFound', `the server could not find the requested resource: unexpected path after ${rest.slice(0, 3).join('/')}`);
    return { type, namespace: undefined, name: rest[1], subresource: rest[2] };
  }

  async #action(ctx: RequestContext, method: string, route: ResourceRoute, action: ActionHandler): Promise<void> {
    const { type, namespace, name, subresource } = route;
    if (method !== 'POST') {
      ctx.req.resume();
      throw new StatusError('MethodNotAllowed', `${type.plural}/${subresource} takes only POST`);
    }
    if (type.namespaced && namespace !== undefined) validateNamespaceParam(namespace);
    const body = parseObjectBody(ctx.req, await readBody(ctx.req));
    if (!isPlainObject(body)) throw errors.badRequest('the request body must be a JSON or YAML object');
    const result = await action({ type, namespace, name: name!, body, user: ctx.user!, dryRun: parseDryRun(ctx.url.searchParams.get('dryRun')) });
    return this.#sendJson(ctx, result.code, result.body);
  }

  /** A review (SelfSubjectAccessReview, ...): a POST answered about its sender, nothing stored. */
  async #review(ctx: RequestContext, method: string, route: ResourceRoute): Promise<void> {
    const { type } = route;
    if (method !== 'POST' || route.name !== undefined) {
      ctx.req.resume();
      throw new StatusError('MethodNotAllowed', `${type.plural} only takes a POST to the collection: a ${type.kind} is answered, not stored`);
    }
    const body = parseObjectBody(ctx.req, await readBody(ctx.req));
    if (!isPlainObject(body)) throw errors.badRequest('the request body must be a JSON or YAML object');
    const causes = type.validate(body as KubeObject);
    if (causes.length > 0) throw errors.invalid(type.kind, type.group, '', causes);
    return this.#sendJson(ctx, 201, answerReview(type, body, ctx.user!, this.options.authorizer));
  }

  async #resource(ctx: RequestContext, method: string, route: ResourceRoute): Promise<void> {
    const { type, namespace, name, subresource } = route;
    const { registry } = this.options;
    const q = ctx.url.searchParams;
    const action = subresource !== undefined && name !== undefined ? this.#actions.get(`${type.group}/${type.plural}/${subresource}`) : undefined;
    if (action) return this.#action(ctx, method, route, action);
    if (type.review) return this.#review(ctx, method, route);
    if (subresource !== undefined && subresource !== 'status' && !(subresource === 'scale' && type.subresources.scale)) {
      throw new StatusError('NotFound', `${type.plural} has no subresource "${subresource}"`);
    }
    if (subresource === 'status' && !type.subresources.status && !(type.kind === 'Namespace')) {
      throw new StatusError('NotFound', `${type.plural} has no status subresource`);
    }
    if (type.namespaced && namespace !== undefined) validateNamespaceParam(namespace);
    if (name !== undefined && name === '') throw errors.badRequest('the resource name may not be empty');
    const user = ctx.user!;
    const dryRun = parseDryRun(q.get('dryRun'));
    const fieldManager = q.get('fieldManager') ?? defaultFieldManager(String(ctx.req.headers['user-agent'] ?? ''));
    const writeOptions = { user, dryRun, fieldManager, fieldValidation: parseFieldValidation(q.get('fieldValidation')), warnings: ctx.warnings };

    if (name === undefined) {
      switch (method) {
        case 'GET': {
          const labelSelector = parseLabelSelector(q.get('labelSelector') ?? undefined);
          const fieldSelector = parseFieldSelector(q.get('fieldSelector') ?? undefined, supportedFieldLabels(type));
          if (isTrue(q.get('watch'))) {
            return this.#watch(ctx, type, namespace, labelSelector, fieldSelector);
          }
          const limit = parseLimit(q.get('limit'));
          const rv = q.get('resourceVersion');
          if (rv) parseResourceVersionParam(rv);
          const result = await registry.list(type, namespace, { labelSelector, fieldSelector, limit, continue: q.get('continue') ?? undefined });
          if (wantsTable(ctx.req)) {
            return this.#sendJson(ctx, 200, toTable(type, result.items, { now: registry.clock.now(), include: includeObject(q), withColumns: true, resourceVersion: result.resourceVersion, continue: result.continue }));
          }
          return this.#sendList(ctx, type, result);
        }
        case 'POST': {
          const body = parseObjectBody(ctx.req, await readBody(ctx.req));
          if (!isPlainObject(body)) throw errors.badRequest('the request body must be a JSON or YAML object');
          ctx.audit.name = typeof body.metadata === 'object' && body.metadata && 'name' in body.metadata ? String((body.metadata as { name?: unknown }).name) : undefined;
          const created = await registry.create(type, namespace, body as KubeObject, writeOptions);
          ctx.audit.name = created.metadata.name;
          return this.#sendObject(ctx, 201, type, created);
        }
        case 'DELETE': {
          const options = await this.#deleteOptions(ctx, dryRun);
          const labelSelector = parseLabelSelector(q.get('labelSelector') ?? undefined);
          const fieldSelector = parseFieldSelector(q.get('fieldSelector') ?? undefined, supportedFieldLabels(type));
          const deleted = await registry.deleteCollection(type, namespace, { labelSelector, fieldSelector }, { user, ...options, warnings: ctx.warnings });
          return this.#sendJson(ctx, 200, { kind: type.listKind, apiVersion: apiVersionOf(type), metadata: {}, items: deleted });
        }
        default:
          throw new StatusError('MethodNotAllowed', `${method} is not supported on a collection of ${type.plural}; use GET, POST or DELETE`);
      }
    }

    const readVersion = method === 'GET' ? q.get('resourceVersion') : null;
    if (readVersion) parseResourceVersionParam(readVersion);
    if (subresource === 'scale') return this.#scale(ctx, method, type, namespace, name, writeOptions);
    const sub = subresource === 'status' ? ('status' as const) : undefined;
    switch (method) {
      case 'GET': {
        const obj = await registry.get(type, namespace, name);
        if (wantsTable(ctx.req)) return this.#sendJson(ctx, 200, toTable(type, [obj], { now: registry.clock.now(), include: includeObject(q), withColumns: true, resourceVersion: obj.metadata.resourceVersion }));
        return this.#sendObject(ctx, 200, type, obj);
      }
      case 'PUT': {
        const body = parseObjectBody(ctx.req, await readBody(ctx.req));
        if (!isPlainObject(body)) throw errors.badRequest('the request body must be a JSON or YAML object');
        const updated = await registry.update(type, namespace, name, body as KubeObject, { ...writeOptions, subresource: sub });
        return this.#sendObject(ctx, 200, type, updated);
      }
      case 'PATCH': {
        const { patchType, patch } = await this.#readPatch(ctx);
        if (patchType === 'apply' && !q.get('fieldManager')) {
          throw errors.badRequest('fieldManager is required for apply requests (server-side apply): pass ?fieldManager=NAME');
        }
        const force = isTrue(q.get('force'));
        if (q.has('force') && patchType !== 'apply') throw errors.badRequest('force may only be set for apply patches (application/apply-patch+yaml)');
        const patched = await registry.patch(type, namespace, name, patchType, patch, { ...writeOptions, subresource: sub, force });
        return this.#sendObject(ctx, 200, type, patched);
      }
      case 'DELETE': {
        const options = await this.#deleteOptions(ctx, dryRun);
        const outcome = await registry.delete(type, namespace, name, { user, ...options, warnings: ctx.warnings });
        if (!outcome.deleted) return this.#sendObject(ctx, 202, type, outcome.object);
        return this.#sendJson(ctx, 200, {
          kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
          details: { name, group: type.group, kind: type.plural, uid: outcome.object.metadata.uid },
        });
      }
      default:
        throw new StatusError('MethodNotAllowed', `${method} is not supported on ${type.plural}/${name}; use GET, PUT, PATCH or DELETE`);
    }
  }

  async #scale(ctx: RequestContext, method: string, type: ResourceType, namespace: string | undefined, name: string, writeOptions: { user: UserInfo; dryRun: boolean; fieldManager: string; fieldValidation: FieldValidation; warnings: string[] }): Promise<void> {
    const scale = type.subresources.scale!;
    const { registry } = this.options;
    const toScale = (obj: KubeObject) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
      spec: { replicas: Number(readFieldPath(obj, scale.specReplicasPath) ?? 0) },
      status: { replicas: Number(readFieldPath(obj, scale.statusReplicasPath) ?? 0), ...(scale.labelSelectorPath && readFieldPath(obj, scale.labelSelectorPath) !== undefined ? { selector: String(readFieldPath(obj, scale.labelSelectorPath)) } : {}) },
    });
    const current = await registry.get(type, namespace, name);
    if (method === 'GET') return this.#sendJson(ctx, 200, toScale(current));
    let desired: unknown;
    let expectedVersion: string | undefined;
    if (method === 'PUT') {
      const body = parseObjectBody(ctx.req, await readBody(ctx.req));
      if (!isPlainObject(body) || !isPlainObject(body.spec)) throw errors.badRequest('a Scale object with spec.replicas is required');
      desired = body.spec.replicas;
      const meta = isPlainObject(body.metadata) ? body.metadata : {};
      expectedVersion = typeof meta.resourceVersion === 'string' && meta.resourceVersion ? meta.resourceVersion : undefined;
    } else if (method === 'PATCH') {
      const { patchType, patch } = await this.#readPatch(ctx);
      const base = toScale(current);
      const patched = patchType === 'json' ? applyJsonPatch(base, patch) : applyMergePatch(base, patch);
      desired = isPlainObject(patched) && isPlainObject(patched.spec) ? patched.spec.replicas : undefined;
    } else {
      throw new StatusError('MethodNotAllowed', `${method} is not supported on ${type.plural}/scale`);
    }
    if (typeof desired !== 'number' || !Number.isInteger(desired) || desired < 0) {
      throw errors.invalid('Scale', 'autoscaling', name, [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(desired)}: must be a non-negative integer` }]);
    }
    const next = structuredClone(current);
    writeFieldPath(next as Record<string, unknown>, scale.specReplicasPath, desired);
    next.metadata.resourceVersion = expectedVersion ?? current.metadata.resourceVersion;
    const updated = await registry.update(type, namespace, name, next, writeOptions);
    return this.#sendJson(ctx, 200, toScale(updated));
  }

  async #readPatch(ctx: RequestContext): Promise<{ patchType: PatchType; patch: unknown }> {
    const type = mediaType(ctx.req);
    const raw = await readBody(ctx.req);
    switch (type) {
      case 'application/json-patch+json': {
        const patch = parseJson(raw);
        if (!Array.isArray(patch)) throw errors.badRequest('a JSON patch must be a JSON array of operations');
        return { patchType: 'json', patch };
      }
      case 'application/merge-patch+json':
        return { patchType: 'merge', patch: parseJson(raw) };
      case 'application/strategic-merge-patch+json':
        return { patchType: 'strategic', patch: parseJson(raw) };
      case 'application/apply-patch+yaml':
      case 'application/apply-patch+cbor':
        if (type.endsWith('cbor')) break;
        return { patchType: 'apply', patch: parseYamlText(raw) };
      default:
        break;
    }
    throw new StatusError('UnsupportedMediaType', `the patch Content-Type "${type}" is not supported; use application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json or application/apply-patch+yaml`);
  }

  async #deleteOptions(ctx: RequestContext, dryRun: boolean): Promise<{ dryRun: boolean; propagationPolicy?: PropagationPolicy; gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } }> {
    const q = ctx.url.searchParams;
    const raw = await readBody(ctx.req);
    let body: Record<string, unknown> = {};
    if (raw.length > 0 && raw.toString('utf8').trim() !== '') {
      const parsed = parseObjectBody(ctx.req, raw);
      if (!isPlainObject(parsed)) throw errors.badRequest('DeleteOptions must be a JSON object');
      body = parsed;
    }
    const policy = (q.get('propagationPolicy') ?? body.propagationPolicy) as string | undefined;
    const orphan = q.get('orphanDependents') ?? body.orphanDependents;
    let propagationPolicy: PropagationPolicy | undefined;
    if (policy !== undefined) {
      if (policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
        throw errors.badRequest(`propagationPolicy "${String(policy)}" is not supported: use Background, Foreground or Orphan`);
      }
      propagationPolicy = policy;
    } else if (orphan === true || orphan === 'true') {
      propagationPolicy = 'Orphan';
    }
    const graceRaw = q.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
    let gracePeriodSeconds: number | undefined;
    if (graceRaw !== undefined && graceRaw !== null) {
      gracePeriodSeconds = Number(graceRaw);
      if (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0) throw errors.badRequest(`gracePeriodSeconds must be a non-negative integer, got ${JSON.stringify(graceRaw)}`);
    }
    const pre = isPlainObject(body.preconditions) ? body.preconditions : {};
    // DeleteOptions may carry dryRun in the body, as client-go sends it.
    const bodyDryRun = Array.isArray(body.dryRun) && body.dryRun.includes('All');
    return {
      dryRun: dryRun || bodyDryRun,
      ...(propagationPolicy ? { propagationPolicy } : {}),
      ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
      preconditions: {
        ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}),
        ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
      },
    };
  }

  async #watch(ctx: RequestContext, type: ResourceType, namespace: string | undefined, labelSelector: ReturnType<typeof parseLabelSelector>, fieldSelector: ReturnType<typeof parseFieldSelector>): Promise<void> {
    const { req, res, url } = ctx;
    const q = url.searchParams;
    const rv = q.get('resourceVersion') ?? undefined;
    if (rv) parseResourceVersionParam(rv);
    const timeoutRaw = q.get('timeoutSeconds');
    const timeoutSeconds = timeoutRaw === null ? 1800 : Number(timeoutRaw);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) throw errors.badRequest(`timeoutSeconds must be a non-negative number, got "${timeoutRaw}"`);
    const table = wantsTable(req);
    const include = includeObject(q);
    const now = () => this.options.registry.clock.now();
    let tableColumnsSent = false;
    const stream = new WatchStream(res, { onOverflow: () => this.options.metrics?.watchTerminated(type.plural) });
    const write = (event: { type: string; object: unknown }) => {
      if (table && event.type !== 'BOOKMARK' && event.type !== 'ERROR') {
        const object = toTable(type, [event.object as KubeObject], { now: now(), include, withColumns: !tableColumnsSent });
        tableColumnsSent = true;
        stream.send(chunkFrame(`${JSON.stringify({ type: event.type, object })}\n`));
      } else {
        stream.send(encodeWatchEvent(type, event.type, event.object));
      }
    };
    const bookmarks = isTrue(q.get('allowWatchBookmarks'));
    // Watches that write the same bytes share one registry watch (see watch-groups.ts); a Table
    // watch sends its columns once per stream, so it always goes alone.
    const groupKey = table ? undefined : [type.group, type.version, type.plural, namespace ?? '', q.get('labelSelector') ?? '', q.get('fieldSelector') ?? '', bookmarks].join('\n');
    let watch: RegistryWatch | undefined;
    /** The group this stream belongs to, if any. */
    let group: WatchGroup | undefined;
    /** The group whose watch is this stream's own: events from it go to every member. */
    let founded: WatchGroup | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (group) group.leave(member);
      else watch?.stop();
      this.#openWatches.delete(res);
      stream.end();
    };
    const member: GroupMember = {
      stream,
      end: (err) => {
        if (!finished && err) write({ type: 'ERROR', object: toStatus(err) });
        finish();
      },
    };
    const tryGroup = () => {
      if (groupKey === undefined || group !== undefined || watch === undefined || finished) return;
      const placed = this.#watchGroups.place(groupKey, watch, member);
      group = placed?.group;
      if (placed?.founded) founded = placed.group;
    };
    const timer = setTimeout(finish, timeoutSeconds * 1000);
    timer.unref();
    this.#openWatches.add(res);
    // The response's 'close' means the client went away; the request's own 'close' only means
    // its (empty) body was read.
    res.on('close', finish);
    try {
      watch = await this.options.registry.watch(type, namespace, {
        resourceVersion: rv,
        labelSelector,
        fieldSelector,
        bookmarks,
      }, (event) => {
        if (founded) {
          founded.broadcast(encodeWatchEvent(type, event.type, event.object));
        } else if (!finished) {
          write(event);
          tryGroup();
        }
      }, (err) => {
        if (founded) founded.end(err);
        else member.end(err);
      });
      if (finished) {
        watch.stop();
      } else {
        stream.open();
        tryGroup();
      }
    } catch (err) {
      if (err instanceof StatusError && (err.reason === 'Expired' || err.reason === 'Gone')) {
        // As kube-apiserver does: the stream opens and carries the 410 as an ERROR event.
        write({ type: 'ERROR', object: err.toStatus() });
        finish();
        return;
      }
      clearTimeout(timer);
      this.#openWatches.delete(res);
      finished = true;
      throw err;
    }
  }

  #onlyGet(method: string): void {
    if (method !== 'GET' && method !== 'HEAD') throw new StatusError('MethodNotAllowed', `${method} is not allowed on discovery documents`);
  }

  #sendAggregated(ctx: RequestContext, body: unknown): void {
    ctx.res.writeHead(200, { 'Content-Type': aggregatedDiscoveryMediaType, Vary: 'Accept' });
    ctx.res.end(JSON.stringify(body));
  }

  /**
   * A list as JSON (or YAML). Items that come with the store's own JSON text and already name
   * this type's apiVersion and kind are written as that text, which is what serialising them
   * again would give: for a list of a hundred objects that saves most of the response's cost.
   */
  #sendList(ctx: RequestContext, type: ResourceType, result: ListOutcome): void {
    const apiVersion = apiVersionOf(type);
    const metadata = { resourceVersion: result.resourceVersion, ...(result.continue ? { continue: result.continue } : {}) };
    const texts = result.texts;
    if (texts === undefined || !this.#answersJson(ctx)) {
      this.#sendJson(ctx, 200, { kind: type.listKind, apiVersion, metadata, items: result.items.map((item) => withTypeMeta(type, item)) });
      return;
    }
    const items = result.items.map((item, i) => (namesType(type, item) ? texts[i]! : JSON.stringify(withTypeMeta(type, item))));
    const head = JSON.stringify({ kind: type.listKind, apiVersion, metadata });
    this.#sendJsonText(ctx, 200, `${head.slice(0, -1)},"items":[${items.join(',')}]}`);
  }

  #sendObject(ctx: RequestContext, code: number, type: ResourceType, obj: KubeObject): void {
    this.#sendJson(ctx, code, withTypeMeta(type, obj));
  }

  #sendJson(ctx: RequestContext, code: number, body: unknown): void {
    if (this.#answersJson(ctx)) {
      this.#sendJsonText(ctx, code, JSON.stringify(body));
      return;
    }
    ctx.res.writeHead(code, this.#responseHeaders(ctx, 'application/yaml'));
    ctx.res.end(toYaml(body));
  }

  /** True when the response goes out as JSON, false for YAML; a client that takes neither gets 406. */
  #answersJson(ctx: RequestContext): boolean {
    const accept = String(ctx.req.headers.accept ?? '');
    if (/application\/(x-)?yaml/.test(accept) && !/application\/json/.test(accept)) return false;
    if (accept && !acceptsJson(accept)) {
      throw new StatusError('NotAcceptable', `only application/json and application/yaml responses are available, not "${accept}"`);
    }
    return true;
  }

  /** A body already serialised as JSON. */
  #sendJsonText(ctx: RequestContext, code: number, text: string): void {
    ctx.res.writeHead(code, this.#responseHeaders(ctx, 'application/json'));
    ctx.res.end(text);
  }

  #responseHeaders(ctx: RequestContext, contentType: string): Record<string, string | string[]> {
    const headers: Record<string, string | string[]> = { 'Content-Type': contentType };
    if (ctx.warnings.length > 0) headers.Warning = warningHeader(ctx.warnings);
    return headers;
  }

  #sendText(res: ServerResponse, code: number, text: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(text);
  }

  #sendStatus(res: ServerResponse, err: unknown, warnings: string[] = []): void {
    const status = toStatus(err);
    if (status.code >= 500) console.error('internal error:', err);
    const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json' };
    if (warnings.length > 0) headers.Warning = warningHeader(warnings);
    if (status.code === 401) headers['WWW-Authenticate'] = 'Bearer realm="nephele"';
    res.writeHead(status.code, headers);
    res.end(JSON.stringify(status));
  }
}

/**
 * Watch event lines as framed chunks, encoded once per (object, event type) and shared by every
 * watcher that receives the same cached object: with a thousand watchers this is one
 * JSON.stringify and one UTF-8 encoding, not a thousand.
 */
const encodedEvents = new WeakMap<object, Map<string, WatchFrame>>();

function encodeWatchEvent(type: ResourceType, eventType: string, object: unknown): WatchFrame {
  if (!isPlainObject(object)) return chunkFrame(`${JSON.stringify({ type: eventType, object })}\n`);
  let byType = encodedEvents.get(object);
  const cached = byType?.get(eventType);
  if (cached) return cached;
  const body = eventType === 'BOOKMARK' || eventType === 'ERROR' ? object : withTypeMeta(type, object);
  const line = chunkFrame(`${JSON.stringify({ type: eventType, object: body })}\n`);
  if (!byType) encodedEvents.set(object, (byType = new Map()));
  byType.set(eventType, line);
  return line;
}

/** Warnings are capped, as kube-apiserver caps them, so a body with thousands of unknown fields still gets a response its client can read. */
const maxWarningHeaderBytes = 4 * 1024;
const maxWarningChars = 256;

/**
 * `Warning` header values (`299 - "text"`) in printable ASCII: a warning quotes client input (an
 * unknown field's name), and Node refuses header values with control or non-Latin-1 characters,
 * so those are written as JSON `\uXXXX` escapes instead of failing the response. Each warning is
 * cut at 256 characters and all of them at about 4 KiB, the rest summed up in a last warning.
 */
function warningHeader(warnings: string[]): string[] {
  const values: string[] = [];
  let total = 0;
  for (const [i, warning] of warnings.entries()) {
    const text = warning.length > maxWarningChars ? `${warning.slice(0, maxWarningChars)}...` : warning;
    const value = `299 - ${JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`;
    if (total + value.length > maxWarningHeaderBytes) {
      values.push(`299 - "${warnings.length - i} more warning(s) not shown"`);
      break;
    }
    values.push(value);
    total += value.length;
  }
  return values;
}

/** Whether a path's segments name resources (`/api/v1/pods`, `/apis/apps/v1/deployments`) rather than discovery or another path. */
function isResourcePath(segments: readonly string[]): boolean {
  return (segments[0] === 'api' && segments.length >= 3) || (segments[0] === 'apis' && segments.length >= 4);
}

/** A percent-decoded path segment; a malformed escape (`%ZZ`, a cut UTF-8 sequence) is the client's 400. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw errors.badRequest(`the request path segment "${segment}" is not valid percent-encoding`);
  }
}

function versionInfo(gitVersion: string) {
  const match = /^v(\d+)\.(\d+)/.exec(gitVersion);
  return {
    major: match?.[1] ?? '1',
    minor: match?.[2] ?? '32',
    gitVersion,
    gitCommit: 'nephele',
    gitTreeState: 'clean',
    buildDate: '2026-11-22T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };
}

function wantsAggregated(req: IncomingMessage): boolean {
  return String(req.headers.accept ?? '').includes('g=apidiscovery.k8s.io;v=v2');
}

function wantsTable(req: IncomingMessage): boolean {
  const accept = String(req.headers.accept ?? '');
  return accept.includes('as=Table') && accept.includes('g=meta.k8s.io');
}

function acceptsJson(accept: string): boolean {
  return accept.split(',').some((part) => {
    const type = part.split(';')[0]!.trim();
    return type === 'application/json' || type === '*/*' || type === 'application/*' || type === '';
  });
}

function includeObject(q: URLSearchParams): IncludeObject {
  const value = q.get('includeObject');
  if (value === null) return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw errors.badRequest(`includeObject must be None, Metadata or Object, got "${value}"`);
}

function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1';
}

function parseDryRun(value: string | null): boolean {
  if (value === null || value === '') return false;
  if (value === 'All') return true;
  throw errors.badRequest(`dryRun must be "All" (or absent), got "${value}"`);
}

function parseFieldValidation(value: string | null): FieldValidation {
  if (value === null || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw errors.badRequest(`fieldValidation must be Ignore, Warn or Strict, got "${value}"`);
}

function parseLimit(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 0) throw errors.badRequest(`limit must be a non-negative integer, got "${value}"`);
  return limit;
}

function parseResourceVersionParam(value: string): void {
  if (!/^\d{1,15}$/.test(value)) {
    throw errors.badRequest(`invalid resourceVersion "${value}": use a resourceVersion from a previous list or get`);
  }
}

function validateNamespaceParam(namespace: string): void {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    throw errors.badRequest(`invalid namespace "${namespace}": a namespace is a lowercase RFC 1123 label`);
  }
}
