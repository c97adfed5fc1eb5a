import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';
import {
  MigrationMode,
  MigrationModes,
  MigrationStages,
  MigrationState,
  MigrationStates,
  MigrationStorage,
  MigrationStorageKind,
  MigrationStrategies,
  MigrationStrategy,
  MigrationOrigins,
} from '@minicloud/contracts';
import { REF_PATTERN } from '../vms/dto';

const oneOf = (field: string, values: readonly string[]) => ({ message: `${field} must be one of: ${values.join(', ')}` });

/** POST /v1/vms/:id/migrate. Every field is optional; unknown fields are refused (400). */
export class MigrateVmDto {
  @ApiPropertyOptional({ example: 'hv2', description: 'The host to move to (id or name); absent: the scheduler chooses' })
  @IsOptional() @IsString()
  @Matches(REF_PATTERN, { message: 'targetHost must be a host name or id' })
  targetHost?: string;

  @ApiPropertyOptional({ enum: MigrationModes, default: 'live', description: 'live: the guest keeps running (VM must be running); cold: a stopped VM is moved' })
  @IsOptional() @IsIn(MigrationModes as unknown as string[], oneOf('mode', MigrationModes))
  mode?: MigrationMode;

  @ApiPropertyOptional({
    enum: MigrationStorage,
    description: "copy: the disk is copied to the target (default for a local VM); shared: both hosts see the VM's disk (default, and the only choice, for a VM created with storage shared)",
  })
  @IsOptional() @IsIn(MigrationStorage as unknown as string[], oneOf('storage', MigrationStorage))
  storage?: MigrationStorageKind;

  @ApiPropertyOptional({ enum: MigrationStrategies, default: 'auto', description: 'auto: the migrator picks one from the cost model (see the started view)' })
  @IsOptional() @IsIn(MigrationStrategies as unknown as string[], oneOf('strategy', MigrationStrategies))
  strategy?: MigrationStrategy;

  @ApiPropertyOptional({ minimum: 1, maximum: 60_000, description: 'Longest pause of the guest accepted at the switch-over (ms)' })
  @IsOptional() @IsInt() @Min(1) @Max(60_000)
  maxDowntimeMs?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100_000, description: 'Bandwidth cap of the migration stream (MiB/s)' })
  @IsOptional() @IsInt() @Min(1) @Max(100_000)
  bandwidthMiBs?: number;
}

export class ListMigrationsQuery {
  @ApiPropertyOptional({ format: 'uuid', description: "Only this VM's migrations" })
  @IsOptional() @IsUUID('all', { message: 'vm must be a UUID' })
  vm?: string;

  @ApiPropertyOptional({ enum: MigrationStates, description: 'Only migrations in this state' })
  @IsOptional() @IsIn(MigrationStates as unknown as string[], oneOf('state', MigrationStates))
  state?: MigrationState;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  offset?: number;
}

// ---- Swagger shapes of MigrationView (libs/contracts/src/rpc.ts) -------------------------------------------

export class MigrationProgressDto {
  @ApiProperty() memoryProcessedBytes: number;
  @ApiProperty() memoryRemainingBytes: number;
  @ApiProperty() memoryTotalBytes: number;
  @ApiProperty({ nullable: true, type: Number }) dataTransferredBytes: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Pre-copy iteration' }) iteration: number | null;
  @ApiProperty({ nullable: true, type: Number }) dirtyRatePagesPerSec: number | null;
  @ApiProperty({ nullable: true, type: Number }) expectedDowntimeMs: number | null;
  @ApiProperty({ nullable: true, type: Number }) elapsedMs: number | null;
  @ApiProperty({ format: 'date-time', description: 'When the migrator measured it' }) at: string;
}

export class MigrationPredictionDto {
  @ApiProperty() strategy: string;
  @ApiProperty() converges: boolean;
  @ApiPropertyOptional() totalTimeMs?: number;
  @ApiPropertyOptional() downtimeMs?: number;
  @ApiPropertyOptional() iterations?: number;
  @ApiPropertyOptional() dataBytes?: number;
}

export class MigrationResultDto {
  @ApiProperty() totalTimeMs: number;
  @ApiProperty({ nullable: true, type: Number }) downtimeMs: number | null;
  @ApiProperty({ nullable: true, type: Number }) dataTransferredBytes: number | null;
  @ApiProperty({ nullable: true, type: Number }) iterations: number | null;
  @ApiProperty({ nullable: true, type: Number }) compressedBytes: number | null;
  @ApiProperty({ nullable: true, type: Number }) compressionCacheMisses: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'pages the destination asked for after a post-copy switch' }) postcopyRequests?: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: "auto's aborted compressed probe: its part of totalTimeMs" }) probeMs?: number | null;
  @ApiProperty({ nullable: true, type: Number }) predictedTotalTimeMs: number | null;
  @ApiProperty({ nullable: true, type: Number }) predictedDowntimeMs: number | null;
  @ApiProperty({ nullable: true, type: Number, description: '(actual − predicted) ÷ predicted total time, when both exist' }) totalTimeError: number | null;
}

export class MigrationStageMarkDto {
  @ApiProperty({ enum: MigrationStages }) stage: string;
  @ApiProperty({ format: 'date-time' }) at: string;
}

export class MigrationViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) vmId: string;
  @ApiProperty({ enum: MigrationStates }) state: string;
  @ApiProperty({ enum: MigrationOrigins }) origin: string;
  @ApiProperty({ enum: MigrationModes }) mode: string;
  @ApiProperty({ enum: MigrationStorage }) storage: string;
  @ApiProperty({ enum: MigrationStrategies, description: 'What was asked for (may be auto)' }) requestedStrategy: string;
  @ApiProperty({ nullable: true, type: String, description: 'The strategy that runs (known once started)' }) strategy: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why the migrator chose it' }) strategyReason: string | null;
  @ApiProperty({ format: 'uuid' }) sourceHostId: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) targetHostId: string | null;
  @ApiProperty({ nullable: true, type: Number }) maxDowntimeMs: number | null;
  @ApiProperty({ nullable: true, type: Number }) bandwidthMiBs: number | null;
  @ApiProperty({ description: 'Why the migration exists, then why this target once planned' }) reason: string;
  @ApiProperty({ enum: MigrationStages, nullable: true, type: String }) stage: string | null;
  @ApiProperty({ type: MigrationProgressDto, nullable: true, description: 'The latest progress report while it runs' }) progress: MigrationProgressDto | null;
  @ApiProperty({ type: [MigrationPredictionDto], nullable: true, description: 'Cost model figures before the start' }) predictions: MigrationPredictionDto[] | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Dirty page rate measured before the start (MiB/s)' }) dirtyRateMiBs: number | null;
  @ApiProperty({ type: MigrationResultDto, nullable: true }) result: MigrationResultDto | null;
  @ApiProperty({ type: [MigrationStageMarkDto] }) stages: MigrationStageMarkDto[];
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'Where the VM runs after a failure or cancellation' }) vmHostId: string | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  @ApiProperty({ format: 'date-time' }) requestedAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class MigrationListDto {
  @ApiProperty({ type: [MigrationViewDto] }) items: MigrationViewDto[];
  @ApiProperty() total: number;
}
