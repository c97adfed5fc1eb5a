/** What the start-claim decision needs of the VM's claim. */
export interface StartClaimState {
  hostId: string | null;
  releasedAt: Date | null;
  releaseReason?: string | null;
}

/** The reason ClaimReleaseService records when a VM is deleted. */
export const DELETED_REASON = 'vm deleted';

export type StartClaimPlan =
  /** The VM holds capacity on its host already: nothing to do. */
  | { kind: 'held' }
  /** Take capacity on the VM's host; `from` = a host where its active claim sits now (freed in the same step). */
  | { kind: 'take'; from: string | null; why: string }
  | { kind: 'refuse'; reason: string };

/**
 * Before a stopped VM starts on `hostId` (where its disk is): it must hold capacity there. An active claim there
 * is enough; a claim released by a preemption or a reservation's end, or moved elsewhere by a preemption, is
 * taken again on `hostId`. Never for a VM the scheduler never placed, a deleted one, or one that is migrating.
 */
export function planStartClaim(vmId: string, hostId: string, claim: StartClaimState | null, openHold: { migrationId: string } | null): StartClaimPlan {
  if (!claim || !claim.hostId) return { kind: 'refuse', reason: `VM ${vmId} was never placed by the scheduler: it cannot be started` };
  if (openHold) return { kind: 'refuse', reason: `VM ${vmId} is migrating (migration ${openHold.migrationId}): start it when the migration has ended` };
  if (!claim.releasedAt) {
    if (claim.hostId === hostId) return { kind: 'held' };
    return { kind: 'take', from: claim.hostId, why: `its capacity was moved to host ${claim.hostId} while it stayed stopped on ${hostId}` };
  }
  if (claim.releaseReason === DELETED_REASON) return { kind: 'refuse', reason: `VM ${vmId} was deleted` };
  return { kind: 'take', from: null, why: `its capacity was given away (${claim.releaseReason ?? 'released'})` };
}
