/**
 * Dynamic admission webhooks, as kube-apiserver calls them: the current
 * MutatingWebhookConfiguration and ValidatingWebhookConfiguration objects decide which writes are
 * sent, as `admission.k8s.io/v1` AdmissionReviews over HTTPS, to which webhook, and what its answer
 * does to the request.
 *
 * `WebhookAdmission` follows both configuration kinds through the registry's watch and contributes
 * one mutating and one validating plugin to the AdmissionChain:
 *
 * - matching: rules (operations, API groups, versions, resources with `*` and `pods/status`-style
 *   subresources, scope), namespaceSelector (the namespace's labels, or the Namespace object's own
 *   for namespaces), objectSelector (old or new object's labels); matchPolicy is treated as Exact
 *   (each kind is served in one version here, so Equivalent finds nothing more); matchConditions
 *   (CEL, see match-conditions.ts): a false one skips the webhook, an error is a failed call;
 * - mutating webhooks run one after another, by configuration name and then in listed order, their
 *   JSON patches applied to the object; with `reinvocationPolicy: IfNeeded` a webhook runs once
 *   more when a later one changed the object;
 * - validating webhooks that match run in parallel; the first denial in listed order wins;
 * - a call that fails (unreachable, timed out, bad TLS, malformed answer) rejects the request under
 *   `failurePolicy: Fail` (the default) and is logged and skipped under `Ignore`.
 *
 * The configuration kinds themselves are never sent to webhooks, so a broken webhook can always be
 * removed.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request as httpsRequest } from 'node:https';
import type { KubeObject } from '../machinery/object.ts';
import { isPlainObject, jsonEqual } from '../machinery/object.ts';
import { StatusError, errors, statusReasons, type StatusReason } from '../machinery/status-error.ts';
import { labelSelectorFromObject, type LabelSelector } from '../machinery/selectors.ts';
import { applyJsonPatch } from '../machinery/patch/index.ts';
import { compileMatchConditions, evaluateMatchConditions, matchConditionProblems, type MatchCondition } from './match-conditions.ts';
import type { ResourceType } from '../api/resource-type.ts';
import type { TypeCatalog } from '../api/type-catalog.ts';
import type { AdmissionRequest, MutatingAdmissionPlugin, ValidatingAdmissionPlugin } from './admission.ts';
import type { ObjectRegistry } from './registry.ts';

export const admissionRegistrationGroup = 'admissionregistration.k8s.io';

/** Which phase a webhook belongs to: the kind of configuration that declares it. */
export type WebhookPhase = 'mutating' | 'validating';

export type FailurePolicy = 'Fail' | 'Ignore';
export type SideEffects = 'None' | 'NoneOnDryRun' | 'Some' | 'Unknown';
export type RuleScope = '*' | 'Cluster' | 'Namespaced';

/** One entry of a webhook's `rules`, with absent lists read as empty (matching nothing). */
export interface WebhookRule {
  operations: string[];
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  scope: RuleScope;
}

/** Where a webhook is called: a URL, or a Service to be resolved to one. */
export interface WebhookClientConfig {
  url?: string;
  service?: { namespace: string; name: string; path?: string; port: number };
  /** PEM certificates trusted for the webhook's serving certificate; the system roots when absent. */
  caPem?: string;
}

/** A webhook as declared, with the API's defaults filled in. */
export interface Webhook {
  phase: WebhookPhase;
  /** The configuration object that declares it. */
  configuration: string;
  name: string;
  clientConfig: WebhookClientConfig;
  rules: WebhookRule[];
  namespaceSelector: LabelSelector;
  objectSelector: LabelSelector;
  failurePolicy: FailurePolicy;
  matchPolicy: 'Exact' | 'Equivalent';
  sideEffects: SideEffects;
  /** Between 1 and 30; 10 when not given. */
  timeoutSeconds: number;
  admissionReviewVersions: string[];
  reinvocationPolicy: 'Never' | 'IfNeeded';
  matchConditions: MatchCondition[];
}

const configurationPlurals: Record<WebhookPhase, string> = {
  mutating: 'mutatingwebhookconfigurations',
  validating: 'validatingwebhookconfigurations',
};

/** Admission-configuration resources no webhook is ever called for, as upstream exempts them. */
const exemptResources = new Set([
  'mutatingwebhookconfigurations', 'validatingwebhookconfigurations',
  'validatingadmissionpolicies', 'validatingadmissionpolicybindings',
  'mutatingadmissionpolicies', 'mutatingadmissionpolicybindings',
]);

/** True for the kinds that configure admission itself; requests for them skip every webhook. */
export function isExemptFromWebhooks(type: Pick<ResourceType, 'group' | 'plural'>): boolean {
  return type.group === admissionRegistrationGroup && exemptResources.has(type.plural);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The webhooks a configuration object declares, in its order, with defaults: failurePolicy Fail,
 * matchPolicy Equivalent, empty selectors (everything), timeoutSeconds 10 (clamped to 1..30),
 * reinvocationPolicy Never, rule scope `*`. A caBundle that is not base64 yields no trusted
 * certificates, so the call fails its TLS check rather than trusting anything.
 */
export function webhooksOf(configuration: KubeObject, phase: WebhookPhase): Webhook[] {
  const name = configuration.metadata.name ?? '';
  const entries = Array.isArray(configuration.webhooks) ? configuration.webhooks : [];
  return entries.filter(isPlainObject).map((entry) => {
    const client = isPlainObject(entry.clientConfig) ? entry.clientConfig : {};
    const service = isPlainObject(client.service) ? client.service : undefined;
    const caBundle = text(client.caBundle);
    const timeout = typeof entry.timeoutSeconds === 'number' && Number.isFinite(entry.timeoutSeconds) ? entry.timeoutSeconds : 10;
    return {
      phase,
      configuration: name,
      name: String(entry.name ?? ''),
      clientConfig: {
        ...(text(client.url) ? { url: text(client.url) } : {}),
        ...(service ? {
          service: {
            namespace: String(service.namespace ?? ''),
            name: String(service.name ?? ''),
            ...(text(service.path) ? { path: text(service.path) } : {}),
            port: typeof service.port === 'number' ? service.port : 443,
          },
        } : {}),
        ...(caBundle ? { caPem: Buffer.from(caBundle, 'base64').toString('utf8') } : {}),
      },
      rules: (Array.isArray(entry.rules) ? entry.rules : []).filter(isPlainObject).map((rule) => ({
        operations: strings(rule.operations),
        apiGroups: strings(rule.apiGroups),
        apiVersions: strings(rule.apiVersions),
        resources: strings(rule.resources),
        scope: rule.scope === 'Cluster' || rule.scope === 'Namespaced' ? rule.scope : '*',
      })),
      namespaceSelector: labelSelectorFromObject(entry.namespaceSelector),
      objectSelector: labelSelectorFromObject(entry.objectSelector),
      failurePolicy: entry.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
      matchPolicy: entry.matchPolicy === 'Exact' ? 'Exact' : 'Equivalent',
      sideEffects: (['None', 'NoneOnDryRun', 'Some', 'Unknown'] as const).find((s) => s === entry.sideEffects) ?? 'Unknown',
      timeoutSeconds: Math.min(30, Math.max(1, Math.trunc(timeout))),
      admissionReviewVersions: strings(entry.admissionReviewVersions),
      reinvocationPolicy: entry.reinvocationPolicy === 'IfNeeded' ? 'IfNeeded' : 'Never',
      matchConditions: compileMatchConditions(entry.matchConditions),
    } satisfies Webhook;
  });
}

/** The part of an admission request rules look at. */
export type RuleAttributes = Pick<AdmissionRequest, 'operation' | 'subresource'> & { type: Pick<ResourceType, 'group' | 'version' | 'plural' | 'kind' | 'namespaced'> };

const isNamespaceType = (type: Pick<ResourceType, 'group' | 'plural'>) => type.group === '' && type.plural === 'namespaces';

/**
 * True when one rule covers the request: its operation, group, version, resource and subresource
 * (`pods` is the object only, `pods/status` its status, `pods/*` both and every other
 * subresource, `*` every resource but no subresource, `*\/*` everything), and scope (a Namespace
 * is cluster-scoped).
 */
export function ruleMatches(rule: WebhookRule, request: RuleAttributes): boolean {
  const { type } = request;
  const any = (list: string[], value: string) => list.includes('*') || list.includes(value);
  if (!any(rule.operations, request.operation)) return false;
  if (!any(rule.apiGroups, type.group)) return false;
  if (!any(rule.apiVersions, type.version)) return false;
  const subresource = request.subresource ?? '';
  const resourceMatches = rule.resources.some((entry) => {
    const slash = entry.indexOf('/');
    const resource = slash < 0 ? entry : entry.slice(0, slash);
    const sub = slash < 0 ? '' : entry.slice(slash + 1);
    return (resource === '*' || resource === type.plural) && (sub === '*' || sub === subresource);
  });
  if (!resourceMatches) return false;
  switch (rule.scope) {
    case '*': return true;
    case 'Cluster': return !type.namespaced;
    case 'Namespaced': return type.namespaced && !isNamespaceType(type);
  }
}

/** True when any of the webhook's rules covers the request. */
export function rulesMatch(webhook: Pick<Webhook, 'rules'>, request: RuleAttributes): boolean {
  return webhook.rules.some((rule) => ruleMatches(rule, request));
}

/**
 * True when the webhook's objectSelector selects the new object or the old one (either suffices,
 * so a webhook sees an object lose the label that selected it). An empty selector selects all.
 */
export function objectSelectorMatches(webhook: Pick<Webhook, 'objectSelector'>, request: Pick<AdmissionRequest, 'object' | 'oldObject'>): boolean {
  if (webhook.objectSelector.requirements.length === 0) return true;
  return [request.object, request.oldObject].some((obj) => obj !== undefined && webhook.objectSelector.matches(obj.metadata?.labels));
}

/**
 * True when the webhook's namespaceSelector selects the request's namespace. Requests for
 * cluster-scoped objects other than Namespaces always pass; `namespaceLabels` are the labels of the
 * namespace the object is in, or of the Namespace object itself (Kubernetes gives every namespace
 * the label `kubernetes.io/metadata.name`).
 */
export function namespaceSelectorMatches(webhook: Pick<Webhook, 'namespaceSelector'>, request: RuleAttributes, namespaceLabels: Record<string, string> | undefined): boolean {
  if (webhook.namespaceSelector.requirements.length === 0) return true;
  if (!request.type.namespaced && !isNamespaceType(request.type)) return true;
  return webhook.namespaceSelector.matches(namespaceLabels ?? {});
}

/** The response part of an AdmissionReview, as parsed from a webhook's answer. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code?: number; message?: string; reason?: string };
  patch?: string;
  patchType?: string;
  warnings?: string[];
}

/** A webhook that could not be called or answered nonsense; failurePolicy decides what follows. */
class WebhookCallFailure extends Error {}

/** A webhook said no: the request fails with the webhook's code (at least 400; 403 by default). */
class WebhookDenial extends StatusError {
  constructor(reason: StatusReason, message: string, code: number) {
    super(reason, message);
    (this as { code: number }).code = code;
  }
}

/** The error a denial becomes, worded as kube-apiserver words it. */
export function denialError(webhook: string, status: AdmissionResponse['status']): StatusError {
  const deniedBy = `admission webhook "${webhook}" denied the request`;
  const code = typeof status?.code === 'number' && status.code >= 400 && status.code <= 599 ? Math.trunc(status.code) : 403;
  const reasons = statusReasons as Record<string, number>;
  const reason = (status?.reason && reasons[status.reason] === code
    ? status.reason
    : Object.keys(reasons).find((r) => reasons[r] === code) ?? (code >= 500 ? 'InternalError' : 'BadRequest')) as StatusReason;
  const why = status?.message || status?.reason;
  return new WebhookDenial(reason, why ? `${deniedBy}: ${why}` : `${deniedBy} without explanation`, code);
}

/** Checks a webhook's answer the way kube-apiserver does; throws a WebhookCallFailure otherwise. */
export function parseAdmissionResponse(body: unknown, uid: string, phase: WebhookPhase): AdmissionResponse {
  if (!isPlainObject(body)) throw new WebhookCallFailure('the webhook response is not a JSON object');
  if (body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') {
    throw new WebhookCallFailure(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${String(body.apiVersion ?? '')}, Kind=${String(body.kind ?? '')}`);
  }
  const response = body.response;
  if (!isPlainObject(response)) throw new WebhookCallFailure('webhook response was absent');
  if (response.uid !== uid) throw new WebhookCallFailure(`expected response.uid="${uid}", got "${String(response.uid ?? '')}"`);
  if (typeof response.allowed !== 'boolean') throw new WebhookCallFailure('webhook response.allowed is missing or not a boolean');
  const patch = response.patch === undefined || response.patch === null ? undefined : response.patch;
  const patchType = response.patchType === undefined || response.patchType === null ? undefined : response.patchType;
  if (patch !== undefined && typeof patch !== 'string') throw new WebhookCallFailure('webhook response.patch must be a base64 string');
  if (phase === 'validating' && patch !== undefined) throw new WebhookCallFailure('validating webhook may not return response.patch');
  if (patch !== undefined && patchType === undefined) throw new WebhookCallFailure('webhook returned response.patch but not response.patchType');
  if (patchType !== undefined && patchType !== 'JSONPatch') throw new WebhookCallFailure(`webhook returned invalid response.patchType of "${String(patchType)}"`);
  if (patchType !== undefined && patch === undefined) throw new WebhookCallFailure('webhook returned response.patchType but not response.patch');
  const status = isPlainObject(response.status) ? response.status : undefined;
  return {
    uid,
    allowed: response.allowed,
    ...(status ? {
      status: {
        ...(typeof status.code === 'number' ? { code: status.code } : {}),
        ...(typeof status.message === 'string' ? { message: status.message } : {}),
        ...(typeof status.reason === 'string' ? { reason: status.reason } : {}),
      },
    } : {}),
    ...(patch !== undefined ? { patch, patchType: 'JSONPatch' } : {}),
    ...(Array.isArray(response.warnings) ? { warnings: strings(response.warnings) } : {}),
  };
}

/** The AdmissionReview `request` kube-apiserver sends for this admission request. */
export function admissionReviewRequest(request: AdmissionRequest, uid: string): Record<string, unknown> {
  const { type } = request;
  const kind = { group: type.group, version: type.version, kind: type.kind };
  const resource = { group: type.group, version: type.version, resource: type.plural };
  const optionsKind = request.operation === 'CREATE' ? 'CreateOptions' : request.operation === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions';
  return {
    uid,
    kind,
    resource,
    ...(request.subresource ? { subResource: request.subresource } : {}),
    requestKind: kind,
    requestResource: resource,
    ...(request.subresource ? { requestSubResource: request.subresource } : {}),
    name: request.name,
    ...(request.namespace ? { namespace: request.namespace } : {}),
    operation: request.operation,
    userInfo: { username: request.user.username, groups: [...request.user.groups] },
    object: request.object ?? null,
    oldObject: request.oldObject ?? null,
    dryRun: request.dryRun,
    options: { apiVersion: 'meta.k8s.io/v1', kind: optionsKind, ...(request.dryRun ? { dryRun: ['All'] } : {}) },
  };
}

/** The most of a webhook's answer that is read; a larger one is a failed call. */
const maxResponseBytes = 3 * 1024 * 1024;

export interface WebhookAdmissionOptions {
  registry: ObjectRegistry;
  catalog: TypeCatalog;
  /** Where ignored failures and watch trouble are reported; console.error by default. */
  log?: (message: string) => void;
}

/** An admission plugin backed by webhooks, with the WebhookAdmission that feeds it. */
export interface WebhookMutatingPlugin extends MutatingAdmissionPlugin {
  readonly webhooks: WebhookAdmission;
}

export interface WebhookValidatingPlugin extends ValidatingAdmissionPlugin {
  readonly webhooks: WebhookAdmission;
}

/** Admission requests may carry a list for response warnings; webhook warnings go there when it does. */
type WithWarnings = AdmissionRequest & { warnings?: string[] };

/**
 * Follows the webhook configurations and calls their webhooks for matching requests. `start`
 * resolves once both kinds are listed; until then (and after `stop`) no webhook is called.
 * Configuration changes take effect as soon as the watch delivers them, typically within
 * milliseconds of the write.
 */
export class WebhookAdmission {
  readonly #registry: ObjectRegistry;
  readonly #catalog: TypeCatalog;
  readonly #log: (message: string) => void;
  readonly #configs: Record<WebhookPhase, Map<string, KubeObject>> = { mutating: new Map(), validating: new Map() };
  readonly #compiled: Record<WebhookPhase, { generation: number; webhooks: Webhook[] }> = {
    mutating: { generation: -1, webhooks: [] },
    validating: { generation: -1, webhooks: [] },
  };
  #generation = 0;
  #stopped = false;
  readonly #watchStops = new Set<() => void>();
  readonly #retries = new Set<ReturnType<typeof setTimeout>>();
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 32 });

  /** The plugin for the mutating phase (`MutatingAdmissionWebhook`). */
  readonly mutatingPlugin: WebhookMutatingPlugin;
  /** The plugin for the validating phase (`ValidatingAdmissionWebhook`). */
  readonly validatingPlugin: WebhookValidatingPlugin;

  constructor(options: WebhookAdmissionOptions) {
    this.#registry = options.registry;
    this.#catalog = options.catalog;
    this.#log = options.log ?? ((message) => console.error(message));
    this.mutatingPlugin = { name: 'MutatingAdmissionWebhook', webhooks: this, admit: (request) => this.#mutate(request) };
    this.validatingPlugin = { name: 'ValidatingAdmissionWebhook', webhooks: this, validate: (request) => this.#validate(request) };
  }

  /** Lists and watches both configuration kinds; throws when the catalog does not serve them. */
  async start(): Promise<void> {
    await Promise.all([this.#follow('mutating'), this.#follow('validating')]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const stop of this.#watchStops) stop();
    this.#watchStops.clear();
    for (const timer of this.#retries) clearTimeout(timer);
    this.#retries.clear();
    this.#agent.destroy();
  }

  /** The configuration objects currently in effect, by name. */
  configurations(phase: WebhookPhase): KubeObject[] {
    return [...this.#configs[phase].values()].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
  }

  /** Every webhook in effect for a phase, in calling order (configuration name, then listed order). */
  webhooks(phase: WebhookPhase): Webhook[] {
    const compiled = this.#compiled[phase];
    if (compiled.generation !== this.#generation) {
      compiled.webhooks = this.configurations(phase).flatMap((config) => webhooksOf(config, phase));
      compiled.generation = this.#generation;
    }
    return compiled.webhooks;
  }

  async #follow(phase: WebhookPhase): Promise<void> {
    const type = this.#catalog.byResource(admissionRegistrationGroup, 'v1', configurationPlurals[phase]);
    if (!type) throw new Error(`webhook admission needs ${configurationPlurals[phase]}.${admissionRegistrationGroup}/v1, which this server does not serve`);
    // The watch first replays the current objects into a fresh map; the old one stays in effect
    // until that map is complete, so a re-list never leaves a moment with no webhooks.
    const fresh = new Map<string, KubeObject>();
    let ended = false;
    let stop: (() => void) | undefined;
    const restart = (err?: Error) => {
      if (ended) return;
      ended = true;
      if (stop) this.#watchStops.delete(stop);
      if (this.#stopped) return;
      this.#log(`webhook admission: the watch of ${type.plural} ended${err ? `: ${err.message}` : ''}; watching again in 1 s`);
      this.#followLater(phase);
    };
    const watch = await this.#registry.watch(type, undefined, {}, (event) => {
      const obj = event.object as KubeObject;
      const name = obj.metadata?.name;
      if (!name) return;
      if (event.type === 'ADDED' || event.type === 'MODIFIED') fresh.set(name, obj);
      else if (event.type === 'DELETED') fresh.delete(name);
      else return;
      this.#generation++;
    }, restart);
    stop = () => watch.stop();
    if (ended || this.#stopped) {
      stop();
      return;
    }
    this.#watchStops.add(stop);
    this.#configs[phase] = fresh;
    this.#generation++;
  }

  /** Follows again after a pause, and keeps trying (once a second) while that fails. */
  #followLater(phase: WebhookPhase): void {
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      if (this.#stopped) return;
      this.#follow(phase).catch((err: unknown) => {
        this.#log(`webhook admission: cannot watch ${configurationPlurals[phase]}: ${err instanceof Error ? err.message : String(err)}; trying again in 1 s`);
        this.#followLater(phase);
      });
    }, 1000);
    this.#retries.add(timer);
  }

  async #mutate(request: AdmissionRequest): Promise<void> {
    if (this.#stopped || isExemptFromWebhooks(request.type) || request.object === undefined) return;
    const hooks = this.webhooks('mutating');
    if (hooks.length === 0) return;
    const labels = this.#namespaceLabelsOnce(request);
    let changes = 0;
    /** For each webhook called: how many changes the object had seen right after its call. */
    const changesAfter = new Map<Webhook, number>();
    for (const hook of hooks) {
      if (!(await this.#matches(hook, request, labels))) continue;
      if (await this.#callMutating(hook, request)) changes++;
      changesAfter.set(hook, changes);
    }
    // IfNeeded: a webhook whose view of the object a later webhook changed runs once more.
    for (const hook of hooks) {
      const seen = changesAfter.get(hook);
      if (hook.reinvocationPolicy !== 'IfNeeded' || seen === undefined || seen === changes) continue;
      if (!(await this.#matches(hook, request, labels))) continue;
      await this.#callMutating(hook, request);
    }
  }

  async #validate(request: AdmissionRequest): Promise<void> {
    if (isExemptFromWebhooks(request.type)) {
      // A configuration whose matchConditions do not compile is refused, as kube-apiserver refuses it.
      const causes = request.object && request.type.plural.endsWith('webhookconfigurations') ? matchConditionProblems(request.object) : [];
      if (causes.length > 0) throw errors.invalid(request.type.kind, request.type.group, request.name, causes);
      return;
    }
    if (this.#stopped) return;
    const hooks = this.webhooks('validating');
    if (hooks.length === 0) return;
    const labels = this.#namespaceLabelsOnce(request);
    const matched: Webhook[] = [];
    for (const hook of hooks) if (await this.#matches(hook, request, labels)) matched.push(hook);
    const outcomes = await Promise.allSettled(matched.map((hook) => this.#callValidating(hook, request)));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #matches(hook: Webhook, request: AdmissionRequest, namespaceLabels: () => Promise<Record<string, string> | undefined>): Promise<boolean> {
    if (!rulesMatch(hook, request)) return false;
    if (!objectSelectorMatches(hook, request)) return false;
    if (hook.namespaceSelector.requirements.length > 0 && !namespaceSelectorMatches(hook, request, await namespaceLabels())) return false;
    return this.#conditionsMatch(hook, request);
  }

  /** The webhook's matchConditions: true to call it; an evaluation error follows its failurePolicy. */
  #conditionsMatch(hook: Webhook, request: AdmissionRequest): boolean {
    if (hook.matchConditions.length === 0) return true;
    const { object, oldObject, ...attributes } = admissionReviewRequest(request, '');
    const outcome = evaluateMatchConditions(hook.matchConditions, { object, oldObject, request: attributes });
    if (outcome.result === 'call') return true;
    if (outcome.result === 'skip') return false;
    const message = `failed calling webhook "${hook.name}": failed to evaluate match condition ${JSON.stringify(outcome.condition)}: ${outcome.message}`;
    if (hook.failurePolicy === 'Ignore') {
      this.#log(`webhook admission: ${message} (failurePolicy Ignore: the request goes on)`);
      return false;
    }
    throw errors.internal(`Internal error occurred: ${message}`);
  }

  /** Looks up the namespace's labels at most once per request, and only if a selector needs them. */
  #namespaceLabelsOnce(request: AdmissionRequest): () => Promise<Record<string, string> | undefined> {
    let labels: Promise<Record<string, string> | undefined> | undefined;
    return () => (labels ??= this.#namespaceLabels(request));
  }

  async #namespaceLabels(request: AdmissionRequest): Promise<Record<string, string> | undefined> {
    if (isNamespaceType(request.type)) {
      const own = request.operation === 'DELETE' ? request.oldObject : request.object;
      return own?.metadata?.labels;
    }
    if (!request.type.namespaced || !request.namespace) return undefined;
    const namespaces = this.#catalog.byResource('', 'v1', 'namespaces');
    const namespace = namespaces ? await this.#registry.tryGet(namespaces, undefined, request.namespace) : undefined;
    if (!namespace) throw errors.notFound('namespaces', '', request.namespace);
    return namespace.metadata.labels;
  }

  /** Calls one mutating webhook and applies its patch; true when the object changed. */
  async #callMutating(hook: Webhook, request: AdmissionRequest): Promise<boolean> {
    const response = await this.#callOrSkip(hook, request);
    if (!response) return false;
    if (!response.allowed) throw denialError(hook.name, response.status);
    this.#passWarnings(request, response);
    if (response.patch === undefined) return false;
    const object = request.object!;
    let patched: unknown;
    try {
      patched = applyJsonPatch(object, JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')));
    } catch (err) {
      throw errors.internal(`admission webhook "${hook.name}" returned a patch that cannot be applied: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!isPlainObject(patched) || !isPlainObject(patched.metadata) || patched.apiVersion !== object.apiVersion || patched.kind !== object.kind) {
      throw errors.internal(`admission webhook "${hook.name}" returned a patch that changes the object's apiVersion or kind, or removes its metadata`);
    }
    if (jsonEqual(patched, object)) return false;
    // The registry holds this very object: change it in place.
    for (const key of Object.keys(object)) delete (object as Record<string, unknown>)[key];
    Object.assign(object, patched);
    return true;
  }

  async #callValidating(hook: Webhook, request: AdmissionRequest): Promise<void> {
    const response = await this.#callOrSkip(hook, request);
    if (!response) return;
    if (!response.allowed) throw denialError(hook.name, response.status);
    this.#passWarnings(request, response);
  }

  #passWarnings(request: WithWarnings, response: AdmissionResponse): void {
    if (response.warnings?.length && Array.isArray(request.warnings)) request.warnings.push(...response.warnings);
  }

  /**
   * Calls a webhook; a failed call rejects the request (Fail) or is logged and answers undefined
   * (Ignore). A dry run never reaches a webhook that may have side effects: it fails instead.
   */
  async #callOrSkip(hook: Webhook, request: AdmissionRequest): Promise<AdmissionResponse | undefined> {
    if (request.dryRun && hook.sideEffects !== 'None' && hook.sideEffects !== 'NoneOnDryRun') {
      throw errors.badRequest(`admission webhook "${hook.name}" does not support dry run`);
    }
    try {
      return await this.#call(hook, request);
    } catch (err) {
      if (!(err instanceof WebhookCallFailure)) throw err;
      const message = `failed calling webhook "${hook.name}": ${err.message}`;
      if (hook.failurePolicy === 'Ignore') {
        this.#log(`webhook admission: ${message} (failurePolicy Ignore: the request goes on)`);
        return undefined;
      }
      throw errors.internal(`Internal error occurred: ${message}`);
    }
  }

  async #call(hook: Webhook, request: AdmissionRequest): Promise<AdmissionResponse> {
    if (!hook.admissionReviewVersions.includes('v1')) {
      throw new WebhookCallFailure(`webhook does not accept admission.k8s.io/v1 AdmissionReview (admissionReviewVersions: ${JSON.stringify(hook.admissionReviewVersions)})`);
    }
    const target = await this.#resolve(hook);
    target.url.searchParams.set('timeout', `${hook.timeoutSeconds}s`);
    const uid = randomUUID();
    const review = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: admissionReviewRequest(request, uid) });
    const answer = await postOnce(this.#agent, target, review, hook.timeoutSeconds * 1000).catch((err: unknown) => {
      throw new WebhookCallFailure(`failed to call webhook: Post "${target.url.href}": ${err instanceof Error ? err.message : String(err)}`);
    });
    if (answer.status < 200 || answer.status > 299) {
      const snippet = answer.body.slice(0, 200).trim();
      throw new WebhookCallFailure(`the webhook answered HTTP ${answer.status}${snippet ? `: ${snippet}` : ''}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      throw new WebhookCallFailure(`the webhook response is not JSON (HTTP ${answer.status}, ${answer.body.length} bytes)`);
    }
    return parseAdmissionResponse(body, uid, hook.phase);
  }

  /**
   * The URL and TLS name to call. A URL is used as given. A Service resolves only when it is an
   * ExternalName Service (to that name, with the certificate checked for
   * `NAME.NAMESPACE.svc`, as kube-apiserver checks it): nothing here routes to cluster IPs.
   */
  async #resolve(hook: Webhook): Promise<CallTarget> {
    const { url, service, caPem } = hook.clientConfig;
    if (url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new WebhookCallFailure(`clientConfig.url ${JSON.stringify(url)} is not a URL`);
      }
      if (parsed.protocol !== 'https:') throw new WebhookCallFailure(`clientConfig.url ${JSON.stringify(url)} must use https`);
      return { url: parsed, caPem };
    }
    if (!service) throw new WebhookCallFailure('clientConfig names neither a url nor a service');
    const services = this.#catalog.byResource('', 'v1', 'services');
    const found = services ? await this.#registry.tryGet(services, service.namespace, service.name) : undefined;
    const describe = `service "${service.namespace}/${service.name}"`;
    if (!found) throw new WebhookCallFailure(`${describe} not found`);
    const spec = isPlainObject(found.spec) ? found.spec : {};
    const externalName = text(spec.externalName);
    if (spec.type !== 'ExternalName' || !externalName) {
      throw new WebhookCallFailure(`${describe} cannot be reached from here: it has no endpoints this server can route to; use clientConfig.url, or an ExternalName service`);
    }
    const path = service.path ?? '/';
    return {
      url: new URL(`https://${externalName.includes(':') ? `[${externalName}]` : externalName}:${service.port}${path.startsWith('/') ? path : `/${path}`}`),
      caPem,
      servername: `${service.name}.${service.namespace}.svc`,
    };
  }
}

interface CallTarget {
  url: URL;
  caPem?: string;
  /** The name the serving certificate must carry, when it is not the URL's host. */
  servername?: string;
}

/** POSTs once, retrying only when a kept-alive connection turned out to be closed already. */
async function postOnce(agent: Agent, target: CallTarget, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  try {
    return await post(agent, target, body, timeoutMs);
  } catch (err) {
    if (err instanceof StaleConnection) return post(agent, target, body, timeoutMs);
    throw err;
  }
}

class StaleConnection extends Error {}

function post(agent: Agent, target: CallTarget, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, value?: { status: number; body: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value!);
    };
    const req = httpsRequest(target.url, {
      method: 'POST',
      agent,
      ...(target.caPem ? { ca: target.caPem } : {}),
      ...(target.servername ? { servername: target.servername } : {}),
      headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxResponseBytes) {
          req.destroy();
          finish(new Error(`the response is larger than ${maxResponseBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => finish(err));
      res.on('aborted', () => finish(new Error('the connection closed before the response was complete')));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(new Error(`context deadline exceeded (no answer within the webhook's timeoutSeconds, ${timeoutMs / 1000} s)`));
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (req.reusedSocket && err.code === 'ECONNRESET') finish(new StaleConnection(err.message));
      else finish(err);
    });
    req.end(body);
  });
}
