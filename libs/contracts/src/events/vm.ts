import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsISO8601,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { VmState, VmStates } from '../vm-state';
import { BusEvent } from './base';

/** Names reach hosts (domain names, file names): letters, digits, dot, dash, underscore only. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const NAME_RULE = 'must be 1-63 characters: letters, digits, ".", "_" or "-", starting with a letter or digit';

export class VmResources {
  @IsInt() @Min(1) @Max(64)
  vcpus!: number;

  @IsInt() @Min(64) @Max(1024 * 1024)
  memoryMiB!: number;

  @IsInt() @Min(1) @Max(16384)
  diskGiB!: number;
}

export class VmImageRef {
  @IsUUID()
  id!: string;

  @IsString() @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name!: string;

  /** sha256 of the image file: the host-side cache key. */
  @Matches(/^[a-f0-9]{64}$/)
  checksum!: string;

  /** The image's CPU architecture (e.g. x86_64): the scheduler only picks hosts of this arch. */
  @IsOptional() @IsString() @MaxLength(32)
  arch?: string;
}

/** 1 is the highest priority, 4 the lowest (the default). */
export const VM_PRIORITY_MIN = 1;
export const VM_PRIORITY_MAX = 4;
export const DEFAULT_VM_PRIORITY = 4;
export const PlacementPolicies = ['round-robin', 'least-loaded', 'pack', 'spread'] as const;
export type PlacementPolicyName = (typeof PlacementPolicies)[number];
/**
 * Where a VM's disk lives: `local` in its host's own directory (the default), `shared` on the shared datastore that
 * every host with `sharedStorage` mounts at the same path (live migration then moves no disk).
 */
export const VmStorageKinds = ['local', 'shared'] as const;
export type VmStorageKind = (typeof VmStorageKinds)[number];
export const GroupPolicies = ['affinity', 'anti-affinity'] as const;
export type GroupPolicy = (typeof GroupPolicies)[number];

/** A named server group the VM joins (Nova's server groups): affinity = same host, anti-affinity = never two on one host. */
export class VmGroupRef {
  @Matches(NAME_PATTERN, { message: `group name ${NAME_RULE}` })
  name!: string;

  @IsIn(GroupPolicies as unknown as string[])
  policy!: GroupPolicy;
}

/** Published by the gateway when a client asks for a VM; consumed by the scheduler. */
export class VmRequestedEvent extends BusEvent {
  @IsUUID()
  vmId!: string;

  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name!: string;

  @ValidateNested() @Type(() => VmResources)
  resources!: VmResources;

  @ValidateNested() @Type(() => VmImageRef)
  image!: VmImageRef;

  /** Optional host id the client asked for. */
  @IsOptional() @IsUUID()
  targetHostId?: string;

  @IsOptional() @IsArray() @ArrayMaxSize(16) @IsString({ each: true }) @MaxLength(8192, { each: true })
  sshKeys?: string[];

  @IsOptional() @IsString() @MaxLength(65536)
  userData?: string;

  @IsOptional() @IsObject()
  tags?: Record<string, string>;

  /** Where the disk lives (absent: `local`); `shared` VMs are only placed on hosts with the shared datastore. */
  @IsOptional() @IsIn(VmStorageKinds as unknown as string[])
  storage?: VmStorageKind;

  // ---- Scheduling options (issue 4, docs/scheduler.md); all optional. ----

  /** 1 (highest) … 4 (lowest, the default). 1 and 2 may preempt `preemptible` VMs of lower priority. */
  @IsOptional() @IsInt() @Min(VM_PRIORITY_MIN) @Max(VM_PRIORITY_MAX)
  priority?: number;

  /** When nothing fits, the request waits in the scheduler's queue until this time, then fails. */
  @IsOptional() @IsISO8601({ strict: true })
  deadline?: string;

  /** The VM may be stopped (or moved) to make room for higher-priority requests or an opening reservation. */
  @IsOptional() @IsBoolean()
  preemptible?: boolean;

  @IsOptional() @ValidateNested() @Type(() => VmGroupRef)
  group?: VmGroupRef;

  /** Overrides the cluster's default placement policy for this VM. */
  @IsOptional() @IsIn(PlacementPolicies as unknown as string[])
  policy?: PlacementPolicyName;

  /** Place inside this advance reservation (always placed while its window is open). */
  @IsOptional() @IsUUID()
  reservationId?: string;
}

/** Published by the scheduler once capacity is claimed on a host; consumed by the provisioner. */
export class VmScheduledEvent extends BusEvent {
  @IsUUID()
  vmId!: string;

  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name!: string;

  @IsUUID()
  hostId!: string;

  @ValidateNested() @Type(() => VmResources)
  resources!: VmResources;

  @ValidateNested() @Type(() => VmImageRef)
  image!: VmImageRef;

  @IsOptional() @IsArray() @IsString({ each: true })
  sshKeys?: string[];

  @IsOptional() @IsString() @MaxLength(65536)
  userData?: string;

  /** Where the disk lives (absent: `local`). */
  @IsOptional() @IsIn(VmStorageKinds as unknown as string[])
  storage?: VmStorageKind;

  /** Why this host: the placement policy's explanation. */
  @IsString() @MaxLength(2000)
  reason!: string;

  @IsInt() @Min(1)
  attempt!: number;

  /**
   * Build attempts the scheduler allows. When attempt < maxAttempts and the build fails on this host, the
   * provisioner should publish vm.state-changed `requested` (from provisioning/scheduled, with the reason):
   * the scheduler then releases this claim and places the VM on another host (attempt + 1).
   */
  @IsOptional() @IsInt() @Min(1)
  maxAttempts?: number;
}

/** Published by the scheduler when no host can take the VM. */
export class VmScheduleFailedEvent extends BusEvent {
  @IsUUID()
  vmId!: string;

  /** A sentence for people, e.g. "no valid host among 2: 2 lacked memory (need 4096 MiB, best free 2048 MiB)". */
  @IsString() @MaxLength(4000)
  reason!: string;

  /** Hosts removed per filter, e.g. { memory: 2 }. */
  @IsObject()
  removedByFilter!: Record<string, number>;
}

/** Published by whoever moved the VM's state (scheduler up to `scheduled`, then provisioner / migrator). */
export class VmStateChangedEvent extends BusEvent {
  @IsUUID()
  vmId!: string;

  @IsIn(VmStates as unknown as string[])
  state!: VmState;

  @IsOptional() @IsIn(VmStates as unknown as string[])
  previousState?: VmState;

  @IsOptional() @IsUUID()
  hostId?: string;

  /** Why (always set for `failed`). */
  @IsOptional() @IsString() @MaxLength(4000)
  reason?: string;

  /**
   * Monotonic per VM: readers apply an event only when its generation is above the one they hold,
   * so out-of-order or duplicate deliveries never move a VM backwards.
   */
  @IsInt() @Min(0)
  generation!: number;
}

export class VmDeletedEvent extends BusEvent {
  @IsUUID()
  vmId!: string;

  @IsOptional() @IsUUID()
  hostId?: string;

  @IsInt() @Min(0)
  generation!: number;
}
