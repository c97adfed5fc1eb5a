/**
 * Time partitions of the sample tables (native Postgres range partitioning): raw samples by hour, rollups by day.
 * Retention drops whole partitions (cheap, no vacuum debt) instead of deleting rows. Names carry the start so the
 * bounds never need catalog parsing: host_samples_p2026112203 = [2026-11-22 03:00Z, 04:00Z).
 */
export type Granularity = 'hour' | 'day';

export const GRANULARITY_MS: Record<Granularity, number> = { hour: 3_600_000, day: 86_400_000 };

export function partitionStart(t: Date | number, g: Granularity): Date {
  const ms = typeof t === 'number' ? t : t.getTime();
  return new Date(Math.floor(ms / GRANULARITY_MS[g]) * GRANULARITY_MS[g]);
}

export function partitionName(table: string, start: Date, g: Granularity): string {
  const iso = start.toISOString(); // 2026-11-22T03:00:00.000Z
  const day = iso.slice(0, 10).replace(/-/g, '');
  return `${table}_p${g === 'hour' ? day + iso.slice(11, 13) : day}`;
}

/** The start of a partition from its name, or undefined for a name that is not one of ours. */
export function parsePartitionName(table: string, name: string, g: Granularity): Date | undefined {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})${g === 'hour' ? '(\\d{2})' : ''}$`).exec(name);
  if (!m) return undefined;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), g === 'hour' ? Number(m[4]) : 0));
  return partitionName(table, d, g) === name ? d : undefined;
}

/** Partition starts covering the given times (deduplicated). */
export function partitionsFor(times: Iterable<number>, g: Granularity): Date[] {
  const starts = new Map<number, Date>();
  for (const t of times) {
    const s = partitionStart(t, g);
    starts.set(s.getTime(), s);
  }
  return [...starts.values()].sort((a, b) => a.getTime() - b.getTime());
}

/** Partitions entirely older than the cutoff (their end is at or before it). */
export function expiredPartitions(table: string, names: string[], g: Granularity, cutoff: Date): string[] {
  return names.filter((n) => {
    const start = parsePartitionName(table, n, g);
    return start !== undefined && start.getTime() + GRANULARITY_MS[g] <= cutoff.getTime();
  });
}

export function createPartitionSql(schema: string, table: string, start: Date, g: Granularity): string {
  const end = new Date(start.getTime() + GRANULARITY_MS[g]);
  return `CREATE TABLE IF NOT EXISTS ${schema}.${partitionName(table, start, g)} PARTITION OF ${schema}.${table} FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`;
}
