import { ArrayMaxSize, IsArray, IsInt, IsISO8601, IsOptional, IsUUID, Max, Min } from 'class-validator';

/** Longest history one series request may cover (the rollups' default retention). */
export const METRICS_MAX_RANGE_SECONDS = 31 * 24 * 3600;
/** Most points one series answer may hold (like Prometheus' limit). */
export const METRICS_MAX_POINTS = 11_000;

/** History of one host or VM: `from`/`to` ISO 8601 (default the last hour), `step` in seconds (default: automatic). */
export class MetricsSeriesRequest {
  @IsUUID()
  id!: string;

  @IsOptional() @IsISO8601({ strict: true })
  from?: string;

  @IsOptional() @IsISO8601({ strict: true })
  to?: string;

  @IsOptional() @IsInt() @Min(1) @Max(86_400)
  step?: number;
}

/** One point of a series: averages over the step (max for `cpuPercentMax`), null where no round had the value. */
export interface MetricsPoint {
  t: string;
  /** Rounds that delivered data in this step. */
  samples: number;
  /** Host series only: rounds that failed (recorded as missing, their values absent) in this step. */
  missing?: number;
  [field: string]: number | string | null | undefined;
}

export interface MetricsSeries {
  id: string;
  kind: 'host' | 'vm';
  from: string;
  to: string;
  step: number;
  /** `raw` rounds or `1m` rollups. */
  source: 'raw' | '1m';
  fields: string[];
  points: MetricsPoint[];
}

export class MetricsLatestRequest {
  @IsOptional() @IsArray() @ArrayMaxSize(1000) @IsUUID('all', { each: true })
  hostIds?: string[];

  @IsOptional() @IsArray() @ArrayMaxSize(1000) @IsUUID('all', { each: true })
  vmIds?: string[];
}

/** The newest round of a host: values absent where the round could not read them; `error` when it failed. */
export interface HostLatestMetrics {
  collectedAt: string;
  cpuPercent?: number;
  memoryUsedPercent?: number;
  memoryTotalMiB?: number;
  memoryAvailableMiB?: number;
  load1?: number;
  load5?: number;
  load15?: number;
  diskTotalBytes?: number;
  diskUsedBytes?: number;
  netRxBytesPerSec?: number;
  netTxBytesPerSec?: number;
  vmCount?: number;
  error?: string;
}

export interface VmLatestMetrics {
  collectedAt: string;
  hostId: string;
  state: string;
  cpuPercent?: number;
  memoryCurrentMiB?: number;
  memoryMaxMiB?: number;
  memoryRssMiB?: number;
  memoryUsableMiB?: number;
  diskReadBytesPerSec?: number;
  diskWriteBytesPerSec?: number;
  netRxBytesPerSec?: number;
  netTxBytesPerSec?: number;
}

export interface MetricsLatestReply {
  hosts: Record<string, HostLatestMetrics>;
  vms: Record<string, VmLatestMetrics>;
}
