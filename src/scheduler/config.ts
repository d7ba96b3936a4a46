/**
 * The scheduler's configuration, read from a KubeSchedulerConfiguration-shaped file (YAML or
 * JSON): global settings plus one profile per schedulerName, each with plugins enabled or
 * disabled per extension point (or for all at once with `multiPoint`), score weights and plugin
 * args. Everything is checked here, once: unknown fields, unknown plugins, plugins enabled at a
 * point they do not serve and bad args are errors that name the place in the file.
 */
import { parse as parseYaml } from 'yaml';
import type { AnyPlugin, FrameworkHandle, PluginFactory } from './interfaces.ts';
import { defaultPlugins, inTreeRegistry } from './plugins/registry.ts';

export const extensionPoints = ['preFilter', 'filter', 'postFilter', 'preScore', 'score', 'reserve', 'bind'] as const;
export type ExtensionPoint = (typeof extensionPoints)[number];

/** One scheduling profile, resolved: the plugins at each point in order, weights and args. */
export interface ProfileConfiguration {
  schedulerName: string;
  /** Overrides the global percentageOfNodesToScore for this profile when set. */
  percentageOfNodesToScore?: number;
  points: Record<ExtensionPoint, string[]>;
  /** Score weight per plugin enabled at the score point. */
  weights: Record<string, number>;
  /** Args per plugin, as written under pluginConfig. */
  pluginArgs: Record<string, Record<string, unknown>>;
}

export interface SchedulerConfiguration {
  /** How many bindings may be in flight at once in the run loop (filtering is single-threaded). */
  parallelism: number;
  /** 0 means kube-scheduler's adaptive default: 50% minus 1% per 125 nodes, at least 5%, and at least 100 nodes. */
  percentageOfNodesToScore: number;
  podInitialBackoffSeconds: number;
  podMaxBackoffSeconds: number;
  profiles: ProfileConfiguration[];
}

/** A configuration that cannot be used; the message says where and why. */
export class SchedulerConfigError extends Error {
  override name = 'SchedulerConfigError';
}

const topLevelKeys = ['apiVersion', 'kind', 'parallelism', 'percentageOfNodesToScore', 'podInitialBackoffSeconds', 'podMaxBackoffSeconds', 'profiles',
  'leaderElection', 'clientConnection', 'healthzBindAddress', 'metricsBindAddress', 'enableProfiling', 'enableContentionProfiling', 'extenders', 'delayCacheUntilActive'];
const pluginSetKeys = ['queueSort', 'preEnqueue', 'preFilter', 'filter', 'postFilter', 'preScore', 'score', 'reserve', 'permit', 'preBind', 'bind', 'postBind', 'multiPoint'];
const unsupportedPoints = ['preEnqueue', 'permit', 'preBind', 'postBind'];

type Json = Record<string, unknown>;
function isRecord(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function fail(where: string, message: string): never {
  throw new SchedulerConfigError(`${where}: ${message}`);
}

function checkKeys(obj: Json, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(where, `unknown field "${k}"; known fields: ${allowed.join(', ')}`);
}

function num(v: unknown, where: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(where, `must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

/** A handle good enough to build plugins for checking; nothing on it may be called. */
const checkingHandle: FrameworkHandle = {
  get snapshot(): never {
    throw new Error('no snapshot while checking the configuration');
  },
  runFilters: () => {
    throw new Error('not while checking');
  },
  runFiltersWithNominatedPods: () => {
    throw new Error('not while checking');
  },
  withPodsChanged: () => {
    throw new Error('not while checking');
  },
  nominatedPodsFor: () => undefined,
  runFiltersWithDelta: () => undefined,
  runPreFilterAddPod: () => {},
  runPreFilterRemovePod: () => {},
  disruptionBudgets: () => [],
  binder: undefined,
  random: Math.random,
};

const methodOf: Record<ExtensionPoint, keyof AnyPlugin> = {
  preFilter: 'preFilter', filter: 'filter', postFilter: 'postFilter', preScore: 'preScore', score: 'score', reserve: 'reserve', bind: 'bind',
};

interface PluginList {
  enabled: Array<{ name: string; weight: number | undefined }>;
  disabled: string[];
}

function pluginList(v: unknown, where: string, registry: Readonly<Record<string, PluginFactory>>): PluginList {
  if (v === undefined) return { enabled: [], disabled: [] };
  if (!isRecord(v)) fail(where, 'must be an object with "enabled" and/or "disabled" lists');
  checkKeys(v, ['enabled', 'disabled'], where);
  const list = (x: unknown, w: string) => {
    if (x === undefined) return [];
    if (!Array.isArray(x)) fail(w, 'must be a list of {name: ...}');
    return x.map((item, i) => {
      if (!isRecord(item) || typeof item.name !== 'string' || item.name === '') fail(`${w}[${i}]`, 'must be {name: PluginName}');
      checkKeys(item, ['name', 'weight'], `${w}[${i}]`);
      if (item.name !== '*' && !Object.hasOwn(registry, item.name)) fail(`${w}[${i}].name`, `unknown plugin "${item.name}"; known plugins: ${Object.keys(registry).join(', ')}`);
      const weight = item.weight === undefined ? undefined : num(item.weight, `${w}[${i}].weight`, 0, 100, 1);
      if (weight !== undefined && !Number.isInteger(weight)) fail(`${w}[${i}].weight`, 'must be a whole number');
      return { name: item.name, weight };
    });
  };
  const enabled = list(v.enabled, `${where}.enabled`);
  for (const [i, e] of enabled.entries()) if (e.name === '*') fail(`${where}.enabled[${i}].name`, '"*" may only be disabled');
  return { enabled, disabled: list(v.disabled, `${where}.disabled`).map((d) => d.name) };
}

function resolveProfile(raw: unknown, where: string, registry: Readonly<Record<string, PluginFactory>>): ProfileConfiguration {
  if (!isRecord(raw)) fail(where, 'must be an object');
  checkKeys(raw, ['schedulerName', 'plugins', 'pluginConfig', 'percentageOfNodesToScore'], where);
  const schedulerName = raw.schedulerName ?? 'default-scheduler';
  if (typeof schedulerName !== 'string' || schedulerName === '') fail(`${where}.schedulerName`, 'must be a non-empty string');
  const profile: ProfileConfiguration = {
    schedulerName,
    points: { preFilter: [], filter: [], postFilter: [], preScore: [], score: [], reserve: [], bind: [] },
    weights: {},
    pluginArgs: {},
  };
  if (raw.percentageOfNodesToScore !== undefined) profile.percentageOfNodesToScore = num(raw.percentageOfNodesToScore, `${where}.percentageOfNodesToScore`, 0, 100, 0);

  if (raw.pluginConfig !== undefined) {
    if (!Array.isArray(raw.pluginConfig)) fail(`${where}.pluginConfig`, 'must be a list of {name, args}');
    raw.pluginConfig.forEach((pc, i) => {
      const w = `${where}.pluginConfig[${i}]`;
      if (!isRecord(pc) || typeof pc.name !== 'string') fail(w, 'must be {name: PluginName, args: {...}}');
      checkKeys(pc, ['name', 'args'], w);
      if (!Object.hasOwn(registry, pc.name)) fail(`${w}.name`, `unknown plugin "${pc.name}"; known plugins: ${Object.keys(registry).join(', ')}`);
      if (Object.hasOwn(profile.pluginArgs, pc.name)) fail(`${w}.name`, `args for "${pc.name}" are given twice`);
      if (pc.args !== undefined && !isRecord(pc.args)) fail(`${w}.args`, 'must be an object');
      const { apiVersion: _a, kind: _k, ...args } = (pc.args ?? {}) as Json;
      profile.pluginArgs[pc.name] = args;
    });
  }

  const plugins = raw.plugins === undefined ? {} : raw.plugins;
  if (!isRecord(plugins)) fail(`${where}.plugins`, 'must be an object of extension points');
  checkKeys(plugins, pluginSetKeys, `${where}.plugins`);

  // multiPoint first: the defaults, less what it disables, plus what it enables.
  const multi = pluginList(plugins.multiPoint, `${where}.plugins.multiPoint`, registry);
  let chosen: Array<{ name: string; weight: number | undefined }> = multi.disabled.includes('*') ? [] : defaultPlugins.filter((p) => !multi.disabled.includes(p.name)).map((p) => ({ ...p }));
  for (const e of multi.enabled) {
    const known = chosen.find((c) => c.name === e.name);
    if (known) known.weight = e.weight ?? known.weight;
    else chosen.push(e);
  }

  const instances = new Map<string, AnyPlugin>();
  const instance = (name: string, w: string): AnyPlugin => {
    let p = instances.get(name);
    if (!p) {
      try {
        p = registry[name]!(profile.pluginArgs[name] ?? {}, checkingHandle);
      } catch (err) {
        fail(w, (err as Error).message);
      }
      instances.set(name, p);
    }
    return p;
  };
  for (const c of chosen) {
    const p = instance(c.name, `${where} plugin ${c.name}`);
    for (const point of extensionPoints) if (typeof p[methodOf[point]] === 'function') profile.points[point].push(c.name);
    if (typeof p.score === 'function') profile.weights[c.name] = c.weight || 1;
  }

  for (const key of ['queueSort', ...unsupportedPoints]) {
    const list = pluginList(plugins[key], `${where}.plugins.${key}`, registry);
    for (const [i, e] of list.enabled.entries()) {
      if (!(key === 'queueSort' && e.name === 'PrioritySort')) fail(`${where}.plugins.${key}.enabled[${i}]`, `extension point ${key} takes no plugins here (the queue always sorts by priority, then arrival)`);
    }
  }
  for (const point of extensionPoints) {
    const list = pluginList(plugins[point], `${where}.plugins.${point}`, registry);
    let names = profile.points[point];
    if (list.disabled.includes('*')) names = [];
    else names = names.filter((n) => !list.disabled.includes(n));
    for (const [i, e] of list.enabled.entries()) {
      const w = `${where}.plugins.${point}.enabled[${i}]`;
      const p = instance(e.name, w);
      if (typeof p[methodOf[point]] !== 'function') fail(w, `plugin ${e.name} does not serve the ${point} extension point`);
      if (!names.includes(e.name)) names.push(e.name);
      if (point === 'score') profile.weights[e.name] = e.weight || profile.weights[e.name] || 1;
    }
    profile.points[point] = names;
  }
  for (const name of Object.keys(profile.weights)) if (!profile.points.score.includes(name)) delete profile.weights[name];
  if (profile.points.bind.length === 0) fail(`${where}.plugins.bind`, 'at least one bind plugin must be enabled (DefaultBinder)');
  for (const name of Object.keys(profile.pluginArgs)) {
    if (!instances.has(name)) fail(`${where}.pluginConfig`, `args given for plugin "${name}", which is not enabled in this profile`);
  }
  return profile;
}

/** Checks and resolves a configuration object (already parsed from YAML or JSON). */
export function schedulerConfiguration(raw: unknown = {}, registry: Readonly<Record<string, PluginFactory>> = inTreeRegistry): SchedulerConfiguration {
  if (!isRecord(raw)) fail('configuration', 'must be an object (a KubeSchedulerConfiguration)');
  checkKeys(raw, topLevelKeys, 'configuration');
  if (raw.kind !== undefined && raw.kind !== 'KubeSchedulerConfiguration') fail('kind', `must be KubeSchedulerConfiguration, got ${JSON.stringify(raw.kind)}`);
  if (raw.apiVersion !== undefined && !/^kubescheduler\.config\.k8s\.io\/v1(beta[23])?$/.test(String(raw.apiVersion))) {
    fail('apiVersion', `must be kubescheduler.config.k8s.io/v1, got ${JSON.stringify(raw.apiVersion)}`);
  }
  const parallelism = num(raw.parallelism, 'parallelism', 1, 1024, 16);
  if (!Number.isInteger(parallelism)) fail('parallelism', 'must be a whole number');
  const initial = num(raw.podInitialBackoffSeconds, 'podInitialBackoffSeconds', 0.001, 3600, 1);
  const max = num(raw.podMaxBackoffSeconds, 'podMaxBackoffSeconds', 0.001, 3600, 10);
  if (max < initial) fail('podMaxBackoffSeconds', `must not be less than podInitialBackoffSeconds (${initial})`);
  const rawProfiles = raw.profiles === undefined ? [{}] : raw.profiles;
  if (!Array.isArray(rawProfiles) || rawProfiles.length === 0) fail('profiles', 'must be a non-empty list');
  const profiles = rawProfiles.map((p, i) => resolveProfile(p, `profiles[${i}]`, registry));
  const seen = new Set<string>();
  for (const [i, p] of profiles.entries()) {
    if (seen.has(p.schedulerName)) fail(`profiles[${i}].schedulerName`, `"${p.schedulerName}" is used by an earlier profile`);
    seen.add(p.schedulerName);
  }
  return {
    parallelism,
    percentageOfNodesToScore: num(raw.percentageOfNodesToScore, 'percentageOfNodesToScore', 0, 100, 0),
    podInitialBackoffSeconds: initial,
    podMaxBackoffSeconds: max,
    profiles,
  };
}

/** Reads a configuration file's text (YAML or JSON); `source` names the file in errors. */
export function loadSchedulerConfiguration(text: string, source = 'scheduler configuration', registry?: Readonly<Record<string, PluginFactory>>): SchedulerConfiguration {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new SchedulerConfigError(`${source}: not valid YAML or JSON: ${(err as Error).message}`);
  }
  try {
    return schedulerConfiguration(raw ?? {}, registry);
  } catch (err) {
    if (err instanceof SchedulerConfigError) throw new SchedulerConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

/** The default configuration: one `default-scheduler` profile with every in-tree plugin. */
export function defaultSchedulerConfiguration(): SchedulerConfiguration {
  return schedulerConfiguration({});
}
