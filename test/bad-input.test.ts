/**
 * Bad input, case by case: every client mistake the API can meet (malformed bodies, wrong kinds,
 * schema violations, unknown fields under each fieldValidation mode, oversized bodies, bad
 * selectors, names, resourceVersions and query parameters, unsupported content types, unknown
 * paths, wrong methods, missing tokens) answers the exact 4xx a Kubernetes client expects, as a
 * `Status` whose message names what was wrong, and leaves the store exactly as it was.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordWrites, storeSnapshot, type WriteRecorder } from '../src/testing/store-writes.ts';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';

const json = 'application/json';
const mergePatch = 'application/merge-patch+json';
const jsonPatch = 'application/json-patch+json';
const strategicPatch = 'application/strategic-merge-patch+json';
const applyPatch = 'application/apply-patch+yaml';
const limit = 3 * 1024 * 1024;

const cms = '/api/v1/namespaces/default/configmaps';
const deployments = '/apis/apps/v1/namespaces/default/deployments';
const namespaces = '/api/v1/namespaces';
const widgets = '/apis/test.example.com/v1/namespaces/default/widgets';
const gizmos = '/apis/test.example.com/v1/gizmos';
const clusters = '/apis/fleet.nephele.dev/v1alpha1/clusters';
const crds = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

function crd(plural: string, kind: string, scope: 'Namespaced' | 'Cluster') {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.test.example.com` },
    spec: {
      group: 'test.example.com',
      scope,
      names: { plural, singular: kind.toLowerCase(), kind },
      versions: [{
        name: 'v1', served: true, storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                properties: {
                  size: { type: 'integer', minimum: 1, maximum: 10 },
                  color: { type: 'string', enum: ['red', 'blue'] },
                  tags: { type: 'array', items: { type: 'string' } },
                },
              },
              status: { type: 'object', properties: { phase: { type: 'string', enum: ['Ready', 'Pending'] } } },
            },
          },
        },
      }],
    },
  };
}

const widget = (name: string, spec: Record<string, unknown> = { size: 3, color: 'red' }) => ({ apiVersion: 'test.example.com/v1', kind: 'Widget', metadata: { name }, spec });
const configMap = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'bad-input' } }, data: { a: 'b' }, ...extra });
const deployment = (name: string, replicas: unknown = 1) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
});

interface Request {
  method: string;
  path: string;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** '' sends no Authorization header; undefined sends the admin token. */
  token?: string;
  /** Send the body chunked, without a Content-Length. */
  chunked?: boolean;
}

interface Expectation {
  code: number;
  reason: string;
  /** What the message must say: the field, parameter, value or limit at fault. */
  message: RegExp;
  /** Field paths that must appear in details.causes. */
  causes?: string[];
}

interface Case extends Request, Expectation {
  name: string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

function send(hub: TestHub, req: Request): Promise<Answer> {
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  let body: string | Buffer | undefined;
  if (req.body !== undefined) {
    body = typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
    headers['content-type'] ??= req.contentType ?? json;
    // Node's client sends a DELETE (or GET) body without any length unless told one.
    if (!req.chunked) headers['content-length'] = String(Buffer.byteLength(body));
  } else if (req.contentType) {
    headers['content-type'] = req.contentType;
  }
  return hub.call(req.method, req.path, { body, headers, ...(req.token !== undefined ? { token: req.token } : {}) });
}

/** Asserts a failure `Status` with the expected code, reason, message and causes. */
function assertStatus(res: Answer, want: Expectation, what: string): void {
  assert.equal(res.status, want.code, `${what}: HTTP ${res.status}, want ${want.code}: ${res.body.slice(0, 500)}`);
  assert.match(String(res.headers['content-type']), /^application\/json/, `${what}: Content-Type`);
  const status = res.json();
  assert.equal(status.kind, 'Status', `${what}: kind`);
  assert.equal(status.apiVersion, 'v1', `${what}: apiVersion`);
  assert.equal(status.status, 'Failure', `${what}: status`);
  assert.equal(status.code, want.code, `${what}: code`);
  assert.equal(status.reason, want.reason, `${what}: reason (message: ${status.message})`);
  assert.equal(typeof status.message, 'string');
  assert.match(status.message, want.message, `${what}: message`);
  if (want.causes) {
    const fields = (status.details?.causes ?? []).map((c: { field?: string }) => c.field);
    for (const field of want.causes) assert.ok(fields.includes(field), `${what}: details.causes ${JSON.stringify(fields)} lacks ${field}`);
  }
}



const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** The cases that must all fail without writing anything, by category. */
const categories: Record<string, Case[]> = {
  'malformed JSON and YAML': [
    { name: 'truncated JSON on create', method: 'POST', path: cms, body: '{"metadata":{"name":', code: 400, reason: 'BadRequest', message: /not valid JSON/ },
    { name: 'garbled JSON on update', method: 'PUT', path: `${deployments}/web`, body: '{"apiVersion":"apps/v1",,}', code: 400, reason: 'BadRequest', message: /not valid JSON.*position/ },
    { name: 'garbled merge patch', method: 'PATCH', path: `${widgets}/w1`, body: '{"spec":{size:4}}', contentType: mergePatch, code: 400, reason: 'BadRequest', message: /not valid JSON/ },
    { name: 'broken YAML on create', method: 'POST', path: widgets, body: 'metadata:\n  name: [a,\n b: :', contentType: 'application/yaml', code: 400, reason: 'BadRequest', message: /not valid YAML.*line 3/ },
    { name: 'unterminated YAML string on a cluster-scoped create', method: 'POST', path: namespaces, body: 'metadata: {name: "x}', contentType: 'application/yaml', code: 400, reason: 'BadRequest', message: /not valid YAML.*quote/ },
    { name: 'two YAML documents', method: 'POST', path: cms, body: 'metadata: {name: a}\n---\nmetadata: {name: b}\n', contentType: 'application/yaml', code: 400, reason: 'BadRequest', message: /more than one YAML document.*line 2.*one object per request/ },
    { name: 'broken apply patch YAML', method: 'PATCH', path: `${cms}/cm1?fieldManager=t`, body: 'data: {a: [', contentType: applyPatch, code: 400, reason: 'BadRequest', message: /not valid YAML/ },
    { name: 'empty body', method: 'POST', path: cms, body: '', code: 400, reason: 'BadRequest', message: /empty/ },
    { name: 'a JSON array instead of an object', method: 'POST', path: gizmos, body: '[{"metadata":{"name":"g"}}]', code: 400, reason: 'BadRequest', message: /must be a JSON or YAML object/ },
    { name: 'a JSON string on update', method: 'PUT', path: `${namespaces}/default`, body: '"default"', code: 400, reason: 'BadRequest', message: /must be a JSON or YAML object/ },
    { name: 'a JSON patch that is not an array', method: 'PATCH', path: `${cms}/cm1`, body: { op: 'add' }, contentType: jsonPatch, code: 400, reason: 'BadRequest', message: /JSON patch must be a JSON array/ },
    { name: 'nesting past the limit', method: 'POST', path: cms, body: `{"metadata":{"name":"deep"},"data":${nested(5000)}}`, code: 400, reason: 'BadRequest', message: /more than 256 levels deep/ },
    { name: 'a YAML alias inside its own anchor', method: 'POST', path: widgets, body: 'metadata: {name: loop}\nspec: &s {size: 1, tags: *s}\n', contentType: 'application/yaml', code: 400, reason: 'BadRequest', message: /contains itself/ },
    { name: 'a YAML alias bomb', method: 'POST', path: cms, body: `a: &a [x, x, x, x, x, x, x, x]\n${Array.from({ length: 9 }, (_v, i) => `l${i}: &l${i} [${Array(9).fill(i === 0 ? '*a' : `*l${i - 1}`).join(', ')}]`).join('\n')}\n`, contentType: 'application/yaml', code: 400, reason: 'BadRequest', message: /not valid YAML.*alias/i },
    { name: 'garbage protobuf', method: 'POST', path: cms, body: Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0f, 0xff, 0xff]), contentType: 'application/vnd.kubernetes.protobuf', code: 400, reason: 'BadRequest', message: /protobuf body cannot be read/ },
  ],
  'wrong kinds and versions': [
    { name: 'a Secret sent to configmaps', method: 'POST', path: cms, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }, code: 400, reason: 'BadRequest', message: /kind in the data \(Secret\) does not match the expected kind \(ConfigMap\)/ },
    { name: 'a Widget of another version', method: 'POST', path: widgets, body: { ...widget('w9'), apiVersion: 'test.example.com/v2' }, code: 400, reason: 'BadRequest', message: /API version in the data \(test\.example\.com\/v2\).*\(test\.example\.com\/v1\)/ },
    { name: 'a ConfigMap sent as a namespace update', method: 'PUT', path: `${namespaces}/default`, body: configMap('default'), code: 400, reason: 'BadRequest', message: /kind in the data \(ConfigMap\).*\(Namespace\)/ },
    { name: 'an apply patch of the wrong kind', method: 'PATCH', path: `${deployments}/web?fieldManager=t`, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n', contentType: applyPatch, code: 400, reason: 'BadRequest', message: /apply patch is v1, Kind=ConfigMap but the request is for apps\/v1, Kind=Deployment/ },
    { name: 'a merge patch changing the kind', method: 'PATCH', path: `${gizmos}/g1`, body: { kind: 'Widget' }, contentType: mergePatch, code: 400, reason: 'BadRequest', message: /kind in the data \(Widget\).*\(Gizmo\)/ },
  ],
  'schema violations': [
    { name: 'replicas as a string', method: 'POST', path: deployments, body: deployment('d1', 'three'), code: 422, reason: 'Invalid', message: /spec\.replicas.*integer/, causes: ['spec.replicas'] },
    { name: 'a number in ConfigMap data', method: 'POST', path: cms, body: { ...configMap('c9'), data: { a: 1 } }, code: 422, reason: 'Invalid', message: /data\[a\].*string/, causes: ['data[a]'] },
    { name: 'a CRD object out of range and off the enum', method: 'POST', path: widgets, body: widget('w9', { size: 0, color: 'green' }), code: 422, reason: 'Invalid', message: /spec\.size: Invalid value: 0: .*>= 1.*spec\.color: Unsupported value: "green"/, causes: ['spec.size', 'spec.color'] },
    { name: 'a CRD object missing a required field', method: 'POST', path: widgets, body: widget('w9', { color: 'red' }), code: 422, reason: 'Invalid', message: /spec\.size: Required value/, causes: ['spec.size'] },
    { name: 'a cluster-scoped CRD object with a wrong item type', method: 'POST', path: gizmos, body: { apiVersion: 'test.example.com/v1', kind: 'Gizmo', metadata: { name: 'g9' }, spec: { size: 11, tags: ['a', 2] } }, code: 422, reason: 'Invalid', message: /spec\.size: Invalid value: 11.*spec\.tags\[1\]: Invalid value: 2/, causes: ['spec.size', 'spec.tags[1]'] },
    { name: 'a merge patch breaking a CRD object', method: 'PATCH', path: `${widgets}/w1`, body: { spec: { size: 'big' } }, contentType: mergePatch, code: 422, reason: 'Invalid', message: /spec\.size: Invalid value: "big"/, causes: ['spec.size'] },
    { name: 'a status write off the enum', method: 'PUT', path: `${widgets}/w1/status`, body: { ...widget('w1'), status: { phase: 'Exploded' } }, code: 422, reason: 'Invalid', message: /status\.phase: Unsupported value: "Exploded"/, causes: ['status.phase'] },
    { name: 'a Cluster with an unknown mode', method: 'POST', path: clusters, body: { apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'c9' }, spec: { mode: 'Sideways' } }, code: 422, reason: 'Invalid', message: /spec\.mode/, causes: ['spec.mode'] },
    { name: 'a CRD with a bad group and scope', method: 'POST', path: crds, body: { ...crd('things', 'Thing', 'Cluster'), spec: { ...crd('things', 'Thing', 'Cluster').spec, group: 'nodots', scope: 'Galaxy' } }, code: 422, reason: 'Invalid', message: /spec\.group.*spec\.scope|spec\.scope.*spec\.group/, causes: ['spec.group', 'spec.scope'] },
    { name: 'labels that are not a map', method: 'POST', path: cms, body: { ...configMap('c9'), metadata: { name: 'c9', labels: ['a'] } }, code: 422, reason: 'Invalid', message: /metadata\.labels/, causes: ['metadata.labels'] },
    { name: 'an invalid label key and value', method: 'POST', path: namespaces, body: { metadata: { name: 'n9', labels: { 'bad key!': 'also bad!' } } }, code: 422, reason: 'Invalid', message: /metadata\.labels/, causes: ['metadata.labels'] },
    { name: 'a merge patch turning metadata into a string', method: 'PATCH', path: `${cms}/cm1`, body: { metadata: 'oops' }, contentType: mergePatch, code: 422, reason: 'Invalid', message: /metadata.*must be an object/, causes: ['metadata'] },
    { name: 'a JSON patch turning metadata into a number', method: 'PATCH', path: `${widgets}/w1`, body: [{ op: 'replace', path: '/metadata', value: 5 }], contentType: jsonPatch, code: 422, reason: 'Invalid', message: /metadata.*must be an object/, causes: ['metadata'] },
    { name: 'metadata as a string on create', method: 'POST', path: cms, body: { metadata: 'cm' }, code: 422, reason: 'Invalid', message: /metadata must be an object/, causes: ['metadata'] },
    { name: 'a failing JSON patch test op', method: 'PATCH', path: `${cms}/cm1`, body: [{ op: 'replace', path: '/data/a', value: 'c' }, { op: 'test', path: '/data/a', value: 'zzz' }], contentType: jsonPatch, code: 422, reason: 'Invalid', message: /test.*\/data\/a.*"c".*"zzz"|test.*\/data\/a/ },
    { name: 'a JSON patch removing a missing path', method: 'PATCH', path: `${cms}/cm1`, body: [{ op: 'remove', path: '/data/missing' }], contentType: jsonPatch, code: 422, reason: 'Invalid', message: /\/data\/missing/ },
    { name: 'a JSON patch with an unknown op', method: 'PATCH', path: `${cms}/cm1`, body: [{ op: 'frobnicate', path: '/data/a' }], contentType: jsonPatch, code: 400, reason: 'BadRequest', message: /frobnicate/ },
    { name: 'scale to a negative count', method: 'PUT', path: `${deployments}/web/scale`, body: { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web' }, spec: { replicas: -1 } }, code: 422, reason: 'Invalid', message: /spec\.replicas.*-1.*non-negative integer/, causes: ['spec.replicas'] },
    { name: 'scale by a merge patch to a fraction', method: 'PATCH', path: `${deployments}/web/scale`, body: { spec: { replicas: 1.5 } }, contentType: mergePatch, code: 422, reason: 'Invalid', message: /spec\.replicas.*1\.5/, causes: ['spec.replicas'] },
  ],
  'unknown fields under fieldValidation=Strict': [
    { name: 'a top-level and a metadata field', method: 'POST', path: `${cms}?fieldValidation=Strict`, body: { ...configMap('c9'), bogus: 1, metadata: { name: 'c9', bogusMeta: 'x' } }, code: 400, reason: 'BadRequest', message: /strict decoding error: .*unknown field "bogus".*unknown field "metadata\.bogusMeta"|strict decoding error: .*unknown field "metadata\.bogusMeta".*unknown field "bogus"/, causes: ['bogus', 'metadata.bogusMeta'] },
    { name: 'a nested field of a Deployment', method: 'POST', path: `${deployments}?fieldValidation=Strict`, body: (() => { const d = deployment('d9'); (d.spec.template.spec.containers[0] as Record<string, unknown>).imagePullPolcy = 'Always'; return d; })(), code: 400, reason: 'BadRequest', message: /unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolcy"/, causes: ['spec.template.spec.containers[0].imagePullPolcy'] },
    { name: 'a CRD field', method: 'POST', path: `${widgets}?fieldValidation=Strict`, body: widget('w9', { size: 1, shape: 'round' }), code: 400, reason: 'BadRequest', message: /unknown field "spec\.shape"/, causes: ['spec.shape'] },
    { name: 'a field added by a merge patch', method: 'PATCH', path: `${gizmos}/g1?fieldValidation=Strict`, body: { spec: { weight: 3 } }, contentType: mergePatch, code: 400, reason: 'BadRequest', message: /unknown field "spec\.weight"/, causes: ['spec.weight'] },
    { name: 'a field in an update of a cluster-scoped object', method: 'PUT', path: `${clusters}/c1?fieldValidation=Strict`, body: { apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'c1' }, spec: { regoin: 'eu' } }, code: 400, reason: 'BadRequest', message: /unknown field "spec\.regoin"/, causes: ['spec.regoin'] },
  ],
  'bodies over 3 MiB': [
    { name: 'a declared length over the limit', method: 'POST', path: cms, body: Buffer.alloc(limit + 1, ' '), code: 413, reason: 'RequestEntityTooLarge', message: new RegExp(`${limit + 1} bytes, larger than the ${limit}-byte limit`) },
    { name: 'a chunked body over the limit', method: 'PUT', path: `${cms}/cm1`, body: `{"metadata":{"name":"cm1"},"data":{"a":"${'x'.repeat(limit)}"}}`, chunked: true, code: 413, reason: 'RequestEntityTooLarge', message: new RegExp(`larger than the ${limit}-byte limit`) },
    { name: 'a patch over the limit', method: 'PATCH', path: `${widgets}/w1`, body: Buffer.alloc(limit + 10, 'x'), contentType: mergePatch, code: 413, reason: 'RequestEntityTooLarge', message: /limit/ },
  ],
  'selectors': [
    { name: 'labelSelector=a in (', method: 'GET', path: `${cms}?labelSelector=${encodeURIComponent('a in (')}`, code: 400, reason: 'BadRequest', message: /labelSelector "a in \("/ },
    { name: 'a label selector on a watch', method: 'GET', path: `${widgets}?watch=true&labelSelector=${encodeURIComponent('a=b,,c')}`, code: 400, reason: 'BadRequest', message: /labelSelector "a=b,,c".*empty requirement/ },
    { name: 'an invalid label value', method: 'GET', path: `${namespaces}?labelSelector=${encodeURIComponent(`a=${'x'.repeat(64)}`)}`, code: 400, reason: 'BadRequest', message: /labelSelector.*at most 63 characters/ },
    { name: 'fieldSelector=spec.foo=bar', method: 'GET', path: `${cms}?fieldSelector=spec.foo=bar`, code: 400, reason: 'BadRequest', message: /field label not supported: spec\.foo.*metadata\.name/ },
    { name: 'a field selector without a value', method: 'GET', path: `${gizmos}?fieldSelector=metadata.name`, code: 400, reason: 'BadRequest', message: /fieldSelector "metadata\.name".*field=value/ },
    { name: 'a bad field selector on deletecollection', method: 'DELETE', path: `${cms}?fieldSelector=spec.foo%3Dbar`, code: 400, reason: 'BadRequest', message: /field label not supported: spec\.foo/ },
    { name: 'a bad label selector on deletecollection of a CRD', method: 'DELETE', path: `${widgets}?labelSelector=${encodeURIComponent('!!')}`, code: 400, reason: 'BadRequest', message: /labelSelector "!!"/ },
  ],
  'names and namespaces': [
    { name: 'a name with uppercase letters', method: 'POST', path: cms, body: configMap('MyConfig'), code: 422, reason: 'Invalid', message: /metadata\.name: Invalid value: "MyConfig": a lowercase RFC 1123 subdomain/, causes: ['metadata.name'] },
    { name: 'a namespace name with a dot', method: 'POST', path: namespaces, body: { metadata: { name: 'a.b' } }, code: 422, reason: 'Invalid', message: /metadata\.name: Invalid value: "a\.b": a lowercase RFC 1123 label/, causes: ['metadata.name'] },
    { name: 'a CRD object name too long', method: 'POST', path: widgets, body: widget('w'.repeat(254)), code: 422, reason: 'Invalid', message: /metadata\.name.*no more than 253 characters/, causes: ['metadata.name'] },
    { name: 'generateName with invalid characters', method: 'POST', path: cms, body: { metadata: { generateName: 'Bad_Prefix!-' }, data: {} }, code: 422, reason: 'Invalid', message: /metadata\.generateName: Invalid value: "Bad_Prefix!-"/, causes: ['metadata.generateName'] },
    { name: 'neither name nor generateName', method: 'POST', path: gizmos, body: { apiVersion: 'test.example.com/v1', kind: 'Gizmo', metadata: {}, spec: { size: 1 } }, code: 422, reason: 'Invalid', message: /metadata\.name: Required value: name or generateName is required/, causes: ['metadata.name'] },
    { name: 'a namespace that does not exist', method: 'POST', path: '/api/v1/namespaces/nope/configmaps', body: configMap('c9'), code: 404, reason: 'NotFound', message: /namespaces "nope" not found/ },
    { name: 'a CRD object in a namespace that does not exist', method: 'POST', path: '/apis/test.example.com/v1/namespaces/nope/widgets', body: widget('w9'), code: 404, reason: 'NotFound', message: /namespaces "nope" not found/ },
    { name: 'an invalid namespace in the path', method: 'GET', path: '/api/v1/namespaces/Not_Valid/configmaps', code: 400, reason: 'BadRequest', message: /invalid namespace "Not_Valid"/ },
    { name: 'a body namespace that differs from the path', method: 'POST', path: deployments, body: { ...deployment('d9'), metadata: { name: 'd9', namespace: 'kube-system' } }, code: 400, reason: 'BadRequest', message: /namespace of the provided object \(kube-system\) does not match the namespace sent on the request \(default\)/ },
    { name: 'a body name that differs from the path', method: 'PUT', path: `${cms}/cm1`, body: configMap('cm2'), code: 400, reason: 'BadRequest', message: /name of the object \(cm2\) does not match the name on the URL \(cm1\)/ },
    { name: 'a bad finalizer', method: 'POST', path: cms, body: { ...configMap('c9'), metadata: { name: 'c9', finalizers: ['not a finalizer!'] } }, code: 422, reason: 'Invalid', message: /metadata\.finalizers\[0\]/, causes: ['metadata.finalizers[0]'] },
    { name: 'a malformed percent-encoding in the path', method: 'GET', path: `${cms}/%E0%A4%A`, code: 400, reason: 'BadRequest', message: /path segment "%E0%A4%A" is not valid percent-encoding/ },
  ],
  'resourceVersions, limits and continue tokens': [
    { name: 'limit=-1', method: 'GET', path: `${cms}?limit=-1`, code: 400, reason: 'BadRequest', message: /limit must be a non-negative integer, got "-1"/ },
    { name: 'limit=ten', method: 'GET', path: `${gizmos}?limit=ten`, code: 400, reason: 'BadRequest', message: /limit.*"ten"/ },
    { name: 'resourceVersion=abc on list', method: 'GET', path: `${cms}?resourceVersion=abc`, code: 400, reason: 'BadRequest', message: /invalid resourceVersion "abc"/ },
    { name: 'resourceVersion=abc on get', method: 'GET', path: `${cms}/cm1?resourceVersion=abc`, code: 400, reason: 'BadRequest', message: /invalid resourceVersion "abc"/ },
    { name: 'resourceVersion=abc on get of a CRD object', method: 'GET', path: `${widgets}/w1?resourceVersion=abc`, code: 400, reason: 'BadRequest', message: /invalid resourceVersion "abc"/ },
    { name: 'resourceVersion=abc on watch', method: 'GET', path: `${cms}?watch=true&resourceVersion=abc`, code: 400, reason: 'BadRequest', message: /invalid resourceVersion "abc"/ },
    { name: 'resourceVersion=abc on a cluster-scoped watch', method: 'GET', path: `${namespaces}?watch=1&resourceVersion=abc`, code: 400, reason: 'BadRequest', message: /invalid resourceVersion "abc"/ },
    { name: 'a bad resourceVersion in an update', method: 'PUT', path: `${cms}/cm1`, body: { ...configMap('cm1'), metadata: { name: 'cm1', resourceVersion: 'abc' } }, code: 400, reason: 'BadRequest', message: /invalid resource version "abc"/ },
    { name: 'a stale resourceVersion in an update', method: 'PUT', path: `${widgets}/w1`, body: { ...widget('w1'), metadata: { name: 'w1', resourceVersion: '1' } }, code: 409, reason: 'Conflict', message: /widgets\.test\.example\.com "w1": the object has been modified/ },
    { name: 'a garbage continue token', method: 'GET', path: `${cms}?limit=1&continue=garbage`, code: 400, reason: 'BadRequest', message: /continue/ },
    { name: 'timeoutSeconds=-1 on watch', method: 'GET', path: `${cms}?watch=true&timeoutSeconds=-1`, code: 400, reason: 'BadRequest', message: /timeoutSeconds.*"-1"/ },
  ],
  'reviews': [
    { name: 'a GET of a review kind', method: 'GET', path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', code: 405, reason: 'MethodNotAllowed', message: /selfsubjectaccessreviews only takes a POST to the collection: a SelfSubjectAccessReview is answered, not stored/ },
    { name: 'an access review asking about nothing', method: 'POST', path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {} }, code: 422, reason: 'Invalid', message: /exactly one of nonResourceAttributes or resourceAttributes must be specified/ },
    { name: 'an access review without a spec', method: 'POST', path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview' }, code: 422, reason: 'Invalid', message: /SelfSubjectAccessReview\.authorization\.k8s\.io "" is invalid: spec: Required value/ },
  ],
  'query parameters': [
    { name: 'propagationPolicy=Sideways', method: 'DELETE', path: `${cms}/cm1?propagationPolicy=Sideways`, code: 400, reason: 'BadRequest', message: /propagationPolicy "Sideways" is not supported: use Background, Foreground or Orphan/ },
    { name: 'propagationPolicy in DeleteOptions', method: 'DELETE', path: `${widgets}/w1`, body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Sideways' }, code: 400, reason: 'BadRequest', message: /propagationPolicy "Sideways"/ },
    { name: 'gracePeriodSeconds=-1', method: 'DELETE', path: `${namespaces}/bad-input-ns?gracePeriodSeconds=-1`, code: 400, reason: 'BadRequest', message: /gracePeriodSeconds must be a non-negative integer/ },
    { name: 'DeleteOptions that are not an object', method: 'DELETE', path: `${gizmos}/g1`, body: '[1]', code: 400, reason: 'BadRequest', message: /DeleteOptions must be a JSON object/ },
    { name: 'a precondition on the wrong uid', method: 'DELETE', path: `${cms}/cm1`, body: { preconditions: { uid: 'not-the-uid' } }, code: 409, reason: 'Conflict', message: /Precondition failed: UID in precondition: not-the-uid/ },
    { name: 'dryRun=Some on create', method: 'POST', path: `${cms}?dryRun=Some`, body: configMap('c9'), code: 400, reason: 'BadRequest', message: /dryRun must be "All" \(or absent\), got "Some"/ },
    { name: 'dryRun=Some on delete', method: 'DELETE', path: `${cms}/cm1?dryRun=Some`, code: 400, reason: 'BadRequest', message: /dryRun.*"Some"/ },
    { name: 'fieldValidation=Loose', method: 'POST', path: `${widgets}?fieldValidation=Loose`, body: widget('w9'), code: 400, reason: 'BadRequest', message: /fieldValidation must be Ignore, Warn or Strict, got "Loose"/ },
    { name: 'fieldValidation=Loose on a patch', method: 'PATCH', path: `${cms}/cm1?fieldValidation=Loose`, body: { data: { a: 'z' } }, contentType: mergePatch, code: 400, reason: 'BadRequest', message: /fieldValidation.*"Loose"/ },
    { name: 'force on a merge patch', method: 'PATCH', path: `${cms}/cm1?force=true`, body: { data: { a: 'z' } }, contentType: mergePatch, code: 400, reason: 'BadRequest', message: /force may only be set for apply patches/ },
    { name: 'an apply patch without fieldManager', method: 'PATCH', path: `${cms}/cm1`, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm1}\n', contentType: applyPatch, code: 400, reason: 'BadRequest', message: /fieldManager is required/ },
    { name: 'includeObject=All for a table', method: 'GET', path: `${cms}?includeObject=All`, headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }, code: 400, reason: 'BadRequest', message: /includeObject must be None, Metadata or Object, got "All"/ },
  ],
  'content types': [
    { name: 'text/plain on create', method: 'POST', path: cms, body: configMap('c9'), contentType: 'text/plain', code: 415, reason: 'UnsupportedMediaType', message: /"text\/plain" is not supported; send application\/json or application\/yaml/ },
    { name: 'XML on update', method: 'PUT', path: `${gizmos}/g1`, body: '<gizmo/>', contentType: 'application/xml', code: 415, reason: 'UnsupportedMediaType', message: /"application\/xml"/ },
    { name: 'a plain JSON patch', method: 'PATCH', path: `${cms}/cm1`, body: { data: { a: 'z' } }, contentType: json, code: 415, reason: 'UnsupportedMediaType', message: /patch Content-Type "application\/json" is not supported; use application\/json-patch\+json/ },
    { name: 'a patch without a Content-Type', method: 'PATCH', path: `${namespaces}/default`, body: '{}', headers: { 'content-type': '' }, code: 415, reason: 'UnsupportedMediaType', message: /patch Content-Type ""/ },
    { name: 'a strategic merge patch on a CRD object', method: 'PATCH', path: `${widgets}/w1`, body: { spec: { size: 4 } }, contentType: strategicPatch, code: 415, reason: 'UnsupportedMediaType', message: /strategic merge patch is not supported for custom resources \(widgets\.test\.example\.com\)/ },
    { name: 'a CBOR apply patch', method: 'PATCH', path: `${cms}/cm1?fieldManager=t`, body: Buffer.from([0xa0]), contentType: 'application/apply-patch+cbor', code: 415, reason: 'UnsupportedMediaType', message: /apply-patch\+cbor/ },
    { name: 'protobuf of a kind it does not read', method: 'POST', path: widgets, body: Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x00, 0x12, 0x00]), contentType: 'application/vnd.kubernetes.protobuf', code: 415, reason: 'UnsupportedMediaType', message: /protobuf bodies are accepted for .* only.*send JSON or YAML/ },
    { name: 'an Accept the hub cannot produce', method: 'GET', path: cms, headers: { accept: 'text/html' }, code: 406, reason: 'NotAcceptable', message: /"text\/html"/ },
  ],
  'unknown paths and resources': [
    { name: 'a path outside the API', method: 'GET', path: '/nope', code: 404, reason: 'NotFound', message: /\/nope.*\/api and \/apis/ },
    { name: 'an unknown core resource', method: 'GET', path: '/api/v1/widgets', code: 404, reason: 'NotFound', message: /resource type "widgets" in v1/ },
    { name: 'an unknown namespaced resource', method: 'POST', path: '/api/v1/namespaces/default/gadgets', body: {}, code: 404, reason: 'NotFound', message: /"gadgets"/ },
    { name: 'an unknown group', method: 'GET', path: '/apis/nope.example.com/v1/things', code: 404, reason: 'NotFound', message: /"things" in nope\.example\.com\/v1/ },
    { name: 'an unserved version of a CRD', method: 'GET', path: '/apis/test.example.com/v2/gizmos', code: 404, reason: 'NotFound', message: /test\.example\.com\/v2/ },
    { name: 'an unknown group discovery', method: 'GET', path: '/apis/nope.example.com', code: 404, reason: 'NotFound', message: /API group "nope\.example\.com"/ },
    { name: 'an unknown subresource', method: 'GET', path: `${cms}/cm1/logs`, code: 404, reason: 'NotFound', message: /configmaps has no subresource "logs"/ },
    { name: 'scale of a kind without it', method: 'PATCH', path: `${widgets}/w1/scale`, body: { spec: { replicas: 2 } }, contentType: mergePatch, code: 404, reason: 'NotFound', message: /widgets has no subresource "scale"/ },
    { name: 'status of a kind without it', method: 'PUT', path: `${cms}/cm1/status`, body: configMap('cm1'), code: 404, reason: 'NotFound', message: /configmaps has no status subresource/ },
    { name: 'a path too long', method: 'GET', path: `${cms}/cm1/status/extra/more`, code: 404, reason: 'NotFound', message: /unexpected path/ },
    { name: 'an object that does not exist', method: 'GET', path: `${widgets}/missing`, code: 404, reason: 'NotFound', message: /widgets\.test\.example\.com "missing" not found/ },
    { name: 'an update of an object that does not exist', method: 'PUT', path: `${gizmos}/missing`, body: { apiVersion: 'test.example.com/v1', kind: 'Gizmo', metadata: { name: 'missing' }, spec: { size: 1 } }, code: 404, reason: 'NotFound', message: /gizmos\.test\.example\.com "missing" not found/ },
    { name: 'a merge patch of an object that does not exist', method: 'PATCH', path: `${deployments}/missing`, body: { spec: { replicas: 2 } }, contentType: mergePatch, code: 404, reason: 'NotFound', message: /deployments\.apps "missing" not found/ },
    { name: 'a delete of an object that does not exist', method: 'DELETE', path: `${namespaces}/missing`, code: 404, reason: 'NotFound', message: /namespaces "missing" not found/ },
    { name: 'an unknown OpenAPI document', method: 'GET', path: '/openapi/v3/apis/nope.example.com/v1', code: 404, reason: 'NotFound', message: /no OpenAPI document/ },
  ],
  'wrong methods': [
    { name: 'PUT on a collection', method: 'PUT', path: cms, body: configMap('c9'), code: 405, reason: 'MethodNotAllowed', message: /PUT is not supported on a collection of configmaps; use GET, POST or DELETE/ },
    { name: 'PATCH on a CRD collection', method: 'PATCH', path: widgets, body: {}, contentType: mergePatch, code: 405, reason: 'MethodNotAllowed', message: /PATCH.*collection of widgets/ },
    { name: 'POST on an object', method: 'POST', path: `${gizmos}/g1`, body: {}, code: 405, reason: 'MethodNotAllowed', message: /POST is not supported on gizmos\/g1; use GET, PUT, PATCH or DELETE/ },
    { name: 'DELETE on discovery', method: 'DELETE', path: '/api/v1', code: 405, reason: 'MethodNotAllowed', message: /DELETE is not allowed on discovery documents/ },
    { name: 'POST on /apis', method: 'POST', path: '/apis', body: {}, code: 405, reason: 'MethodNotAllowed', message: /POST.*discovery/ },
    { name: 'POST on a group version', method: 'POST', path: '/apis/test.example.com/v1', body: {}, code: 405, reason: 'MethodNotAllowed', message: /POST.*discovery/ },
    { name: 'DELETE on scale', method: 'DELETE', path: `${deployments}/web/scale`, code: 405, reason: 'MethodNotAllowed', message: /DELETE is not supported on deployments\/scale/ },
    { name: 'OPTIONS on an object', method: 'OPTIONS', path: `${cms}/cm1`, code: 405, reason: 'MethodNotAllowed', message: /OPTIONS/ },
    { name: 'POST on /version', method: 'POST', path: '/version', body: {}, token: '', code: 405, reason: 'MethodNotAllowed', message: /POST is not allowed on \/version; it is read-only, use GET/ },
    { name: 'DELETE on /healthz', method: 'DELETE', path: '/healthz', code: 405, reason: 'MethodNotAllowed', message: /DELETE is not allowed on \/healthz/ },
    { name: 'PUT on /readyz', method: 'PUT', path: '/readyz', body: {}, token: '', code: 405, reason: 'MethodNotAllowed', message: /PUT is not allowed on \/readyz/ },
    { name: 'PATCH on an OpenAPI document', method: 'PATCH', path: '/openapi/v3', body: {}, contentType: mergePatch, code: 405, reason: 'MethodNotAllowed', message: /PATCH is not allowed on \/openapi\/v3/ },
    { name: 'POST on /metrics', method: 'POST', path: '/metrics', body: {}, code: 405, reason: 'MethodNotAllowed', message: /POST is not allowed on \/metrics/ },
  ],
  'bearer tokens': [
    { name: 'no token on a list', method: 'GET', path: namespaces, token: '', code: 401, reason: 'Unauthorized', message: /bearer token/ },
    { name: 'a wrong token on a create', method: 'POST', path: cms, body: configMap('c9'), token: 'not-the-token', code: 401, reason: 'Unauthorized', message: /bearer token.*nephele kubeconfig/ },
    { name: 'a Basic authorization header', method: 'DELETE', path: `${cms}/cm1`, token: '', headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }, code: 401, reason: 'Unauthorized', message: /bearer token/ },
    { name: 'no token on a CRD object', method: 'PATCH', path: `${widgets}/w1`, body: { spec: { size: 2 } }, contentType: mergePatch, token: '', code: 401, reason: 'Unauthorized', message: /bearer token/ },
    { name: 'no token on metrics', method: 'GET', path: '/metrics', token: '', code: 401, reason: 'Unauthorized', message: /bearer token/ },
    { name: 'no token on group discovery', method: 'GET', path: '/apis/apps/v1', token: '', code: 401, reason: 'Unauthorized', message: /bearer token/ },
    { name: 'no token on OpenAPI', method: 'GET', path: '/openapi/v3', token: '', code: 401, reason: 'Unauthorized', message: /bearer token/ },
  ],
};

describe('bad input answers a 4xx Status and writes nothing', () => {
  let hub: TestHub;
  let before0: string;
  let writes0: WriteRecorder;

  before(async () => {
    hub = await startTestHub({ store: 'memory' });
    const create = async (path: string, body: unknown) => {
      const res = await send(hub, { method: 'POST', path, body });
      assert.equal(res.status, 201, `setup: POST ${path}: ${res.body}`);
    };
    await create(crds, crd('widgets', 'Widget', 'Namespaced'));
    await create(crds, crd('gizmos', 'Gizmo', 'Cluster'));
    const deadline = Date.now() + 15_000;
    for (const path of [widgets, gizmos]) {
      while ((await send(hub, { method: 'GET', path })).status !== 200) {
        if (Date.now() > deadline) throw new Error(`${path} was not served in time`);
        await sleep(50);
      }
    }
    await create(cms, configMap('cm1'));
    await create(deployments, deployment('web', 2));
    await create(namespaces, { metadata: { name: 'bad-input-ns' } });
    await create(widgets, widget('w1'));
    await create(gizmos, { apiVersion: 'test.example.com/v1', kind: 'Gizmo', metadata: { name: 'g1' }, spec: { size: 2 } });
    await create(clusters, { apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'c1' }, spec: { region: 'eu-1' } });
    // Wait for the CRD controller's status writes to settle before taking the snapshot.
    let last = -1;
    for (let quiet = 0; quiet < 4;) {
      await sleep(100);
      const now = await hub.store.currentRevision();
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
    before0 = await storeSnapshot(hub);
    writes0 = await recordWrites(hub);
  });

  after(async () => {
    await hub?.close();
  });

  for (const [category, cases] of Object.entries(categories)) {
    describe(category, () => {
      for (const c of cases) {
        it(`${c.name}: ${c.method} → ${c.code} ${c.reason}`, async () => {
          assertStatus(await send(hub, c), c, `${c.method} ${c.path.slice(0, 120)}`);
        });
      }
    });
  }

  it('anonymous paths answer without a token', async () => {
    for (const path of ['/healthz', '/livez', '/readyz', '/version', '/api', '/apis']) {
      const res = await send(hub, { method: 'GET', path, token: '' });
      assert.equal(res.status, 200, `${path}: ${res.body}`);
    }
    const res = await send(hub, { method: 'GET', path: '/api/v1', token: '' });
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer/);
  });

  it('every case above left the store as it was: no write, no partial write', async () => {
    assert.deepEqual(await writes0.keys(), [], 'something was written');
    writes0.stop();
    assert.ok((await storeSnapshot(hub)) === before0, 'the stored objects changed');
  });

  describe('fieldValidation Warn and Ignore accept the object and drop unknown fields', () => {
    const cases = [
      { mode: 'Warn', path: `${cms}?fieldValidation=Warn`, name: 'warn-cm', body: { ...configMap('warn-cm'), bogus: 1, metadata: { name: 'warn-cm', bogusMeta: 'x' } }, warned: ['bogus', 'metadata.bogusMeta'] },
      { mode: 'Warn (the default)', path: widgets, name: 'warn-w', body: widget('warn-w', { size: 2, shape: 'round' }), warned: ['spec.shape'] },
      { mode: 'Ignore', path: `${widgets}?fieldValidation=Ignore`, name: 'ignore-w', body: widget('ignore-w', { size: 2, shape: 'round' }), warned: [] },
      { mode: 'Ignore', path: `${clusters}?fieldValidation=Ignore`, name: 'ignore-c', body: { apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'ignore-c' }, spec: { regoin: 'eu' } }, warned: [] },
    ];
    for (const c of cases) {
      it(`${c.mode}: ${c.path.split('?')[0]!.split('/').pop()} ${c.name}`, async () => {
        const res = await send(hub, { method: 'POST', path: c.path, body: c.body });
        assert.equal(res.status, 201, res.body);
        const warning = res.headers.warning;
        const warnings = warning === undefined ? [] : Array.isArray(warning) ? warning : [warning];
        if (c.warned.length === 0) assert.deepEqual(warnings, [], 'Ignore sends no Warning');
        for (const field of c.warned) assert.ok(warnings.some((w) => w.startsWith('299 - ') && w.includes(`unknown field \\"${field}\\"`)), `a Warning names ${field}: ${JSON.stringify(warnings)}`);
        const stored = JSON.stringify((await send(hub, { method: 'GET', path: `${c.path.split('?')[0]}/${c.name}` })).json());
        for (const field of ['bogus', 'bogusMeta', 'shape', 'regoin']) assert.ok(!stored.includes(`"${field}"`), `${field} was dropped: ${stored}`);
      });
    }

    it('Warn on a patch warns and drops the field', async () => {
      const res = await send(hub, { method: 'PATCH', path: `${gizmos}/g1`, body: { spec: { weight: 3 } }, contentType: mergePatch });
      assert.equal(res.status, 200, res.body);
      assert.match(String(res.headers.warning), /unknown field \\"spec\.weight\\"/);
      assert.equal(res.json().spec.weight, undefined);
    });

    it('a Warning quoting a non-ASCII field name stays a valid header', async () => {
      const res = await send(hub, { method: 'POST', path: cms, body: { ...configMap('warn-unicode'), 'größe😀': 1, 'tab\there': 2 } });
      assert.equal(res.status, 201, res.body);
      const warnings = ([] as string[]).concat(res.headers.warning ?? []);
      assert.ok(warnings.some((w) => w.includes('gr\\u00f6\\u00dfe\\ud83d\\ude00')), JSON.stringify(warnings));
      assert.ok(warnings.every((w) => /^[\x20-\x7e]*$/.test(w)), 'printable ASCII only');
    });

    it('thousands of unknown fields get a bounded Warning header the client can read', async () => {
      const body: Record<string, unknown> = configMap('warn-many');
      for (let i = 0; i < 3000; i++) body[`unknownField${i}`] = i;
      const res = await send(hub, { method: 'POST', path: cms, body });
      assert.equal(res.status, 201, res.body);
      // Node's client joins the repeated Warning headers with ", ".
      const warning = String(res.headers.warning);
      assert.ok(warning.length < 8 * 1024, `Warning is ${warning.length} bytes`);
      assert.match(warning, /^299 - "unknown field \\"unknownField0\\"", .*, 299 - "\d+ more warning\(s\) not shown"$/);
      assert.equal(Object.keys(res.json()).filter((k) => k.startsWith('unknownField')).length, 0, 'the unknown fields were dropped');
    });
  });

  describe('dryRun=All writes nothing', () => {
    const unchanged = async (action: () => Promise<void>) => {
      const before1 = await storeSnapshot(hub);
      const writes = await recordWrites(hub);
      await action();
      assert.deepEqual(await writes.keys(), [], 'something was written');
      writes.stop();
      assert.ok((await storeSnapshot(hub)) === before1, 'the stored objects changed');
    };

    it('create of a core object and a CRD object', async () => {
      await unchanged(async () => {
        const res = await send(hub, { method: 'POST', path: `${cms}?dryRun=All`, body: configMap('dry-cm') });
        assert.equal(res.status, 201, res.body);
        assert.equal(res.json().metadata.name, 'dry-cm');
        const res2 = await send(hub, { method: 'POST', path: `${gizmos}?dryRun=All`, body: { apiVersion: 'test.example.com/v1', kind: 'Gizmo', metadata: { generateName: 'dry-' }, spec: { size: 1 } } });
        assert.equal(res2.status, 201, res2.body);
      });
      assert.equal((await send(hub, { method: 'GET', path: `${cms}/dry-cm` })).status, 404);
    });

    it('update, patch and delete', async () => {
      await unchanged(async () => {
        const current = (await send(hub, { method: 'GET', path: `${widgets}/w1` })).json();
        const put = await send(hub, { method: 'PUT', path: `${widgets}/w1?dryRun=All`, body: { ...current, spec: { size: 9, color: 'blue' } } });
        assert.equal(put.status, 200, put.body);
        assert.equal(put.json().spec.size, 9);
        const patch = await send(hub, { method: 'PATCH', path: `${deployments}/web?dryRun=All`, body: { spec: { replicas: 7 } }, contentType: mergePatch });
        assert.equal(patch.status, 200, patch.body);
        assert.equal(patch.json().spec.replicas, 7);
        const del = await send(hub, { method: 'DELETE', path: `${namespaces}/bad-input-ns?dryRun=All` });
        assert.ok(del.status === 200 || del.status === 202, del.body);
        const delCm = await send(hub, { method: 'DELETE', path: `${cms}/cm1?dryRun=All` });
        assert.equal(delCm.status, 200, delCm.body);
      });
      assert.equal((await send(hub, { method: 'GET', path: `${widgets}/w1` })).json().spec.size, 3);
      assert.equal((await send(hub, { method: 'GET', path: `${cms}/cm1` })).status, 200);
    });

    it('an invalid object is still refused under dryRun', async () => {
      await unchanged(async () => {
        const res = await send(hub, { method: 'POST', path: `${widgets}?dryRun=All`, body: widget('dry-bad', { size: 99 }) });
        assertStatus(res, { code: 422, reason: 'Invalid', message: /spec\.size: Invalid value: 99/, causes: ['spec.size'] }, 'dry-run create');
      });
    });
  });
});
