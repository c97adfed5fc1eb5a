import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsObject, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { BusEvent } from './base';
import { NAME_PATTERN, NAME_RULE, VM_PRIORITY_MAX, VM_PRIORITY_MIN } from './vm';

/** Published by the scheduler when no host fits now and the request waits in its pending queue. */
export class VmQueuedEvent extends BusEvent {
  @IsUUID()
  vmId!: string;

  @IsInt() @Min(VM_PRIORITY_MIN) @Max(VM_PRIORITY_MAX)
  priority!: number;

  @IsOptional() @IsISO8601({ strict: true })
  deadline?: string;

  /** Why nothing fits now (the same sentence vm.schedule-failed would carry). */
  @IsString() @MaxLength(4000)
  reason!: string;

  @IsObject()
  removedByFilter!: Record<string, number>;
}

export const PreemptActions = ['stop', 'migrate'] as const;
export type PreemptAction = (typeof PreemptActions)[number];

/**
 * Published by the scheduler when it took a preemptible VM's capacity away (for a higher-priority request or
 * an opening reservation). The VM's claim on `hostId` is already released. The provisioner MUST act on it:
 * `stop` = stop the VM on hostId (publish vm.state-changed stopped); `migrate` = the scheduler already moved the
 * VM's claim to targetHostId and planned live migration `migrationId` (migration.planned, origin preemption): the
 * VM keeps running until the migrator has moved it; if the migration fails, the scheduler releases the claim and
 * publishes another vm.preempt-requested with action `stop`.
 */
export class VmPreemptRequestedEvent extends BusEvent {
  @IsUUID()
  vmId!: string;

  @IsUUID()
  hostId!: string;

  @IsIn(PreemptActions as unknown as string[])
  action!: PreemptAction;

  @IsOptional() @IsUUID()
  targetHostId?: string;

  /** Action migrate: the live migration that moves the VM (migration.planned with origin preemption). */
  @IsOptional() @IsUUID()
  migrationId?: string;

  /** The VM that needed the room (absent when a reservation window opened). */
  @IsOptional() @IsUUID()
  preemptedByVmId?: string;

  @IsOptional() @IsUUID()
  reservationId?: string;

  @IsString() @MaxLength(2000)
  reason!: string;
}

export const ReservationStates = ['accepted', 'active', 'ended', 'cancelled'] as const;
export type ReservationState = (typeof ReservationStates)[number];

/** reservation.created / reservation.cancelled / reservation.ended: the reservation as it is now. */
export class ReservationChangedEvent extends BusEvent {
  @IsUUID()
  reservationId!: string;

  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name!: string;

  @IsIn(ReservationStates as unknown as string[])
  state!: ReservationState;

  @IsISO8601({ strict: true })
  start!: string;

  @IsISO8601({ strict: true })
  end!: string;

  @IsInt() @Min(1)
  count!: number;

  @IsInt() @Min(1)
  vcpus!: number;

  @IsInt() @Min(1)
  memoryMiB!: number;

  @IsInt() @Min(1)
  diskGiB!: number;

  @IsOptional() @IsBoolean()
  stopVmsAtEnd?: boolean;
}

// ---- RPC (gateway → scheduler) ----

export class SchedulerQueueRequest {
  @IsOptional() @IsInt() @Min(1) @Max(1000)
  limit?: number;
}

export interface QueueEntryView {
  position: number;
  vmId: string;
  name: string;
  priority: number;
  effectivePriority: number;
  enqueuedAt: string;
  waitedSeconds: number;
  deadline: string | null;
  reason: string;
  removedByFilter: Record<string, number>;
  resources: { vcpus: number; memoryMiB: number; diskGiB: number };
}

export interface QueueView {
  total: number;
  agingStepSeconds: number;
  items: QueueEntryView[];
}

export class ReservationFlavor {
  @IsInt() @Min(1) @Max(64)
  vcpus!: number;

  @IsInt() @Min(64) @Max(1024 * 1024)
  memoryMiB!: number;

  @IsInt() @Min(1) @Max(16384)
  diskGiB!: number;
}

export class ReservationCreateRequest {
  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name!: string;

  @IsISO8601({ strict: true })
  start!: string;

  @IsISO8601({ strict: true })
  end!: string;

  /** How many VMs of `flavor` the reservation guarantees. */
  @IsInt() @Min(1) @Max(1000)
  count!: number;

  @ValidateNested() @Type(() => ReservationFlavor)
  flavor!: ReservationFlavor;

  /** When the window ends: stop the reservation's VMs (true) or let them run on as ordinary VMs (false, default). */
  @IsOptional() @IsBoolean()
  stopVmsAtEnd?: boolean;
}

export class ReservationIdRequest {
  @IsUUID()
  id!: string;
}

export class ReservationListRequest {
  @IsOptional() @IsIn(ReservationStates as unknown as string[])
  state?: ReservationState;
}

export interface ReservationView {
  id: string;
  name: string;
  state: ReservationState;
  start: string;
  end: string;
  count: number;
  flavor: { vcpus: number; memoryMiB: number; diskGiB: number };
  stopVmsAtEnd: boolean;
  /** Slots held per host, and how many are used by the reservation's VMs. */
  hosts: { hostId: string; slots: number; used: number }[];
  createdAt: string;
}

/**
 * rpc.scheduler.vm.start-claim (gateway → scheduler, before it hands `start` to the provisioner): the VM must hold
 * capacity on `hostId`, the host its disk is on. An active claim there is confirmed; a claim released by a
 * preemption (or a reservation's end, or moved to another host by a preemption) is taken again on `hostId` with
 * the guarded allocation. No room, host not up, VM deleted or migrating: RpcError 409 with the reason.
 */
export class VmStartClaimRequest {
  @IsUUID()
  vmId!: string;

  @IsUUID()
  hostId!: string;
}

export interface VmStartClaimReply {
  vmId: string;
  hostId: string;
  /** held: the VM's claim was already there; reclaimed: capacity was taken again for it now. */
  claim: 'held' | 'reclaimed';
  reason: string;
}
