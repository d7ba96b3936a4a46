/** Distribution: policies to bindings to Works, Works applied to members, status summed back. */
import { schedulePlacement } from '../placement/index.ts';
import type { FleetController } from '../context.ts';
import { distributionController, type DistributionOptions, type Placer } from './binding-controller.ts';
import { executionController, type ExecutionOptions } from './execution-controller.ts';

export { distributionController, type DistributionOptions, type PlacementDecision, type Placer } from './binding-controller.ts';
export { executionController, executionFinalizer, type ExecutionOptions } from './execution-controller.ts';
export { applyOverrides, applyOverriders, overrideImage } from './overrides.ts';
export { choosePolicy, clusterMatchesTarget, policyMatches, selectorMatches } from './selectors.ts';
export { bindingIdentity, bindingLabel, clusterLabel, workFor } from './templates.ts';

/** The placement library as the distribution controller's placer. */
export const placementPlacer: Placer = ({ template, placement, clusters, previous }) => {
  const result = schedulePlacement({ template, placement, clusters, previous });
  return {
    ok: result.status.isSuccess(),
    message: result.status.isSuccess() ? `placed on ${result.clusters.length} cluster(s)` : result.status.message(),
    clusters: result.clusters,
    explanation: result.explanation,
    ...(result.affinityName ? { affinityName: result.affinityName } : {}),
  };
};

/** Both distribution controllers, with the placement library deciding. */
export function distributionControllers(options: Partial<DistributionOptions> & ExecutionOptions = {}): FleetController[] {
  return [distributionController({ placer: placementPlacer, ...options }), executionController(options)];
}
