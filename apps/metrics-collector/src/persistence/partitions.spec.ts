import { createPartitionSql, expiredPartitions, parsePartitionName, partitionName, partitionsFor, partitionStart } from './partitions';

describe('time partitions', () => {
  const t = Date.parse('2026-11-22T03:59:59.999Z');

  it('names hourly and daily partitions after their UTC start', () => {
    expect(partitionName('host_samples', partitionStart(t, 'hour'), 'hour')).toBe('host_samples_p2026112203');
    expect(partitionName('host_samples_1m', partitionStart(t, 'day'), 'day')).toBe('host_samples_1m_p20261122');
    expect(partitionStart(Date.parse('2026-11-22T04:00:00.000Z'), 'hour').toISOString()).toBe('2026-11-22T04:00:00.000Z');
  });

  it('reads the start back from a name and refuses foreign or impossible names', () => {
    expect(parsePartitionName('host_samples', 'host_samples_p2026112203', 'hour')?.toISOString()).toBe('2026-11-22T03:00:00.000Z');
    expect(parsePartitionName('host_samples', 'host_samples_p2026113125', 'hour')).toBeUndefined();
    expect(parsePartitionName('host_samples', 'vm_samples_p2026112203', 'hour')).toBeUndefined();
    expect(parsePartitionName('host_samples', 'host_samples_1m_p20261122', 'hour')).toBeUndefined();
  });

  it('lists the partitions a batch needs, once each, in order', () => {
    const times = [t, t - 1000, Date.parse('2026-11-22T01:10:00Z'), Date.parse('2026-11-22T04:00:00Z')];
    expect(partitionsFor(times, 'hour').map((d) => d.toISOString())).toEqual(['2026-11-22T01:00:00.000Z', '2026-11-22T03:00:00.000Z', '2026-11-22T04:00:00.000Z']);
  });

  it('expires only partitions that ended at or before the cutoff', () => {
    const names = ['host_samples_p2026112101', 'host_samples_p2026112102', 'host_samples_p2026112103', 'other_p2026010100'];
    expect(expiredPartitions('host_samples', names, 'hour', new Date('2026-11-21T03:00:00Z'))).toEqual(['host_samples_p2026112101', 'host_samples_p2026112102']);
    expect(expiredPartitions('host_samples', names, 'hour', new Date('2026-11-21T02:59:59Z'))).toEqual(['host_samples_p2026112101']);
  });

  it('creates a partition with half-open bounds', () => {
    expect(createPartitionSql('metrics', 'vm_samples', new Date('2026-11-22T03:00:00Z'), 'hour')).toBe(
      "CREATE TABLE IF NOT EXISTS metrics.vm_samples_p2026112203 PARTITION OF metrics.vm_samples FOR VALUES FROM ('2026-11-22T03:00:00.000Z') TO ('2026-11-22T04:00:00.000Z')",
    );
  });
});
