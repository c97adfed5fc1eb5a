/** Every migrator setting, from the environment (docs/migration.md lists them); invalid values fail at start. */
export interface MigratorConfig {
  /** Outbound migrations at once per source host. */
  maxPerHost: number;
  /** Migrations at once in the cluster. */
  maxInCluster: number;
  /** How often a running migration is polled (progress events, control flags, timeouts). */
  pollMs: number;
  /** Completion timeout: base + per GiB of guest memory. */
  completionBaseS: number;
  completionPerGiBS: number;
  /** No progress (remaining memory not shrinking, nothing processed) for this long ends the migration. */
  progressTimeoutS: number;
  /** What a timeout does: abort (VM stays on the source) or force-complete (post-copy if allowed, else pause-and-copy). */
  timeoutAction: 'abort' | 'force-complete';
  /** `auto` may choose post-copy (a network failure during post-copy loses the guest). */
  allowPostcopy: boolean;
  /** Assumed bandwidth between two hosts with no history and no cap (MiB/s). */
  defaultBandwidthMiBs: number;
  /** Default downtime limit when the request names none (ms). */
  defaultMaxDowntimeMs: number;
  /** Seconds of libvirt's dirty-rate sampling before the start (0 = do not measure). */
  dirtyRateSampleS: number;
  /** How long `auto` runs a compressed probe before it judges xbzrle (s). */
  probeS: number;
  /** A running migration whose owner has not written a heartbeat for this long is settled by another replica (s). */
  staleAfterS: number;
}

function num(env: NodeJS.ProcessEnv, key: string, dflt: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${key} must be a number >= ${min}, got "${raw}"`);
  return n;
}

export function migratorConfigFromEnv(env: NodeJS.ProcessEnv = process.env): MigratorConfig {
  const action = env.MIGRATOR_TIMEOUT_ACTION ?? 'abort';
  if (action !== 'abort' && action !== 'force-complete') throw new Error(`MIGRATOR_TIMEOUT_ACTION must be abort or force-complete, got "${action}"`);
  return {
    maxPerHost: num(env, 'MIGRATOR_MAX_PER_HOST', 2, 1),
    maxInCluster: num(env, 'MIGRATOR_MAX_IN_CLUSTER', 5, 1),
    pollMs: num(env, 'MIGRATOR_POLL_MS', 1000, 100),
    completionBaseS: num(env, 'MIGRATOR_COMPLETION_BASE_S', 60, 1),
    completionPerGiBS: num(env, 'MIGRATOR_COMPLETION_PER_GIB_S', 240, 1),
    progressTimeoutS: num(env, 'MIGRATOR_PROGRESS_TIMEOUT_S', 60, 1),
    timeoutAction: action,
    allowPostcopy: env.MIGRATOR_ALLOW_POSTCOPY === 'true',
    defaultBandwidthMiBs: num(env, 'MIGRATOR_DEFAULT_BANDWIDTH_MIBS', 400, 1),
    defaultMaxDowntimeMs: num(env, 'MIGRATOR_DEFAULT_MAX_DOWNTIME_MS', 300, 1),
    dirtyRateSampleS: num(env, 'MIGRATOR_DIRTY_RATE_SAMPLE_S', 1, 0),
    probeS: num(env, 'MIGRATOR_PROBE_S', 4, 1),
    staleAfterS: num(env, 'MIGRATOR_STALE_AFTER_S', 15, 2),
  };
}

export const MIGRATOR_CONFIG = Symbol('MIGRATOR_CONFIG');
