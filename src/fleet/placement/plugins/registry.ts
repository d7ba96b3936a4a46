/**
 * Every in-tree placement plugin by name, and the default profile: filters in the order they
 * run, and the non-objective score plugins with their weights (objective plugins are weighed by
 * each placement's own objectives, and always run).
 */
import type { PlacementPluginFactory, PlacementProfile } from '../interfaces.ts';
import { clusterAccess } from './cluster-access.ts';
import { clusterAffinity } from './cluster-affinity.ts';
import { clusterLocality } from './cluster-locality.ts';
import { cost, energy, latency } from './objectives.ts';
import { readiness } from './readiness.ts';
import { residency } from './residency.ts';
import { resourceConstraints } from './resource-constraints.ts';
import { spreadConstraint } from './spread-constraint.ts';
import { taintToleration } from './taint-toleration.ts';

export const placementRegistry: Readonly<Record<string, PlacementPluginFactory>> = {
  ClusterAccess: clusterAccess,
  ClusterAffinity: clusterAffinity,
  Residency: residency,
  TaintToleration: taintToleration,
  Readiness: readiness,
  SpreadConstraint: spreadConstraint,
  ResourceConstraints: resourceConstraints,
  Cost: cost,
  Energy: energy,
  Latency: latency,
  ClusterLocality: clusterLocality,
};

/** The objective plugins, in the order their scores are listed. */
export const objectivePlugins: readonly string[] = ['Cost', 'Energy', 'Latency'];

/**
 * The default profile. ClusterLocality's weight of 0.25 gives clusters of the previous decision
 * 25 points over the 0..100 combined objective score: the hysteresis that keeps a decision in
 * place until another cluster is clearly better.
 */
export const defaultPlacementProfile: PlacementProfile = {
  filters: ['ClusterAccess', 'ClusterAffinity', 'Residency', 'TaintToleration', 'Readiness', 'SpreadConstraint', 'ResourceConstraints'],
  scores: [{ name: 'ClusterLocality', weight: 0.25 }],
};
