import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { MigrationStorageKind } from '@minicloud/contracts';
import { HoldRow, MigrationHold, toHold } from './migration-hold.repository';
import { rowsOf } from './sql';

export interface PendingRow {
  vmId: string;
  request: Record<string, unknown>;
  priority: number;
  deadline: Date | null;
  expiresAt: Date;
  enqueuedAt: Date;
  reason: string;
  removedByFilter: Record<string, number>;
  tries: number;
}

interface Raw {
  vm_id: string;
  request: Record<string, unknown>;
  priority: number;
  deadline: Date | null;
  expires_at: Date;
  enqueued_at: Date;
  reason: string;
  removed_by_filter: Record<string, number>;
  tries: number;
}

const toPending = (r: Raw): PendingRow => ({
  vmId: r.vm_id,
  request: r.request,
  priority: r.priority,
  deadline: r.deadline,
  expiresAt: r.expires_at,
  enqueuedAt: r.enqueued_at,
  reason: r.reason,
  removedByFilter: r.removed_by_filter,
  tries: r.tries,
});

export interface PreemptionRecord {
  /** scheduler.preemptions.id once recorded: the preemption's event id derives from it (unique per preemption). */
  id?: number;
  vmId: string;
  hostId: string;
  action: 'stop' | 'migrate';
  targetHostId: string | null;
  preemptedByVmId: string | null;
  reservationId: string | null;
  reason: string;
  /** Action migrate: the live migration that moves the VM (its hold has `claimMoved`), and its storage. */
  migration?: { hold: MigrationHold; storage: MigrationStorageKind } | null;
}

/** scheduler.pending (requests waiting for capacity) and scheduler.preemptions (the record of preemptions). */
@Injectable()
export class QueueRepository {
  async enqueue(m: EntityManager, p: Omit<PendingRow, 'enqueuedAt' | 'tries'>): Promise<Date> {
    const rows = await rowsOf<{ enqueued_at: Date }>(m,
      `INSERT INTO scheduler.pending (vm_id, request, priority, deadline, expires_at, reason, removed_by_filter)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (vm_id) DO NOTHING RETURNING enqueued_at`,
      [p.vmId, JSON.stringify(p.request), p.priority, p.deadline, p.expiresAt, p.reason, JSON.stringify(p.removedByFilter)],
    );
    return rows[0]?.enqueued_at ?? new Date();
  }

  async stillWaiting(m: EntityManager, vmId: string, reason: string, removedByFilter: Record<string, number>): Promise<void> {
    await m.query(`UPDATE scheduler.pending SET reason = $2, removed_by_filter = $3, tries = tries + 1, updated_at = now() WHERE vm_id = $1`, [
      vmId,
      reason,
      JSON.stringify(removedByFilter),
    ]);
  }

  async remove(m: EntityManager, vmId: string): Promise<PendingRow | null> {
    const rows = await rowsOf<Raw>(m, `DELETE FROM scheduler.pending WHERE vm_id = $1 RETURNING *`, [vmId]);
    return rows.length ? toPending(rows[0]) : null;
  }

  async get(m: EntityManager, vmId: string): Promise<PendingRow | null> {
    const rows = await rowsOf<Raw>(m, `SELECT * FROM scheduler.pending WHERE vm_id = $1`, [vmId]);
    return rows.length ? toPending(rows[0]) : null;
  }

  async list(m: EntityManager): Promise<PendingRow[]> {
    const rows = await rowsOf<Raw>(m, `SELECT * FROM scheduler.pending`);
    return rows.map(toPending);
  }

  /** Records the preemption and sets its `id`. */
  async recordPreemption(m: EntityManager, p: PreemptionRecord): Promise<void> {
    const rows = await rowsOf<{ id: string }>(m,
      `INSERT INTO scheduler.preemptions (vm_id, host_id, action, target_host_id, preempted_by_vm_id, reservation_id, reason, migration_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [p.vmId, p.hostId, p.action, p.targetHostId, p.preemptedByVmId, p.reservationId, p.reason, p.migration?.hold.migrationId ?? null],
    );
    p.id = Number(rows[0].id);
  }

  /** Who preempted the VM that migration `migrationId` was moving (its preemption record). */
  async preemptionOfMigration(m: EntityManager, migrationId: string): Promise<{ preemptedByVmId: string | null; reservationId: string | null } | null> {
    const rows = await rowsOf<{ preempted_by_vm_id: string | null; reservation_id: string | null }>(m,
      `SELECT preempted_by_vm_id, reservation_id FROM scheduler.preemptions WHERE migration_id = $1 ORDER BY id LIMIT 1`,
      [migrationId],
    );
    return rows.length ? { preemptedByVmId: rows[0].preempted_by_vm_id, reservationId: rows[0].reservation_id } : null;
  }
}

/**
 * The preemptions VM `vmId` caused, as recorded (to publish them again for a redelivered request): with their id,
 * and for a move the migration's hold and storage, so that migration.planned goes out again too.
 */
export async function preemptionsBy(m: EntityManager, vmId: string): Promise<PreemptionRecord[]> {
  type Row = { id: string; vm_id: string; host_id: string; action: 'stop' | 'migrate'; target_host_id: string | null; preempted_by_vm_id: string | null; reservation_id: string | null; reason: string; migration_id: string | null };
  const rows = await rowsOf<Row>(m, `SELECT * FROM scheduler.preemptions WHERE preempted_by_vm_id = $1 ORDER BY id`, [vmId]);
  const out: PreemptionRecord[] = [];
  for (const r of rows) {
    let migration: PreemptionRecord['migration'] = null;
    if (r.migration_id) {
      const h = await rowsOf<HoldRow & { vm_storage: string | null }>(m,
        `SELECT h.*, c.request->>'storage' AS vm_storage FROM scheduler.migration_holds h LEFT JOIN scheduler.claims c ON c.vm_id = h.vm_id WHERE h.migration_id = $1`,
        [r.migration_id],
      );
      if (h.length) migration = { hold: toHold(h[0]), storage: h[0].vm_storage === 'shared' ? 'shared' : 'copy' };
    }
    out.push({ id: Number(r.id), vmId: r.vm_id, hostId: r.host_id, action: r.action, targetHostId: r.target_host_id, preemptedByVmId: r.preempted_by_vm_id, reservationId: r.reservation_id, reason: r.reason, migration });
  }
  return out;
}
