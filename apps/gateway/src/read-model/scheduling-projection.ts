import type { PreemptAction, VmState } from '@minicloud/contracts';

/**
 * What the scheduler said about a VM beyond its state, kept in the read model (`gateway.vms.scheduling`):
 * - `queued` (vm.queued): no host fits now, the request waits in the scheduler's queue; shown while `requested`;
 * - `preempted` (vm.preempt-requested): the VM lost its capacity to a higher-priority VM or an opening
 *   reservation and was stopped (action stop; shown while `stopped`), or is being moved to another host by live
 *   migration `migrationId` (action migrate; shown while `running` or `migrating`, until the migration ends).
 */
export type SchedulingNote =
  | {
      state: 'queued';
      /** When the scheduler queued it. */
      since: string;
      reason: string;
      removedByFilter: Record<string, number>;
      priority: number;
      deadline: string | null;
    }
  | {
      state: 'preempted';
      at: string;
      hostId: string;
      action: PreemptAction;
      targetHostId: string | null;
      /** Action migrate: the live migration moving the VM (GET /v1/migrations/:id); absent in notes stored before it existed. */
      migrationId?: string | null;
      preemptedByVmId: string | null;
      reservationId: string | null;
      reason: string;
    };

export interface QueuedFacts {
  occurredAt: string;
  reason: string;
  removedByFilter: Record<string, number>;
  priority: number;
  deadline?: string;
}

export interface PreemptedFacts {
  occurredAt: string;
  hostId: string;
  action: PreemptAction;
  targetHostId?: string;
  migrationId?: string;
  preemptedByVmId?: string;
  reservationId?: string;
  reason: string;
}

export function queuedNote(e: QueuedFacts): SchedulingNote {
  return { state: 'queued', since: e.occurredAt, reason: e.reason, removedByFilter: e.removedByFilter ?? {}, priority: e.priority, deadline: e.deadline ?? null };
}

export function preemptedNote(e: PreemptedFacts): SchedulingNote {
  return {
    state: 'preempted',
    at: e.occurredAt,
    hostId: e.hostId,
    action: e.action,
    targetHostId: e.targetHostId ?? null,
    migrationId: e.migrationId ?? null,
    preemptedByVmId: e.preemptedByVmId ?? null,
    reservationId: e.reservationId ?? null,
    reason: e.reason,
  };
}

type NoteKind = 'queued' | 'preempted-stop' | 'preempted-move';
const kindOf = (n: SchedulingNote): NoteKind => (n.state === 'queued' ? 'queued' : n.action === 'migrate' && n.migrationId ? 'preempted-move' : 'preempted-stop');

/** States a note of each kind may be kept in (it survives state changes in them) and shown in. */
const KEEP: Record<NoteKind, readonly VmState[]> = {
  queued: ['requested'],
  // vm.preempt-requested usually arrives while the VM still runs; the provisioner then stops it.
  'preempted-stop': ['running', 'suspended', 'stopping', 'stopped'],
  // Being moved: the VM runs, then migrates; the note ends with the migration.
  'preempted-move': ['running', 'suspended', 'migrating'],
};
const SHOW: Record<NoteKind, readonly VmState[]> = { queued: ['requested'], 'preempted-stop': ['stopped'], 'preempted-move': ['running', 'suspended', 'migrating'] };

/**
 * A note the scheduler just published, against the VM's current state: the note to store, or null to ignore it
 * (a late vm.queued of a VM already placed; a preemption of a VM being deleted or gone).
 */
export function acceptNote(status: VmState, note: SchedulingNote): SchedulingNote | null {
  return KEEP[kindOf(note)].includes(status) ? note : null;
}

/**
 * The stored note after the VM moved to `next` (`from` = its state before): a queued note ends once the VM
 * leaves `requested`; a preemption note ends when the stopped VM runs again (or is deleted, fails, migrates); a
 * "being moved" note ends when the VM's migration ends.
 */
export function noteAfterState(from: VmState, next: VmState, note: SchedulingNote | null): SchedulingNote | null {
  if (!note) return null;
  if (note.state === 'preempted' && from === 'stopped' && next !== 'stopped') return null;
  if (kindOf(note) === 'preempted-move' && from === 'migrating') return null;
  return KEEP[kindOf(note)].includes(next) ? note : null;
}

/** The note a client sees for a VM in `status` (null: nothing to say beyond the state). */
export function visibleNote(status: VmState, note: SchedulingNote | null | undefined): SchedulingNote | null {
  return note && SHOW[kindOf(note)].includes(status) ? note : null;
}
