import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { rowsOf } from './sql';

/** `timed-out`: no migration.completed/failed within the scheduler's migration timeout (SCHEDULER_MIGRATION_TIMEOUT_*). */
export const HoldOutcomes = ['completed', 'failed', 'cancelled', 'vm-deleted', 'timed-out'] as const;
export type HoldOutcome = (typeof HoldOutcomes)[number];

/** Capacity held on a migration's target host (the allocation is on the target's row in scheduler.hosts). */
export interface MigrationHold {
  migrationId: string;
  vmId: string;
  sourceHostId: string;
  targetHostId: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  preemptible: boolean;
  /** Why this target (the placement reason, sent in migration.planned). */
  reason: string;
  /**
   * A preempted VM moved away: its claim already points at the target (the source's room went to the preempting
   * VM), so this hold allocates nothing of its own. Completed: nothing to move; failed: the claim is released and
   * the VM stopped instead.
   */
  claimMoved: boolean;
  createdAt: Date;
  settledAt: Date | null;
  outcome: HoldOutcome | null;
}

/** The scheduler's refusal of a migration.requested (republished as the same migration.failed on redelivery). */
export interface MigrationRefusal {
  migrationId: string;
  vmId: string;
  vmHostId: string;
  reason: string;
  createdAt: Date;
}

export interface HoldRow {
  migration_id: string;
  vm_id: string;
  source_host_id: string;
  target_host_id: string;
  vcpus: number;
  memory_mib: number;
  disk_gib: number;
  preemptible: boolean;
  reason: string;
  claim_moved: boolean;
  created_at: Date;
  settled_at: Date | null;
  outcome: HoldOutcome | null;
}

export const toHold = (r: HoldRow): MigrationHold => ({
  migrationId: r.migration_id,
  vmId: r.vm_id,
  sourceHostId: r.source_host_id,
  targetHostId: r.target_host_id,
  vcpus: r.vcpus,
  memoryMiB: r.memory_mib,
  diskGiB: r.disk_gib,
  preemptible: r.preemptible,
  reason: r.reason,
  claimMoved: r.claim_moved === true,
  createdAt: new Date(r.created_at),
  settledAt: r.settled_at ? new Date(r.settled_at) : null,
  outcome: r.outcome,
});

/** scheduler.migration_holds and scheduler.migration_refusals. Callers hold the VM's lock (ClaimRepository.lockVm). */
@Injectable()
export class MigrationHoldRepository {
  async get(m: EntityManager, migrationId: string): Promise<MigrationHold | null> {
    const rows = await rowsOf<HoldRow>(m, `SELECT * FROM scheduler.migration_holds WHERE migration_id = $1`, [migrationId]);
    return rows.length ? toHold(rows[0]) : null;
  }

  /** The VM's open hold (at most one: unique partial index). */
  async openOfVm(m: EntityManager, vmId: string): Promise<MigrationHold | null> {
    const rows = await rowsOf<HoldRow>(m, `SELECT * FROM scheduler.migration_holds WHERE vm_id = $1 AND settled_at IS NULL`, [vmId]);
    return rows.length ? toHold(rows[0]) : null;
  }

  /** Every open hold, oldest first, with the database's clock (timeouts are judged on it, not on a replica's). */
  async listOpen(m: EntityManager): Promise<{ holds: MigrationHold[]; now: number }> {
    const rows = await rowsOf<HoldRow & { db_now: Date }>(m, `SELECT *, now() AS db_now FROM scheduler.migration_holds WHERE settled_at IS NULL ORDER BY created_at, migration_id`);
    const clock = rows.length ? new Date(rows[0].db_now).getTime() : Date.now();
    return { holds: rows.map(toHold), now: clock };
  }

  /** null when a hold with this migration id exists already. */
  async insert(m: EntityManager, h: Omit<MigrationHold, 'createdAt' | 'settledAt' | 'outcome' | 'claimMoved'> & { claimMoved?: boolean }): Promise<MigrationHold | null> {
    const rows = await rowsOf<HoldRow>(m,
      `INSERT INTO scheduler.migration_holds (migration_id, vm_id, source_host_id, target_host_id, vcpus, memory_mib, disk_gib, preemptible, reason, claim_moved)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (migration_id) DO NOTHING RETURNING *`,
      [h.migrationId, h.vmId, h.sourceHostId, h.targetHostId, h.vcpus, h.memoryMiB, h.diskGiB, h.preemptible, h.reason, h.claimMoved === true],
    );
    return rows.length ? toHold(rows[0]) : null;
  }

  /** Closes an open hold; null when it was settled already (the caller frees nothing then). */
  async settle(m: EntityManager, migrationId: string, outcome: HoldOutcome, reason: string | null = null): Promise<MigrationHold | null> {
    const rows = await rowsOf<HoldRow>(m,
      `UPDATE scheduler.migration_holds SET settled_at = now(), outcome = $2, settle_reason = $3 WHERE migration_id = $1 AND settled_at IS NULL RETURNING *`,
      [migrationId, outcome, reason],
    );
    return rows.length ? toHold(rows[0]) : null;
  }

  async findRefusal(m: EntityManager, migrationId: string): Promise<MigrationRefusal | null> {
    const rows = await rowsOf<{ migration_id: string; vm_id: string; vm_host_id: string; reason: string; created_at: Date }>(m,
      `SELECT * FROM scheduler.migration_refusals WHERE migration_id = $1`,
      [migrationId],
    );
    return rows.length ? { migrationId: rows[0].migration_id, vmId: rows[0].vm_id, vmHostId: rows[0].vm_host_id, reason: rows[0].reason, createdAt: new Date(rows[0].created_at) } : null;
  }

  async insertRefusal(m: EntityManager, r: Omit<MigrationRefusal, 'createdAt'>): Promise<MigrationRefusal | null> {
    const rows = await rowsOf<{ created_at: Date }>(m,
      `INSERT INTO scheduler.migration_refusals (migration_id, vm_id, vm_host_id, reason) VALUES ($1, $2, $3, $4)
       ON CONFLICT (migration_id) DO NOTHING RETURNING created_at`,
      [r.migrationId, r.vmId, r.vmHostId, r.reason],
    );
    return rows.length ? { ...r, createdAt: new Date(rows[0].created_at) } : null;
  }
}
