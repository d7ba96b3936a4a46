/**
 * Fuzz: a few thousand deterministic, randomly built client mistakes thrown at a running hub.
 * Every request carries at least one defect the hub must refuse (no token, a garbled path, a
 * wrong method, a body that cannot parse or validate, a bad query parameter, a body over the
 * limit), so the contract is simple: every answer is a 4xx Kubernetes `Status`, the connection
 * survives, the hub stays ready, and the store is exactly as it was (same revision, same objects).
 *
 * The generator is seeded (FUZZ_SEED overrides the seed, FUZZ_COUNT the number of requests), so a
 * failure names the seed and the request and replays the same way; FUZZ_REPORT=FILE writes every
 * failing request there, not just the first few.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify as toYaml, parse as parseYaml } from 'yaml';
import { recordWrites, storeSnapshot } from '../src/testing/store-writes.ts';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { seededRandom } from '../src/machinery/random.ts';

const seed = Number(process.env.FUZZ_SEED ?? 20261122);
const requestCount = Number(process.env.FUZZ_COUNT ?? 5000);
const timeBudgetMs = 35_000;
const concurrency = 8;
const maxBody = 3 * 1024 * 1024;
const answerTimeoutMs = 10_000;

/** Test inputs picked by a seeded generator, so a failing case can be replayed. */
class Random {
  readonly next: () => number;
  constructor(seedValue: number) {
    this.next = seededRandom(seedValue);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Random text drawn from ASCII letters, punctuation, control characters and far-away Unicode. */
  text(maxLength: number): string {
    const pools = [
      'abcdefghijklmnopqrstuvwxyz0123456789-.',
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ_!@#$%^&*()[]{}<>?/\\|`~ \'"',
      '\u0000\u0001\u0007\t\n\r\u001b\u007f',
      'äöüßéñç€£¥©®™µ§¶',
      'Ωπλ中文日本語한국어עבריתالعربية',
      '\u200b\u200e\u202e\ufeff\ufffd',
      '😀🚀🧪👩‍🚀🏳️‍🌈',
    ];
    const length = this.int(maxLength + 1);
    let out = '';
    for (let i = 0; i < length; i++) out += this.pick([...this.pick(pools)]);
    return out;
  }
}

interface Target {
  /** Collection path, e.g. /api/v1/namespaces/default/configmaps. */
  collection: string;
  apiVersion: string;
  kind: string;
  /** An object of this kind the setup created. */
  existing: string;
  namespaced: boolean;
  crd: boolean;
  subresources: string[];
  /** A small valid body for an object of this kind (without metadata). */
  content: () => Record<string, unknown>;
}

const crdGroup = 'fuzz.example.com';

const targets: Target[] = [
  { collection: '/api/v1/namespaces/default/configmaps', apiVersion: 'v1', kind: 'ConfigMap', existing: 'fuzz-cm', namespaced: true, crd: false, subresources: [], content: () => ({ data: { a: 'b' } }) },
  { collection: '/api/v1/namespaces/default/secrets', apiVersion: 'v1', kind: 'Secret', existing: 'fuzz-secret', namespaced: true, crd: false, subresources: [], content: () => ({ type: 'Opaque', stringData: { token: 'x' } }) },
  {
    collection: '/apis/apps/v1/namespaces/default/deployments', apiVersion: 'apps/v1', kind: 'Deployment', existing: 'fuzz-deploy', namespaced: true, crd: false, subresources: ['status', 'scale'],
    content: () => ({ spec: { replicas: 1, selector: { matchLabels: { app: 'fuzz' } }, template: { metadata: { labels: { app: 'fuzz' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } }),
  },
  { collection: '/api/v1/namespaces', apiVersion: 'v1', kind: 'Namespace', existing: 'fuzz-ns', namespaced: false, crd: false, subresources: ['status'], content: () => ({}) },
  { collection: `/apis/${crdGroup}/v1/namespaces/default/gadgets`, apiVersion: `${crdGroup}/v1`, kind: 'Gadget', existing: 'fuzz-gadget', namespaced: true, crd: true, subresources: ['status', 'scale'], content: () => ({ spec: { size: 3, color: 'red', replicas: 1 } }) },
  { collection: '/apis/fleet.nephele.dev/v1alpha1/clusters', apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster', existing: 'fuzz-cluster', namespaced: false, crd: false, subresources: ['status'], content: () => ({ spec: { provider: 'onprem', region: 'eu-1' } }) },
  {
    collection: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', existing: `gadgets.${crdGroup}`, namespaced: false, crd: false, subresources: ['status'],
    content: () => gadgetCrd().spec as Record<string, unknown>,
  },
];

function gadgetCrd(): { apiVersion: string; kind: string; metadata: { name: string }; spec: unknown } {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `gadgets.${crdGroup}` },
    spec: {
      group: crdGroup,
      scope: 'Namespaced',
      names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
      versions: [{
        name: 'v1', served: true, storage: true,
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, color: { type: 'string', enum: ['red', 'blue'] }, replicas: { type: 'integer' }, extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
              status: { type: 'object', properties: { replicas: { type: 'integer' } } },
            },
          },
        },
      }],
    },
  };
}

/** A request the generator built, with the defect that must make the hub refuse it. */
interface FuzzRequest {
  strategy: string;
  defect: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Send the body chunked (no Content-Length) instead of with a declared length. */
  chunked?: boolean;
  token?: string;
}

const hugeNumberLiterals = ['1e400', '-1e400', '123456789012345678901234567890123456789', '1.7976931348623157e309', '-0.0000000000000000000000000000000001', '9007199254740993', '4.9e-325'];
const hugeMarker = '\u0000HUGE';

/** Defines a property as an own, enumerable data property, so even "__proto__" is a plain key. */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Random JSON-ish data; keys never start with "$" (strategic-merge directives are real instructions). */
function junk(r: Random, depth = 0): unknown {
  const choice = r.int(depth >= 4 ? 7 : 10);
  switch (choice) {
    case 0: return r.int(1000) - 500;
    case 1: return `${hugeMarker}${r.int(hugeNumberLiterals.length)}`;
    case 2: return r.text(20);
    case 3: return r.chance(0.5);
    case 4: return null;
    case 5: return r.pick([0.5, -1, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, -0]);
    case 6: return '';
    case 7: return Array.from({ length: r.int(5) }, () => junk(r, depth + 1));
    default: {
      const obj: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) setKey(obj, junkKey(r), junk(r, depth + 1));
      return obj;
    }
  }
}

function junkKey(r: Random): string {
  if (r.chance(0.6)) {
    return r.pick(['spec', 'status', 'data', 'stringData', 'replicas', 'template', 'containers', 'selector', 'matchLabels', 'name', 'image', 'items', 'type', 'size', 'color', 'extra', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', '.', 'a.b', 'x/y', '~0', '0', '-1']);
  }
  return r.text(12).replace(/^\$+/, '');
}

/** JSON text of a value, with the huge-number markers turned into number literals JSON.parse cannot hold exactly. */
function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(new RegExp(`"\\\\u0000HUGE(\\d)"`, 'g'), (_m, i: string) => hugeNumberLiterals[Number(i)]!);
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function parsesAsYaml(text: string): boolean {
  try {
    parseYaml(text, { maxAliasCount: 100, uniqueKeys: false, logLevel: 'silent' });
    return true;
  } catch {
    return false;
  }
}

/** A plausible object of the target's kind, with junk mixed in. */
function objectFor(r: Random, target: Target, name: string): Record<string, unknown> {
  const obj: Record<string, unknown> = { apiVersion: target.apiVersion, kind: target.kind, metadata: { name, labels: { app: 'fuzz' } }, ...target.content() };
  for (let i = r.int(3); i > 0; i--) setKey(obj, junkKey(r), junk(r, 1));
  obj.apiVersion = target.apiVersion;
  obj.kind = target.kind;
  return obj;
}

const badNames = ['Upper', 'under_score', 'with space', 'dot.', '-leading', 'trailing-', 'a'.repeat(254), 'ümlaut', '😀', 'a/b', '..', 'x%y'];
const badLabelSelectors = ['a in (', 'a in (b', 'a notin (', '!!', 'a===', '=b', ',', 'a,,b', 'Bad Key=x', `a=${'x'.repeat(64)}`, 'a>b', 'a<', 'a in ()', 'a=b c', '-a', 'a=-b', '(a)', 'a!=@'];
const badFieldSelectors = ['spec.foo=bar', 'metadata.name', '=x', 'metadata.name=a,', 'status.zz=Running', 'metadata.name~x', 'metadata.uid=1', ',', 'metadata.labels=a'];
const badResourceVersions = ['abc', '-1', '1.5', '12345678901234567', '0x10', '1e3', ' 1', '١٢٣', 'null'];
const badLimits = ['-1', 'abc', '1.5', '1e999', '-0.5', 'ten', 'NaN', 'Infinity'];
const badContentTypes = ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'image/png', 'application/cbor', 'text/html; charset=utf-8', 'application/jsonx', 'json', 'application/vnd.kubernetes.protobuf;stream=watch'];
const badPatchTypes = ['application/json', 'application/yaml', 'text/plain', 'application/apply-patch+cbor', 'application/json-patch', 'application/merge-patch', 'application/xml', ''];

/** Extra query parameters that never change what a request does (so they cannot hide its defect). */
function noiseParams(r: Random): string[] {
  const out: string[] = [];
  for (let i = r.int(3); i > 0; i--) {
    out.push(r.pick([
      'pretty=true',
      `zz${r.int(1000)}=${encodeURIComponent(r.text(6))}`,
      `${encodeURIComponent('ключ' + r.int(9))}=${encodeURIComponent(r.text(4))}`,
      'timeout=32s',
    ]));
  }
  return out;
}

function withQuery(path: string, params: string[]): string {
  return params.length === 0 ? path : `${path}?${params.join('&')}`;
}

function objectPath(target: Target, name: string, subresource?: string): string {
  return `${target.collection}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

const json = 'application/json';

/** Each strategy builds one request that carries at least one defect the hub must refuse. */
const strategies: Record<string, (r: Random, hub: { token: string }) => FuzzRequest> = {
  unauthenticated(r, hub) {
    const target = r.pick(targets);
    const method = r.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
    const path = r.pick([target.collection, objectPath(target, target.existing), '/api/v1/namespaces', '/metrics', '/openapi/v3', '/apis/apps/v1', '/zz-unknown']);
    const token = r.pick([
      '',
      Array.from({ length: 1 + r.int(40) }, () => String.fromCharCode(0x21 + r.int(94))).join(''),
      `${hub.token}x`,
      hub.token.slice(1),
      hub.token.slice(0, -1) + (hub.token.endsWith('A') ? 'B' : 'A'),
      hub.token.toLowerCase() === hub.token ? hub.token.toUpperCase() : hub.token.toLowerCase(),
    ]);
    const headers: Record<string, string> = {};
    let sendToken: string | undefined = token;
    if (r.chance(0.2)) {
      headers.authorization = r.pick([`Basic ${Buffer.from(`admin:${hub.token}`).toString('base64')}`, 'Bearer', `Token ${hub.token}`, `Bearer ${hub.token} extra`, `Bearer  ${encodeURIComponent(r.text(5))}`]);
      sendToken = '';
    }
    const body = method === 'GET' ? undefined : Buffer.from(jsonText(objectFor(r, target, 'fuzz-anon')));
    if (body) headers['content-type'] = json;
    return { strategy: 'unauthenticated', defect: 'no valid bearer token', method, path, headers, body, token: sendToken };
  },

  garbledPath(r) {
    const target = r.pick(targets);
    const method = r.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
    const noise = encodeURIComponent(`zz${r.text(8)}`);
    const path = r.pick([
      `/${noise}`,
      `/api/v9/${noise}`,
      `/apis/${noise}/v1/things`,
      `/apis/zz-${r.int(1e6)}.example.com/v1/namespaces/default/things/x`,
      `/api/v1/${noise}`,
      `/api/v1/namespaces/default/${noise}`,
      `/api/v1/namespaces/default/${noise}/x`,
      `${target.collection}/a/b/c/d`,
      `${objectPath(target, target.existing)}/zz-sub`,
      `${target.collection}/zz-nx-${r.int(1e6)}/finalize`,
      `/api/v1/namespaces/%E0%A4%A/configmaps`,
      `${target.collection}/%ZZ`,
      `${target.collection}/%`,
      `/apis/${crdGroup}/v2/namespaces/default/gadgets`,
      `/openapi/v3/apis/${noise}`,
      '/openapi/v2',
      `/apis/apps/v1/${noise}/deployments`,
    ]);
    let body: Buffer | undefined;
    const headers: Record<string, string> = {};
    if (method !== 'GET' && method !== 'OPTIONS' && r.chance(0.7)) {
      body = Buffer.from(jsonText(objectFor(r, target, `zz-nx-${r.int(1e6)}`)));
      headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : json;
    }
    return { strategy: 'garbledPath', defect: 'no such path', method, path, headers, body };
  },

  wrongMethod(r): FuzzRequest {
    const target = r.pick(targets);
    const choice = r.int(5);
    if (choice === 0) {
      const method = r.pick(['PUT', 'PATCH', 'OPTIONS', 'TRACE']);
      const withBody = method === 'PUT' || method === 'PATCH';
      const headers: Record<string, string> = withBody ? { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : json } : {};
      return { strategy: 'wrongMethod', defect: `${method} on a collection`, method, path: target.collection, headers, body: withBody ? Buffer.from('{}') : undefined };
    }
    if (choice === 1) {
      const method = r.pick(['POST', 'OPTIONS', 'TRACE']);
      const headers: Record<string, string> = method === 'POST' ? { 'content-type': json } : {};
      return { strategy: 'wrongMethod', defect: `${method} on an object`, method, path: objectPath(target, target.existing), headers, body: method === 'POST' ? Buffer.from(jsonText(objectFor(r, target, target.existing))) : undefined };
    }
    if (choice === 2) {
      const method = r.pick(['POST', 'PUT', 'PATCH', 'DELETE']);
      const path = r.pick(['/api', '/apis', '/api/v1', '/apis/apps', '/apis/apps/v1', `/apis/${crdGroup}/v1`, '/apis/fleet.nephele.dev', '/version', '/healthz', '/livez', '/readyz', '/metrics', '/', '/openapi/v3', '/openapi/v3/api/v1']);
      return { strategy: 'wrongMethod', defect: `${method} on a read-only path`, method, path, headers: { 'content-type': json }, body: Buffer.from('{}'), ...(r.chance(0.3) ? { token: '' } : {}) };
    }
    if (choice === 3 && target.subresources.includes('scale')) {
      const method = r.pick(['POST', 'DELETE']);
      return { strategy: 'wrongMethod', defect: `${method} on scale`, method, path: objectPath(target, target.existing, 'scale'), headers: { 'content-type': json }, body: Buffer.from('{"spec":{"replicas":1}}') };
    }
    return { strategy: 'wrongMethod', defect: 'HEAD on an object', method: 'HEAD', path: objectPath(target, `zz-nx-${r.int(1e6)}`), headers: {} };
  },

  malformedBody(r) {
    const target = r.pick(targets);
    const where = r.int(3);
    const method = ['POST', 'PUT', 'PATCH'][where]!;
    const path = where === 0 ? target.collection : objectPath(target, target.existing);
    const valid = jsonText(where === 2 ? { metadata: { labels: { fuzz: 'x' } } } : objectFor(r, target, target.existing));
    const kind = r.int(10);
    let text: string | Buffer;
    let contentType = where === 2 ? r.pick(['application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json']) : json;
    let defect: string;
    if (kind === 0) {
      let cut = valid.slice(0, r.int(valid.length));
      if (parsesAsJson(cut)) cut += ',';
      text = cut;
      defect = 'truncated JSON';
    } else if (kind === 1) {
      const chars = [...valid];
      for (let i = 1 + r.int(4); i > 0; i--) chars[r.int(chars.length)] = r.pick(['{', '}', '[', ']', '"', ',', ':', '\\', '\u0000', 'x']);
      text = chars.join('');
      if (parsesAsJson(text)) text += '}';
      defect = 'garbled JSON';
    } else if (kind === 2) {
      const yamlText = toYaml(JSON.parse(valid));
      let cut = yamlText.slice(0, r.int(yamlText.length)) + r.pick([': :', '\n\t- x', '\n  - [', ' "unterminated', '\n- a\nb: c', ' {a: 1', '\n? [', '\n&a b: *c']);
      if (parsesAsYaml(cut)) cut = 'a: [1,\n b: :';
      text = cut;
      contentType = where === 2 ? 'application/apply-patch+yaml' : r.pick(['application/yaml', 'application/x-yaml', 'text/yaml']);
      defect = 'malformed YAML';
    } else if (kind === 3) {
      text = where === 2 ? r.pick(['', '   ', '\n']) : r.pick(['', ' ', '\n\t']);
      defect = 'empty body';
    } else if (kind === 4) {
      text = Buffer.from(Array.from({ length: 1 + r.int(200) }, () => r.int(256)));
      if (parsesAsJson(text.toString('utf8'))) text = Buffer.concat([text, Buffer.from('{')]);
      defect = 'random bytes';
    } else if (kind === 5) {
      text = where === 2 && contentType === 'application/json-patch+json' ? r.pick(['{}', '"x"', '5', 'null', 'true']) : r.pick(['[]', '[1,2]', '"x"', '5', 'null', 'true', '1e400', `"${r.text(10).replace(/["\\\u0000-\u001f]/g, '')}"`]);
      defect = 'JSON that is not an object (or not an array, for a JSON patch)';
    } else if (kind === 6) {
      // Below the hub's nesting limit the invalid name or label is what must fail; past it, the depth.
      const depth = r.pick([100, 250, 300, 2_000, 10_000, 100_000, 500_000]);
      const open = r.chance(0.5) ? '[' : '{"a":';
      const close = open === '[' ? ']' : '}';
      const nested = `{"size":3,"extra":${open.repeat(depth)}1${close.repeat(depth)}}`;
      text = where === 2 ? `{"metadata":{"labels":{"Bad Key!":"x"}},"spec":${nested}}` : `{"apiVersion":${JSON.stringify(target.apiVersion)},"kind":${JSON.stringify(target.kind)},"metadata":{"name":"Bad_Name"},"spec":${nested}}`;
      defect = `nested ${depth} deep (and an invalid name or label)`;
    } else if (kind === 7) {
      text = Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), Buffer.from(Array.from({ length: r.int(100) }, () => r.int(256)))]);
      contentType = 'application/vnd.kubernetes.protobuf';
      defect = 'garbage protobuf';
    } else if (kind === 9) {
      text = r.pick([
        'metadata: {name: loop}\nspec: &a {size: 3, extra: *a}\n',
        'metadata: {name: loop}\nspec: {size: 3, extra: &b [1, *b]}\n',
        `metadata: {name: bomb}\n${Array.from({ length: 12 }, (_v, i) => `l${i}: &l${i} [${Array(8).fill(i === 0 ? 'lol' : `*l${i - 1}`).join(', ')}]`).join('\n')}\n`,
      ]);
      contentType = where === 2 ? 'application/apply-patch+yaml' : 'application/yaml';
      defect = 'YAML that refers to itself or expands like a bomb';
    } else {
      const body = r.text(200);
      text = body;
      if (parsesAsJson(body) || (contentType === 'application/apply-patch+yaml' && parsesAsYaml(body))) text = `{${body}`;
      defect = 'random unicode text';
    }
    const buffer = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    return { strategy: 'malformedBody', defect, method, path: withQuery(path, [...noiseParams(r), ...(contentType === 'application/apply-patch+yaml' ? ['fieldManager=fuzz'] : [])]), headers: { 'content-type': contentType }, body: buffer };
  },

  wrongContentType(r) {
    const target = r.pick(targets);
    const method = r.pick(['POST', 'PUT', 'PATCH', 'DELETE']);
    const path = method === 'POST' ? target.collection : objectPath(target, method === 'DELETE' ? `zz-nx-${r.int(1e6)}` : target.existing);
    const type = method === 'PATCH' ? r.pick(badPatchTypes) : r.pick(badContentTypes);
    const body = method === 'PATCH' ? '{"metadata":{"labels":{"fuzz":"patched"}}}' : jsonText(objectFor(r, target, method === 'POST' ? `zz-new-${r.int(1e6)}` : target.existing));
    const headers: Record<string, string> = {};
    if (type !== '') headers['content-type'] = r.chance(0.3) ? type.toUpperCase() : type;
    return { strategy: 'wrongContentType', defect: `Content-Type "${type}"`, method, path: withQuery(path, noiseParams(r)), headers, body: Buffer.from(body) };
  },

  tooLarge(r) {
    const target = r.pick(targets);
    const method = r.pick(['POST', 'PUT', 'PATCH']);
    const path = method === 'POST' ? target.collection : objectPath(target, target.existing);
    const filler = Buffer.alloc(maxBody + 1 + r.int(1024), 'x');
    const body = Buffer.concat([Buffer.from(`{"metadata":{"name":"big","annotations":{"a":"`), filler, Buffer.from('"}}}')]);
    return { strategy: 'tooLarge', defect: `${body.length}-byte body`, method, path, headers: { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : json }, body, chunked: r.chance(0.5) };
  },

  invalidCreate(r) {
    const target = r.pick(targets);
    const newName = `zz-new-${r.int(1e6)}`;
    const obj = objectFor(r, target, newName);
    const params = noiseParams(r);
    let path = target.collection;
    const defects = ['name', 'kind', 'apiVersion', 'metadataType', 'label', 'annotation', 'strict', 'dryRun', 'fieldValidation', 'noName', 'generateName', 'finalizer', 'ownerRef', ...(target.namespaced ? ['namespaceMismatch', 'missingNamespace', 'badNamespace'] : [])];
    const defect = r.pick(defects);
    const meta = obj.metadata as Record<string, unknown>;
    switch (defect) {
      case 'name': meta.name = r.chance(0.3) ? `Upper${r.text(5)}` : r.pick(badNames); break;
      case 'kind': obj.kind = r.pick(['Zz', 'Pod', target.kind.toLowerCase(), '', 5, null]) as string; break;
      case 'apiVersion': obj.apiVersion = r.pick(['v2', 'apps/v1beta1', 'zz/v1', '', 7]) as string; if (obj.apiVersion === '') obj.apiVersion = 'v0'; break;
      case 'metadataType': obj.metadata = r.pick(['str', 5, [], true]); break;
      case 'label': meta.labels = { [r.pick(['Bad Key!', '-x', 'a/b/c', '/x', `${'a'.repeat(64)}`])]: 'v' }; break;
      case 'annotation': meta.annotations = { 'Bad Key!': 'v', ok: 5 }; break;
      case 'strict': params.push('fieldValidation=Strict'); setKey(obj, `zzUnknown${r.int(100)}`, junk(r, 2)); break;
      case 'dryRun': params.push(`dryRun=${encodeURIComponent(r.pick(['Some', 'all', 'true', '1', 'All,Some', r.text(4) || 'x']))}`); break;
      case 'fieldValidation': params.push(`fieldValidation=${encodeURIComponent(r.pick(['Loose', 'strict', 'none', 'true', r.text(4) || 'x']))}`); break;
      case 'noName': delete meta.name; break;
      case 'generateName': delete meta.name; meta.generateName = r.pick(['Bad_Prefix-', 'UPPER', 'a b', 'ü-', '.']); break;
      case 'finalizer': meta.finalizers = ['Bad Finalizer!']; break;
      case 'ownerRef': meta.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap' }]; break;
      case 'namespaceMismatch': meta.namespace = 'kube-system'; break;
      case 'missingNamespace': path = target.collection.replace('/namespaces/default/', `/namespaces/zz-missing-${r.int(1e6)}/`); break;
      case 'badNamespace': path = target.collection.replace('/namespaces/default/', `/namespaces/${encodeURIComponent(r.pick(['UPPER', 'a_b', 'x'.repeat(64), 'ü']))}/`); break;
    }
    if (r.chance(0.2)) params.push('dryRun=All');
    const yaml = r.chance(0.25) && defect !== 'metadataType';
    const body = yaml ? toYaml(JSON.parse(jsonText(obj).replace(/1e400|1\.7976931348623157e309/g, '1e300'))) : jsonText(obj);
    return { strategy: 'invalidCreate', defect, method: 'POST', path: withQuery(path, params), headers: { 'content-type': yaml ? 'application/yaml' : json }, body: Buffer.from(body) };
  },

  invalidUpdate(r) {
    const target = r.pick(targets);
    const sub = r.chance(0.2) && target.subresources.includes('status') ? 'status' : undefined;
    const obj = objectFor(r, target, target.existing);
    const meta = obj.metadata as Record<string, unknown>;
    const params = noiseParams(r);
    let name = target.existing;
    // A status write takes only .status from the body, so metadata and unknown fields are no defect there.
    const defect = r.pick(['nameMismatch', 'kind', 'apiVersion', 'metadataType', 'badRv', 'staleRv', 'dryRun', 'fieldValidation', 'missing', ...(sub ? [] : ['label', 'strict', 'finalizer'])]);
    switch (defect) {
      case 'nameMismatch': meta.name = r.pick(['other', 'Upper', `${target.existing}-x`]); break;
      case 'kind': obj.kind = 'Zz'; break;
      case 'apiVersion': obj.apiVersion = 'zz/v1'; break;
      case 'metadataType': obj.metadata = r.pick(['str', 5, [1]]); break;
      case 'badRv': meta.resourceVersion = r.pick(badResourceVersions); break;
      case 'staleRv': meta.resourceVersion = '1'; break;
      case 'label': meta.labels = { 'Bad Key!': 'v' }; break;
      case 'strict': params.push('fieldValidation=Strict'); setKey(obj, `zzUnknown${r.int(100)}`, 1); break;
      case 'dryRun': params.push('dryRun=Some'); break;
      case 'fieldValidation': params.push('fieldValidation=Loose'); break;
      case 'missing': name = `zz-nx-${r.int(1e6)}`; meta.name = name; break;
      case 'finalizer': meta.finalizers = ['Bad Finalizer!']; break;
    }
    return { strategy: 'invalidUpdate', defect: `${defect}${sub ? ' (status)' : ''}`, method: 'PUT', path: withQuery(objectPath(target, name, sub), params), headers: { 'content-type': json }, body: Buffer.from(jsonText(obj)) };
  },

  invalidPatch(r) {
    const target = r.pick(targets);
    const params = noiseParams(r);
    const sub = r.chance(0.15) && target.subresources.includes('status') ? 'status' : undefined;
    let name = target.existing;
    const patchKind = r.pick(['merge', 'strategic', 'json', 'apply']);
    let contentType = { merge: 'application/merge-patch+json', strategic: 'application/strategic-merge-patch+json', json: 'application/json-patch+json', apply: 'application/apply-patch+yaml' }[patchKind]!;
    let body: string;
    let defect: string;
    if (patchKind === 'json') {
      const ops: unknown[] = [];
      for (let i = r.int(4); i > 0; i--) {
        ops.push({ op: r.pick(['add', 'replace', 'remove', 'copy', 'move', 'test']), path: r.pick(['/metadata/labels/fuzz', '/data/zz', '/spec/zz', '/metadata/annotations', `/${junkKey(r).replace(/[~/]/g, '')}`]), value: junk(r, 2), from: '/metadata/labels' });
      }
      const ending = r.int(6);
      if (ending === 0) { ops.push({ op: 'test', path: '/metadata/uid', value: `zz-never-${r.int(1e6)}` }); defect = 'failing test op'; }
      else if (ending === 1) { ops.push({ op: r.pick(['frobnicate', '', 5, null]), path: '/metadata/labels' }); defect = 'unknown op'; }
      else if (ending === 2) { ops.push({ op: 'add', path: r.pick(['metadata', 'no-slash', '/zz-missing/deep/path', '/metadata/labels/~2', '/metadata/finalizers/99']), value: 'x' }); defect = 'bad path'; }
      else if (ending === 3) { ops.push({ op: 'remove', path: `/zz-missing-${r.int(100)}` }); defect = 'remove of a missing path'; }
      else if (ending === 4) { ops.push({ op: 'replace', path: '/metadata', value: r.pick(['str', 5, [1], true]) }); defect = 'metadata replaced by a non-object'; }
      else { ops.push(r.pick([5, 'x', null, [], { path: '/a' }, { op: 'add' }, { op: 'move', path: '/a' }])); defect = 'malformed op'; }
      body = jsonText(ops);
    } else if (patchKind === 'apply') {
      const obj = objectFor(r, target, target.existing);
      const d = r.pick(sub ? [0, 1, 2, 4] : [0, 1, 2, 3, 4]);
      if (d === 0) { defect = 'apply without fieldManager'; }
      else if (d === 1) { params.push('fieldManager=fuzz'); obj.kind = 'Zz'; defect = 'apply of the wrong kind'; }
      else if (d === 2) { params.push('fieldManager=fuzz'); (obj.metadata as Record<string, unknown>).managedFields = [{ manager: 'x' }]; defect = 'apply with managedFields'; }
      else if (d === 3) { params.push('fieldManager=fuzz'); (obj.metadata as Record<string, unknown>).labels = { 'Bad Key!': 'x' }; defect = 'apply of an invalid label'; }
      else { params.push(`fieldManager=${'m'.repeat(129)}`); defect = 'fieldManager too long'; }
      body = r.chance(0.5) ? jsonText(obj) : toYaml(JSON.parse(jsonText(obj).replace(/1e400|1\.7976931348623157e309/g, '1e300')));
    } else {
      const patch: Record<string, unknown> = {};
      for (let i = r.int(3); i > 0; i--) setKey(patch, junkKey(r), junk(r, 1));
      const d = target.crd && patchKind === 'strategic' ? 'strategic on a CRD' : r.pick(['kind', 'apiVersion', 'metadataType', 'dryRun', 'fieldValidation', 'force', 'missing', ...(sub ? [] : ['label', 'strict', 'finalizer'])]);
      defect = d;
      switch (d) {
        case 'kind': patch.kind = 'Zz'; break;
        case 'apiVersion': patch.apiVersion = 'zz/v1'; break;
        case 'metadataType': patch.metadata = r.pick(['str', 5, [1], true]); break;
        case 'label': patch.metadata = { labels: { 'Bad Key!': 'x' } }; break;
        case 'strict': params.push('fieldValidation=Strict'); setKey(patch, `zzUnknown${r.int(100)}`, 1); break;
        case 'dryRun': params.push('dryRun=Some'); break;
        case 'fieldValidation': params.push('fieldValidation=Loose'); break;
        case 'force': params.push('force=true'); patch.metadata = { labels: { 'Bad Key!': 'x' } }; break;
        case 'missing': name = `zz-nx-${r.int(1e6)}`; break;
        case 'finalizer': patch.metadata = { finalizers: ['Bad Finalizer!'] }; break;
        default: patch.metadata = { labels: { fuzz: 'crd' } }; break;
      }
      body = jsonText(patch);
    }
    if (patchKind === 'apply' && r.chance(0.1)) contentType = 'application/apply-patch+yaml; charset=utf-8';
    return { strategy: 'invalidPatch', defect: `${patchKind}: ${defect}${sub ? ' (status)' : ''}`, method: 'PATCH', path: withQuery(objectPath(target, name, sub), params), headers: { 'content-type': contentType }, body: Buffer.from(body) };
  },

  invalidScale(r) {
    const target = r.pick(targets.filter((t) => t.subresources.includes('scale')));
    const replicas = r.pick(['-1', '1.5', '"3"', 'null', 'true', '[]', '{}', '1e400', '-1e400', '-9007199254740993']);
    if (r.chance(0.5)) {
      const body = r.chance(0.2) ? '{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"x"}}' : `{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"${target.existing}"},"spec":{"replicas":${replicas}}}`;
      return { strategy: 'invalidScale', defect: `PUT scale replicas ${replicas}`, method: 'PUT', path: objectPath(target, target.existing, 'scale'), headers: { 'content-type': json }, body: Buffer.from(body) };
    }
    const asJsonPatch = r.chance(0.5);
    const body = asJsonPatch ? `[{"op":"replace","path":"/spec/replicas","value":${replicas}}]` : `{"spec":{"replicas":${replicas}}}`;
    return { strategy: 'invalidScale', defect: `PATCH scale replicas ${replicas}`, method: 'PATCH', path: objectPath(target, target.existing, 'scale'), headers: { 'content-type': asJsonPatch ? 'application/json-patch+json' : 'application/merge-patch+json' }, body: Buffer.from(body) };
  },

  badQuery(r) {
    const target = r.pick(targets);
    const params = noiseParams(r);
    const kind = r.int(11);
    let path = target.collection;
    let method = 'GET';
    const headers: Record<string, string> = {};
    let defect: string;
    if (kind === 0) { params.push(`labelSelector=${encodeURIComponent(r.pick(badLabelSelectors))}`); defect = 'labelSelector'; }
    else if (kind === 1) { params.push(`fieldSelector=${encodeURIComponent(r.pick(badFieldSelectors))}`); defect = 'fieldSelector'; }
    else if (kind === 2) { params.push(`limit=${encodeURIComponent(r.pick(badLimits))}`); defect = 'limit'; }
    else if (kind === 3) { params.push(`resourceVersion=${encodeURIComponent(r.pick(badResourceVersions))}`); defect = 'list resourceVersion'; }
    else if (kind === 4) {
      params.push('watch=true', r.pick([`resourceVersion=${encodeURIComponent(r.pick(badResourceVersions))}`, `labelSelector=${encodeURIComponent(r.pick(badLabelSelectors))}`, `fieldSelector=${encodeURIComponent(r.pick(badFieldSelectors))}`, `timeoutSeconds=${r.pick(['-1', 'abc', 'NaN', 'Infinity'])}`]));
      defect = 'watch parameter';
    } else if (kind === 5) { params.push(`continue=${encodeURIComponent(r.pick(['garbage', 'eyJ4IjoxfQ', r.text(10) || 'x', 'AAAA']))}`, 'limit=1'); defect = 'continue token'; }
    else if (kind === 6) { headers.accept = 'application/json;as=Table;v=v1;g=meta.k8s.io'; params.push(`includeObject=${r.pick(['All', 'object', 'x'])}`); defect = 'includeObject'; }
    else if (kind === 7) { headers.accept = r.pick(['text/html', 'application/xml', 'image/png', 'text/plain;q=1']); defect = 'Accept'; }
    else if (kind === 8) {
      method = 'DELETE';
      path = r.chance(0.5) ? objectPath(target, target.existing) : target.collection;
      params.push(r.pick([`propagationPolicy=${r.pick(['Sideways', 'background', 'None', ''])}`, `dryRun=${r.pick(['Some', 'true'])}`, `gracePeriodSeconds=${r.pick(['-1', 'abc', '1.5', 'NaN'])}`]));
      if (params.at(-1) === 'propagationPolicy=') params[params.length - 1] = 'propagationPolicy=Up';
      defect = 'delete option';
    } else if (kind === 9) {
      method = 'DELETE';
      path = objectPath(target, target.existing);
      const body = r.pick(['[1]', '"x"', '{"propagationPolicy":"Sideways"}', '{"propagationPolicy":5}', '{"gracePeriodSeconds":-3}', '{"gracePeriodSeconds":"soon"}', '{"preconditions":{"uid":"zz-not-the-uid"}}', '{"preconditions":{"resourceVersion":"1"}}', '{bad json', '{"dryRun":["Some"],"propagationPolicy":"x"}']);
      headers['content-type'] = json;
      return { strategy: 'badQuery', defect: `DeleteOptions ${body}`, method, path: withQuery(path, params), headers, body: Buffer.from(body) };
    } else {
      path = objectPath(target, target.existing);
      params.push(`resourceVersion=${encodeURIComponent(r.pick(badResourceVersions))}`);
      defect = 'get resourceVersion';
    }
    return { strategy: 'badQuery', defect, method, path: withQuery(path, params), headers };
  },
};

const weights: Array<[string, number]> = [
  ['unauthenticated', 8], ['garbledPath', 10], ['wrongMethod', 6], ['malformedBody', 16], ['wrongContentType', 8],
  ['invalidCreate', 16], ['invalidUpdate', 10], ['invalidPatch', 14], ['invalidScale', 4], ['badQuery', 14],
];

function generate(r: Random, hub: { token: string }, count: number): FuzzRequest[] {
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  const out: FuzzRequest[] = [];
  for (let i = 0; i < count; i++) {
    let roll = r.int(total);
    let name = weights[0]![0];
    for (const [strategy, w] of weights) {
      if (roll < w) { name = strategy; break; }
      roll -= w;
    }
    out.push(strategies[name]!(r, hub));
  }
  // A few bodies just over the limit; they are slow to send, so only a handful.
  for (let i = 0; i < 4; i++) out.splice(r.int(out.length), 0, strategies.tooLarge!(r, hub));
  return out;
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

async function send(hub: TestHub, req: FuzzRequest): Promise<Answer> {
  const headers = { ...req.headers };
  if (req.body !== undefined && !req.chunked) headers['content-length'] = String(req.body.length);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${answerTimeoutMs} ms`)), answerTimeoutMs);
  });
  const call = hub.call(req.method, req.path, { body: req.body, headers, ...(req.token !== undefined ? { token: req.token } : {}) });
  const res = await Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  return { status: res.status, contentType: String(res.headers['content-type'] ?? ''), body: res.body };
}

/** Why an answer breaks the contract, or undefined when it is a proper 4xx Status. */
function violation(req: FuzzRequest, answer: Answer): string | undefined {
  if (answer.status < 400 || answer.status > 499) return `status ${answer.status}, not a 4xx`;
  if (req.method === 'HEAD') return undefined;
  if (!answer.contentType.startsWith('application/json')) return `Content-Type ${answer.contentType}`;
  let status: Record<string, unknown>;
  try {
    status = JSON.parse(answer.body);
  } catch {
    return 'the body is not JSON';
  }
  if (status.kind !== 'Status' || status.apiVersion !== 'v1') return 'the body is not a v1 Status';
  if (status.status !== 'Failure') return `status.status is ${String(status.status)}`;
  if (status.code !== answer.status) return `Status code ${String(status.code)} differs from HTTP ${answer.status}`;
  if (typeof status.reason !== 'string' || status.reason === '') return 'no reason';
  if (typeof status.message !== 'string' || status.message.trim() === '') return 'no message';
  if (/Internal error|Maximum call stack|undefined is not|Cannot read prop/.test(status.message)) return `the message reads like a crash: ${status.message}`;
  return undefined;
}

function describeRequest(req: FuzzRequest): string {
  const body = req.body === undefined ? '' : ` body(${req.body.length}B)=${JSON.stringify(req.body.subarray(0, 160).toString('utf8'))}`;
  return `[${req.strategy}: ${req.defect}] ${req.method} ${req.path.slice(0, 200)} ${JSON.stringify(req.headers)}${body}`;
}



describe('fuzz: random client mistakes', () => {
  let hub: TestHub;

  before(async () => {
    hub = await startTestHub({ store: 'memory' });
    const create = async (path: string, body: unknown) => {
      const res = await hub.call('POST', path, { body: JSON.stringify(body), headers: { 'content-type': json } });
      assert.equal(res.status, 201, `setup: POST ${path}: ${res.body}`);
    };
    await create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', gadgetCrd());
    const deadline = Date.now() + 15_000;
    while ((await hub.call('GET', `/apis/${crdGroup}/v1/namespaces/default/gadgets`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('the Gadget CRD was not served in time');
      await sleep(50);
    }
    for (const target of targets) {
      if (target.kind === 'CustomResourceDefinition') continue;
      await create(target.collection, { apiVersion: target.apiVersion, kind: target.kind, metadata: { name: target.existing, labels: { app: 'fuzz' } }, ...target.content() });
    }
    // Let controllers (CRD status, namespace bookkeeping) finish before the snapshot.
    let last = await hub.store.currentRevision();
    for (let quiet = 0; quiet < 5;) {
      await sleep(100);
      const now = await hub.store.currentRevision();
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
  });

  after(async () => {
    await hub?.close();
  });

  it(`answers ${requestCount} random bad requests (and 4 bodies over 3 MiB) with a 4xx Status and changes nothing (seed ${seed})`, async (t) => {
    const before = await storeSnapshot(hub);
    const writes = await recordWrites(hub);
    const requests = generate(new Random(seed), hub, requestCount);
    const failures: string[] = [];
    const tally = new Map<string, number>();
    const started = Date.now();
    let next = 0;
    let sent = 0;
    const worker = async () => {
      while (next < requests.length && Date.now() - started < timeBudgetMs) {
        const req = requests[next++]!;
        let why: string | undefined;
        let status = 0;
        try {
          const answer = await send(hub, req);
          status = answer.status;
          why = violation(req, answer);
          if (why) why += `: ${answer.body.slice(0, 300)}`;
        } catch (err) {
          why = `the request failed: ${err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}` : String(err)}`;
        }
        sent++;
        const key = `${req.strategy} ${status}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        if (why) failures.push(`${describeRequest(req)}\n    -> ${why}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    t.diagnostic(`sent ${sent} requests in ${Date.now() - started} ms`);
    t.diagnostic([...tally.entries()].sort().map(([k, n]) => `${k}: ${n}`).join(', '));
    assert.ok(sent >= Math.min(requests.length, 1000), `only ${sent} requests went out in the time budget`);
    if (process.env.FUZZ_REPORT) writeFileSync(process.env.FUZZ_REPORT, failures.join('\n'));
    assert.deepEqual(failures.slice(0, 15), [], `${failures.length} of ${sent} requests broke the contract (seed ${seed})`);

    const ready = await hub.call('GET', '/readyz', { token: '' });
    assert.equal(ready.status, 200, 'the hub is still ready');
    assert.deepEqual(await writes.keys(), [], 'no write reached the store (the hub\'s own Lease renewals aside)');
    writes.stop();
    assert.ok((await storeSnapshot(hub)) === before, 'the stored objects are exactly as they were');
  });
});
