import { AutomationLevel, AutomationLevels } from '@minicloud/contracts';
import { CpuSource, CpuSources } from './types';

export interface PlannerConfig {
  intervalMs: number;
  cpuSource: CpuSource;
  balanceThreshold: number;
  hotSpotRounds: number;
  cooldownMs: number;
  /** Defaults until changed through rpc.scheduler.planner.settings.set (then stored in scheduler.planner_settings). */
  automation: AutomationLevel;
  consolidation: boolean;
}

function num(env: NodeJS.ProcessEnv, key: string, dflt: number, min: number, max = Infinity): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${key} must be a number in [${min}, ${max}], got "${raw}"`);
  return n;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, key: string, known: readonly T[], dflt: T): T {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  if (!known.includes(raw as T)) throw new Error(`${key} must be one of ${known.join(', ')}, got "${raw}"`);
  return raw as T;
}

/** The planner's settings from the environment (docs/scheduler.md); an invalid value fails at start. */
export function plannerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): PlannerConfig {
  const consolidation = env.PLANNER_CONSOLIDATION ?? 'false';
  if (!['true', 'false'].includes(consolidation)) throw new Error(`PLANNER_CONSOLIDATION must be true or false, got "${consolidation}"`);
  return {
    intervalMs: num(env, 'PLANNER_INTERVAL_S', 30, 0.1) * 1000,
    cpuSource: oneOf(env, 'PLANNER_CPU_SOURCE', CpuSources, 'host'),
    balanceThreshold: num(env, 'PLANNER_BALANCE_THRESHOLD', 0.15, 0, 1),
    hotSpotRounds: num(env, 'PLANNER_HOT_SPOT_ROUNDS', 3, 1),
    cooldownMs: num(env, 'PLANNER_COOLDOWN_S', 600, 0) * 1000,
    automation: oneOf(env, 'PLANNER_AUTOMATION', AutomationLevels, 'manual'),
    consolidation: consolidation === 'true',
  };
}
