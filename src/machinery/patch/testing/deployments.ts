/**
 * Test fixtures for the patch machinery: a slice of the OpenAPI v3 components kube-apiserver
 * publishes for apps/v1 Deployments (same names, same `x-kubernetes-*` extensions, refs wrapped
 * in `allOf` as Kubernetes does), and a fluent Deployment builder.
 */
import type { KubeObject } from '../../object.ts';
import { componentsResolver, schemaNode, type SchemaNode } from '../../schema-node.ts';

const ref = (name: string, extra: Record<string, unknown> = {}) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }], default: {}, ...extra });
const string = { type: 'string', default: '' };
const stringMap = { type: 'object', additionalProperties: { type: 'string', default: '' } };

const keyedList = (item: string, key: string, keys: string[] = [key], strategy = 'merge') => ({
  type: 'array',
  items: ref(item),
  'x-kubernetes-list-map-keys': keys,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-patch-merge-key': key,
  'x-kubernetes-patch-strategy': strategy,
});

export const deploymentComponents = {
  schemas: {
    'io.k8s.api.apps.v1.Deployment': {
      type: 'object',
      'x-kubernetes-group-version-kind': [{ group: 'apps', kind: 'Deployment', version: 'v1' }],
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'),
        spec: ref('io.k8s.api.apps.v1.DeploymentSpec'),
        status: ref('io.k8s.api.apps.v1.DeploymentStatus'),
      },
    },
    'io.k8s.api.apps.v1.DeploymentSpec': {
      type: 'object',
      required: ['selector', 'template'],
      properties: {
        replicas: { type: 'integer', format: 'int32' },
        minReadySeconds: { type: 'integer', format: 'int32' },
        paused: { type: 'boolean' },
        selector: ref('io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector'),
        template: ref('io.k8s.api.core.v1.PodTemplateSpec'),
        strategy: ref('io.k8s.api.apps.v1.DeploymentStrategy', { 'x-kubernetes-patch-strategy': 'retainKeys' }),
      },
    },
    'io.k8s.api.apps.v1.DeploymentStrategy': {
      type: 'object',
      properties: {
        type: string,
        rollingUpdate: ref('io.k8s.api.apps.v1.RollingUpdateDeployment'),
      },
    },
    'io.k8s.api.apps.v1.RollingUpdateDeployment': {
      type: 'object',
      properties: {
        maxSurge: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString'),
        maxUnavailable: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString'),
      },
    },
    'io.k8s.api.apps.v1.DeploymentStatus': {
      type: 'object',
      properties: {
        replicas: { type: 'integer' },
        readyReplicas: { type: 'integer' },
        conditions: keyedList('io.k8s.api.apps.v1.DeploymentCondition', 'type'),
      },
    },
    'io.k8s.api.apps.v1.DeploymentCondition': {
      type: 'object',
      properties: { type: string, status: string, reason: { type: 'string' }, message: { type: 'string' } },
    },
    'io.k8s.api.core.v1.PodTemplateSpec': {
      type: 'object',
      properties: {
        metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'),
        spec: ref('io.k8s.api.core.v1.PodSpec'),
      },
    },
    'io.k8s.api.core.v1.PodSpec': {
      type: 'object',
      properties: {
        containers: keyedList('io.k8s.api.core.v1.Container', 'name'),
        initContainers: keyedList('io.k8s.api.core.v1.Container', 'name'),
        volumes: keyedList('io.k8s.api.core.v1.Volume', 'name', ['name'], 'merge,retainKeys'),
        nodeSelector: { ...stringMap, 'x-kubernetes-map-type': 'atomic' },
        serviceAccountName: { type: 'string' },
        hostname: { type: 'string' },
        tolerations: { type: 'array', items: ref('io.k8s.api.core.v1.Toleration'), 'x-kubernetes-list-type': 'atomic' },
        imagePullSecrets: keyedList('io.k8s.api.core.v1.LocalObjectReference', 'name'),
      },
    },
    'io.k8s.api.core.v1.Container': {
      type: 'object',
      required: ['name'],
      properties: {
        name: string,
        image: { type: 'string' },
        imagePullPolicy: { type: 'string' },
        command: { type: 'array', items: string, 'x-kubernetes-list-type': 'atomic' },
        args: { type: 'array', items: string, 'x-kubernetes-list-type': 'atomic' },
        env: keyedList('io.k8s.api.core.v1.EnvVar', 'name'),
        ports: keyedList('io.k8s.api.core.v1.ContainerPort', 'containerPort', ['containerPort', 'protocol']),
        volumeMounts: keyedList('io.k8s.api.core.v1.VolumeMount', 'mountPath'),
        resources: ref('io.k8s.api.core.v1.ResourceRequirements'),
      },
    },
    'io.k8s.api.core.v1.EnvVar': {
      type: 'object',
      required: ['name'],
      properties: { name: string, value: { type: 'string' }, valueFrom: ref('io.k8s.api.core.v1.EnvVarSource') },
    },
    'io.k8s.api.core.v1.EnvVarSource': {
      type: 'object',
      properties: { fieldRef: ref('io.k8s.api.core.v1.ObjectFieldSelector') },
    },
    'io.k8s.api.core.v1.ObjectFieldSelector': {
      type: 'object',
      properties: { apiVersion: { type: 'string' }, fieldPath: string },
      'x-kubernetes-map-type': 'atomic',
    },
    'io.k8s.api.core.v1.ContainerPort': {
      type: 'object',
      required: ['containerPort'],
      properties: { name: { type: 'string' }, containerPort: { type: 'integer', format: 'int32', default: 0 }, protocol: { type: 'string', default: 'TCP' } },
    },
    'io.k8s.api.core.v1.VolumeMount': {
      type: 'object',
      required: ['name', 'mountPath'],
      properties: { name: string, mountPath: string, readOnly: { type: 'boolean' } },
    },
    'io.k8s.api.core.v1.Volume': {
      type: 'object',
      required: ['name'],
      properties: {
        name: string,
        configMap: ref('io.k8s.api.core.v1.ConfigMapVolumeSource'),
        emptyDir: ref('io.k8s.api.core.v1.EmptyDirVolumeSource'),
        secret: ref('io.k8s.api.core.v1.SecretVolumeSource'),
      },
    },
    'io.k8s.api.core.v1.ConfigMapVolumeSource': { type: 'object', properties: { name: string, defaultMode: { type: 'integer' } } },
    'io.k8s.api.core.v1.EmptyDirVolumeSource': { type: 'object', properties: { medium: { type: 'string' }, sizeLimit: { type: 'string' } } },
    'io.k8s.api.core.v1.SecretVolumeSource': { type: 'object', properties: { secretName: { type: 'string' } } },
    'io.k8s.api.core.v1.LocalObjectReference': {
      type: 'object',
      properties: { name: string },
      'x-kubernetes-map-type': 'atomic',
    },
    'io.k8s.api.core.v1.Toleration': {
      type: 'object',
      properties: { key: { type: 'string' }, operator: { type: 'string' }, value: { type: 'string' }, effect: { type: 'string' } },
    },
    'io.k8s.api.core.v1.ResourceRequirements': {
      type: 'object',
      properties: {
        limits: { type: 'object', additionalProperties: ref('io.k8s.apimachinery.pkg.api.resource.Quantity') },
        requests: { type: 'object', additionalProperties: ref('io.k8s.apimachinery.pkg.api.resource.Quantity') },
      },
    },
    'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
    'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
    'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector': {
      type: 'object',
      properties: {
        matchLabels: stringMap,
        matchExpressions: { type: 'array', items: ref('io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement'), 'x-kubernetes-list-type': 'atomic' },
      },
      'x-kubernetes-map-type': 'atomic',
    },
    'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement': {
      type: 'object',
      properties: { key: string, operator: string, values: { type: 'array', items: string, 'x-kubernetes-list-type': 'atomic' } },
    },
    'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': {
      type: 'object',
      properties: {
        name: { type: 'string' },
        namespace: { type: 'string' },
        uid: { type: 'string' },
        resourceVersion: { type: 'string' },
        generation: { type: 'integer', format: 'int64' },
        creationTimestamp: { type: 'string', format: 'date-time' },
        labels: stringMap,
        annotations: stringMap,
        finalizers: { type: 'array', items: string, 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
        ownerReferences: keyedList('io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference', 'uid'),
        managedFields: { type: 'array', items: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry') },
      },
    },
    'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference': {
      type: 'object',
      properties: { apiVersion: string, kind: string, name: string, uid: string, controller: { type: 'boolean' } },
      'x-kubernetes-map-type': 'atomic',
    },
    'io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry': {
      type: 'object',
      properties: {
        manager: { type: 'string' },
        operation: { type: 'string' },
        apiVersion: { type: 'string' },
        time: { type: 'string' },
        fieldsType: { type: 'string' },
        fieldsV1: { type: 'object' },
        subresource: { type: 'string' },
      },
    },
  },
};

/** The SchemaNode of an apps/v1 Deployment. */
export function deploymentSchema(): SchemaNode {
  return schemaNode(deploymentComponents.schemas['io.k8s.api.apps.v1.Deployment'], componentsResolver({ components: deploymentComponents }));
}

export interface ContainerSpec {
  name: string;
  image?: string;
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ containerPort: number; protocol?: string; name?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  args?: string[];
  [field: string]: unknown;
}

/** A Deployment as tests handle it: `spec` is open for reading and writing. */
export type DeploymentObject = KubeObject & { spec: Record<string, any> };

/** A fluent Deployment builder: `makeDeployment('web').replicas(3).container({ name: 'web', image: 'nginx' }).obj()`. */
export function makeDeployment(name = 'web') {
  const obj: DeploymentObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [] } },
    },
  };
  const podSpec = () => obj.spec.template.spec as Record<string, any>;
  const builder = {
    replicas(n: number) {
      obj.spec.replicas = n;
      return builder;
    },
    label(key: string, value: string) {
      obj.metadata.labels = { ...obj.metadata.labels, [key]: value };
      return builder;
    },
    annotation(key: string, value: string) {
      obj.metadata.annotations = { ...obj.metadata.annotations, [key]: value };
      return builder;
    },
    container(container: ContainerSpec) {
      podSpec().containers.push(container);
      return builder;
    },
    volume(volume: Record<string, unknown> & { name: string }) {
      (podSpec().volumes ??= []).push(volume);
      return builder;
    },
    podSpec(fields: Record<string, unknown>) {
      Object.assign(podSpec(), fields);
      return builder;
    },
    meta(fields: Partial<KubeObject['metadata']>) {
      Object.assign(obj.metadata, fields);
      return builder;
    },
    obj(): DeploymentObject {
      return structuredClone(obj);
    },
  };
  return builder;
}

/** Reads a nested field of a test object without type noise. */
export function dig(value: unknown, ...path: Array<string | number>): any {
  let current: any = value;
  for (const key of path) current = current?.[key];
  return current;
}
