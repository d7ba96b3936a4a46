/**
 * The portal with a large fleet: 1,000 Cluster objects (mode Push, no Secret, no fleet
 * controllers running; each one's status written directly through the API, as the cluster
 * controller would: nodes, capacity, allocation, Ready), then in headless Chromium the time from
 * pressing "Sign in" until the overview shows all clusters and until the clusters table is
 * rendered, and the time from a Cluster label change at the API to the new value on screen.
 *
 *   npm run -s bench -- portal [--json] [--clusters N] [--runs N]
 */
import { startTestHub } from '../src/testing/hub.ts';
import { ensurePortalBuilt } from '../src/hub/portal.ts';
import { launchChromium, newPortalPage } from '../ui/testing/browser.ts';
import { benchArgs, emitReport, machineInfo, numberArg, percentile, programVersion, round, target, type BenchReport, type BenchResult } from './report.ts';
import { chromiumPath } from '../ui/testing/browser.ts';

const usage = 'usage: npm run -s bench -- portal [--json] [--record] [--clusters N (default 1000)] [--runs N (default 5)]';
const providers = [['aws', ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-1']], ['gcp', ['europe-west1', 'us-central1', 'asia-east1']], ['azure', ['eastus', 'westeurope', 'japaneast']]] as const;

function clusterObject(i: number) {
  const [provider, regions] = providers[i % providers.length]!;
  const region = regions[Math.floor(i / providers.length) % regions.length]!;
  return {
    apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster',
    metadata: { name: `bench-${String(i).padStart(4, '0')}`, labels: { 'nephele.dev/fleet': 'bench', 'topology.kubernetes.io/region': region, 'bench.nephele.dev/round': '0' } },
    spec: { mode: 'Push', provider, region, zone: `${region}-a` },
  };
}

function clusterStatus(i: number) {
  const nodes = 3 + (i % 5);
  return {
    conditions: [{ type: 'Ready', status: i % 50 === 7 ? 'False' : 'True', reason: 'Bench', message: 'written by bench/portal.ts', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
    kubernetesVersion: 'v1.32.0', nodeCount: nodes, readyNodeCount: nodes,
    capacity: { cpu: String(nodes * 8), memory: `${nodes * 32}Gi`, pods: String(nodes * 110) },
    allocatable: { cpu: `${nodes * 7800}m`, memory: `${nodes * 30}Gi`, pods: String(nodes * 110) },
    allocated: { cpu: `${(i * 37) % (nodes * 7000)}m`, memory: `${(i * 13) % (nodes * 20)}Gi` },
  };
}

export async function main(argv: string[]): Promise<void> {
  const values = benchArgs(argv, {
    clusters: { type: 'string' }, runs: { type: 'string' },
  }, usage);
  if (!values) return;
  const whole = (name: string, raw: string | undefined, fallback: number): number => numberArg(name, raw, fallback, { min: 1, integer: true, usage });
  const count = whole('clusters', values.clusters, 1000);
  const runs = whole('runs', values.runs, 5);
  const built = ensurePortalBuilt();
  if (built) throw new Error(built);
  const machine = machineInfo({ chromium: programVersion(chromiumPath()) ?? 'unknown' });
  const hub = await startTestHub({ fleetControllers: [] });
  const browser = await launchChromium();
  const results: BenchResult[] = [];
  const notes: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = clusterObject(i).metadata.name;
      const created = await hub.call('POST', '/apis/fleet.nephele.dev/v1alpha1/clusters', { body: JSON.stringify(clusterObject(i)), headers: { 'content-type': 'application/json' } });
      if (created.status !== 201) throw new Error(`creating ${name}: ${created.status} ${created.body}`);
      const withStatus = { ...created.json(), status: clusterStatus(i) };
      const put = await hub.call('PUT', `/apis/fleet.nephele.dev/v1alpha1/clusters/${name}/status`, { body: JSON.stringify(withStatus), headers: { 'content-type': 'application/json' } });
      if (put.status !== 200) throw new Error(`writing the status of ${name}: ${put.status} ${put.body}`);
    }
    const overview: number[] = [];
    const table: number[] = [];
    for (let r = 0; r < runs; r++) {
      const page = await newPortalPage(browser);
      page.setDefaultTimeout(30_000);
      await page.goto(`${hub.url}/ui/`);
      await page.getByLabel('Bearer token').fill(hub.token);
      const start = performance.now();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('total-clusters').filter({ hasText: String(count) }).waitFor();
      await page.getByTestId('topology').locator('canvas').first().waitFor();
      overview.push(performance.now() - start);
      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Clusters', exact: true }).click();
      await page.getByTestId('cluster-count').filter({ hasText: `${count} of ${count} clusters` }).waitFor();
      await page.getByTestId('clusters-table').locator('[data-cluster="bench-0000"]').waitFor();
      table.push(performance.now() - start);
      await page.context().close();
    }
    // A label change on the first row, from the API to the screen.
    const page = await newPortalPage(browser);
    page.setDefaultTimeout(30_000);
    await page.goto(`${hub.url}/ui/`);
    await page.getByLabel('Bearer token').fill(hub.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Clusters', exact: true }).click();
    const row = page.getByTestId('clusters-table').locator('[data-cluster="bench-0000"]');
    await row.waitFor();
    const events: number[] = [];
    for (let round = 1; round <= 20; round++) {
      const start = performance.now();
      const patched = await hub.call('PATCH', '/apis/fleet.nephele.dev/v1alpha1/clusters/bench-0000', { body: JSON.stringify({ metadata: { labels: { 'bench.nephele.dev/round': String(round) } } }), headers: { 'content-type': 'application/merge-patch+json' } });
      if (patched.status !== 200) throw new Error(`labelling bench-0000: ${patched.status} ${patched.body}`);
      await row.locator('.cell-labels').filter({ hasText: `bench.nephele.dev/round=${round}` }).waitFor();
      events.push(performance.now() - start);
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const o = sorted(overview);
    const t = sorted(table);
    const e = sorted(events);
    results.push(
      { name: `sign-in to overview rendered, median of ${runs} (${count} clusters)`, value: round(percentile(o, 50)), unit: 'ms' },
      { name: `sign-in to clusters table rendered, median of ${runs}`, value: round(percentile(t, 50)), unit: 'ms', anchor: target(percentile(t, 50), '<=', 2000, 'ms') },
      { name: `sign-in to clusters table rendered, slowest of ${runs}`, value: round(t[t.length - 1]!), unit: 'ms' },
      { name: 'Cluster label change to on screen, p50 of 20', value: round(percentile(e, 50)), unit: 'ms' },
      { name: 'Cluster label change to on screen, p95 of 20', value: round(percentile(e, 95)), unit: 'ms', anchor: target(percentile(e, 95), '<=', 1000, 'ms') },
    );
    notes.push('Clusters are objects only (mode Push, no kubeconfig Secret, fleet controllers off); their status is written once through the API.',
      'Times are wall clock in this process around Playwright calls, so they include the round trips to Chromium (a few ms each).');
  } finally {
    await browser.close();
    await hub.close();
  }
  const report: BenchReport = { bench: 'portal', date: new Date().toISOString(), machine, config: { clusters: count, runs, viewport: '1280x800', browser: 'headless Chromium' }, results, notes };
  await emitReport(report, { json: values.json, record: values.record });
}
