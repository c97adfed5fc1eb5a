import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { EventOf, Subjects } from '@minicloud/contracts';
import { firstDelivery, resultRows } from '@minicloud/database';
import { MigrationRecord, MigratorHost, SCHEMA } from './entities';
import type { HostRef } from '../engine/host-ops';
import type { Control } from '../engine/runner';
import { MigrationHistory, pathFacts } from '@minicloud/migration';

const MiB = 2 ** 20;

/** The migrator's own tables: migrations, controls, hosts. */
@Injectable()
export class MigrationsRepository {
  constructor(readonly db: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  firstDelivery(m: EntityManager, consumer: string, eventId: string): Promise<boolean> {
    return firstDelivery(m, SCHEMA, consumer, eventId);
  }

  /** A planned migration is recorded once (a redelivery changes nothing). */
  async insertPlanned(m: EntityManager, e: EventOf<typeof Subjects.MigrationPlanned>): Promise<boolean> {
    const rows = await m.query(
      `INSERT INTO migrator.migrations (id, vm_id, source_host_id, target_host_id, state, reason, mode, storage, requested_strategy, origin,
         max_downtime_ms, bandwidth_mibs, memory_mib, vcpus, stages)
       VALUES ($1, $2, $3, $4, 'planned', $5, $6, $7, $8, $9, $10, $11, $12, $13, '[]')
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [e.migrationId, e.vmId, e.sourceHostId, e.targetHostId, e.reason, e.mode, e.storage, e.strategy, e.origin, e.maxDowntimeMs ?? null, e.bandwidthMiBs ?? null, e.memoryMiB, e.vcpus],
    );
    return rows.length === 1;
  }

  async recordControl(m: EntityManager, migrationId: string, action: 'cancel' | 'force-complete'): Promise<void> {
    // A cancel is never overwritten by a later force-complete.
    await m.query(
      `INSERT INTO migrator.controls (migration_id, action) VALUES ($1, $2)
       ON CONFLICT (migration_id) DO UPDATE SET action = EXCLUDED.action, requested_at = now() WHERE migrator.controls.action <> 'cancel'`,
      [migrationId, action],
    );
  }

  get(id: string): Promise<MigrationRecord | null> {
    return this.db.getRepository(MigrationRecord).findOneBy({ id });
  }

  async update(id: string, patch: Partial<MigrationRecord>): Promise<void> {
    await this.db.getRepository(MigrationRecord).update({ id }, patch as never);
  }

  /** Heartbeat of the owner; returns the control asked for this migration, if any. */
  async heartbeat(id: string, owner: string): Promise<Control> {
    const rows = await this.db.query(
      `WITH hb AS (UPDATE migrator.migrations SET heartbeat_at = now() WHERE id = $1 AND owner = $2 RETURNING id)
       SELECT c.action FROM migrator.controls c WHERE c.migration_id = $1`,
      [id, owner],
    );
    return (rows[0]?.action as Control) ?? null;
  }

  /**
   * Admission, one replica at a time (transaction-scoped advisory lock): the planned migrations in arrival order,
   * the running ones, and `choose` picks which start; they become running, owned by `owner`.
   */
  async admit(owner: string, choose: (planned: MigrationRecord[], running: MigrationRecord[]) => MigrationRecord[]): Promise<MigrationRecord[]> {
    return this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.migrator.admit'))`);
      const planned = await m.getRepository(MigrationRecord).find({ where: { state: 'planned' }, order: { createdAt: 'ASC' }, take: 500 });
      if (!planned.length) return [];
      const running = await m.getRepository(MigrationRecord).find({ where: { state: 'running' } });
      const chosen = choose(planned, running);
      for (const c of chosen) {
        await m.query(`UPDATE migrator.migrations SET state = 'running', owner = $2, heartbeat_at = now(), updated_at = now() WHERE id = $1`, [c.id, owner]);
        c.state = 'running';
        c.owner = owner;
      }
      return chosen;
    });
  }

  /** Running migrations whose owner stopped writing heartbeats: taken over by `owner` to be settled. */
  async takeOverStale(owner: string, staleAfterS: number, mine: Set<string>): Promise<MigrationRecord[]> {
    const rows: { id: string }[] = resultRows(await this.db.query(
      `UPDATE migrator.migrations SET owner = $1, heartbeat_at = now(), updated_at = now()
       WHERE state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $2))
         AND NOT (id = ANY($3::uuid[]))
       RETURNING id`,
      [owner, staleAfterS, [...mine]],
    ));
    const out: MigrationRecord[] = [];
    for (const r of rows) {
      if (!r?.id) continue;
      const rec = await this.get(r.id);
      if (rec) out.push(rec);
    }
    return out;
  }

  /**
   * What past migrations teach the cost model (`MigrationHistory`): from the last 5 completed live migrations
   * source → target the bandwidth (uncapped ones), the fixed time and the fixed pause (`pathFacts`); from this VM's
   * last completed live migration its non-zero memory and copied disk (`jobFacts`, when its record holds them).
   */
  async migrationHistory(sourceHostId: string, targetHostId: string, vmId: string): Promise<MigrationHistory> {
    const path: { total: number | null; pause: number | null; data: number | null; bw: number | null; capped: boolean; strategy: string | null }[] = await this.db.query(
      `SELECT coalesce((actual->>'jobTimeMs')::float, (actual->>'totalTimeMs')::float) AS total, (actual->>'downtimeMs')::float AS pause,
              (actual->>'dataTransferredBytes')::float AS data, (actual->>'bandwidthMiBs')::float AS bw, bandwidth_mibs IS NOT NULL AS capped, strategy
         FROM migrator.migrations
        WHERE source_host_id = $1 AND target_host_id = $2 AND state = 'completed' AND mode = 'live' AND actual IS NOT NULL
        ORDER BY finished_at DESC LIMIT 5`,
      [sourceHostId, targetHostId],
    );
    const facts = pathFacts(
      path.map((p) => ({
        totalTimeMs: p.total ?? undefined,
        downtimeMs: p.pause ?? undefined,
        dataBytes: p.data ?? undefined,
        bandwidthBytesPerSec: p.bw === null ? undefined : p.bw * MiB,
        capped: p.capped,
        strategy: p.strategy ?? undefined,
      })),
    );
    const vm: { used: number | null; disk: number | null }[] = await this.db.query(
      `SELECT (actual->>'usedMemoryBytes')::float AS used, (actual->>'diskBytes')::float AS disk FROM migrator.migrations
        WHERE vm_id = $1 AND state = 'completed' AND mode = 'live' AND actual ? 'usedMemoryBytes'
        ORDER BY finished_at DESC LIMIT 1`,
      [vmId],
    );
    const out: MigrationHistory = { bandwidthBytesPerSec: facts.bandwidthBytesPerSec, setupMs: facts.setupMs, switchoverMs: facts.switchoverMs };
    if (vm[0]?.used != null) out.usedMemoryBytes = vm[0].used;
    if (vm[0]?.disk != null) out.diskBytes = vm[0].disk;
    return out;
  }

  // Hosts (fed by host events).
  async upsertHost(m: EntityManager, e: EventOf<typeof Subjects.HostRegistered>): Promise<void> {
    await m.query(
      `INSERT INTO migrator.hosts (id, name, address, ssh_port, ssh_user, state, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, ssh_port = EXCLUDED.ssh_port,
         ssh_user = EXCLUDED.ssh_user, state = EXCLUDED.state, updated_at = now()`,
      [e.hostId, e.name, e.address, e.sshPort, e.sshUser, e.state],
    );
  }

  async setHostState(m: EntityManager, hostId: string, state: string): Promise<boolean> {
    const r = resultRows(await m.query(`UPDATE migrator.hosts SET state = $2, updated_at = now() WHERE id = $1 RETURNING id`, [hostId, state]));
    return r.length === 1;
  }

  async removeHost(m: EntityManager, hostId: string): Promise<void> {
    await m.query(`DELETE FROM migrator.hosts WHERE id = $1`, [hostId]);
  }

  async host(id: string): Promise<HostRef | null> {
    const h = await this.db.getRepository(MigratorHost).findOneBy({ id });
    return h ? { id: h.id, name: h.name, address: h.address, sshPort: h.sshPort, sshUser: h.sshUser } : null;
  }
}
