import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AutomationLevel, GroupPolicy, RecommendationKind, RecommendationView } from '@minicloud/contracts';
import { rowsOf } from './sql';

export type RecommendationState = RecommendationView['state'];

export interface Recommendation {
  id: string;
  kind: RecommendationKind;
  vmId: string;
  sourceHostId: string;
  targetHostId: string;
  reason: string;
  gapBefore: number | null;
  gapAfter: number | null;
  state: RecommendationState;
  stateReason: string | null;
  migrationId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface RecommendationRow {
  id: string;
  kind: RecommendationKind;
  vm_id: string;
  source_host_id: string;
  target_host_id: string;
  reason: string;
  gap_before: number | null;
  gap_after: number | null;
  state: RecommendationState;
  state_reason: string | null;
  migration_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const toRecommendation = (r: RecommendationRow): Recommendation => ({
  id: r.id,
  kind: r.kind,
  vmId: r.vm_id,
  sourceHostId: r.source_host_id,
  targetHostId: r.target_host_id,
  reason: r.reason,
  gapBefore: r.gap_before === null ? null : Number(r.gap_before),
  gapAfter: r.gap_after === null ? null : Number(r.gap_after),
  state: r.state,
  stateReason: r.state_reason,
  migrationId: r.migration_id,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

/** A placed VM, from its active claim. */
export interface ActiveVm {
  vmId: string;
  hostId: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  preemptible: boolean;
  priority: number;
  groupName: string | null;
  groupPolicy: GroupPolicy | null;
  request: Record<string, unknown> | null;
}

export interface PlannerHostRow {
  hostId: string;
  vmCpuSum: number | null;
  vmCpu: Record<string, number>;
  hotRounds: number;
}

export interface StoredSettings {
  automation: AutomationLevel;
  consolidation: boolean;
}

/** The planner's tables: recommendations, settings, per-host VM CPU and hot rounds; and the reads of a round. */
@Injectable()
export class PlannerRepository {
  async activeVms(m: EntityManager, hostId?: string): Promise<ActiveVm[]> {
    const rows = await rowsOf<{
      vm_id: string;
      host_id: string;
      vcpus: number;
      memory_mib: number;
      disk_gib: number;
      preemptible: boolean;
      priority: number;
      group_name: string | null;
      group_policy: GroupPolicy | null;
      request: Record<string, unknown> | null;
    }>(m,
      `SELECT vm_id, host_id, vcpus, memory_mib, disk_gib, preemptible, priority, group_name, group_policy, request
         FROM scheduler.claims WHERE released_at IS NULL AND host_id IS NOT NULL ${hostId ? 'AND host_id = $1' : ''} ORDER BY vm_id`,
      hostId ? [hostId] : [],
    );
    return rows.map((r) => ({
      vmId: r.vm_id,
      hostId: r.host_id,
      vcpus: r.vcpus,
      memoryMiB: r.memory_mib,
      diskGiB: r.disk_gib,
      preemptible: r.preemptible,
      priority: r.priority,
      groupName: r.group_name,
      groupPolicy: r.group_policy,
      request: r.request,
    }));
  }

  async openHolds(m: EntityManager): Promise<{ vmId: string; sourceHostId: string; targetHostId: string; migrationId: string }[]> {
    const rows = await rowsOf<{ vm_id: string; source_host_id: string; target_host_id: string; migration_id: string }>(m,
      `SELECT vm_id, source_host_id, target_host_id, migration_id FROM scheduler.migration_holds WHERE settled_at IS NULL`,
    );
    return rows.map((r) => ({ vmId: r.vm_id, sourceHostId: r.source_host_id, targetHostId: r.target_host_id, migrationId: r.migration_id }));
  }

  /** VMs migrated (any origin: a hold created or settled) or moved by the planner within the last `ms`. */
  async inCooldown(m: EntityManager, ms: number): Promise<Set<string>> {
    const rows = await rowsOf<{ vm_id: string }>(m,
      `SELECT vm_id FROM scheduler.migration_holds
        WHERE created_at > now() - make_interval(secs => $1) OR settled_at > now() - make_interval(secs => $1)
       UNION
       SELECT vm_id FROM scheduler.recommendations WHERE state = 'applied' AND updated_at > now() - make_interval(secs => $1)`,
      [ms / 1000],
    );
    return new Set(rows.map((r) => r.vm_id));
  }

  async plannerHosts(m: EntityManager): Promise<PlannerHostRow[]> {
    const rows = await rowsOf<{ host_id: string; vm_cpu_sum: number | null; vm_cpu: Record<string, number>; hot_rounds: number }>(m,
      `SELECT host_id, vm_cpu_sum, vm_cpu, hot_rounds FROM scheduler.planner_hosts`,
    );
    return rows.map((r) => ({ hostId: r.host_id, vmCpuSum: r.vm_cpu_sum === null ? null : Number(r.vm_cpu_sum), vmCpu: r.vm_cpu ?? {}, hotRounds: r.hot_rounds }));
  }

  /** Latest vm.metrics of a host; an older round never overwrites a newer one. false = unknown host. */
  async storeVmCpu(m: EntityManager, hostId: string, at: Date, sum: number, perVm: Record<string, number>): Promise<boolean> {
    const rows = await rowsOf<unknown>(m,
      `INSERT INTO scheduler.planner_hosts (host_id, vm_cpu_sum, vm_cpu, vm_metrics_at)
       SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM scheduler.hosts WHERE id = $1)
       ON CONFLICT (host_id) DO UPDATE SET vm_cpu_sum = EXCLUDED.vm_cpu_sum, vm_cpu = EXCLUDED.vm_cpu, vm_metrics_at = EXCLUDED.vm_metrics_at
         WHERE planner_hosts.vm_metrics_at IS NULL OR planner_hosts.vm_metrics_at <= EXCLUDED.vm_metrics_at
       RETURNING host_id`,
      [hostId, sum, JSON.stringify(perVm), at],
    );
    return rows.length > 0;
  }

  async storeHotRounds(m: EntityManager, rounds: Map<string, number>): Promise<void> {
    if (!rounds.size) return;
    await m.query(
      `INSERT INTO scheduler.planner_hosts (host_id, hot_rounds)
       SELECT h.id, x.n FROM unnest($1::uuid[], $2::int[]) AS x(id, n) JOIN scheduler.hosts h ON h.id = x.id
       ON CONFLICT (host_id) DO UPDATE SET hot_rounds = EXCLUDED.hot_rounds`,
      [[...rounds.keys()], [...rounds.values()]],
    );
  }

  async settings(m: EntityManager): Promise<StoredSettings | null> {
    const rows = await rowsOf<{ automation: AutomationLevel; consolidation: boolean }>(m, `SELECT automation, consolidation FROM scheduler.planner_settings WHERE id = 1`);
    return rows.length ? rows[0] : null;
  }

  async saveSettings(m: EntityManager, s: StoredSettings): Promise<void> {
    await m.query(
      `INSERT INTO scheduler.planner_settings (id, automation, consolidation) VALUES (1, $1, $2)
       ON CONFLICT (id) DO UPDATE SET automation = EXCLUDED.automation, consolidation = EXCLUDED.consolidation, updated_at = now()`,
      [s.automation, s.consolidation],
    );
  }

  async list(m: EntityManager, state?: RecommendationState, limit = 500): Promise<Recommendation[]> {
    const rows = await rowsOf<RecommendationRow>(m,
      `SELECT * FROM scheduler.recommendations ${state ? 'WHERE state = $2' : ''} ORDER BY created_at DESC, id LIMIT $1`,
      state ? [limit, state] : [limit],
    );
    return rows.map(toRecommendation);
  }

  async get(m: EntityManager, id: string, forUpdate = false): Promise<Recommendation | null> {
    const rows = await rowsOf<RecommendationRow>(m, `SELECT * FROM scheduler.recommendations WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    return rows.length ? toRecommendation(rows[0]) : null;
  }

  /** null when the VM has an open recommendation already (one per VM). */
  async insert(m: EntityManager, r: Omit<Recommendation, 'state' | 'stateReason' | 'migrationId' | 'createdAt' | 'updatedAt'>): Promise<Recommendation | null> {
    const rows = await rowsOf<RecommendationRow>(m,
      `INSERT INTO scheduler.recommendations (id, kind, vm_id, source_host_id, target_host_id, reason, gap_before, gap_after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING *`,
      [r.id, r.kind, r.vmId, r.sourceHostId, r.targetHostId, r.reason.slice(0, 2000), r.gapBefore, r.gapAfter],
    );
    return rows.length ? toRecommendation(rows[0]) : null;
  }

  /** Moves an open recommendation on; null when it was not open any more. */
  async close(m: EntityManager, id: string, state: Exclude<RecommendationState, 'open'>, why: string | null, migrationId: string | null = null): Promise<Recommendation | null> {
    const rows = await rowsOf<RecommendationRow>(m,
      `UPDATE scheduler.recommendations SET state = $2, state_reason = $3, migration_id = $4, updated_at = now()
        WHERE id = $1 AND state = 'open' RETURNING *`,
      [id, state, why, migrationId],
    );
    return rows.length ? toRecommendation(rows[0]) : null;
  }

  /** Applied recommendations whose migration the scheduler has not answered yet (neither hold nor refusal). */
  async unanswered(m: EntityManager, olderThanMs: number): Promise<Recommendation[]> {
    const rows = await rowsOf<RecommendationRow>(m,
      `SELECT r.* FROM scheduler.recommendations r
        WHERE r.state = 'applied' AND r.updated_at < now() - make_interval(secs => $1)
          AND r.updated_at > now() - interval '1 day'
          AND NOT EXISTS (SELECT 1 FROM scheduler.migration_holds h WHERE h.migration_id = r.migration_id)
          AND NOT EXISTS (SELECT 1 FROM scheduler.migration_refusals f WHERE f.migration_id = r.migration_id)`,
      [olderThanMs / 1000],
    );
    return rows.map(toRecommendation);
  }

  /** Whether a consolidation is under way: an open one, or an applied one whose VM is still on its source. */
  async consolidationBusy(m: EntityManager): Promise<boolean> {
    const rows = await rowsOf<{ busy: boolean }>(m,
      `SELECT EXISTS (
         SELECT 1 FROM scheduler.recommendations r
          WHERE r.kind = 'consolidation' AND (r.state = 'open' OR (r.state = 'applied'
            AND EXISTS (SELECT 1 FROM scheduler.claims c WHERE c.vm_id = r.vm_id AND c.released_at IS NULL AND c.host_id = r.source_host_id)
            AND NOT EXISTS (SELECT 1 FROM scheduler.migration_refusals f WHERE f.migration_id = r.migration_id)
            AND NOT EXISTS (SELECT 1 FROM scheduler.migration_holds h WHERE h.migration_id = r.migration_id AND h.settled_at IS NOT NULL)))
       ) AS busy`,
    );
    return rows[0].busy;
  }
}
