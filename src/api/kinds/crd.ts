/**
 * CustomResourceDefinitions: the CRD kind itself (with the checks Kubernetes makes beyond its
 * schema), and the translation of an established CRD into the ResourceTypes it serves, one per
 * served version, validated against that version's openAPIV3Schema.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import type { StatusCause } from '../../machinery/status-error.ts';
import { validateDns1123Label, validateDns1123Subdomain } from '../../machinery/names.ts';
import { builtinOpenAPI } from '../builtin/index.ts';
import type { PrinterColumn, ResourceType } from '../resource-type.ts';
import { compileSchema, schemaProblem } from '../schema-validator.ts';
import { applySchemaDefaults } from '../schema-defaults.ts';
import { builtinType } from './builtin-kinds.ts';

export const crdCleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  subresources?: { status?: object; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
  additionalPrinterColumns?: Array<{ name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }>;
}

interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  versions: CrdVersion[];
}

function specOf(crd: KubeObject): CrdSpec {
  return crd.spec as CrdSpec;
}

/** Checks a CRD beyond its schema: its name, names, versions and each version's schema. */
export function validateCrd(crd: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = crd.spec;
  if (!isPlainObject(spec)) return [{ reason: 'FieldValueRequired', field: 'spec', message: 'Required value' }];
  const { group, names, versions, scope } = spec as unknown as CrdSpec;
  if (typeof group !== 'string' || group === '' || !group.includes('.')) {
    causes.push({ reason: 'FieldValueInvalid', field: 'spec.group', message: `Invalid value: ${JSON.stringify(group)}: should be a domain with at least one dot` });
  } else {
    causes.push(...validateDns1123Subdomain(group, 'spec.group'));
  }
  if (scope !== 'Namespaced' && scope !== 'Cluster') {
    causes.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(scope)}: supported values: "Cluster", "Namespaced"` });
  }
  if (!isPlainObject(names) || typeof names.plural !== 'string' || typeof names.kind !== 'string') {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.names', message: 'Required value: plural and kind are required' });
  } else {
    causes.push(...validateDns1123Label(names.plural, 'spec.names.plural'));
    if (names.plural !== names.plural.toLowerCase()) causes.push({ reason: 'FieldValueInvalid', field: 'spec.names.plural', message: 'must be lower case' });
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(names.kind)) causes.push({ reason: 'FieldValueInvalid', field: 'spec.names.kind', message: `Invalid value: ${JSON.stringify(names.kind)}: must be a valid kind name (letters and digits, starting with a letter)` });
    const expected = `${names.plural}.${group}`;
    if (crd.metadata.name !== expected) {
      causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(crd.metadata.name)}: must be spec.names.plural+"."+spec.group (${expected})` });
    }
  }
  if (!Array.isArray(versions) || versions.length === 0) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.versions', message: 'Required value: at least one version is required' });
  } else {
    const storage = versions.filter((v) => v.storage === true).length;
    if (storage !== 1) causes.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: `Invalid value: must have exactly one version marked as storage version (found ${storage})` });
    versions.forEach((v, i) => {
      if (!/^v\d+((alpha|beta)\d+)?$/.test(String(v.name))) {
        causes.push({ reason: 'FieldValueInvalid', field: `spec.versions[${i}].name`, message: `Invalid value: ${JSON.stringify(v.name)}: must be a Kubernetes version such as v1, v1beta1 or v2alpha3` });
      }
      const schema = v.schema?.openAPIV3Schema;
      if (!isPlainObject(schema)) {
        causes.push({ reason: 'FieldValueRequired', field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required' });
        return;
      }
      if (schema.type !== 'object') causes.push({ reason: 'FieldValueInvalid', field: `spec.versions[${i}].schema.openAPIV3Schema.type`, message: 'Invalid value: must be object at the root' });
      const problem = schemaProblem(schema);
      if (problem) causes.push({ reason: 'FieldValueInvalid', field: `spec.versions[${i}].schema.openAPIV3Schema`, message: `Invalid value: ${problem}` });
    });
  }
  return causes;
}

/** The built-in ResourceType of CustomResourceDefinition objects. */
export function crdResourceType(): ResourceType {
  const { schemas } = builtinOpenAPI();
  const base = builtinType({
    group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions',
    shortNames: ['crd', 'crds'], namespaced: false, status: true,
    schemaName: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
    printerColumns: [{ name: 'Created At', type: 'string', jsonPath: '.metadata.creationTimestamp' }],
    applyDefaults(obj) {
      const finalizers = obj.metadata.finalizers ?? [];
      if (!obj.metadata.deletionTimestamp && !finalizers.includes(crdCleanupFinalizer)) obj.metadata.finalizers = [...finalizers, crdCleanupFinalizer];
      const spec = obj.spec;
      if (isPlainObject(spec) && isPlainObject(spec.names)) {
        spec.names.singular ??= String(spec.names.kind ?? '').toLowerCase();
        spec.names.listKind ??= `${String(spec.names.kind ?? '')}List`;
      }
    },
    validateUpdate(obj, old) {
      const was = old.spec as CrdSpec | undefined;
      const now = obj.spec as CrdSpec | undefined;
      if (was && now && was.group !== now.group) return [{ reason: 'FieldValueInvalid', field: 'spec.group', message: 'Invalid value: field is immutable' }];
      return [];
    },
  }, schemas);
  return {
    ...base,
    validate: (obj) => [...base.validate(obj), ...validateCrd(obj)],
  };
}

/** The names a CRD has been accepted with, for its status. */
export function acceptedNames(crd: KubeObject): Record<string, unknown> {
  const names = specOf(crd).names;
  return {
    plural: names.plural,
    singular: names.singular ?? names.kind.toLowerCase(),
    kind: names.kind,
    listKind: names.listKind ?? `${names.kind}List`,
    ...(names.shortNames ? { shortNames: names.shortNames } : {}),
    ...(names.categories ? { categories: names.categories } : {}),
  };
}

/** One ResourceType per served version of a CRD. */
export function customResourceTypes(crd: KubeObject): ResourceType[] {
  const spec = specOf(crd);
  const { group, names } = spec;
  return spec.versions.filter((v) => v.served).map((version) => {
    const schemaName = `${reverseDomain(group)}.${version.name}.${names.kind}`;
    const openAPI = structuredClone(version.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) as Record<string, unknown>;
    const properties = (isPlainObject(openAPI.properties) ? openAPI.properties : {}) as Record<string, unknown>;
    openAPI.properties = {
      ...properties,
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }], description: 'Standard object metadata.' },
    };
    openAPI['x-kubernetes-group-version-kind'] = [{ group, version: version.name, kind: names.kind }];
    const validator = compileSchema({ ...openAPI, properties: { ...properties, metadata: { type: 'object' } } });
    const columns: PrinterColumn[] = (version.additionalPrinterColumns ?? []).map((c) => ({
      name: c.name,
      type: (['string', 'integer', 'number', 'boolean', 'date'].includes(c.type) ? c.type : 'string') as PrinterColumn['type'],
      jsonPath: c.jsonPath,
      ...(c.description ? { description: c.description } : {}),
      ...(c.priority ? { priority: c.priority } : {}),
    }));
    const hasAge = columns.some((c) => c.jsonPath === '.metadata.creationTimestamp');
    const type: ResourceType = {
      group,
      version: version.name,
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      namespaced: spec.scope === 'Namespaced',
      schema: { root: schemaName, components: { ...metaSchemas(), [schemaName]: openAPI } },
      printerColumns: hasAge ? columns : [...columns, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
      subresources: { status: version.subresources?.status !== undefined, ...(version.subresources?.scale ? { scale: version.subresources.scale } : {}) },
      fieldLabels: {},
      origin: 'crd',
      validate: (obj) => validator(obj),
      applyDefaults: (obj) => applySchemaDefaults(obj, version.schema?.openAPIV3Schema),
    };
    return type;
  });
}

let metaCache: Record<string, object> | undefined;

/** The meta.v1 schemas a custom resource's published schema refers to. */
function metaSchemas(): Record<string, object> {
  if (!metaCache) {
    const all = builtinOpenAPI().schemas;
    metaCache = Object.fromEntries(Object.entries(all).filter(([name]) => name.startsWith('io.k8s.apimachinery.pkg.apis.meta.v1.')));
  }
  return metaCache;
}

function reverseDomain(group: string): string {
  return group.split('.').reverse().join('.');
}
