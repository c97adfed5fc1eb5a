import { DELETED_REASON } from './start-claim';

/** What the settlement of a preemption's migration needs of the hold and of the VM's claim. */
export interface PreemptHoldFacts {
  migrationId: string;
  vmId: string;
  sourceHostId: string;
  targetHostId: string;
}
export interface PreemptClaimFacts {
  hostId: string | null;
  releasedAt: Date | null;
  releaseReason?: string | null;
}

/**
 * A preempted VM's migration ended without moving it (failed, cancelled, timed out): the VM still runs on the
 * source, where its room went to the preempting VM. Its claim (moved to the target at preemption) is released and
 * the VM stopped — the preemption's other action. Nothing to do when the claim no longer sits on the target
 * (released meanwhile: deleted, or already stopped).
 */
export function preemptMigrationFallback(
  hold: PreemptHoldFacts,
  claim: PreemptClaimFacts | null,
  outcome: string,
  targetName: string,
  detail: string | null,
): { kind: 'stop'; why: string } | { kind: 'none' } {
  if (!claim || claim.releasedAt || claim.hostId !== hold.targetHostId) return { kind: 'none' };
  const how = outcome === 'timed-out' ? 'timed out' : outcome;
  return {
    kind: 'stop',
    why: `preempted VM could not be moved to ${targetName}: migration ${hold.migrationId} ${how}${detail ? ` (${detail})` : ''}; stopped instead`,
  };
}

/**
 * A preempted VM's migration completed after the scheduler had given up on it (timed out, claim released, stop
 * requested): the VM runs on the target after all, so its claim is taken again there. Not for a deleted VM, nor
 * for a claim that is active (it was taken again elsewhere, e.g. by a start).
 */
export function preemptLateCommit(hold: PreemptHoldFacts, claim: PreemptClaimFacts | null): 'reclaim' | 'none' {
  if (!claim || !claim.releasedAt) return 'none';
  if (claim.releaseReason === DELETED_REASON) return 'none';
  return 'reclaim';
}
