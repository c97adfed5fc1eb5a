/** Everything the collector can be tuned with, from the environment (docs/metrics.md lists it). */
export interface CollectorConfig {
  /** Collect from hosts (off: ingest/API only, e.g. a replica dedicated to storage, or the benchmark). */
  collect: boolean;
  /** Store host.metrics / vm.metrics into the schema. */
  ingest: boolean;
  intervalMs: number;
  /** A host's whole round (connect + command) must finish within this, or the round is missed. */
  hostTimeoutMs: number;
  /** Hosts collected at once. */
  concurrency: number;
  /** Missed rounds in a row that make a host `down`. */
  missesForDown: number;
  /** Reconnect backoff after failures: base × 2^(failures-1), capped. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** This replica collects hosts whose hash % shardCount === shardIndex. */
  shardIndex: number;
  shardCount: number;
  rawRetentionHours: number;
  rollupRetentionDays: number;
  /** Rollup / retention job period. */
  maintenanceIntervalMs: number;
  /** Samples arriving later than this after their minute are not rolled up any more. */
  rollupLatenessMs: number;
  ingestBatchSize: number;
  ingestFlushMs: number;
  /** Messages held unacknowledged by one ingest consumer (the pipeline's depth). */
  ingestMaxAckPending: number;
}

function intEnv(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new Error(`${name} must be within ${min}..${max}, got ${n}`);
  return n;
}

function boolEnv(env: NodeJS.ProcessEnv, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

export function collectorConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const intervalMs = intEnv(env, 'METRICS_INTERVAL_MS', 10_000, 200, 3_600_000);
  const shard = env.METRICS_SHARD ?? '0/1';
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new Error(`METRICS_SHARD must be i/n with 0 <= i < n, got "${shard}"`);
  const hostTimeoutMs = intEnv(env, 'METRICS_HOST_TIMEOUT_MS', Math.min(8000, Math.max(500, Math.floor(intervalMs * 0.8))), 100, 600_000);
  if (hostTimeoutMs > intervalMs) throw new Error(`METRICS_HOST_TIMEOUT_MS (${hostTimeoutMs}) must not exceed METRICS_INTERVAL_MS (${intervalMs})`);
  return {
    collect: boolEnv(env, 'METRICS_COLLECT', true),
    ingest: boolEnv(env, 'METRICS_INGEST', true),
    intervalMs,
    hostTimeoutMs,
    concurrency: intEnv(env, 'METRICS_CONCURRENCY', 32, 1, 10_000),
    missesForDown: intEnv(env, 'METRICS_MISSES_FOR_DOWN', 3, 1, 1000),
    backoffBaseMs: intEnv(env, 'METRICS_BACKOFF_BASE_MS', intervalMs, 100, 3_600_000),
    backoffMaxMs: intEnv(env, 'METRICS_BACKOFF_MAX_MS', Math.max(intervalMs, 30_000), 100, 3_600_000),
    shardIndex: Number(m[1]),
    shardCount: Number(m[2]),
    rawRetentionHours: intEnv(env, 'METRICS_RAW_RETENTION_HOURS', 24, 1, 24 * 366),
    rollupRetentionDays: intEnv(env, 'METRICS_ROLLUP_RETENTION_DAYS', 30, 1, 3660),
    maintenanceIntervalMs: intEnv(env, 'METRICS_MAINTENANCE_INTERVAL_MS', 60_000, 100, 3_600_000),
    rollupLatenessMs: intEnv(env, 'METRICS_ROLLUP_LATENESS_MS', 120_000, 0, 3_600_000),
    ingestBatchSize: intEnv(env, 'METRICS_INGEST_BATCH', 2000, 1, 100_000),
    ingestFlushMs: intEnv(env, 'METRICS_INGEST_FLUSH_MS', 200, 1, 60_000),
    ingestMaxAckPending: intEnv(env, 'METRICS_INGEST_MAX_PENDING', 20_000, 1, 1_000_000),
  };
}

export const COLLECTOR_CONFIG = Symbol('COLLECTOR_CONFIG');
