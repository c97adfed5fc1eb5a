import { PlacementPolicies, PlacementPolicyName } from '@minicloud/contracts';
import { PlacementPolicy } from './placement-policy';
import { RoundRobinPolicy } from './round-robin.policy';
import { DEFAULT_WEIGHTS, leastLoadedPolicy, packPolicy, spreadPolicy } from './weighed.policy';

export * from './placement-policy';
export * from './round-robin.policy';
export * from './weighed.policy';

export const POLICY_NAMES: readonly string[] = PlacementPolicies;

/** Every policy, configured from the environment (weights per policy; see docs/scheduler.md). */
export function policiesFromEnv(env: NodeJS.ProcessEnv = process.env): Record<PlacementPolicyName, PlacementPolicy> {
  const tie = env.SCHEDULER_LEAST_LOADED_TIE === undefined || env.SCHEDULER_LEAST_LOADED_TIE === '' ? 0.05 : Number(env.SCHEDULER_LEAST_LOADED_TIE);
  if (!Number.isFinite(tie) || tie < 0) throw new Error(`SCHEDULER_LEAST_LOADED_TIE must be a number >= 0`);
  return {
    'round-robin': new RoundRobinPolicy(),
    'least-loaded': leastLoadedPolicy(env.SCHEDULER_WEIGHTS_LEAST_LOADED || DEFAULT_WEIGHTS['least-loaded'], tie),
    pack: packPolicy(env.SCHEDULER_WEIGHTS_PACK || DEFAULT_WEIGHTS.pack),
    spread: spreadPolicy(env.SCHEDULER_WEIGHTS_SPREAD || DEFAULT_WEIGHTS.spread),
  };
}

/** The cluster's default policy, named by SCHEDULER_POLICY (default round-robin); an unknown name fails at start. */
export function defaultPolicyName(name = process.env.SCHEDULER_POLICY || 'round-robin'): PlacementPolicyName {
  if (!POLICY_NAMES.includes(name)) throw new Error(`unknown SCHEDULER_POLICY "${name}"; known: ${POLICY_NAMES.join(', ')}`);
  return name as PlacementPolicyName;
}

/** One policy by name (default: SCHEDULER_POLICY). */
export function policyByName(name?: string): PlacementPolicy {
  return policiesFromEnv()[defaultPolicyName(name)];
}
