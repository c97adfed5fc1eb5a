import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsNumber, IsOptional, IsString, IsUUID, Max, MaxLength, Min, ValidateNested, IsArray } from 'class-validator';
import { BusEvent } from './base';

export const MigrationModes = ['live', 'cold'] as const;
export type MigrationMode = (typeof MigrationModes)[number];
/** `shared`: both hosts see the VM's disk at the same path; `copy`: the disks are copied to a pre-created disk on the target. */
export const MigrationStorage = ['shared', 'copy'] as const;
export type MigrationStorageKind = (typeof MigrationStorage)[number];
export const MigrationStrategies = ['auto', 'precopy', 'compressed', 'auto-converge', 'postcopy'] as const;
export type MigrationStrategy = (typeof MigrationStrategies)[number];
/** A strategy the engine runs (`auto` resolves to one of these before the start). */
export type ConcreteStrategy = Exclude<MigrationStrategy, 'auto'>;
/** Who asked: a user, the balancing planner, or a maintenance drain. */
export const MigrationOrigins = ['manual', 'planner', 'maintenance', 'preemption'] as const;
export type MigrationOrigin = (typeof MigrationOrigins)[number];
/** requested → planned → running → completed | failed | cancelled (failed/cancelled also straight from requested/planned). */
export const MigrationStates = ['requested', 'planned', 'running', 'completed', 'failed', 'cancelled'] as const;
export type MigrationState = (typeof MigrationStates)[number];
/**
 * The stages of a live migration, as the literature names them, plus `probe`: `auto` first runs xbzrle to measure how
 * well it compresses, then keeps it (pre-copy goes on) or aborts it and starts again with another strategy.
 */
export const MigrationStages = ['reservation', 'probe', 'pre-copy', 'stop-and-copy', 'commitment', 'activation'] as const;
export type MigrationStage = (typeof MigrationStages)[number];
export const MigrationControlActions = ['cancel', 'force-complete'] as const;
export type MigrationControlAction = (typeof MigrationControlActions)[number];

/** What the client (or the planner) asked for; the scheduler picks/validates the target and claims capacity there. */
export class MigrationRequestedEvent extends BusEvent {
  @IsUUID()
  migrationId!: string;

  @IsUUID()
  vmId!: string;

  /** Where the VM runs now (the requester's view; the scheduler checks it against its claim). */
  @IsUUID()
  sourceHostId!: string;

  /** Absent: the scheduler chooses (filters, anti-affinity). */
  @IsOptional() @IsUUID()
  targetHostId?: string;

  @IsIn(MigrationModes as unknown as string[])
  mode!: MigrationMode;

  @IsIn(MigrationStorage as unknown as string[])
  storage!: MigrationStorageKind;

  @IsIn(MigrationStrategies as unknown as string[])
  strategy!: MigrationStrategy;

  /** Longest pause of the guest accepted at the switch-over. */
  @IsOptional() @IsInt() @Min(1) @Max(60_000)
  maxDowntimeMs?: number;

  /** Bandwidth cap of the migration stream. */
  @IsOptional() @IsInt() @Min(1) @Max(100_000)
  bandwidthMiBs?: number;

  @IsIn(MigrationOrigins as unknown as string[])
  origin!: MigrationOrigin;

  @IsString() @MaxLength(2000)
  reason!: string;
}

/** Capacity is claimed on the target (the source keeps its claim until the migration ends): the migrator may start. */
export class MigrationPlannedEvent extends BusEvent {
  @IsUUID()
  migrationId!: string;

  @IsUUID()
  vmId!: string;

  @IsUUID()
  sourceHostId!: string;

  @IsUUID()
  targetHostId!: string;

  @IsIn(MigrationModes as unknown as string[])
  mode!: MigrationMode;

  @IsIn(MigrationStorage as unknown as string[])
  storage!: MigrationStorageKind;

  @IsIn(MigrationStrategies as unknown as string[])
  strategy!: MigrationStrategy;

  @IsOptional() @IsInt() @Min(1) @Max(60_000)
  maxDowntimeMs?: number;

  @IsOptional() @IsInt() @Min(1) @Max(100_000)
  bandwidthMiBs?: number;

  /** The VM's size, from its claim. */
  @IsInt() @Min(1)
  memoryMiB!: number;

  @IsInt() @Min(1)
  vcpus!: number;

  @IsIn(MigrationOrigins as unknown as string[])
  origin!: MigrationOrigin;

  /** Why this target (the placement reason). */
  @IsString() @MaxLength(2000)
  reason!: string;
}

/** One strategy's prediction by the cost model. */
export class StrategyPrediction {
  @IsString() @MaxLength(32)
  strategy!: string;

  @IsBoolean()
  converges!: boolean;

  @IsOptional() @IsNumber() @Min(0)
  totalTimeMs?: number;

  @IsOptional() @IsNumber() @Min(0)
  downtimeMs?: number;

  @IsOptional() @IsInt() @Min(0)
  iterations?: number;

  @IsOptional() @IsNumber() @Min(0)
  dataBytes?: number;
}

/** The migrator started the job on the source host: the strategy it runs and why. */
export class MigrationStartedEvent extends BusEvent {
  @IsUUID()
  migrationId!: string;

  @IsUUID()
  vmId!: string;

  @IsUUID()
  sourceHostId!: string;

  @IsUUID()
  targetHostId!: string;

  @IsIn(MigrationModes as unknown as string[])
  mode!: MigrationMode;

  @IsIn(MigrationStrategies.filter((s) => s !== 'auto') as unknown as string[])
  strategy!: ConcreteStrategy;

  @IsString() @MaxLength(2000)
  strategyReason!: string;

  /** Measured before the start (absent when it could not be measured). */
  @IsOptional() @IsNumber() @Min(0)
  dirtyRateMiBs?: number;

  /** The bandwidth the model assumed (cap, past migrations between the hosts, or the default). */
  @IsOptional() @IsNumber() @Min(0)
  bandwidthMiBs?: number;

  @IsOptional() @ValidateNested({ each: true }) @Type(() => StrategyPrediction) @IsArray()
  predictions?: StrategyPrediction[];
}

export class MigrationProgressEvent extends BusEvent {
  @IsUUID()
  migrationId!: string;

  @IsUUID()
  vmId!: string;

  @IsOptional() @IsIn(MigrationStages as unknown as string[])
  stage?: MigrationStage;

  @IsOptional() @IsNumber() @Min(0)
  elapsedMs?: number;

  @IsNumber() @Min(0)
  memoryProcessedBytes!: number;

  @IsNumber() @Min(0)
  memoryRemainingBytes!: number;

  @IsNumber() @Min(0)
  memoryTotalBytes!: number;

  @IsOptional() @IsNumber() @Min(0)
  dataTransferredBytes?: number;

  @IsOptional() @IsInt() @Min(0)
  iteration?: number;

  @IsOptional() @IsNumber() @Min(0)
  dirtyRatePagesPerSec?: number;

  @IsOptional() @IsNumber() @Min(0)
  expectedDowntimeMs?: number;
}

/** When a stage began. */
export class StageMark {
  @IsIn(MigrationStages as unknown as string[])
  stage!: MigrationStage;

  @IsISO8601()
  at!: string;
}

export class MigrationCompletedEvent extends BusEvent {
  @IsUUID()
  migrationId!: string;

  @IsUUID()
  vmId!: string;

  @IsUUID()
  sourceHostId!: string;

  @IsUUID()
  targetHostId!: string;

  @IsOptional() @IsIn(MigrationStrategies.filter((s) => s !== 'auto') as unknown as string[])
  strategy?: ConcreteStrategy;

  @IsNumber() @Min(0)
  totalTimeMs!: number;

  @IsOptional() @IsNumber() @Min(0)
  downtimeMs?: number;

  @IsOptional() @IsNumber() @Min(0)
  dataTransferredBytes?: number;

  @IsOptional() @IsInt() @Min(0)
  iterations?: number;

  /** xbzrle figures when compression ran. */
  @IsOptional() @IsNumber() @Min(0)
  compressedBytes?: number;

  @IsOptional() @IsNumber() @Min(0)
  compressionCacheMisses?: number;

  /** Pages the destination asked for after a post-copy switch. */
  @IsOptional() @IsInt() @Min(0)
  postcopyRequests?: number;

  /** `auto`'s compressed probe that was aborted for another strategy: its part of totalTimeMs (the rest is the job that moved the VM). */
  @IsOptional() @IsNumber() @Min(0)
  probeMs?: number;

  @IsOptional() @IsNumber() @Min(0)
  predictedTotalTimeMs?: number;

  @IsOptional() @IsNumber() @Min(0)
  predictedDowntimeMs?: number;

  @IsOptional() @ValidateNested({ each: true }) @Type(() => StageMark) @IsArray()
  stages?: StageMark[];

  /** Ended by force-complete (a user, or a timeout with the force-complete action): post-copy or pause-and-copy. */
  @IsOptional() @IsBoolean()
  forced?: boolean;
}

export class MigrationFailedEvent extends BusEvent {
  @IsUUID()
  migrationId!: string;

  @IsUUID()
  vmId!: string;

  @IsUUID()
  sourceHostId!: string;

  @IsOptional() @IsUUID()
  targetHostId?: string;

  @IsString() @MaxLength(4000)
  reason!: string;

  /** Where the VM runs (or is defined) after the failure: always exactly one host. */
  @IsUUID()
  vmHostId!: string;

  /** true when a user (or a timeout's abort action) cancelled it: state `cancelled`, not `failed`. */
  @IsOptional() @IsBoolean()
  cancelled?: boolean;
}

/** A user asked to cancel or force-complete a migration (any migrator replica records it; the one running it acts). */
export class MigrationControlEvent extends BusEvent {
  @IsUUID()
  migrationId!: string;

  @IsIn(MigrationControlActions as unknown as string[])
  action!: MigrationControlAction;
}
