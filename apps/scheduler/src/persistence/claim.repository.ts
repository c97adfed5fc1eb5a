import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { rowsOf } from './sql';

export interface Claim {
  vmId: string;
  hostId: string | null;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  reason: string;
  createdAt: Date;
  releasedAt: Date | null;
  priority?: number;
  preemptible?: boolean;
  groupName?: string | null;
  reservationId?: string | null;
  attempt?: number;
  failedHosts?: string[];
  /** The vm.requested payload (to publish vm.scheduled again for a retry or a move). */
  request?: Record<string, unknown> | null;
  /** Why a released claim was released ('vm deleted', the preemption's reason, …). */
  releaseReason?: string | null;
}

interface ClaimRow {
  vm_id: string;
  host_id: string | null;
  vcpus: number;
  memory_mib: number;
  disk_gib: number;
  reason: string;
  created_at: Date;
  released_at: Date | null;
  priority?: number;
  preemptible?: boolean;
  group_name?: string | null;
  reservation_id?: string | null;
  attempt?: number;
  failed_hosts?: string[];
  request?: Record<string, unknown> | null;
  release_reason?: string | null;
}

const toClaim = (r: ClaimRow): Claim => ({
  vmId: r.vm_id,
  hostId: r.host_id,
  vcpus: r.vcpus,
  memoryMiB: r.memory_mib,
  diskGiB: r.disk_gib,
  reason: r.reason,
  createdAt: new Date(r.created_at),
  releasedAt: r.released_at === null || r.released_at === undefined ? null : new Date(r.released_at),
  priority: r.priority,
  preemptible: r.preemptible,
  groupName: r.group_name ?? null,
  reservationId: r.reservation_id ?? null,
  attempt: r.attempt,
  failedHosts: r.failed_hosts ?? [],
  request: r.request ?? null,
  releaseReason: r.release_reason ?? null,
});

export interface ScheduleFailure {
  vmId: string;
  reason: string;
  removedByFilter: Record<string, number>;
  createdAt: Date;
}

/** scheduler.claims and scheduler.schedule_failures: the scheduler's decision per VM. */
@Injectable()
export class ClaimRepository {
  /**
   * Serialises every decision about one VM (place, fail, release) until the transaction ends: copies of one
   * request handled by two replicas at once would otherwise both see "no decision yet" and could answer
   * differently (one claims, the other, seeing the host now full, records a failure).
   */
  async lockVm(m: EntityManager, vmId: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.vm'), hashtext($1))`, [vmId]);
  }

  async find(m: EntityManager, vmId: string): Promise<Claim | null> {
    const rows = await rowsOf<ClaimRow>(m, `SELECT * FROM scheduler.claims WHERE vm_id = $1`, [vmId]);
    return rows.length ? toClaim(rows[0]) : null;
  }

  /** false when another transaction already wrote a claim (or tombstone) for this VM. */
  async insert(m: EntityManager, c: Omit<Claim, 'createdAt' | 'releasedAt'>): Promise<Claim | null> {
    const rows = await rowsOf<ClaimRow>(m, 
      `INSERT INTO scheduler.claims (vm_id, host_id, vcpus, memory_mib, disk_gib, reason) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (vm_id) DO NOTHING RETURNING *`,
      [c.vmId, c.hostId, c.vcpus, c.memoryMiB, c.diskGiB, c.reason],
    );
    return rows.length ? toClaim(rows[0]) : null;
  }

  /**
   * Marks the VM's active claim released and returns it (the caller gives the capacity back in the same
   * transaction). Returns null when it was already released, or when the VM never had a claim, in which case a
   * released tombstone is written so a late vm.requested for this VM is not placed.
   */
  async release(m: EntityManager, vmId: string, why: string): Promise<Claim | null> {
    for (;;) {
      const released = await rowsOf<ClaimRow>(m, 
        `UPDATE scheduler.claims SET released_at = now(), release_reason = $2
         WHERE vm_id = $1 AND released_at IS NULL RETURNING *`,
        [vmId, why],
      );
      if (released.length) return toClaim(released[0]);
      const tomb = await rowsOf<unknown>(m, 
        `INSERT INTO scheduler.claims (vm_id, host_id, vcpus, memory_mib, disk_gib, reason, released_at, release_reason)
         VALUES ($1, NULL, 0, 0, 0, 'released before placement', now(), $2)
         ON CONFLICT (vm_id) DO NOTHING RETURNING vm_id`,
        [vmId, why],
      );
      if (tomb.length) return null;
      // A row exists: either already released (nothing to do) or a claim committed meanwhile (release it).
      const now = await this.find(m, vmId);
      if (!now || now.releasedAt) return null;
    }
  }

  async findFailure(m: EntityManager, vmId: string): Promise<ScheduleFailure | null> {
    const rows = await rowsOf<{ vm_id: string; reason: string; removed_by_filter: Record<string, number>; created_at: Date }>(m, 
      `SELECT * FROM scheduler.schedule_failures WHERE vm_id = $1`,
      [vmId],
    );
    return rows.length ? { vmId: rows[0].vm_id, reason: rows[0].reason, removedByFilter: rows[0].removed_by_filter, createdAt: rows[0].created_at } : null;
  }

  async insertFailure(m: EntityManager, vmId: string, reason: string, removedByFilter: Record<string, number>): Promise<ScheduleFailure | null> {
    const rows = await rowsOf<{ created_at: Date }>(m, 
      `INSERT INTO scheduler.schedule_failures (vm_id, reason, removed_by_filter) VALUES ($1, $2, $3)
       ON CONFLICT (vm_id) DO NOTHING RETURNING created_at`,
      [vmId, reason, JSON.stringify(removedByFilter)],
    );
    return rows.length ? { vmId, reason, removedByFilter, createdAt: rows[0].created_at } : null;
  }

  /**
   * One round trip at the start of every decision: takes the VM's lock (see lockVm) and returns what is
   * already decided for it (claim, failure, or a place in the queue).
   */
  async lookup(m: EntityManager, vmId: string): Promise<{ claim: Claim | null; failure: ScheduleFailure | null; pending: boolean }> {
    // A statement's snapshot is taken when it starts: the lock must be its own statement, so the reads below
    // see whatever the previous holder of the lock committed.
    await this.lockVm(m, vmId);
    const rows = await rowsOf<{ claim: ClaimRow | null; failure: { vm_id: string; reason: string; removed_by_filter: Record<string, number>; created_at: string } | null; pending: boolean }>(m,
      `SELECT
         (SELECT row_to_json(c) FROM scheduler.claims c WHERE c.vm_id = $1::uuid) AS claim,
         (SELECT row_to_json(f) FROM scheduler.schedule_failures f WHERE f.vm_id = $1::uuid) AS failure,
         EXISTS (SELECT 1 FROM scheduler.pending p WHERE p.vm_id = $1::uuid) AS pending`,
      [vmId],
    );
    const r = rows[0];
    return {
      claim: r.claim ? toClaim(r.claim) : null,
      failure: r.failure ? { vmId, reason: r.failure.reason, removedByFilter: r.failure.removed_by_filter, createdAt: new Date(r.failure.created_at) } : null,
      pending: r.pending,
    };
  }

  /** Takes another VM's lock without waiting (preemption); false when someone else holds it. */
  async tryLockVm(m: EntityManager, vmId: string): Promise<boolean> {
    const rows = await rowsOf<{ ok: boolean }>(m, `SELECT pg_try_advisory_xact_lock(hashtext('minicloud.scheduler.vm'), hashtext($1::text)) AS ok`, [vmId]);
    return rows[0].ok;
  }

  /** Serialises placements of one server group, so two anti-affinity members never both see a host as free. */
  async lockGroup(m: EntityManager, name: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.group'), hashtext($1::text))`, [name]);
  }

  /**
   * Hosts where the group's members run, and the targets of their open migration holds (a member moving there
   * will run there). `exceptVmId`: leave out that VM itself (it is the one being moved).
   */
  async groupHosts(m: EntityManager, name: string, exceptVmId?: string): Promise<Set<string>> {
    const rows = await rowsOf<{ host_id: string }>(m,
      `SELECT c.host_id FROM scheduler.claims c
        WHERE c.group_name = $1 AND c.released_at IS NULL AND c.host_id IS NOT NULL AND c.vm_id IS DISTINCT FROM $2::uuid
       UNION
       SELECT h.target_host_id FROM scheduler.migration_holds h JOIN scheduler.claims c ON c.vm_id = h.vm_id
        WHERE c.group_name = $1 AND c.released_at IS NULL AND h.settled_at IS NULL AND c.vm_id IS DISTINCT FROM $2::uuid`,
      [name, exceptVmId ?? null],
    );
    return new Set(rows.map((r) => r.host_id));
  }

  /**
   * Active claims of preemptible VMs with a priority below `priority` (a larger number), optionally on one host.
   * A VM in the middle of a live migration (open hold) is not a candidate until its migration ends.
   */
  async preemptibleBelow(m: EntityManager, priority: number, hostId?: string): Promise<Claim[]> {
    const rows = await rowsOf<ClaimRow>(m,
      `SELECT * FROM scheduler.claims c WHERE released_at IS NULL AND preemptible AND priority > $1 AND host_id IS NOT NULL
       ${hostId ? 'AND host_id = $2' : ''}
       AND NOT EXISTS (SELECT 1 FROM scheduler.migration_holds h WHERE h.vm_id = c.vm_id AND h.settled_at IS NULL)`,
      hostId ? [priority, hostId] : [priority],
    );
    return rows.map(toClaim);
  }

  /** Releases one active claim; null when it was not active any more. */
  async releaseActive(m: EntityManager, vmId: string, why: string): Promise<Claim | null> {
    const rows = await rowsOf<ClaimRow>(m,
      `UPDATE scheduler.claims SET released_at = now(), release_reason = $2 WHERE vm_id = $1 AND released_at IS NULL RETURNING *`,
      [vmId, why],
    );
    return rows.length ? toClaim(rows[0]) : null;
  }

  /** Points an active claim at another host (a preempted VM moved away). */
  async moveActive(m: EntityManager, vmId: string, hostId: string, reason: string): Promise<void> {
    await m.query(`UPDATE scheduler.claims SET host_id = $2, reason = $3 WHERE vm_id = $1 AND released_at IS NULL`, [vmId, hostId, reason]);
  }

  /** The VM no longer uses its reservation's slot (it moved off the slot's host): it becomes an ordinary VM. */
  async leaveReservation(m: EntityManager, vmId: string): Promise<void> {
    await m.query(`UPDATE scheduler.claims SET reservation_id = NULL WHERE vm_id = $1`, [vmId]);
  }

  /** A build retry: the (released) claim becomes active again on another host, with the next attempt number. */
  async reassign(m: EntityManager, vmId: string, hostId: string, attempt: number, failedHosts: string[], reason: string): Promise<Claim> {
    const rows = await rowsOf<ClaimRow>(m,
      `UPDATE scheduler.claims SET host_id = $2, attempt = $3, failed_hosts = $4::uuid[], reason = $5, released_at = NULL,
         release_reason = NULL, created_at = now() WHERE vm_id = $1 RETURNING *`,
      [vmId, hostId, attempt, failedHosts, reason],
    );
    return toClaim(rows[0]);
  }

  /**
   * A stopped VM starts again on `hostId` (its disk is there): its claim becomes active there, as an ordinary VM
   * (no reservation slot), with `reason`. The caller allocated the capacity in the same transaction.
   */
  async reactivate(m: EntityManager, vmId: string, hostId: string, reason: string): Promise<Claim> {
    const rows = await rowsOf<ClaimRow>(m,
      `UPDATE scheduler.claims SET host_id = $2, reason = $3, released_at = NULL, release_reason = NULL, reservation_id = NULL
       WHERE vm_id = $1 RETURNING *`,
      [vmId, hostId, reason],
    );
    return toClaim(rows[0]);
  }

  async clearReservation(m: EntityManager, reservationId: string): Promise<void> {
    await m.query(`UPDATE scheduler.claims SET reservation_id = NULL WHERE reservation_id = $1 AND released_at IS NULL`, [reservationId]);
  }

  async activeOfReservation(m: EntityManager, reservationId: string): Promise<Claim[]> {
    const rows = await rowsOf<ClaimRow>(m, `SELECT * FROM scheduler.claims WHERE reservation_id = $1 AND released_at IS NULL`, [reservationId]);
    return rows.map(toClaim);
  }
}
