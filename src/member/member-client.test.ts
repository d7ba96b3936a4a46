import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceRef } from '../client/index.ts';
import { compareResourceRefs, findResource, versionFromGitVersion } from './member-client.ts';

const ref = (group: string, version: string, plural: string, kind: string): ResourceRef => ({ group, version, plural, kind, namespaced: true });

describe('member-client helpers', () => {
  it('finds a resource by apiVersion and kind, core group included', () => {
    const resources = [ref('', 'v1', 'configmaps', 'ConfigMap'), ref('apps', 'v1', 'deployments', 'Deployment'), ref('batch', 'v1', 'jobs', 'Job')];
    assert.equal(findResource(resources, 'v1', 'ConfigMap')?.plural, 'configmaps');
    assert.equal(findResource(resources, 'apps/v1', 'Deployment')?.plural, 'deployments');
    assert.equal(findResource(resources, 'apps/v1beta1', 'Deployment'), undefined);
    assert.equal(findResource(resources, 'v1', 'Deployment'), undefined);
  });

  it('sorts the core group first, then by group, version and plural', () => {
    const sorted = [ref('batch', 'v1', 'jobs', 'Job'), ref('', 'v1', 'pods', 'Pod'), ref('apps', 'v1', 'replicasets', 'ReplicaSet'), ref('apps', 'v1', 'deployments', 'Deployment'), ref('', 'v1', 'configmaps', 'ConfigMap')]
      .sort(compareResourceRefs).map((r) => `${r.group}/${r.plural}`);
    assert.deepEqual(sorted, ['/configmaps', '/pods', 'apps/deployments', 'apps/replicasets', 'batch/jobs']);
  });

  it('reads major and minor from a gitVersion, and refuses what is not one', () => {
    assert.deepEqual(versionFromGitVersion('v1.29.4-eks-1234', 'linux/amd64'), { gitVersion: 'v1.29.4-eks-1234', major: '1', minor: '29', platform: 'linux/amd64' });
    assert.deepEqual(versionFromGitVersion('v1.32.0'), { gitVersion: 'v1.32.0', major: '1', minor: '32' });
    assert.throws(() => versionFromGitVersion('1.32'), /"1.32" is not a Kubernetes version/);
  });
});
