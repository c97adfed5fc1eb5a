import { EntityManager } from 'typeorm';
import { CachedHost, HOST_COLUMNS, HostRow, toView } from './host.repository';
import { rowsOf } from './sql';

/** One claim of a batch: the VM, the host the batch chose for it, and what the claim row records. */
export interface BatchClaim {
  vmId: string;
  hostId: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  preemptible: boolean;
  reason: string;
  priority: number;
  policy: string;
  request: object;
}

export interface BatchClaimResult {
  /** The VMs whose lock this statement held (the others are being decided elsewhere). */
  locked: Set<string>;
  /** Claims written, with their creation time. */
  claimed: Map<string, Date>;
  /** The hosts that took claims, as they are after this statement. */
  hosts: CachedHost[];
}

/**
 * The batch's compare-and-set, in ONE statement and one round trip — run it on its own (autocommit): the statement
 * is its own transaction, so its VM locks are held until it has committed.
 *
 * - each request's VM goes through `scheduler.batch_claimable` (migration 1732350000000): its advisory lock, tried
 *   without waiting (the one ClaimRepository.lockVm takes), and — on a fresh snapshot taken after the lock — nothing
 *   decided for it yet (no claim, failure or queue entry). A VM locked elsewhere is reported as not `locked` (the
 *   one-by-one path waits for it); one already decided is left out (the one-by-one path answers it again);
 * - the chosen hosts' rows are locked in id order (two batches never deadlock on each other) and read as
 *   committed after any wait;
 * - per host, the requests are taken in batch order while the running sums still fit (the same arithmetic as
 *   HostRepository.claim's guard: up, not in maintenance, allocated ≤ ⌊total × ratio⌋, and for
 *   non-preemptible VMs also non-preemptible allocation + reserved ≤ ⌊total × ratio⌋);
 * - one guarded UPDATE per host adds what was taken — its WHERE re-checks the sums on the latest row, so the
 *   guard, not the planning, is what keeps every host within capacity;
 * - the claim rows are inserted for the requests of the hosts updated. A claim row that exists after all
 *   (unique vm_id) fails the whole statement: nothing is kept, the caller decides one by one.
 *
 * What is not in `claimed` was not decided here (a lost race: plan again on a fresher view).
 */
export async function claimBatch(m: EntityManager, claims: BatchClaim[]): Promise<BatchClaimResult> {
  if (!claims.length) return { locked: new Set(), claimed: new Map(), hosts: [] };
  const col = <K extends keyof BatchClaim>(k: K) => claims.map((c) => c[k]);
  const rows = await rowsOf<{ locked: string[] | null; claims: { vm_id: string; created_at: string }[] | null; hosts: HostRow[] | null }>(m,
    `WITH arg AS MATERIALIZED (
       SELECT r.*, scheduler.batch_claimable(r.vm_text) AS claimable
       FROM unnest($1::text[], $2::uuid[], $3::int[], $4::int[], $5::int[], $6::boolean[], $7::text[], $8::int[], $9::text[], $10::jsonb[])
         WITH ORDINALITY AS r(vm_text, host_id, vcpus, memory_mib, disk_gib, preemptible, reason, priority, policy, request, ord)
     ), req AS MATERIALIZED (
       SELECT a.vm_text::uuid AS vm_id, a.host_id, a.vcpus, a.memory_mib, a.disk_gib, a.preemptible, a.reason, a.priority, a.policy, a.request, a.ord
       FROM arg a WHERE a.claimable
     ), locked AS MATERIALIZED (
       SELECT h.id, h.state, h.maintenance, h.allocated_vcpus, h.allocated_memory_mib, h.allocated_disk_gib,
         h.allocated_vcpus - h.preemptible_vcpus + h.reserved_vcpus AS guaranteed_vcpus,
         h.allocated_memory_mib - h.preemptible_memory_mib + h.reserved_memory_mib AS guaranteed_memory_mib,
         h.allocated_disk_gib - h.preemptible_disk_gib + h.reserved_disk_gib AS guaranteed_disk_gib,
         floor(h.total_vcpus * h.cpu_allocation_ratio) AS cap_vcpus,
         floor(h.total_memory_mib * h.ram_allocation_ratio) AS cap_memory_mib,
         floor(h.total_disk_gib * h.disk_allocation_ratio) AS cap_disk_gib
       FROM scheduler.hosts h WHERE h.id IN (SELECT host_id FROM req) ORDER BY h.id FOR UPDATE
     ), running AS (
       SELECT req.*,
         sum(vcpus) OVER w AS run_vcpus, sum(memory_mib) OVER w AS run_memory_mib, sum(disk_gib) OVER w AS run_disk_gib,
         sum(CASE WHEN preemptible THEN 0 ELSE vcpus END) OVER w AS run_np_vcpus,
         sum(CASE WHEN preemptible THEN 0 ELSE memory_mib END) OVER w AS run_np_memory_mib,
         sum(CASE WHEN preemptible THEN 0 ELSE disk_gib END) OVER w AS run_np_disk_gib
       FROM req WINDOW w AS (PARTITION BY host_id ORDER BY ord ROWS UNBOUNDED PRECEDING)
     ), taken AS MATERIALIZED (
       SELECT r.* FROM running r JOIN locked l ON l.id = r.host_id
       WHERE l.state = 'up' AND l.maintenance IS NULL
         AND l.allocated_vcpus + r.run_vcpus <= l.cap_vcpus
         AND l.allocated_memory_mib + r.run_memory_mib <= l.cap_memory_mib
         AND l.allocated_disk_gib + r.run_disk_gib <= l.cap_disk_gib
         AND (r.preemptible OR (l.guaranteed_vcpus + r.run_np_vcpus <= l.cap_vcpus
           AND l.guaranteed_memory_mib + r.run_np_memory_mib <= l.cap_memory_mib
           AND l.guaranteed_disk_gib + r.run_np_disk_gib <= l.cap_disk_gib))
     ), per_host AS (
       SELECT host_id, count(*)::int AS n, sum(vcpus)::int AS v, sum(memory_mib)::int AS m, sum(disk_gib)::int AS d,
         sum(CASE WHEN preemptible THEN vcpus ELSE 0 END)::int AS pv,
         sum(CASE WHEN preemptible THEN memory_mib ELSE 0 END)::int AS pm,
         sum(CASE WHEN preemptible THEN disk_gib ELSE 0 END)::int AS pd,
         bool_and(preemptible) AS all_preemptible
       FROM taken GROUP BY host_id
     ), upd AS (
       UPDATE scheduler.hosts h SET
         allocated_vcpus = h.allocated_vcpus + a.v, allocated_memory_mib = h.allocated_memory_mib + a.m,
         allocated_disk_gib = h.allocated_disk_gib + a.d,
         preemptible_vcpus = h.preemptible_vcpus + a.pv, preemptible_memory_mib = h.preemptible_memory_mib + a.pm,
         preemptible_disk_gib = h.preemptible_disk_gib + a.pd,
         active_vms = h.active_vms + a.n, generation = h.generation + 1, updated_at = now()
       FROM per_host a
       WHERE h.id = a.host_id AND h.state = 'up' AND h.maintenance IS NULL
         AND h.allocated_vcpus + a.v <= floor(h.total_vcpus * h.cpu_allocation_ratio)
         AND h.allocated_memory_mib + a.m <= floor(h.total_memory_mib * h.ram_allocation_ratio)
         AND h.allocated_disk_gib + a.d <= floor(h.total_disk_gib * h.disk_allocation_ratio)
         AND (a.all_preemptible OR (
           h.allocated_vcpus - h.preemptible_vcpus + h.reserved_vcpus + (a.v - a.pv) <= floor(h.total_vcpus * h.cpu_allocation_ratio)
           AND h.allocated_memory_mib - h.preemptible_memory_mib + h.reserved_memory_mib + (a.m - a.pm) <= floor(h.total_memory_mib * h.ram_allocation_ratio)
           AND h.allocated_disk_gib - h.preemptible_disk_gib + h.reserved_disk_gib + (a.d - a.pd) <= floor(h.total_disk_gib * h.disk_allocation_ratio)))
       RETURNING ${HOST_COLUMNS.split(',').map((c) => `h.${c.trim()}`).join(', ')}
     ), ins AS (
       INSERT INTO scheduler.claims (vm_id, host_id, vcpus, memory_mib, disk_gib, reason, priority, preemptible, policy, request)
       SELECT t.vm_id, t.host_id, t.vcpus, t.memory_mib, t.disk_gib, t.reason, t.priority, t.preemptible, t.policy, t.request
       FROM taken t WHERE t.host_id IN (SELECT id FROM upd)
       RETURNING vm_id, created_at
     )
     SELECT (SELECT json_agg(vm_text) FROM arg WHERE claimable IS NOT NULL) AS locked,
       (SELECT json_agg(ins) FROM ins) AS claims, (SELECT json_agg(upd) FROM upd) AS hosts`,
    [
      col('vmId'),
      col('hostId'),
      col('vcpus'),
      col('memoryMiB'),
      col('diskGiB'),
      col('preemptible'),
      col('reason'),
      col('priority'),
      col('policy'),
      claims.map((c) => JSON.stringify(c.request)),
    ],
  );
  const r = rows[0];
  return {
    locked: new Set(r.locked ?? []),
    claimed: new Map((r.claims ?? []).map((c) => [c.vm_id, new Date(c.created_at)])),
    hosts: (r.hosts ?? []).map(toView),
  };
}
