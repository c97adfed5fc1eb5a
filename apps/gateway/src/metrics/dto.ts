import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, Max, Min } from 'class-validator';

export class MetricsQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'Start (default: one hour before `to`)' })
  @IsOptional() @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'End (default: now)' })
  @IsOptional() @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 86400, description: 'Seconds per point (default: about 360 points; >= 60 answers from 1-minute rollups)' })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(86_400)
  step?: number;
}

export class MetricsPointDto {
  @ApiProperty({ format: 'date-time', description: 'Start of the step' }) t: string;
  @ApiProperty({ description: 'Rounds with data in the step' }) samples: number;
  @ApiPropertyOptional({ description: 'Hosts only: failed rounds in the step (their values are absent, not 0)' }) missing?: number;
}

export class MetricsSeriesDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['host', 'vm'] }) kind: string;
  @ApiProperty({ format: 'date-time' }) from: string;
  @ApiProperty({ format: 'date-time' }) to: string;
  @ApiProperty({ description: 'Seconds per point' }) step: number;
  @ApiProperty({ enum: ['raw', '1m'] }) source: string;
  @ApiProperty({ type: [String], description: 'Value fields of each point (averages over the step; cpuPercentMax is the maximum); null where no round had the value' }) fields: string[];
  @ApiProperty({ type: [MetricsPointDto] }) points: MetricsPointDto[];
}

/** Fields absent where the round could not read them; `error` when the round failed. */
export class HostLatestMetricsDto {
  @ApiProperty({ format: 'date-time' }) collectedAt: string;
  @ApiPropertyOptional() cpuPercent?: number;
  @ApiPropertyOptional() memoryUsedPercent?: number;
  @ApiPropertyOptional() memoryTotalMiB?: number;
  @ApiPropertyOptional() memoryAvailableMiB?: number;
  @ApiPropertyOptional() load1?: number;
  @ApiPropertyOptional() load5?: number;
  @ApiPropertyOptional() load15?: number;
  @ApiPropertyOptional() diskTotalBytes?: number;
  @ApiPropertyOptional() diskUsedBytes?: number;
  @ApiPropertyOptional() netRxBytesPerSec?: number;
  @ApiPropertyOptional() netTxBytesPerSec?: number;
  @ApiPropertyOptional() vmCount?: number;
  @ApiPropertyOptional({ description: 'The round failed: no values' }) error?: string;
}

export class VmLatestMetricsDto {
  @ApiProperty({ format: 'date-time' }) collectedAt: string;
  @ApiProperty({ format: 'uuid' }) hostId: string;
  @ApiProperty({ description: "libvirt's domain state" }) state: string;
  @ApiPropertyOptional({ description: '% of its vCPUs' }) cpuPercent?: number;
  @ApiPropertyOptional() memoryCurrentMiB?: number;
  @ApiPropertyOptional() memoryMaxMiB?: number;
  @ApiPropertyOptional() memoryRssMiB?: number;
  @ApiPropertyOptional() memoryUsableMiB?: number;
  @ApiPropertyOptional() diskReadBytesPerSec?: number;
  @ApiPropertyOptional() diskWriteBytesPerSec?: number;
  @ApiPropertyOptional() netRxBytesPerSec?: number;
  @ApiPropertyOptional() netTxBytesPerSec?: number;
}
