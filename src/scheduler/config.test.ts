import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSchedulerConfiguration, SchedulerConfigError } from './config.ts';

describe('loadSchedulerConfiguration', () => {
  it('reads a YAML KubeSchedulerConfiguration with profiles, weights and args', () => {
    const cfg = loadSchedulerConfiguration(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
parallelism: 4
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  plugins:
    score:
      disabled: [{ name: NodeResourcesBalancedAllocation }]
      enabled: [{ name: NodeResourcesFit, weight: 5 }]
    filter:
      disabled: [{ name: NodePorts }]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{ name: cpu, weight: 1 }, { name: nvidia.com/gpu, weight: 3 }]
`);
    assert.equal(cfg.parallelism, 4);
    assert.equal(cfg.percentageOfNodesToScore, 30);
    assert.deepEqual(cfg.profiles.map((p) => p.schedulerName), ['default-scheduler', 'bin-packer']);
    const bp = cfg.profiles[1]!;
    assert.equal(bp.weights.NodeResourcesFit, 5);
    assert.equal(bp.weights.NodeResourcesBalancedAllocation, undefined);
    assert.ok(!bp.points.filter.includes('NodePorts'));
    assert.ok(bp.points.preFilter.includes('NodePorts'));
    assert.ok(cfg.profiles[0]!.points.filter.includes('NodePorts'));
    assert.equal(cfg.profiles[0]!.weights.TaintToleration, 3);
  });

  it('reads JSON and multiPoint', () => {
    const cfg = loadSchedulerConfiguration(JSON.stringify({ profiles: [{ plugins: { multiPoint: { disabled: [{ name: '*' }], enabled: [{ name: 'NodeResourcesFit' }, { name: 'DefaultBinder' }] } } }] }));
    assert.deepEqual(cfg.profiles[0]!.points.filter, ['NodeResourcesFit']);
    assert.deepEqual(cfg.profiles[0]!.points.bind, ['DefaultBinder']);
    assert.deepEqual(cfg.profiles[0]!.points.postFilter, []);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['unknown plugin', 'profiles: [{plugins: {filter: {enabled: [{name: NodeFancy}]}}}]', /profiles\[0\]\.plugins\.filter\.enabled\[0\]\.name: unknown plugin "NodeFancy"; known plugins: .*NodeResourcesFit/],
    ['plugin at a point it does not serve', 'profiles: [{plugins: {score: {enabled: [{name: NodePorts}]}}}]', /NodePorts does not serve the score extension point/],
    ['bad strategy', 'profiles: [{pluginConfig: [{name: NodeResourcesFit, args: {scoringStrategy: {type: Fastest}}}]}]', /scoringStrategy\.type: must be one of LeastAllocated, MostAllocated, RequestedToCapacityRatio, got "Fastest"/],
    ['unknown arg', 'profiles: [{pluginConfig: [{name: TaintToleration, args: {strict: true}}]}]', /TaintToleration args: unknown field "strict"/],
    ['bad shape', 'profiles: [{pluginConfig: [{name: NodeResourcesFit, args: {scoringStrategy: {type: RequestedToCapacityRatio, requestedToCapacityRatio: {shape: [{utilization: 50, score: 20}]}}}}]}]', /shape\[0\]\.score: must be a number from 0 to 10, got 20/],
    ['unknown top-level field', 'parallelizm: 3', /configuration: unknown field "parallelizm"/],
    ['bad percentage', 'percentageOfNodesToScore: 150', /percentageOfNodesToScore: must be a number from 0 to 100, got 150/],
    ['wrong kind', 'kind: Deployment', /kind: must be KubeSchedulerConfiguration/],
    ['duplicate scheduler name', 'profiles: [{schedulerName: a}, {schedulerName: a}]', /profiles\[1\]\.schedulerName: "a" is used by an earlier profile/],
    ['not YAML', 'profiles: [', /not valid YAML or JSON/],
    ['args for a disabled plugin', 'profiles: [{plugins: {multiPoint: {disabled: [{name: InterPodAffinity}]}}, pluginConfig: [{name: InterPodAffinity, args: {}}]}]', /args given for plugin "InterPodAffinity", which is not enabled/],
  ];
  for (const [what, text, pattern] of bad) {
    it(`rejects ${what} with a message naming the place`, () => {
      assert.throws(() => loadSchedulerConfiguration(text, 'sched.yaml'), (err: Error) => {
        assert.ok(err instanceof SchedulerConfigError);
        assert.match(err.message, /^sched\.yaml: /);
        assert.match(err.message, pattern);
        return true;
      });
    });
  }
});
