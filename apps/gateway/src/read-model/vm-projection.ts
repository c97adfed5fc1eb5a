import type { VmState } from '@minicloud/contracts';

/** What the read model holds per VM that events can change. */
export interface VmProjection {
  status: VmState;
  generation: number;
  hostId: string | null;
  reason: string | null;
}

/** The VM events the gateway applies, reduced to what matters for the projection. */
export type VmChange =
  | { kind: 'scheduled'; hostId: string }
  | { kind: 'schedule-failed'; reason: string }
  | { kind: 'state-changed'; state: VmState; generation: number; hostId?: string; reason?: string }
  | { kind: 'deleted'; generation: number };

/** The scheduler's decisions (vm.scheduled / vm.schedule-failed) are generation 1; the gateway's insert is 0. */
export const SCHEDULER_GENERATION = 1;

/**
 * The generation rule. Returns the VM's new projection, or null when the event must be ignored:
 * - a VM that is `deleted` never changes again (terminal);
 * - an event applies only when its generation is above the stored one, so duplicates and late, older events
 *   never move a VM backwards;
 * - vm.deleted always ends a live VM (nothing can follow it) and keeps the highest generation seen.
 */
export function applyVmChange(current: VmProjection, change: VmChange): VmProjection | null {
  if (current.status === 'deleted') return null;
  switch (change.kind) {
    case 'scheduled':
      if (SCHEDULER_GENERATION <= current.generation) return null;
      return { status: 'scheduled', generation: SCHEDULER_GENERATION, hostId: change.hostId, reason: null };
    case 'schedule-failed':
      if (SCHEDULER_GENERATION <= current.generation) return null;
      return { status: 'failed', generation: SCHEDULER_GENERATION, hostId: null, reason: change.reason };
    case 'state-changed':
      if (change.generation <= current.generation) return null;
      return {
        status: change.state,
        generation: change.generation,
        hostId: change.hostId ?? (change.state === 'requested' ? null : current.hostId),
        reason: change.state === 'failed' ? change.reason || 'failed (no reason given)' : null,
      };
    case 'deleted':
      return { status: 'deleted', generation: Math.max(current.generation, change.generation), hostId: current.hostId, reason: null };
  }
}

/** Host state events carry no generation: the later `occurredAt` wins, equal times apply (a redelivery is a no-op). */
export function isNotOlder(storedAt: Date | null, occurredAt: string): boolean {
  if (!storedAt) return true;
  return Date.parse(occurredAt) >= storedAt.getTime();
}
