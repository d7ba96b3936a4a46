/**
 * The portal in a real browser (Debian's Chromium via playwright-core) against a hub running the
 * demo fleet: sign-in (and refusal of a wrong token), the overview, a cluster's node heat map,
 * moving replicas by applying a DistributionPolicy in the YAML editor, and a schema error shown
 * at its field. Screenshots of each view go to test-output/screenshots/; with
 * NEPHELE_UPDATE_SCREENSHOTS=1 the README's two are refreshed in docs/screenshots/ too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { waitFor } from '../src/testing/wait.ts';
import { createManifestObjects } from '../src/hub/manifests.ts';
import { ensurePortalBuilt } from '../src/hub/portal.ts';
import { realScheduler, type Scheduler } from '../src/controller/index.ts';
import { launchChromium, newPortalPage, signIn } from '../ui/testing/browser.ts';

const root = new URL('..', import.meta.url).pathname;
const shots = join(root, 'test-output', 'screenshots');
const seedUser = { username: 'system:nephele-seed', groups: ['system:masters'] };
/**
 * Real timers that do not keep the process alive: a fleet controller's resync timer can outlive
 * the hub's stop by a minute, and this file should end when its tests do.
 */
const unrefScheduler: Scheduler = {
  ...realScheduler,
  after(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => clearTimeout(timer);
  },
};
/** The screenshots the README shows. */
const readmeShots = ['overview', 'workload-placement'];
let hub: TestHub;
let browser: Browser;
let page: Page;

async function shot(name: string): Promise<void> {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path });
  if (process.env.NEPHELE_UPDATE_SCREENSHOTS === '1' && readmeShots.includes(name)) copyFileSync(path, join(root, 'docs', 'screenshots', `${name}.png`));
}

/** A link in the portal's navigation bar. */
function nav(name: string) {
  return page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true });
}

function placement(): Promise<Record<string, number>> {
  return hub.call('GET', '/apis/fleet.nephele.dev/v1alpha1/namespaces/shop/resourcebindings/web-deployment').then((r) => {
    if (r.status !== 200) return {};
    return Object.fromEntries(((r.json().spec?.clusters ?? []) as Array<{ name: string; replicas?: number }>).map((c) => [c.name, c.replicas ?? 0]));
  });
}

before(async () => {
  const failure = ensurePortalBuilt();
  if (failure) throw new Error(failure);
  mkdirSync(shots, { recursive: true });
  if (process.env.NEPHELE_UPDATE_SCREENSHOTS === '1') mkdirSync(join(root, 'docs', 'screenshots'), { recursive: true });
  hub = await startTestHub({ fleetScheduler: unrefScheduler });
  for (const file of ['demo-fleet.yaml', 'web-app.yaml', 'web-placement.yaml']) {
    await createManifestObjects(readFileSync(join(root, 'docs', 'examples', file), 'utf8'), hub.catalog, hub.registry, seedUser);
  }
  await waitFor('the demo workload placed on three clusters', async () => Object.keys(await placement()).length === 3, { timeoutMs: 30_000 });
  browser = await launchChromium();
  page = await newPortalPage(browser);
  page.setDefaultTimeout(15_000);
});

after(async () => {
  await browser?.close();
  await hub?.close();
});

test('the hub serves the portal without a token, with deep links falling back to the app', async () => {
  const index = await hub.call('GET', '/ui/', { token: '' });
  assert.equal(index.status, 200);
  assert.match(index.body, /<div id="root">/);
  const deep = await hub.call('GET', '/ui/clusters/aws-us-east-1', { token: '' });
  assert.equal(deep.status, 200);
  assert.equal(deep.body, index.body);
  assert.equal((await hub.call('GET', '/ui/assets/missing.js', { token: '' })).status, 404);
  assert.equal((await hub.call('POST', '/ui/', { token: '', body: '{}' })).status, 405);
});

test('the member proxy lists a member\'s nodes for a token holder, and nothing else', async () => {
  const nodes = await hub.call('GET', '/apis/fleet.nephele.dev/v1alpha1/clusters/aws-us-east-1/proxy/api/v1/nodes');
  assert.equal(nodes.status, 200);
  assert.equal(nodes.json().kind, 'NodeList');
  assert.equal(nodes.json().items.length, 4);
  assert.equal((await hub.call('GET', '/apis/fleet.nephele.dev/v1alpha1/clusters/aws-us-east-1/proxy/api/v1/nodes', { token: '' })).status, 401);
  const secrets = await hub.call('GET', '/apis/fleet.nephele.dev/v1alpha1/clusters/aws-us-east-1/proxy/api/v1/secrets');
  assert.equal(secrets.status, 404);
  assert.match(secrets.json().message, /only lists of nodes and pods/);
  assert.equal((await hub.call('GET', '/apis/fleet.nephele.dev/v1alpha1/clusters/nowhere/proxy/api/v1/nodes')).status, 503);
  assert.equal((await hub.call('DELETE', '/apis/fleet.nephele.dev/v1alpha1/clusters/aws-us-east-1/proxy/api/v1/nodes')).status, 405);
});

test('a wrong token is refused with a clear message', async () => {
  await page.goto(`${hub.url}/ui/`);
  await page.getByLabel('Bearer token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /refused this token.*nephele ui-token/s);
  await shot('sign-in-refused');
});

test('after sign-in the overview shows the demo fleet\'s clusters', async () => {
  await signIn(page, hub.url, hub.token);
  const regions = page.getByTestId('overview-regions');
  for (const name of ['aws-us-east-1', 'gcp-europe-west1', 'azure-eastus']) await regions.getByRole('link', { name }).waitFor();
  await page.getByTestId('topology').locator('canvas').first().waitFor();
  assert.match(await page.getByTestId('total-clusters').innerText(), /3/);
  assert.match(await page.getByTestId('total-nodes').innerText(), /10\s*\/\s*10 ready/);
  // The members' pods count against their pod slots once their heartbeats report them.
  await page.waitForFunction(`/^[1-9]\\d*\\s*\\//.test(document.querySelector('[data-testid="total-pods"] .card-value')?.textContent ?? '')`, undefined, { timeout: 20_000 });
  await page.waitForTimeout(300);
  await shot('overview');
});

test('the clusters table sorts and filters, and opens a cluster page with its nodes\' heat map', async () => {
  await nav('Clusters').click();
  await page.getByTestId('clusters-table').locator('[data-cluster]').first().waitFor();
  assert.equal(await page.getByTestId('clusters-table').locator('[data-cluster]').count(), 3);
  await page.getByRole('button', { name: 'Sort by Name' }).click();
  assert.equal(await page.getByTestId('clusters-table').locator('[data-cluster]').first().getAttribute('data-cluster'), 'gcp-europe-west1');
  await page.getByLabel('Filter clusters').fill('aws');
  await waitFor('the filter applied', async () => (await page.getByTestId('clusters-table').locator('[data-cluster]').count()) === 1);
  assert.match(page.url(), /\/ui\/clusters\?.*q=aws/);
  await shot('clusters');
  // Keyboard: focus the table, move to the first row, open it.
  await page.getByTestId('clusters-table').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/ui\/clusters\/aws-us-east-1$/);
  await page.getByTestId('node-heatmap').locator('canvas').first().waitFor();
  assert.equal(await page.getByTestId('node-table').locator('tbody tr').count(), 4);
  assert.match(await page.getByTestId('labels').innerText(), /nephele\.dev\/fleet=demo/);
  assert.match(await page.getByTestId('conditions').innerText(), /Ready\s+True/);
  await page.waitForTimeout(300);
  await shot('cluster');
});

test('a Service, which has no replicas, shows where it went without counts', async () => {
  await nav('Workloads').click();
  const row = page.locator('[data-workload="shop/web-service"]');
  await row.waitFor();
  assert.equal(await row.locator('.placement').innerText(), 'aws-us-east-1, azure-eastus, gcp-europe-west1');
  await page.getByRole('link', { name: 'Service/web' }).click();
  await page.getByTestId('no-replicas').waitFor();
  assert.match(await page.getByTestId('no-replicas').innerText(), /A Service has no replicas: each cluster above gets a whole copy/);
  assert.equal(await page.getByTestId('replicas-aws-us-east-1').innerText(), '—');
});

test('applying a DistributionPolicy in the YAML editor moves replicas, and the workloads view follows without a reload', async () => {
  await nav('Workloads').click();
  await page.getByRole('link', { name: 'Deployment/web' }).click();
  await page.getByTestId('replicas-aws-us-east-1').waitFor();
  assert.equal(await page.getByTestId('replicas-aws-us-east-1').innerText(), '3');
  await page.waitForTimeout(300);
  await shot('workload-placement');
  await page.evaluate(() => { (window as unknown as { notReloaded: boolean }).notReloaded = true; });

  await nav('Policies').click();
  await page.getByRole('link', { name: 'web', exact: true }).click();
  const editor = page.getByLabel('Policy YAML');
  await editor.waitFor();
  const yaml = await editor.inputValue();
  assert.match(yaml, /weight: 2/);
  // Weights 1:1:4 instead of 2:1:1: Azure gets most of the six replicas.
  const moved = yaml.replace(/(clusterNames:\s*\n?\s*-?\s*\[?\s*aws-us-east-1[\s\S]*?weight: )2/, '$11').replace(/(azure-eastus[\s\S]*?weight: )1/, '$14');
  assert.notEqual(moved, yaml);
  await editor.fill(moved);
  await page.getByRole('button', { name: 'Dry run and apply' }).click();
  await page.getByTestId('apply-result').filter({ hasNotText: /Checking|applying/ }).waitFor();
  assert.match(await page.getByTestId('apply-result').innerText(), /Applied/);
  await page.getByTestId('apply-result').filter({ hasText: 'Applied DistributionPolicy shop/web' }).waitFor();
  await shot('policy');

  await nav('Workloads').click();
  await page.getByRole('link', { name: 'Deployment/web' }).click();
  await waitFor('azure-eastus shown with 4 replicas', async () => (await page.getByTestId('replicas-azure-eastus').innerText().catch(() => '')) === '4', { timeoutMs: 20_000 });
  assert.deepEqual(await placement(), { 'aws-us-east-1': 1, 'gcp-europe-west1': 1, 'azure-eastus': 4 });
  assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'the page was not reloaded');
});

test('a policy with a schema error shows the error next to the field', async () => {
  await nav('Policies').click();
  await page.getByRole('link', { name: 'New policy' }).click();
  const editor = page.getByLabel('Policy YAML');
  const text = (await editor.inputValue()).replace('replicaSchedulingType: Divided', 'replicaSchedulingType: Sometimes');
  await editor.fill(text);
  await page.getByRole('button', { name: 'Dry run and apply' }).click();
  const marker = page.locator('[data-testid="field-error"][data-field*="spec.placement.replicaScheduling.replicaSchedulingType"]');
  await marker.waitFor();
  const expectedLine = text.split('\n').findIndex((l) => l.includes('replicaSchedulingType')) + 1;
  assert.equal(await marker.getAttribute('data-line'), String(expectedLine));
  assert.match(await marker.innerText(), /Sometimes|supported values/);
  assert.match(await page.getByRole('alert').innerText(), /DistributionPolicy/);
  // The dry run refused it, so nothing was created.
  assert.equal((await hub.call('GET', '/apis/policy.nephele.dev/v1alpha1/namespaces/default/distributionpolicies/my-policy')).status, 404);
  await shot('policy-error');
});

test('the events view streams the hub\'s events and filters them', async () => {
  await nav('Events').click();
  await page.getByTestId('events-table').locator('.trow').first().waitFor();
  await page.getByLabel('Filter events').fill('ClusterReady');
  await waitFor('only ClusterReady events', async () => {
    const texts = await page.getByTestId('events-table').locator('.trow').allInnerTexts();
    return texts.length > 0 && texts.every((t) => t.includes('ClusterReady'));
  });
  await shot('events');
});

test('a cluster shared read-only from another hub is marked so in the clusters table and on its page', async () => {
  await createManifestObjects(`apiVersion: fleet.nephele.dev/v1alpha1
kind: Cluster
metadata: { name: shared-observed }
spec: { mode: Push, access: ReadOnly, provider: aws, region: eu-west-1, kubeconfigSecretRef: { namespace: nephele-system, name: shared-observed-kubeconfig } }
`, hub.catalog, hub.registry, seedUser);
  await page.goto(page.url().replace(/\/ui\/.*$/, '/ui/clusters'));
  const table = page.getByTestId('clusters-table');
  const row = table.locator('[data-cluster="shared-observed"]');
  await row.waitFor();
  assert.match(await row.innerText(), /read-only/);
  assert.doesNotMatch(await table.locator('[data-cluster="aws-us-east-1"]').innerText(), /read-only/);
  await row.getByRole('link', { name: 'shared-observed' }).click();
  await page.waitForURL(/\/ui\/clusters\/shared-observed$/);
  await page.getByText('read-only: another hub owns its workloads').waitFor();
});
