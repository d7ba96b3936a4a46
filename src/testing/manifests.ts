/**
 * YAML of the sample workload the fleet tests distribute: the Deployment `web` in `shop` and a
 * DistributionPolicy that selects it by name, with the placement a test passes in.
 */

export interface WebDeploymentOptions {
  replicas: number;
  /** CPU request of each replica (default 100m). */
  cpu?: string;
  /** Memory request of each replica (default 64Mi). */
  memory?: string;
  /** Labels of the Deployment itself, as a YAML flow mapping body (`tier: app`). */
  labels?: string;
}

export function webDeploymentYaml(options: WebDeploymentOptions): string {
  const labels = options.labels ? `, labels: { ${options.labels} }` : '';
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop${labels} }
spec:
  replicas: ${options.replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: nginx:1.27, resources: { requests: { cpu: ${options.cpu ?? '100m'}, memory: ${options.memory ?? '64Mi'} } } }] }
`;
}

/** A DistributionPolicy `web` in `shop` selecting the Deployment `web`; `placement` is YAML indented by four spaces. */
export function webPolicyYaml(placement: string): string {
  return `apiVersion: policy.nephele.dev/v1alpha1
kind: DistributionPolicy
metadata: { name: web, namespace: shop }
spec:
  resourceSelectors: [{ apiVersion: apps/v1, kind: Deployment, name: web }]
  placement:
${placement}`;
}
