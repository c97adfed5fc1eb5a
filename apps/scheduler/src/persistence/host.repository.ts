import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { rowsOf } from './sql';
import { HostState } from '@minicloud/contracts';
import { AllocationRatios } from '../placement/capacity';
import { Amount } from '../placement/reservations';
import { HostMaintenanceState, HostView, PlacementRequest } from '../placement/types';

export const HOST_COLUMNS = `id, name, state, arch, total_vcpus, total_memory_mib, total_disk_gib, cpu_allocation_ratio,
  ram_allocation_ratio, disk_allocation_ratio, allocated_vcpus, allocated_memory_mib, allocated_disk_gib, generation,
  preemptible_vcpus, preemptible_memory_mib, preemptible_disk_gib, reserved_vcpus, reserved_memory_mib, reserved_disk_gib,
  active_vms, cpu_percent, memory_percent, metrics_vm_count, metrics_at, change_seq, maintenance, shared_storage`;

export interface HostRow {
  id: string;
  name: string;
  state: HostState;
  arch: string;
  total_vcpus: number;
  total_memory_mib: number;
  total_disk_gib: number;
  cpu_allocation_ratio: number;
  ram_allocation_ratio: number;
  disk_allocation_ratio: number;
  allocated_vcpus: number;
  allocated_memory_mib: number;
  allocated_disk_gib: number;
  generation: string | number;
  preemptible_vcpus: number;
  preemptible_memory_mib: number;
  preemptible_disk_gib: number;
  reserved_vcpus: number;
  reserved_memory_mib: number;
  reserved_disk_gib: number;
  active_vms: number;
  cpu_percent: number | null;
  memory_percent: number | null;
  metrics_vm_count: number | null;
  metrics_at: Date | null;
  change_seq: string | number;
  maintenance: HostMaintenanceState | null;
  shared_storage: boolean;
}

export type CachedHost = HostView & { changeSeq: number };

export function toView(r: HostRow): CachedHost {
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    arch: r.arch,
    totalVcpus: r.total_vcpus,
    totalMemoryMiB: r.total_memory_mib,
    totalDiskGiB: r.total_disk_gib,
    cpuAllocationRatio: Number(r.cpu_allocation_ratio),
    ramAllocationRatio: Number(r.ram_allocation_ratio),
    diskAllocationRatio: Number(r.disk_allocation_ratio),
    allocatedVcpus: r.allocated_vcpus,
    allocatedMemoryMiB: r.allocated_memory_mib,
    allocatedDiskGiB: r.allocated_disk_gib,
    preemptibleVcpus: r.preemptible_vcpus,
    preemptibleMemoryMiB: r.preemptible_memory_mib,
    preemptibleDiskGiB: r.preemptible_disk_gib,
    reservedVcpus: r.reserved_vcpus,
    reservedMemoryMiB: r.reserved_memory_mib,
    reservedDiskGiB: r.reserved_disk_gib,
    activeVms: r.active_vms,
    cpuPercent: r.cpu_percent === null ? null : Number(r.cpu_percent),
    memoryPercent: r.memory_percent === null ? null : Number(r.memory_percent),
    metricsVmCount: r.metrics_vm_count,
    metricsAt: r.metrics_at ? new Date(r.metrics_at).getTime() : null,
    generation: Number(r.generation),
    changeSeq: Number(r.change_seq),
    maintenance: r.maintenance ?? null,
    sharedStorage: !!r.shared_storage,
  };
}

export interface RegisteredHost {
  id: string;
  name: string;
  state: HostState;
  stateAt: Date;
  arch: string;
  totalVcpus: number;
  totalMemoryMiB: number;
  totalDiskGiB: number;
  /** The host mounts the shared datastore (its facts say so). */
  sharedStorage: boolean;
}

export interface HostMetrics {
  hostId: string;
  at: Date;
  cpuPercent: number | null;
  memoryPercent: number | null;
  vmCount: number | null;
}

/**
 * The guard of every claim, in SQL: the host is up and neither draining nor in maintenance, everything claimed
 * stays within total × ratio, and a non-preemptible VM
 * also leaves the capacity held for advance reservations alone. $2..$4 = vCPUs, MiB, GiB; $5 = preemptible.
 */
const FITS = `state = 'up' AND maintenance IS NULL
  AND allocated_vcpus + $2 <= floor(total_vcpus * cpu_allocation_ratio)
  AND allocated_memory_mib + $3 <= floor(total_memory_mib * ram_allocation_ratio)
  AND allocated_disk_gib + $4 <= floor(total_disk_gib * disk_allocation_ratio)
  AND ($5::boolean OR (
    allocated_vcpus - preemptible_vcpus + reserved_vcpus + $2 <= floor(total_vcpus * cpu_allocation_ratio)
    AND allocated_memory_mib - preemptible_memory_mib + reserved_memory_mib + $3 <= floor(total_memory_mib * ram_allocation_ratio)
    AND allocated_disk_gib - preemptible_disk_gib + reserved_disk_gib + $4 <= floor(total_disk_gib * disk_allocation_ratio)))`;

const ADD = `allocated_vcpus = allocated_vcpus + $2,
  allocated_memory_mib = allocated_memory_mib + $3,
  allocated_disk_gib = allocated_disk_gib + $4,
  preemptible_vcpus = preemptible_vcpus + CASE WHEN $5::boolean THEN $2 ELSE 0 END,
  preemptible_memory_mib = preemptible_memory_mib + CASE WHEN $5::boolean THEN $3 ELSE 0 END,
  preemptible_disk_gib = preemptible_disk_gib + CASE WHEN $5::boolean THEN $4 ELSE 0 END,
  active_vms = active_vms + 1,
  generation = generation + 1, updated_at = now()`;

export interface NewClaim {
  vmId: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  preemptible: boolean;
  reason: string;
  priority: number;
  groupName: string | null;
  groupPolicy: string | null;
  reservationId: string | null;
  policy: string;
  request: object;
}

/** scheduler.hosts. Every write bumps `generation` (and, by trigger, `change_seq`); allocation changes are guarded in SQL. */
@Injectable()
export class HostRepository {
  /**
   * Inserts a new host (with the default ratios) or refreshes a known host's name, arch and totals, keeping
   * its ratios and allocations. The state is only taken when the event is not older than the stored state.
   */
  async upsertRegistered(m: EntityManager, h: RegisteredHost, ratios: AllocationRatios): Promise<void> {
    await m.query(
      `INSERT INTO scheduler.hosts (id, name, state, state_at, arch, total_vcpus, total_memory_mib, total_disk_gib,
         cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio, shared_storage)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (id) DO UPDATE SET
         name = EXCLUDED.name, arch = EXCLUDED.arch, total_vcpus = EXCLUDED.total_vcpus, shared_storage = EXCLUDED.shared_storage,
         total_memory_mib = EXCLUDED.total_memory_mib, total_disk_gib = EXCLUDED.total_disk_gib,
         state = CASE WHEN EXCLUDED.state_at >= hosts.state_at THEN EXCLUDED.state ELSE hosts.state END,
         state_at = GREATEST(EXCLUDED.state_at, hosts.state_at),
         generation = hosts.generation + 1, updated_at = now()`,
      [h.id, h.name, h.state, h.stateAt, h.arch, h.totalVcpus, h.totalMemoryMiB, h.totalDiskGiB, ratios.cpu, ratios.ram, ratios.disk, h.sharedStorage],
    );
  }

  /** 'unknown' when the host was never registered; 'stale' when a newer state is already stored. */
  async updateState(m: EntityManager, id: string, state: HostState, at: Date): Promise<'updated' | 'stale' | 'unknown'> {
    const rows = await rowsOf<unknown>(m,
      `UPDATE scheduler.hosts SET state = $2, state_at = $3, generation = generation + 1, updated_at = now()
       WHERE id = $1 AND state_at <= $3 RETURNING id`,
      [id, state, at],
    );
    if (rows.length) return 'updated';
    const exists = await rowsOf<unknown>(m, `SELECT 1 FROM scheduler.hosts WHERE id = $1`, [id]);
    return exists.length ? 'stale' : 'unknown';
  }

  /** Stores the latest load of a host; an older round never overwrites a newer one. false = unknown host. */
  async updateMetrics(m: EntityManager, x: HostMetrics): Promise<boolean> {
    const rows = await rowsOf<unknown>(m,
      `UPDATE scheduler.hosts SET cpu_percent = $2, memory_percent = $3, metrics_vm_count = $4, metrics_at = $5
       WHERE id = $1 AND (metrics_at IS NULL OR metrics_at <= $5) RETURNING id`,
      [x.hostId, x.cpuPercent, x.memoryPercent, x.vmCount, x.at],
    );
    return rows.length > 0;
  }

  /** At most `limit` hosts with an id after `afterId` (null: from the first), in id order: the full read in pages. */
  async listPage(m: EntityManager, afterId: string | null, limit: number): Promise<CachedHost[]> {
    const rows = afterId === null
      ? await rowsOf<HostRow>(m, `SELECT ${HOST_COLUMNS} FROM scheduler.hosts ORDER BY id LIMIT $1`, [limit])
      : await rowsOf<HostRow>(m, `SELECT ${HOST_COLUMNS} FROM scheduler.hosts WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
    return rows.map(toView);
  }

  /** Rows changed after `sinceSeq` (for the in-memory host view). */
  async changedSince(m: EntityManager, sinceSeq: number): Promise<CachedHost[]> {
    const rows = await rowsOf<HostRow>(m, `SELECT ${HOST_COLUMNS} FROM scheduler.hosts WHERE change_seq > $1`, [sinceSeq]);
    return rows.map(toView);
  }

  async get(m: EntityManager, id: string, forUpdate = false): Promise<CachedHost | null> {
    const rows = await rowsOf<HostRow>(m, `SELECT ${HOST_COLUMNS} FROM scheduler.hosts WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    return rows.length ? toView(rows[0]) : null;
  }

  /**
   * The atomic claim: adds the VM's resources only if the host is still up and every resource still fits
   * (see FITS), as of the latest committed row (Postgres re-checks the WHERE after waiting for a concurrent
   * writer's lock), and records the claim in the same statement. Two replicas can therefore never both fit
   * into the same free space. Returns the host after the claim; null when it no longer fits (lost a race, went
   * down); 'conflict' when a claim row for this VM already exists (the caller rolls back).
   */
  async claim(m: EntityManager, hostId: string, c: NewClaim, skipLocked = false): Promise<{ host: CachedHost; createdAt: Date } | null | 'conflict'> {
    // skipLocked: a host another transaction is claiming right now counts as lost at once (try the next
    // candidate) instead of waiting for its row lock; the caller falls back to waiting in later rounds.
    const target = skipLocked ? `(SELECT id FROM scheduler.hosts WHERE id = $1 FOR UPDATE SKIP LOCKED)` : '$1';
    const rows = await rowsOf<HostRow & { claimed_vm: string | null; claimed_at: Date | null }>(m,
      `WITH h AS (
         UPDATE scheduler.hosts SET ${ADD} WHERE id = ${target} AND ${FITS} RETURNING ${HOST_COLUMNS}
       ), c AS (
         INSERT INTO scheduler.claims (vm_id, host_id, vcpus, memory_mib, disk_gib, reason, priority, preemptible,
           group_name, group_policy, reservation_id, policy, request)
         SELECT $6, h.id, $2, $3, $4, $7, $8, $5, $9, $10, $11, $12, $13 FROM h
         ON CONFLICT (vm_id) DO NOTHING RETURNING vm_id, created_at
       )
       SELECT h.*, (SELECT vm_id FROM c) AS claimed_vm, (SELECT created_at FROM c) AS claimed_at FROM h`,
      [hostId, c.vcpus, c.memoryMiB, c.diskGiB, c.preemptible, c.vmId, c.reason, c.priority, c.groupName, c.groupPolicy, c.reservationId, c.policy, JSON.stringify(c.request)],
    );
    if (!rows.length) return null;
    if (!rows[0].claimed_vm) return 'conflict';
    return { host: toView(rows[0]), createdAt: rows[0].claimed_at as Date };
  }

  /** Guarded allocation without a claim row (the caller updates the claim: retries, preemption moves). */
  async tryAllocate(m: EntityManager, hostId: string, req: Pick<PlacementRequest, 'vcpus' | 'memoryMiB' | 'diskGiB' | 'preemptible'>): Promise<CachedHost | null> {
    const rows = await rowsOf<HostRow>(m, `UPDATE scheduler.hosts SET ${ADD} WHERE id = $1 AND ${FITS} RETURNING ${HOST_COLUMNS}`, [
      hostId,
      req.vcpus,
      req.memoryMiB,
      req.diskGiB,
      !!req.preemptible,
    ]);
    return rows.length ? toView(rows[0]) : null;
  }

  /**
   * Allocation inside an advance reservation: the slot's capacity is held in `reserved_*`, so it moves from
   * reserved to allocated. Guarded only by total × ratio (the caller preempted whatever was in the way).
   */
  async allocateFromReservation(m: EntityManager, hostId: string, need: Amount): Promise<CachedHost | null> {
    const rows = await rowsOf<HostRow>(m,
      `UPDATE scheduler.hosts SET ${ADD} WHERE id = $1 AND state = 'up' AND maintenance IS NULL
         AND allocated_vcpus + $2 <= floor(total_vcpus * cpu_allocation_ratio)
         AND allocated_memory_mib + $3 <= floor(total_memory_mib * ram_allocation_ratio)
         AND allocated_disk_gib + $4 <= floor(total_disk_gib * disk_allocation_ratio)
       RETURNING ${HOST_COLUMNS}`,
      [hostId, need.vcpus, need.memoryMiB, need.diskGiB, false],
    );
    return rows.length ? toView(rows[0]) : null;
  }

  /**
   * Unguarded allocation, for reality the scheduler must record even when it breaks capacity (a migration it had
   * given up on completed after all). Never used for a placement.
   */
  async allocateAnyway(m: EntityManager, hostId: string, req: Pick<PlacementRequest, 'vcpus' | 'memoryMiB' | 'diskGiB' | 'preemptible'>): Promise<void> {
    await m.query(`UPDATE scheduler.hosts SET ${ADD} WHERE id = $1`, [hostId, req.vcpus, req.memoryMiB, req.diskGiB, !!req.preemptible]);
  }

  /** Gives back what a released claim held (never below zero). */
  async free(m: EntityManager, hostId: string, vcpus: number, memoryMiB: number, diskGiB: number, preemptible = false): Promise<void> {
    await m.query(
      `UPDATE scheduler.hosts SET
         allocated_vcpus = GREATEST(0, allocated_vcpus - $2),
         allocated_memory_mib = GREATEST(0, allocated_memory_mib - $3),
         allocated_disk_gib = GREATEST(0, allocated_disk_gib - $4),
         preemptible_vcpus = GREATEST(0, preemptible_vcpus - CASE WHEN $5::boolean THEN $2 ELSE 0 END),
         preemptible_memory_mib = GREATEST(0, preemptible_memory_mib - CASE WHEN $5::boolean THEN $3 ELSE 0 END),
         preemptible_disk_gib = GREATEST(0, preemptible_disk_gib - CASE WHEN $5::boolean THEN $4 ELSE 0 END),
         active_vms = GREATEST(0, active_vms - 1),
         generation = generation + 1, updated_at = now()
       WHERE id = $1`,
      [hostId, vcpus, memoryMiB, diskGiB, preemptible],
    );
  }

  async setReserved(m: EntityManager, hostId: string, r: Amount): Promise<void> {
    await m.query(
      `UPDATE scheduler.hosts SET reserved_vcpus = $2, reserved_memory_mib = $3, reserved_disk_gib = $4, generation = generation + 1, updated_at = now() WHERE id = $1`,
      [hostId, r.vcpus, r.memoryMiB, r.diskGiB],
    );
  }
}
