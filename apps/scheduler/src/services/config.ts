import { FilterConfig } from '../placement/filters';
import { QueueConfig } from '../placement/queue';
import { PlannerConfig, plannerConfigFromEnv } from '../planner/config';
import { MigrationTimeoutConfig } from '../placement/migration-timeout';

export interface SchedulerConfig {
  filters: FilterConfig;
  queue: QueueConfig;
  /** How often each replica drains its queue and checks reservation windows (ms). */
  tickMs: number;
  /** Build attempts per VM (the first + retries on other hosts). */
  maxBuildAttempts: number;
  /** Preempted VMs are moved to another host when one can take them (else stopped). */
  preemptMigrate: boolean;
  /** vm.requested handled at once per replica. */
  concurrency: number;
  /** Most vm.requested planned and claimed together (BatchPlacementService); 1 = one by one. */
  batchMax: number;
  /** Max age of the in-memory host view before a decision refreshes it (ms). */
  hostRefreshMs: number;
  /** The migration planner (PLANNER_*). */
  planner: PlannerConfig;
  /** A migration hold with no migration.completed/failed after this is given up (SCHEDULER_MIGRATION_TIMEOUT_*). */
  migrationTimeout: MigrationTimeoutConfig;
}

function num(env: NodeJS.ProcessEnv, key: string, dflt: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${key} must be a number >= ${min}, got "${raw}"`);
  return n;
}

/** Every scheduler setting, from the environment (docs/scheduler.md lists them); invalid values fail at start. */
export function schedulerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SchedulerConfig {
  return {
    filters: {
      loadCaps: { maxCpuPercent: num(env, 'SCHEDULER_MAX_CPU_PERCENT', 80), maxMemoryPercent: num(env, 'SCHEDULER_MAX_MEMORY_PERCENT', 85) },
      metricsMaxAgeMs: num(env, 'SCHEDULER_METRICS_MAX_AGE_S', 120, 1) * 1000,
    },
    queue: {
      agingStepMs: num(env, 'SCHEDULER_AGING_STEP_S', 60) * 1000,
      maxWaitMs: num(env, 'SCHEDULER_QUEUE_MAX_WAIT_S', 300) * 1000,
    },
    tickMs: num(env, 'SCHEDULER_TICK_MS', 1000, 50),
    maxBuildAttempts: num(env, 'SCHEDULER_MAX_BUILD_ATTEMPTS', 3, 1),
    preemptMigrate: (env.SCHEDULER_PREEMPT_MIGRATE ?? 'true') !== 'false',
    concurrency: num(env, 'SCHEDULER_CONCURRENCY', 12, 1),
    batchMax: num(env, 'SCHEDULER_BATCH_MAX', 16, 1),
    hostRefreshMs: num(env, 'SCHEDULER_HOST_REFRESH_MS', 200, 0),
    planner: plannerConfigFromEnv(env),
    migrationTimeout: {
      baseS: num(env, 'SCHEDULER_MIGRATION_TIMEOUT_BASE_S', 900, 1),
      perGiBS: num(env, 'SCHEDULER_MIGRATION_TIMEOUT_PER_GIB_S', 240, 0),
    },
  };
}
