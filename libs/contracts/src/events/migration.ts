import { IsIn, IsInt, IsNumber, IsOptional, IsString, IsUUID, MaxLength, Min } from 'class-validator';
import { BusEvent } from './base';

export const MigrationModes = ['live', 'cold'] as const;
export const MigrationStorage = ['shared', 'copy'] as const;
export const MigrationStrategies = ['auto', 'precopy', 'compressed', 'auto-converge', 'postcopy'] as const;

export class MigrationPlannedEvent extends BusEvent {
  @IsUUID()
  migrationId!: string;

  @IsUUID()
  vmId!: string;

  @IsUUID()
  sourceHostId!: string;

  @IsOptional() @IsUUID()
  targetHostId?: string;

  @IsIn(MigrationModes as unknown as string[])
  mode!: (typeof MigrationModes)[number];

  @IsIn(MigrationStorage as unknown as string[])
  storage!: (typeof MigrationStorage)[number];

  @IsIn(MigrationStrategies as unknown as string[])
  strategy!: (typeof MigrationStrategies)[number];

  @IsString() @MaxLength(2000)
  reason!: string;
}

export class MigrationProgressEvent extends BusEvent {
  @IsUUID()
  migrationId!: string;

  @IsUUID()
  vmId!: string;

  @IsNumber() @Min(0)
  memoryProcessedBytes!: number;

  @IsNumber() @Min(0)
  memoryRemainingBytes!: number;

  @IsNumber() @Min(0)
  memoryTotalBytes!: number;

  @IsOptional() @IsInt() @Min(0)
  iteration?: number;

  @IsOptional() @IsNumber() @Min(0)
  dirtyRatePagesPerSec?: number;

  @IsOptional() @IsNumber() @Min(0)
  expectedDowntimeMs?: number;
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

  @IsNumber() @Min(0)
  totalTimeMs!: number;

  @IsOptional() @IsNumber() @Min(0)
  downtimeMs?: number;

  @IsOptional() @IsNumber() @Min(0)
  dataTransferredBytes?: number;
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

  /** Where the VM runs after the failure: always exactly one host. */
  @IsUUID()
  vmHostId!: string;
}
