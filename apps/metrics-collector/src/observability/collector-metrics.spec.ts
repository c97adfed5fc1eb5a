import { CollectorMetrics } from './collector-metrics';
import { inShard } from '../collection/collection.service';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const parse: (t: string) => { name: string; metrics: { value?: string; labels?: Record<string, string> }[] }[] = require('parse-prometheus-text-format');

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

describe('CollectorMetrics', () => {
  it('renders per-host gauges from good rounds only: a failed round shows as failed, with no values', async () => {
    const m = new CollectorMetrics(false);
    m.setHosts(
      [
        { id: A, name: 'hv-a', state: 'up' },
        { id: B, name: 'hv-b', state: 'down' },
      ],
      {
        [A]: { collectedAt: '2026-11-22T04:00:00.000Z', cpuPercent: 12.5, memoryTotalMiB: 1024, vmCount: 3 },
        [B]: { collectedAt: '2026-11-22T04:00:00.000Z', error: 'unreachable: refused' },
      },
    );
    const f = parse(await m.registry.metrics());
    const get = (name: string, labels: Record<string, string> = {}) =>
      f.find((x) => x.name === name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))?.value;
    expect(get('minicloud_host_cpu_utilization_percent', { host: 'hv-a' })).toBe('12.5');
    expect(get('minicloud_host_memory_total_bytes', { host_id: A })).toBe(String(1024 * 1024 * 1024));
    expect(get('minicloud_host_up', { host: 'hv-b' })).toBe('0');
    expect(get('minicloud_host_last_collection_failed', { host: 'hv-b' })).toBe('1');
    expect(get('minicloud_host_cpu_utilization_percent', { host: 'hv-b' })).toBeUndefined();
    expect(get('minicloud_fleet_hosts', { state: 'down' })).toBe('1');
    expect(get('minicloud_fleet_vms_running')).toBe('3');
    expect(get('minicloud_fleet_hosts_reporting')).toBe('1');
    // A host that disappears loses its series at the next refresh.
    m.setHosts([{ id: A, name: 'hv-a', state: 'up' }], {});
    expect(parse(await m.registry.metrics()).find((x) => x.name === 'minicloud_host_up')?.metrics.map((s) => s.labels?.host)).toEqual(['hv-a']);
    expect(get('minicloud_fleet_cpu_utilization_percent', { aggregate: 'mean' })).toBe('12.5');
    expect(parse(await m.registry.metrics()).find((x) => x.name === 'minicloud_fleet_cpu_utilization_percent')?.metrics ?? []).toEqual([]);
  });
});

describe('inShard', () => {
  it('puts every host in exactly one shard, spreading them', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const counts = [0, 1, 2].map((s) => ids.filter((id) => inShard(id, s, 3)).length);
    expect(counts.reduce((a, b) => a + b)).toBe(300);
    for (const c of counts) expect(c).toBeGreaterThan(60);
    expect(ids.every((id) => inShard(id, 0, 1))).toBe(true);
  });
});
