import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualScheduler } from '../../controller/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { waitFor } from '../../testing/wait.ts';
import { array, record } from '../pods.ts';
import { jobsRef } from '../resources.ts';
import { controllerUidLabel, formatIndexes, jobCompletionIndexAnnotation, jobController, jobNameLabel, legacyControllerUidLabel, legacyJobNameLabel } from './job.ts';
import { startControllerHarness, type ControllerHarness } from './test-harness.ts';

function job(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default' },
    spec: {
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox:1.36' }] } },
      ...spec,
    },
  };
}

function condition(obj: KubeObject, type: string): Record<string, unknown> | undefined {
  return array(record(obj.status).conditions).find((c) => c.type === type && c.status === 'True');
}

describe('Job controller', () => {
  let h: ControllerHarness;
  before(async () => { h = await startControllerHarness('jobs', [jobController]); });
  after(async () => { await h.stop(); });

  const getJob = (name: string) => h.client.get(jobsRef, 'default', name);
  const activePods = async (name: string) => (await h.pods('default', `job-name=${name}`)).filter((p) => !['Succeeded', 'Failed'].includes(String(record(p.status).phase)));

  it('runs completions with at most parallelism pods at a time, then completes', async () => {
    const created = await h.client.create(jobsRef, 'default', job('batch', { completions: 3, parallelism: 2 }));
    const pods = await waitFor('two pods', async () => { const p = await activePods('batch'); return p.length === 2 && p; });
    const labels = pods[0]!.metadata.labels!;
    assert.equal(labels[jobNameLabel], 'batch');
    assert.equal(labels[legacyJobNameLabel], 'batch');
    assert.equal(labels[controllerUidLabel], created.metadata.uid);
    assert.equal(labels[legacyControllerUidLabel], created.metadata.uid);
    assert.equal(record(pods[0]!.spec).restartPolicy, 'Never');

    await h.runPod(pods[0]!);
    await waitFor('ready counted', async () => record((await getJob('batch')).status).ready === 1);
    await h.finishPod(pods[0]!, 'Succeeded');
    const third = await waitFor('a third pod', async () => (await activePods('batch')).find((p) => p.metadata.name !== pods[1]!.metadata.name));
    assert.equal((await activePods('batch')).length, 2);
    await h.finishPod(pods[1]!, 'Succeeded');
    // Only one completion is left: no new pod beyond the one running.
    await waitFor('succeeded 2', async () => record((await getJob('batch')).status).succeeded === 2);
    assert.equal((await activePods('batch')).length, 1);
    await h.finishPod(third, 'Succeeded');

    const done = await waitFor('Complete', async () => { const j = await getJob('batch'); return condition(j, 'Complete') && j; });
    const status = record(done.status);
    assert.equal(status.succeeded, 3);
    assert.equal(status.active, 0);
    assert.equal(status.failed, 0);
    assert.ok(status.startTime);
    assert.ok(status.completionTime);
    assert.equal(condition(done, 'SuccessCriteriaMet')?.reason, 'CompletionsReached');
    assert.equal(condition(done, 'Complete')?.reason, 'CompletionsReached');
  });

  it('fails with BackoffLimitExceeded once more pods failed than the limit, deleting the active ones', async () => {
    await h.client.create(jobsRef, 'default', job('flaky', { completions: 4, parallelism: 2, backoffLimit: 1 }));
    const [a, b] = await waitFor('two pods', async () => { const p = await activePods('flaky'); return p.length === 2 && p; });
    await h.finishPod(a!, 'Failed');
    // One failure is within the limit: a replacement runs.
    const replacement = await waitFor('replacement', async () => (await activePods('flaky')).find((p) => p.metadata.name !== b!.metadata.name));
    assert.equal(record((await getJob('flaky')).status).failed, 1);
    await h.finishPod(replacement, 'Failed');
    const failed = await waitFor('Failed', async () => { const j = await getJob('flaky'); return condition(j, 'Failed') && j; });
    assert.equal(condition(failed, 'Failed')?.reason, 'BackoffLimitExceeded');
    assert.equal(condition(failed, 'FailureTarget')?.reason, 'BackoffLimitExceeded');
    assert.equal(record(failed.status).failed, 2);
    assert.equal(record(failed.status).active, 0);
    assert.deepEqual(await activePods('flaky'), [], 'the still-running pod is deleted');
  });

  it('creates nothing while suspended and starts when resumed', async () => {
    await h.client.create(jobsRef, 'default', job('later', { suspend: true }));
    const suspended = await waitFor('Suspended', async () => { const j = await getJob('later'); return condition(j, 'Suspended') && j; });
    assert.equal(record(suspended.status).startTime, undefined);
    assert.deepEqual(await h.pods('default', 'job-name=later'), []);
    await h.client.patch(jobsRef, 'default', 'later', 'merge', { spec: { suspend: false } });
    await waitFor('a pod', async () => (await activePods('later')).length === 1);
    const resumed = await waitFor('resumed', async () => { const j = await getJob('later'); return !condition(j, 'Suspended') && j; });
    assert.ok(record(resumed.status).startTime);
    assert.equal(array(record(resumed.status).conditions).find((c) => c.type === 'Suspended')?.reason, 'JobResumed');
  });

  it('gives Indexed pods one completion index each and reports completed indexes', async () => {
    await h.client.create(jobsRef, 'default', job('shards', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    const pods = await waitFor('three pods', async () => { const p = await activePods('shards'); return p.length === 3 && p; });
    const indexes = pods.map((p) => p.metadata.annotations?.[jobCompletionIndexAnnotation]).sort();
    assert.deepEqual(indexes, ['0', '1', '2']);
    const one = pods.find((p) => p.metadata.annotations?.[jobCompletionIndexAnnotation] === '1')!;
    assert.equal(record(one.spec).hostname, 'shards-1');
    assert.ok(one.metadata.name!.startsWith('shards-1-'));
    const env = array(array(record(one.spec).containers)[0]!.env);
    assert.deepEqual(env.find((e) => e.name === 'JOB_COMPLETION_INDEX'), { name: 'JOB_COMPLETION_INDEX', value: '1' });

    await h.finishPod(one, 'Succeeded');
    await waitFor('index 1 completed', async () => record((await getJob('shards')).status).completedIndexes === '1');
    // A failed index is retried with a new pod for the same index.
    const zero = pods.find((p) => p.metadata.annotations?.[jobCompletionIndexAnnotation] === '0')!;
    await h.finishPod(zero, 'Failed');
    const retry = await waitFor('index 0 retried', async () => (await activePods('shards')).find((p) => p.metadata.annotations?.[jobCompletionIndexAnnotation] === '0'));
    for (const pod of [retry, pods.find((p) => p.metadata.annotations?.[jobCompletionIndexAnnotation] === '2')!]) await h.finishPod(pod, 'Succeeded');
    const done = await waitFor('Complete', async () => { const j = await getJob('shards'); return condition(j, 'Complete') && j; });
    assert.equal(record(done.status).completedIndexes, '0-2');
    assert.equal(record(done.status).failed, 1);
  });

  it('formats completed indexes as Kubernetes does', () => {
    assert.equal(formatIndexes(new Set([4, 0, 1, 2, 7, 8])), '0-2,4,7-8');
    assert.equal(formatIndexes(new Set()), '');
  });
});

describe('Job controller on a manual clock', () => {
  let h: ControllerHarness;
  const scheduler = new ManualScheduler();
  before(async () => { h = await startControllerHarness('jobs-clock', [jobController], scheduler); });
  after(async () => { await h.stop(); });

  const getJob = (name: string) => h.client.get(jobsRef, 'default', name);

  it('fails a Job that runs past activeDeadlineSeconds and deletes its pods', async () => {
    await h.client.create(jobsRef, 'default', job('slow', { activeDeadlineSeconds: 30, parallelism: 2, completions: 2 }));
    await waitFor('two pods', async () => (await h.pods('default', 'job-name=slow')).length === 2);
    await scheduler.advance(29_000);
    assert.equal(condition(await getJob('slow'), 'Failed'), undefined);
    await scheduler.advance(1_000);
    const failed = await waitFor('Failed', async () => { const j = await getJob('slow'); return condition(j, 'Failed') && j; });
    assert.equal(condition(failed, 'Failed')?.reason, 'DeadlineExceeded');
    assert.equal(condition(failed, 'Failed')?.message, 'Job was active longer than specified deadline');
    await waitFor('pods deleted', async () => (await h.pods('default', 'job-name=slow')).length === 0);
  });

  it('deletes a finished Job ttlSecondsAfterFinished after it finished', async () => {
    await h.client.create(jobsRef, 'default', job('once', { ttlSecondsAfterFinished: 60 }));
    const [pod] = await waitFor('a pod', async () => { const p = await h.pods('default', 'job-name=once'); return p.length === 1 && p; });
    await h.finishPod(pod!, 'Succeeded');
    await waitFor('Complete', async () => condition(await getJob('once'), 'Complete'));
    await scheduler.advance(59_000);
    assert.ok(await getJob('once'), 'still there a second before the TTL');
    await scheduler.advance(1_000);
    await waitFor('Job deleted', async () => {
      try {
        await getJob('once');
        return false;
      } catch (err) {
        if (err instanceof StatusError && err.reason === 'NotFound') return true;
        throw err;
      }
    });
    await waitFor('its pod collected', async () => (await h.pods('default', 'job-name=once')).length === 0);
  });
});
