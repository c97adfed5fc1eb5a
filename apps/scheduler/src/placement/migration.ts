import { HostFilter } from './filters/host-filter';
import { effectiveState } from './filters/host-state.filter';
import { HostView, PlacementRequest } from './types';

/** What the migration logic needs of the VM's claim. */
export interface MigratingClaim {
  vmId: string;
  hostId: string | null;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  releasedAt: Date | null;
  preemptible?: boolean;
  priority?: number;
}

/** What it needs of migration.requested / migration.failed. */
export interface MigrationAsk {
  migrationId: string;
  vmId: string;
  sourceHostId: string;
  targetHostId?: string;
}

export interface Refusal {
  reason: string;
  /** Where the VM runs (migration.failed's vmHostId). */
  vmHostId: string;
}

/**
 * Why a migration cannot be planned at all (before looking for a target), or null: the VM has no active claim,
 * the requester's source is not where the scheduler placed it, it is already migrating, or the target is
 * the source.
 */
export function refuseMigration(e: MigrationAsk, claim: MigratingClaim | null, openHold: { migrationId: string } | null): Refusal | null {
  if (!claim || claim.releasedAt || !claim.hostId) return { reason: `VM ${e.vmId} is not placed (no active claim in the scheduler)`, vmHostId: e.sourceHostId };
  const at = claim.hostId;
  if (at !== e.sourceHostId) return { reason: `VM ${e.vmId} runs on host ${at} according to the scheduler, not on the requested source ${e.sourceHostId}`, vmHostId: at };
  if (openHold) return { reason: `VM ${e.vmId} is already migrating (migration ${openHold.migrationId})`, vmHostId: at };
  if (e.targetHostId === at) return { reason: `target host ${e.targetHostId} is the VM's source host`, vmHostId: at };
  return null;
}

/**
 * The placement request for the target: the VM's own request (arch, group, policy, priority) with the size and
 * preemptibility of its claim, the requested target (or none: the planner chooses) and the source excluded.
 */
export function migrationPlacementRequest(base: PlacementRequest | null, claim: MigratingClaim, e: MigrationAsk): PlacementRequest {
  return {
    ...(base ?? { vmId: claim.vmId, priority: claim.priority }),
    vmId: claim.vmId,
    vcpus: claim.vcpus,
    memoryMiB: claim.memoryMiB,
    diskGiB: claim.diskGiB,
    preemptible: !!claim.preemptible,
    targetHostId: e.targetHostId,
    excludeHosts: [claim.hostId as string],
    groupHosts: undefined,
  };
}

/**
 * Why the requested target cannot take the VM, naming the first filter that removes it, e.g.
 * "target host-3 (…) lacked memory (need 4096 MiB, free 2048 MiB)".
 */
export function explainTargetRefused(filters: HostFilter[], target: HostView | undefined, req: PlacementRequest): string {
  if (!target) return `target host ${req.targetHostId} is not registered with the scheduler`;
  const who = `target ${target.name} (${target.id})`;
  const f = filters.find((x) => !x.passes(target, req));
  if (!f) return `${who} filled up meanwhile`;
  if (f.name === 'state') return `${who} is ${effectiveState(target)}, not up`;
  const said = f.describeRemoved([target], req).replace(/^1 /, '').replace(', best free ', ', free ');
  return `${who} ${said}`;
}

/** A failed migration whose VM ended up on the target anyway counts as completed; else failed or cancelled. */
export function failedMigrationOutcome(e: { vmHostId: string; cancelled?: boolean }, hold: { targetHostId: string }): 'completed' | 'failed' | 'cancelled' {
  if (e.vmHostId === hold.targetHostId) return 'completed';
  return e.cancelled ? 'cancelled' : 'failed';
}
