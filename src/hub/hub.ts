/**
 * The hub: one process that serves the Nephele API over HTTPS on a store, with its built-in
 * controllers (garbage collection, namespace lifecycle, CustomResourceDefinitions). `startHub`
 * prepares the home directory on first start (CA and serving certificate, admin token,
 * encryption key, kubeconfig), and returns once /readyz would answer 200.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { createSecretKey, randomBytes } from 'node:crypto';
import type { KubeObject } from '../machinery/object.ts';
import { isPlainObject } from '../machinery/object.ts';
import { realClock, type Clock } from '../machinery/clock.ts';
import { StatusError } from '../machinery/status-error.ts';
import type { Store } from '../storage/store.ts';
import { createMemoryStore, createSqliteStore, createEtcdStore, type EtcdTls } from '../storage/index.ts';
import { TypeCatalog } from '../api/type-catalog.ts';
import type { ResourceType } from '../api/resource-type.ts';
import { builtinResourceTypes } from '../api/kinds/builtin-kinds.ts';
import { crdResourceType } from '../api/kinds/crd.ts';
import { fleetResourceTypes } from '../api/kinds/fleet.ts';
import { policyResourceTypes } from '../api/kinds/policy.ts';
import { AdmissionChain, type UserInfo } from '../apiserver/admission.ts';
import { ObjectRegistry } from '../apiserver/registry.ts';
import { ApiHandler } from '../apiserver/handler.ts';
import { ApiMetrics } from '../apiserver/metrics.ts';
import { WatchCache } from '../apiserver/watch-cache.ts';
import { WebhookAdmission } from '../apiserver/webhook-admission.ts';
import { createApiServer, type ApiServer } from './api-server.ts';
import { InProcessClient } from '../client/index.ts';
import { Manager, realScheduler, type Scheduler } from '../controller/index.ts';
import {
  bootstrapAdmission, ensureAdminToken, ensureServingCertificates, hubAuthorizer, installCertificateSet, loadOrCreateKey, loadTokens, openAuditLog, openSecretData,
  renderKubeconfig, sealSecretData, writeKubeconfig, type AuditLog, type CertificateSet, type SecretBoxKey,
} from './security/index.ts';
import { GarbageCollector } from './controllers/garbage-collector.ts';
import { CrdController } from './controllers/crd-controller.ts';
import { Registry as MetricsRegistry } from 'prom-client';
import { EventRecorder } from '../controller/index.ts';
import { registerPortal } from './portal.ts';
import { MemberConnections, fleetControllers, type FleetContext, type FleetController } from '../fleet/index.ts';

export const kubernetesVersion = 'v1.32.0-nephele.0';

export interface HubOptions {
  /** Directory for the hub's state: certificates, tokens, keys, the SQLite file, the audit log. */
  home: string;
  /** Address to listen on; port 0 picks a free port. Defaults to 127.0.0.1:6443. */
  host?: string;
  port?: number;
  /** `sqlite` (default), `memory`, `etcd://host:port[,host:port...]`, or `etcds://...` for etcd over TLS. */
  store?: string;
  /** For an `etcds://` store: the CA etcd's certificate chains to and a client certificate (PEM). */
  etcdTls?: EtcdTls;
  clock?: Clock;
  /** Extra host names or IPs the serving certificate should carry. */
  hosts?: string[];
  /**
   * Which kinds to serve: `hub` (default) the hub's built-ins and the fleet.nephele.dev kinds;
   * `cluster` a member cluster's kinds (every built-in, Pods and Nodes included, and CRDs) with no
   * fleet kinds and no nephele-system namespace, for simulated clusters.
   */
  profile?: HubProfile;
  /** The cluster and context name in the kubeconfig written to the home. Default `nephele`. */
  kubeconfigName?: string;
  /** Timers of the fleet controllers (a ManualScheduler in tests); real time on `clock` by default. */
  fleetScheduler?: Scheduler;
  /** The fleet controllers to run (hub profile); `fleetControllers()` by default. */
  fleetControllers?: FleetController[];
  /**
   * Certificates to serve with, written into `home/pki/` in place of the home's own; they must
   * name the hosts served on. For simulated members, which share one set per process.
   */
  certificates?: CertificateSet;
  /**
   * Whether files written to the home are flushed to disk (default true). False for a scratch
   * home that need not survive a crash, such as a simulated member's.
   */
  flushFiles?: boolean;
  /**
   * Whether mutating requests are appended to `home/audit.log` (default true). Simulated members
   * run without one: their API is a stand-in for a cluster's, and the hub audits its own.
   */
  auditLog?: boolean;
}

/** Real timers with `clock` for the time, when the clock is itself a Scheduler (a simulation's), or the real one. */
function realSchedulerFor(clock: Clock): Scheduler {
  return 'after' in clock ? (clock as Scheduler) : realScheduler;
}

export type HubProfile = 'hub' | 'cluster';

export interface Hub {
  readonly url: string;
  readonly port: number;
  readonly home: string;
  readonly kubeconfigPath: string;
  readonly token: string;
  readonly store: Store;
  readonly catalog: TypeCatalog;
  readonly registry: ObjectRegistry;
  readonly admission: AdmissionChain;
  readonly handler: ApiHandler;
  readonly garbageCollector: GarbageCollector;
  /** The hub's controllers; leader-only ones run while this replica holds the lease. */
  readonly controllers: Manager;
  /** Connections to member clusters (kept by the cluster controller; empty for the cluster profile). */
  readonly members: MemberConnections;
  /** Forgets history up to `revision` in the store and the watch cache; older watches get 410. */
  compact(revision: number): Promise<void>;
  stop(): Promise<void>;
}

/** Opens the store a `--store` value names; `etcdTls` goes with an `etcds://` store only. */
export async function openStore(spec: string, home: string, etcdTls?: EtcdTls): Promise<Store> {
  const scheme = /^(etcds?):\/\//.exec(spec)?.[1];
  if (etcdTls && scheme !== 'etcds') throw new Error(`--store ${spec}: etcd TLS settings need an etcds://HOST:PORT store`);
  if (spec === 'memory') return createMemoryStore();
  if (spec === 'sqlite') return createSqliteStore({ path: join(home, 'store.db') });
  if (scheme) {
    const protocol = scheme === 'etcds' ? 'https' : 'http';
    const endpoints = spec.slice(scheme.length + 3).split(',').filter(Boolean).map((e) => `${protocol}://${e}`);
    if (endpoints.length === 0) throw new Error(`--store ${spec}: name at least one etcd endpoint, as ${scheme}://HOST:PORT[,HOST:PORT...]`);
    return createEtcdStore({ endpoints, tls: scheme === 'etcds' ? (etcdTls ?? {}) : undefined });
  }
  throw new Error(`--store ${spec}: unknown store; use sqlite, memory, etcd://HOST:PORT[,HOST:PORT...] or etcds://...`);
}

/** Secrets are sealed with the hub's key before they reach the store, and opened on the way out. */
function sealSecrets(type: ResourceType, key: SecretBoxKey): ResourceType {
  const field = 'nephele.dev/sealed';
  return {
    ...type,
    storageTransform: {
      toStorage(obj: KubeObject): KubeObject {
        const { data, ...rest } = obj;
        if (!isPlainObject(data) || Object.keys(data).length === 0) return obj;
        const context = `${obj.metadata.namespace}/${obj.metadata.name}`;
        return { ...rest, [field]: sealSecretData(key, data as Record<string, string>, context) };
      },
      fromStorage(obj: KubeObject): KubeObject {
        const sealed = obj[field];
        if (typeof sealed !== 'string') return obj;
        const { [field]: _sealed, ...rest } = obj;
        void _sealed;
        const context = `${obj.metadata.namespace}/${obj.metadata.name}`;
        return { ...rest, data: openSecretData(key, sealed, context) };
      },
    },
  };
}

const clusterNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const bootstrapNamespaces: Record<HubProfile, string[]> = { hub: [...clusterNamespaces, 'nephele-system'], cluster: clusterNamespaces };
const systemUser: UserInfo = { username: 'system:nephele-hub', groups: ['system:masters'] };

export async function startHub(options: HubOptions): Promise<Hub> {
  const home = resolve(options.home);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? realClock;
  const profile = options.profile ?? 'hub';
  const hosts = [...new Set([host, ...(options.hosts ?? [])].filter((h) => h !== '0.0.0.0' && h !== '::'))];
  const write = { flush: options.flushFiles ?? true };
  const [certs, token, key] = await Promise.all([
    options.certificates ? installCertificateSet(home, options.certificates, write) : ensureServingCertificates(home, hosts),
    ensureAdminToken(home, write),
    // A memory store keeps nothing across restarts, so neither need the key sealing its Secrets.
    options.store === 'memory' ? createSecretKey(randomBytes(32)) : loadOrCreateKey(home, write),
  ]);
  // Reloads tokens.json when it changes: bootstrap tokens are added while the hub runs.
  const authenticator = await loadTokens(home, { reload: true });
  const store = await openStore(options.store ?? 'sqlite', home, options.etcdTls);
  let audit: AuditLog | undefined;
  let api: ApiServer | undefined;
  /** Run in reverse order on shutdown, while the store is still open. */
  const stoppers: Array<() => void | Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stoppers.splice(0).reverse()) await stop();
  };
  try {
    if (options.auditLog !== false) audit = openAuditLog(home);
    const catalog = new TypeCatalog();
    const crdType = crdResourceType();
    for (const type of builtinResourceTypes(profile)) catalog.add(type.kind === 'Secret' && type.group === '' ? sealSecrets(type, key) : type);
    catalog.add(crdType);
    if (profile === 'hub') for (const type of [...fleetResourceTypes(), ...policyResourceTypes()]) catalog.add(type);
    const admission = new AdmissionChain();
    // Bootstrap tokens are for pull agents, which only a hub serves.
    if (profile === 'hub') admission.addValidating(bootstrapAdmission);
    // On etcd a store read is a round trip, which an update would otherwise make before its write.
    const watchCache = new WatchCache(store, { everyKey: store.backend === 'etcd' });
    await watchCache.start();
    stoppers.push(() => watchCache.stop());
    const registry = new ObjectRegistry(store, admission, clock, watchCache);
    await ensureNamespaces(registry, catalog, bootstrapNamespaces[profile]);
    // Admission webhooks, where their configuration kinds are served (member clusters); started
    // after the bootstrap namespaces so a stored webhook that is down cannot stop a restart.
    if (catalog.byResource('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations')) {
      const webhooks = new WebhookAdmission({ registry, catalog });
      await webhooks.start();
      stoppers.push(() => webhooks.stop());
      admission.addMutating(webhooks.mutatingPlugin);
      admission.addValidating(webhooks.validatingPlugin);
    }
    const crds = new CrdController(store, registry, catalog, crdType);
    const gc = new GarbageCollector(store, registry, catalog, (prefix, from, handlers) => watchCache.watch(prefix, from, undefined, handlers));
    await crds.start();
    stoppers.push(() => crds.stop());
    // Only the replica holding the lease collects garbage; the others stand by to take over.
    const controllers = new Manager({
      // Failures are worth a line on stderr; routine leadership changes are not.
      log: (level, message, fields) => {
        if (level === 'error') console.error(`nephele hub: ${message}`, fields ?? '');
      },
      leaderElection: {
        client: new InProcessClient(registry, catalog, systemUser),
        // A cluster has no nephele-system; it keeps the lease where Kubernetes keeps its controllers'.
        namespace: profile === 'hub' ? 'nephele-system' : 'kube-system',
        name: 'nephele-hub-controllers',
        identity: `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      },
    });
    await controllers.add(gc);
    const members = new MemberConnections();
    stoppers.push(() => members.closeAll());
    if (profile === 'hub') {
      const fleetClient = new InProcessClient(registry, catalog, systemUser);
      const fleetContext: FleetContext = {
        client: fleetClient,
        members,
        home,
        scheduler: options.fleetScheduler ?? realSchedulerFor(clock),
        metrics: new MetricsRegistry(),
        recorder: (component) => new EventRecorder({ client: fleetClient, component, clock }),
        resourceFor: (apiVersion, kind) => {
          const type = catalog.byKind(apiVersion, kind);
          return type ? { group: type.group, version: type.version, kind: type.kind, plural: type.plural, namespaced: type.namespaced } : undefined;
        },
        log: (level, message, fields) => {
          if (level === 'error') console.error(`nephele hub: ${message}`, fields ?? '');
        },
      };
      for (const controller of options.fleetControllers ?? fleetControllers()) await controllers.add(controller(fleetContext));
    }
    await controllers.start();
    stoppers.push(() => controllers.stop());
    let ready = false;
    const metrics = new ApiMetrics(() => store.currentRevision());
    const auditLog = audit;
    const handler = new ApiHandler({
      catalog,
      registry,
      metrics,
      ...(auditLog ? { audit: { append: (record) => auditLog.append(record) } } : {}),
      authenticator: { authenticate: (header) => {
        const who = authenticator.authenticate(header);
        return who ? { username: who.user, groups: who.groups } : undefined;
      } },
      authorizer: hubAuthorizer(),
      ready: () => ready,
      gitVersion: kubernetesVersion,
    });
    // The portal and its read-only member proxy belong to the hub, not to simulated member clusters.
    if (profile === 'hub') registerPortal(handler, members);
    api = createApiServer({ cert: certs.certPem, key: certs.keyPem }, handler.handle);
    const served = api;
    const listening = served.server;
    await new Promise<void>((resolveListen, reject) => {
      listening.once('error', reject);
      listening.listen(options.port ?? 6443, host, () => {
        listening.off('error', reject);
        resolveListen();
      });
    });
    const port = (listening.address() as AddressInfo).port;
    const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    const url = `https://${urlHost}:${port}`;
    const kubeconfigPath = await writeKubeconfig(home, renderKubeconfig({ server: url, caPem: certs.caPem, token, clusterName: options.kubeconfigName ?? 'nephele', user: 'admin', context: options.kubeconfigName ?? 'nephele' }), write);
    ready = true;
    let stopped = false;
    return {
      url, port, home, kubeconfigPath, token, store, catalog, registry, admission, handler, garbageCollector: gc, controllers, members,
      async compact(revision: number) {
        if (!store.compact) throw new Error(`the ${store.backend} store cannot be compacted from the hub`);
        await store.compact(revision);
        watchCache.compact(revision);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        ready = false;
        handler.closeWatches();
        await stopAll();
        await new Promise<void>((done) => {
          listening.close(() => done());
          served.closeAllConnections();
        });
        await store.close();
        await auditLog?.close();
      },
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    api?.server.close();
    await store.close().catch(() => undefined);
    await audit?.close().catch(() => undefined);
    throw err;
  }
}

async function ensureNamespaces(registry: ObjectRegistry, catalog: TypeCatalog, names: string[]): Promise<void> {
  const namespaces = catalog.byResource('', 'v1', 'namespaces')!;
  for (const name of names) {
    try {
      await registry.create(namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { user: systemUser, fieldManager: 'nephele-hub' });
    } catch (err) {
      if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
    }
  }
}
