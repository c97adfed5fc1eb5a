import { collectorConfigFromEnv } from './collector-config';

describe('collectorConfigFromEnv', () => {
  it('defaults: 10 s rounds, 8 s per host, 3 misses, raw 24 h, rollups 30 days', () => {
    expect(collectorConfigFromEnv({})).toMatchObject({
      collect: true,
      ingest: true,
      intervalMs: 10_000,
      hostTimeoutMs: 8000,
      missesForDown: 3,
      rawRetentionHours: 24,
      rollupRetentionDays: 30,
      shardIndex: 0,
      shardCount: 1,
    });
  });

  it('keeps the host timeout within the interval', () => {
    expect(collectorConfigFromEnv({ METRICS_INTERVAL_MS: '1000' }).hostTimeoutMs).toBe(800);
    expect(() => collectorConfigFromEnv({ METRICS_INTERVAL_MS: '1000', METRICS_HOST_TIMEOUT_MS: '2000' })).toThrow(/must not exceed/);
  });

  it('refuses malformed values instead of guessing', () => {
    expect(() => collectorConfigFromEnv({ METRICS_INTERVAL_MS: '10s' })).toThrow('METRICS_INTERVAL_MS must be an integer, got "10s"');
    expect(() => collectorConfigFromEnv({ METRICS_SHARD: '2/2' })).toThrow(/METRICS_SHARD/);
    expect(() => collectorConfigFromEnv({ METRICS_COLLECT: 'maybe' })).toThrow(/true or false/);
    expect(collectorConfigFromEnv({ METRICS_SHARD: '1/3', METRICS_COLLECT: 'false' })).toMatchObject({ shardIndex: 1, shardCount: 3, collect: false });
  });
});
