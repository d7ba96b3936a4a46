/**
 * Names client-node models the way Kubernetes names their OpenAPI schemas: `V1DeploymentSpec` is
 * `io.k8s.api.apps.v1.DeploymentSpec`. client-node drops the Go package from class names (it keeps a
 * group prefix only where two groups share a type name, as in `CoreV1Event`), so the package is
 * recovered from kubernetes-models, which lays out one folder per group version with one file per
 * type. The apimachinery meta types are listed here: they live in a package this project does not
 * depend on directly, and they change rarely.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const metaV1 = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** Schema names of the types client-node flattens to scalars or `any`, emitted by hand. */
export const schemaNames = {
  time: `${metaV1}.Time`,
  microTime: `${metaV1}.MicroTime`,
  fieldsV1: `${metaV1}.FieldsV1`,
  quantity: 'io.k8s.apimachinery.pkg.api.resource.Quantity',
  intOrString: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  rawExtension: 'io.k8s.apimachinery.pkg.runtime.RawExtension',
} as const;

const metaV1Types = new Set([
  'APIResource',
  'APIResourceList',
  'Condition',
  'DeleteOptions',
  'FieldSelectorRequirement',
  'FieldsV1',
  'LabelSelector',
  'LabelSelectorRequirement',
  'ListMeta',
  'ManagedFieldsEntry',
  'MicroTime',
  'ObjectMeta',
  'OwnerReference',
  'Preconditions',
  'ShardInfo',
  'Status',
  'StatusCause',
  'StatusDetails',
  'Time',
  'WatchEvent',
]);

interface ApiPackage {
  /** Kubernetes' Go package, as it prefixes schema names. */
  name: string;
  /** The group prefix client-node puts on a class whose type name is shared with another group. */
  prefix: string;
  /** kubernetes-models' module for this group version; its folder holds one `.d.ts` per type. */
  module: string;
}

const apiPackages: readonly ApiPackage[] = [
  { name: 'io.k8s.api.core.v1', prefix: 'Core', module: 'kubernetes-models/v1' },
  { name: 'io.k8s.api.apps.v1', prefix: 'Apps', module: 'kubernetes-models/apps/v1' },
  { name: 'io.k8s.api.batch.v1', prefix: 'Batch', module: 'kubernetes-models/batch/v1' },
  { name: 'io.k8s.api.coordination.v1', prefix: 'Coordination', module: 'kubernetes-models/coordination.k8s.io/v1' },
  { name: 'io.k8s.api.scheduling.v1', prefix: 'Scheduling', module: 'kubernetes-models/scheduling.k8s.io/v1' },
  { name: 'io.k8s.api.policy.v1', prefix: 'Policy', module: 'kubernetes-models/policy/v1' },
  {
    name: 'io.k8s.api.admissionregistration.v1',
    prefix: 'Admissionregistration',
    module: 'kubernetes-models/admissionregistration.k8s.io/v1',
  },
  { name: 'io.k8s.api.authorization.v1', prefix: 'Authorization', module: 'kubernetes-models/authorization.k8s.io/v1' },
  { name: 'io.k8s.api.authentication.v1', prefix: 'Authentication', module: 'kubernetes-models/authentication.k8s.io/v1' },
  {
    name: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1',
    prefix: 'Apiextensions',
    module: 'kubernetes-models/apiextensions.k8s.io/v1',
  },
];

let typesByPackage: Map<ApiPackage, Set<string>> | undefined;

function packageTypes(): Map<ApiPackage, Set<string>> {
  typesByPackage ??= new Map(
    apiPackages.map((pkg) => {
      const folder = dirname(fileURLToPath(import.meta.resolve(pkg.module)));
      const names = readdirSync(folder)
        .filter((f) => f.endsWith('.d.ts') && f !== 'index.d.ts')
        .map((f) => f.slice(0, -'.d.ts'.length));
      return [pkg, new Set(names)];
    }),
  );
  return typesByPackage;
}

const className = /^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$/;

/**
 * The Kubernetes schema name of a client-node model class. Throws when the class cannot be placed in
 * exactly one known package, so a client-node upgrade that brings a type from elsewhere fails loudly.
 */
export function kubernetesSchemaName(modelClass: string): string {
  const parts = className.exec(modelClass);
  if (!parts || parts[2] !== 'V1') throw new Error(`cannot name client-node model ${modelClass}: not a v1 model`);
  const prefix = parts[1];
  const type = parts[3]!;
  if (prefix === undefined && metaV1Types.has(type)) return `${metaV1}.${type}`;
  const homes = [...packageTypes()].filter(([pkg, types]) => (prefix === undefined || pkg.prefix === prefix) && types.has(type));
  if (homes.length !== 1) {
    throw new Error(`cannot name client-node model ${modelClass}: found in ${homes.length} of the known API packages`);
  }
  return `${homes[0]![0].name}.${type}`;
}
