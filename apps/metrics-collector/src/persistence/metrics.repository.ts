import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { HostLatestMetrics, HostRegisteredEvent, HostState, MetricsPoint, VmLatestMetrics } from '@minicloud/contracts';
import { SCHEMA } from '../constants';
import { MetricsHostRow } from './entities';
import { FieldDef, HOST_FIELDS, VM_FIELDS } from './fields';
import { createPartitionSql, expiredPartitions, Granularity, partitionName, partitionsFor, partitionStart } from './partitions';

/** One host round as stored. Values absent (undefined) are NULL: missing, never 0. */
export interface HostSampleRow {
  hostId: string;
  collectedAt: Date;
  values: Record<string, number | undefined>;
  error?: string;
}

export interface VmSampleRow {
  vmId: string;
  hostId: string;
  collectedAt: Date;
  state: string;
  values: Record<string, number | undefined>;
}

interface SampleTable {
  table: string;
  rollup: string;
  key: 'host_id' | 'vm_id';
  fields: FieldDef[];
}

const HOSTS: SampleTable = { table: 'host_samples', rollup: 'host_samples_1m', key: 'host_id', fields: HOST_FIELDS };
const VMS: SampleTable = { table: 'vm_samples', rollup: 'vm_samples_1m', key: 'vm_id', fields: VM_FIELDS };

function round3(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : null;
}

/** All SQL of the `metrics` schema; nothing else touches it. */
@Injectable()
export class MetricsRepository {
  private readonly knownPartitions = new Set<string>();

  constructor(@InjectDataSource() readonly db: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /** Runs a write and returns the rows it affected (inside `m`'s transaction when given). */
  private async affected(sql: string, params: unknown[], m?: EntityManager): Promise<number> {
    const own = m?.queryRunner ? undefined : this.db.createQueryRunner();
    const qr = m?.queryRunner ?? own!;
    try {
      const res = await qr.query(sql, params, true);
      return res.affected ?? 0;
    } finally {
      await own?.release();
    }
  }

  // --- hosts ---------------------------------------------------------------------------------------------

  /** From host.registered: connection details always; the state only if the event is not older than ours. */
  async upsertHost(m: EntityManager, e: HostRegisteredEvent): Promise<void> {
    await m.query(
      `INSERT INTO metrics.hosts (id, name, address, ssh_port, ssh_user, state, state_reason, state_at, registered_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'registered', $7, $7, now())
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, ssh_port = EXCLUDED.ssh_port,
         ssh_user = EXCLUDED.ssh_user, updated_at = now(),
         state = CASE WHEN EXCLUDED.state_at >= metrics.hosts.state_at THEN EXCLUDED.state ELSE metrics.hosts.state END,
         state_reason = CASE WHEN EXCLUDED.state_at >= metrics.hosts.state_at THEN EXCLUDED.state_reason ELSE metrics.hosts.state_reason END,
         state_at = GREATEST(metrics.hosts.state_at, EXCLUDED.state_at)`,
      [e.hostId, e.name, e.address, e.sshPort, e.sshUser, e.state, e.occurredAt],
    );
  }

  /** From host.removed: the host leaves the collection (its samples stay until retention drops them). */
  async removeHost(m: EntityManager, hostId: string): Promise<void> {
    await m.query('DELETE FROM metrics.hosts WHERE id = $1', [hostId]);
  }

  /** Applies a state change unless a newer one is stored; 'unknown' when the host is not registered here yet. */
  async applyHostState(m: EntityManager, hostId: string, state: HostState, reason: string, at: Date): Promise<'updated' | 'older' | 'unknown'> {
    const rows: { id: string; applied: boolean }[] = await m.query(
      `WITH cur AS (SELECT id, state_at FROM metrics.hosts WHERE id = $1 FOR UPDATE),
            upd AS (UPDATE metrics.hosts h SET state = $2, state_reason = $3, state_at = $4, updated_at = now()
                    FROM cur WHERE h.id = cur.id AND cur.state_at <= $4 RETURNING h.id)
       SELECT cur.id, EXISTS (SELECT 1 FROM upd) AS applied FROM cur`,
      [hostId, state, reason.slice(0, 2000), at],
    );
    if (!rows.length) return 'unknown';
    return rows[0].applied ? 'updated' : 'older';
  }

  listHosts(): Promise<MetricsHostRow[]> {
    return this.db.getRepository(MetricsHostRow).find({ order: { name: 'ASC', id: 'ASC' } });
  }

  // --- partitions ----------------------------------------------------------------------------------------

  /** Creates the partitions the given times fall into (cached; concurrent creators serialised by a lock). */
  async ensurePartitions(table: string, g: Granularity, times: Iterable<number>): Promise<void> {
    const missing = partitionsFor(times, g).filter((s) => !this.knownPartitions.has(partitionName(table, s, g)));
    if (!missing.length) return;
    await this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.metrics.partitions'))`);
      for (const s of missing) await m.query(createPartitionSql(SCHEMA, table, s, g));
    });
    for (const s of missing) this.knownPartitions.add(partitionName(table, s, g));
  }

  async listPartitions(table: string): Promise<string[]> {
    const rows: { name: string }[] = await this.db.query(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
       WHERE n.nspname = $1 AND p.relname = $2 ORDER BY 1`,
      [SCHEMA, table],
    );
    return rows.map((r) => r.name);
  }

  /** Drops partitions that ended before the cutoff; returns their names. */
  async dropExpired(table: string, g: Granularity, cutoff: Date): Promise<string[]> {
    const names = expiredPartitions(table, await this.listPartitions(table), g, cutoff);
    for (const n of names) {
      await this.db.query(`DROP TABLE IF EXISTS ${SCHEMA}.${n}`);
      this.knownPartitions.delete(n);
    }
    return names;
  }

  // --- ingest --------------------------------------------------------------------------------------------

  /** One INSERT for the whole batch (unnest of column arrays); a round stored twice is ignored. */
  async insertHostSamples(rows: HostSampleRow[]): Promise<number> {
    if (!rows.length) return 0;
    await this.ensurePartitions(HOSTS.table, 'hour', rows.map((r) => r.collectedAt.getTime()));
    const cols = HOST_FIELDS.map((f) => f.col);
    const params: unknown[] = [rows.map((r) => r.hostId), rows.map((r) => r.collectedAt.toISOString())];
    for (const f of HOST_FIELDS) params.push(rows.map((r) => r.values[f.api] ?? null));
    params.push(rows.map((r) => r.error ?? null));
    const types = ['uuid', 'timestamptz', ...HOST_FIELDS.map((f) => f.pg), 'text'];
    return this.affected(
      `INSERT INTO metrics.host_samples (host_id, collected_at, ${cols.join(', ')}, error)
       SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
       ON CONFLICT DO NOTHING`,
      params,
    );
  }

  async insertVmSamples(rows: VmSampleRow[]): Promise<number> {
    if (!rows.length) return 0;
    await this.ensurePartitions(VMS.table, 'hour', rows.map((r) => r.collectedAt.getTime()));
    const cols = VM_FIELDS.map((f) => f.col);
    const params: unknown[] = [rows.map((r) => r.vmId), rows.map((r) => r.collectedAt.toISOString()), rows.map((r) => r.hostId), rows.map((r) => r.state)];
    for (const f of VM_FIELDS) params.push(rows.map((r) => r.values[f.api] ?? null));
    const types = ['uuid', 'timestamptz', 'uuid', 'text', ...VM_FIELDS.map((f) => f.pg)];
    return this.affected(
      `INSERT INTO metrics.vm_samples (vm_id, collected_at, host_id, state, ${cols.join(', ')})
       SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
       ON CONFLICT DO NOTHING`,
      params,
    );
  }

  // --- rollups -------------------------------------------------------------------------------------------

  /**
   * Rolls raw rounds up into 1-minute buckets for [rolled_until - lateness, the last complete minute): recent
   * buckets are recomputed so late samples still count. Returns the buckets written.
   */
  async rollup(now: Date, latenessMs: number, rawRetentionHours: number): Promise<{ hosts: number; vms: number }> {
    const until = new Date(Math.floor((now.getTime() - 5000) / 60_000) * 60_000);
    const out = { hosts: 0, vms: 0 };
    for (const t of [HOSTS, VMS]) {
      const n = await this.db.transaction(async (m) => {
        const locked: { ok: boolean }[] = await m.query(`SELECT pg_try_advisory_xact_lock(hashtext('minicloud.metrics.rollup.' || $1)) AS ok`, [t.table]);
        if (!locked[0].ok) return 0; // another replica is on it
        const st: { rolled_until: Date }[] = await m.query(`SELECT rolled_until FROM metrics.rollup_state WHERE source = $1`, [t.table]);
        let from: Date;
        if (st.length) from = new Date(st[0].rolled_until.getTime() - latenessMs);
        else {
          const first: { t: Date | null }[] = await m.query(`SELECT min(collected_at) AS t FROM metrics.${t.table}`);
          const oldest = now.getTime() - rawRetentionHours * 3_600_000;
          from = new Date(Math.floor(Math.max(first[0].t?.getTime() ?? until.getTime(), oldest) / 60_000) * 60_000);
        }
        from = new Date(Math.floor(from.getTime() / 60_000) * 60_000);
        let written = 0;
        if (from < until) {
          await this.ensurePartitionsIn(m, t.rollup, 'day', from, until);
          written = await this.affected(rollupSql(t), [from, until], m);
        }
        await m.query(
          `INSERT INTO metrics.rollup_state (source, rolled_until) VALUES ($1, $2)
           ON CONFLICT (source) DO UPDATE SET rolled_until = GREATEST(metrics.rollup_state.rolled_until, EXCLUDED.rolled_until)`,
          [t.table, until],
        );
        return written;
      });
      if (t === HOSTS) out.hosts = n;
      else out.vms = n;
    }
    return out;
  }

  private async ensurePartitionsIn(m: EntityManager, table: string, g: Granularity, from: Date, to: Date): Promise<void> {
    const times: number[] = [];
    for (let t = partitionStart(from, g).getTime(); t < to.getTime(); t += g === 'day' ? 86_400_000 : 3_600_000) times.push(t);
    const missing = partitionsFor(times, g).filter((s) => !this.knownPartitions.has(partitionName(table, s, g)));
    if (!missing.length) return;
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.metrics.partitions'))`);
    for (const s of missing) await m.query(createPartitionSql(SCHEMA, table, s, g));
    // Known only once committed; a rollback just means they are created again next time (IF NOT EXISTS).
    for (const s of missing) this.knownPartitions.add(partitionName(table, s, g));
  }

  // --- queries -------------------------------------------------------------------------------------------

  async hostSeries(id: string, from: Date, to: Date, step: number, source: 'raw' | '1m'): Promise<MetricsPoint[]> {
    return this.series(HOSTS, id, from, to, step, source);
  }

  async vmSeries(id: string, from: Date, to: Date, step: number, source: 'raw' | '1m'): Promise<MetricsPoint[]> {
    return this.series(VMS, id, from, to, step, source);
  }

  private async series(t: SampleTable, id: string, from: Date, to: Date, step: number, source: 'raw' | '1m'): Promise<MetricsPoint[]> {
    const isHost = t === HOSTS;
    const time = source === 'raw' ? 'collected_at' : 'bucket';
    const table = source === 'raw' ? t.table : t.rollup;
    const sel: string[] = [];
    if (source === 'raw') {
      sel.push(isHost ? `count(*) FILTER (WHERE error IS NULL) AS samples` : `count(*) AS samples`);
      if (isHost) sel.push(`count(*) FILTER (WHERE error IS NOT NULL) AS missing`);
      for (const f of t.fields) sel.push(`avg(${f.col})::float8 AS "${f.api}"`);
      sel.push(`max(cpu_percent)::float8 AS "cpuPercentMax"`);
    } else {
      sel.push(`sum(samples) AS samples`);
      if (isHost) sel.push(`sum(missing) AS missing`);
      // Minute averages weighted by their rounds.
      for (const f of t.fields) sel.push(`(sum(${f.col} * samples) / nullif(sum(samples) FILTER (WHERE ${f.col} IS NOT NULL), 0))::float8 AS "${f.api}"`);
      sel.push(`max(cpu_percent_max)::float8 AS "cpuPercentMax"`);
    }
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT to_timestamp(floor(extract(epoch FROM ${time}) / $4) * $4) AS t, ${sel.join(', ')}
       FROM metrics.${table} WHERE ${t.key} = $1 AND ${time} >= $2 AND ${time} < $3
       GROUP BY 1 ORDER BY 1`,
      [id, from, to, step],
    );
    return rows.map((r) => {
      const p: MetricsPoint = { t: (r.t as Date).toISOString(), samples: Number(r.samples) };
      if (isHost) p.missing = Number(r.missing);
      for (const f of t.fields) p[f.api] = round3(r[f.api]);
      p.cpuPercentMax = round3(r.cpuPercentMax);
      return p;
    });
  }

  /** The newest round (within `windowMs`) of each host asked for. */
  async latestHosts(ids: string[], windowMs: number): Promise<Record<string, HostLatestMetrics>> {
    if (!ids.length) return {};
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT h.id, s.* FROM unnest($1::uuid[]) AS h(id) CROSS JOIN LATERAL (
         SELECT * FROM metrics.host_samples s WHERE s.host_id = h.id AND s.collected_at > now() - make_interval(secs => $2)
         ORDER BY s.collected_at DESC LIMIT 1) s`,
      [ids, windowMs / 1000],
    );
    const out: Record<string, HostLatestMetrics> = {};
    for (const r of rows) {
      const v: HostLatestMetrics = { collectedAt: (r.collected_at as Date).toISOString() };
      for (const f of HOST_FIELDS) if (r[f.col] !== null && r[f.col] !== undefined) (v as unknown as Record<string, number>)[f.api] = Number(r[f.col]);
      if (r.error) v.error = String(r.error);
      out[String(r.id)] = v;
    }
    return out;
  }

  async latestVms(ids: string[], windowMs: number): Promise<Record<string, VmLatestMetrics>> {
    if (!ids.length) return {};
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT v.id, s.* FROM unnest($1::uuid[]) AS v(id) CROSS JOIN LATERAL (
         SELECT * FROM metrics.vm_samples s WHERE s.vm_id = v.id AND s.collected_at > now() - make_interval(secs => $2)
         ORDER BY s.collected_at DESC LIMIT 1) s`,
      [ids, windowMs / 1000],
    );
    const out: Record<string, VmLatestMetrics> = {};
    for (const r of rows) {
      const v: VmLatestMetrics = { collectedAt: (r.collected_at as Date).toISOString(), hostId: String(r.host_id), state: String(r.state) };
      for (const f of VM_FIELDS) if (r[f.col] !== null && r[f.col] !== undefined) (v as unknown as Record<string, number>)[f.api] = Number(r[f.col]);
      out[String(r.id)] = v;
    }
    return out;
  }
}

function rollupSql(t: SampleTable): string {
  const isHost = t === HOSTS;
  const cols = t.fields.map((f) => f.col);
  const counts = isHost ? ['samples', 'missing'] : ['host_id', 'samples'];
  const countSel = isHost
    ? [`count(*) FILTER (WHERE error IS NULL)`, `count(*) FILTER (WHERE error IS NOT NULL)`]
    : [`(array_agg(host_id ORDER BY collected_at DESC))[1]`, `count(*)`];
  const all = [...counts, ...cols, 'cpu_percent_max'];
  return `INSERT INTO metrics.${t.rollup} (${t.key}, bucket, ${all.join(', ')})
    SELECT ${t.key}, date_trunc('minute', collected_at), ${countSel.join(', ')},
      ${cols.map((c) => `avg(${c})::float8`).join(', ')}, max(cpu_percent)
    FROM metrics.${t.table} WHERE collected_at >= $1 AND collected_at < $2
    GROUP BY 1, 2
    ON CONFLICT (${t.key}, bucket) DO UPDATE SET ${all.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
}

