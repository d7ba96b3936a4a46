/**
 * A fluent builder for ConfigMap request bodies:
 * `makeConfigMap().name('a').data({ k: 'v' }).resourceVersion('7').json()`.
 */

export interface ConfigMapBody {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export interface ConfigMapBuilder {
  name(name: string): ConfigMapBuilder;
  namespace(namespace: string): ConfigMapBuilder;
  labels(labels: Record<string, string>): ConfigMapBuilder;
  data(data: Record<string, string>): ConfigMapBuilder;
  resourceVersion(resourceVersion: string): ConfigMapBuilder;
  /** The body as an object (a fresh copy each call). */
  obj(): ConfigMapBody;
  /** The body as JSON text, ready to send. */
  json(): string;
}

export function makeConfigMap(): ConfigMapBuilder {
  const body: ConfigMapBody = { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} };
  const builder: ConfigMapBuilder = {
    name: (name) => ((body.metadata.name = name), builder),
    namespace: (namespace) => ((body.metadata.namespace = namespace), builder),
    labels: (labels) => ((body.metadata.labels = { ...labels }), builder),
    data: (data) => ((body.data = { ...data }), builder),
    resourceVersion: (rv) => ((body.metadata.resourceVersion = rv), builder),
    obj: () => structuredClone(body),
    json: () => JSON.stringify(body),
  };
  return builder;
}
