import { IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { NAME_PATTERN, NAME_RULE } from './events/vm';
import type { HostFacts, HostState } from './events/host';
import type { ImageFormat } from './events/image';

/** Addresses reach ssh: a hostname or an IPv4/IPv6 literal, nothing else. */
export const ADDRESS_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9a-fA-F:]+)$/;
export const SSH_USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Absolute paths on the controller: no shell metacharacters, no `..`. */
export const PATH_PATTERN = /^\/(?:[A-Za-z0-9._+-]+\/)*[A-Za-z0-9._+-]+$/;

export class HostRegisterRequest {
  @Matches(ADDRESS_PATTERN, { message: 'address must be a host name or an IP address' })
  @MaxLength(253)
  address!: string;

  @IsOptional() @IsInt() @Min(1) @Max(65535)
  sshPort?: number;

  @IsOptional() @Matches(SSH_USER_PATTERN, { message: 'sshUser must be a plain user name' })
  sshUser?: string;

  @IsOptional() @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name?: string;
}

export interface HostView {
  id: string;
  name: string;
  address: string;
  sshPort: number;
  sshUser: string;
  state: HostState;
  stateReason: string;
  facts: HostFacts;
  registeredAt: string;
}

export class ImageRegisterRequest {
  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name!: string;

  @Matches(PATH_PATTERN, { message: 'path must be an absolute path of plain file name characters' })
  path!: string;

  @IsOptional() @Matches(PATH_PATTERN, { message: 'kernelPath must be an absolute path' })
  kernelPath?: string;

  @IsOptional() @Matches(PATH_PATTERN, { message: 'initrdPath must be an absolute path' })
  initrdPath?: string;

  @IsOptional() @IsString() @MaxLength(1000) @Matches(/^[A-Za-z0-9 ._=,\/:-]*$/, { message: 'cmdline has characters that are not allowed' })
  cmdline?: string;
}

export interface ImageView {
  id: string;
  name: string;
  path: string;
  format: ImageFormat;
  checksum: string;
  sizeBytes: number;
  virtualSizeBytes: number;
  arch: string;
  kernelPath?: string;
  initrdPath?: string;
  cmdline?: string;
  registeredAt: string;
}

export class VmConsoleRequest {
  @IsUUID()
  vmId!: string;

  @IsOptional() @IsInt() @Min(1) @Max(10000)
  lines?: number;
}

export interface VmConsoleReply {
  vmId: string;
  hostId: string;
  lines: string[];
}

/** Every reply is either { ok: true, result } or { ok: false, error: { status, message } }. */
export type RpcReply<T> = { ok: true; result: T } | { ok: false; error: { status: number; message: string } };

/** Asks the provisioner to put a VM's files on the migration target (image cache, VM directory, disk for `copy`). */
export class VmPrepareMigrationRequest {
  @IsUUID()
  vmId!: string;

  @IsUUID()
  targetHostId!: string;

  @IsIn(['shared', 'copy'])
  storage!: 'shared' | 'copy';
}

export interface VmPrepareMigrationReply {
  vmId: string;
  sourceHostId: string;
  targetHostId: string;
  /** The VM's disk path (the same on both hosts). */
  diskPath: string;
  /** Files that had to be put on the target (empty when it had them). */
  prepared: string[];
}

/** The last migration.progress figures of a running migration. */
export interface MigrationProgressFigures {
  memoryProcessedBytes: number;
  memoryRemainingBytes: number;
  memoryTotalBytes: number;
  dataTransferredBytes: number | null;
  iteration: number | null;
  dirtyRatePagesPerSec: number | null;
  expectedDowntimeMs: number | null;
  elapsedMs: number | null;
}

/** One strategy's cost-model figures before the start. */
export interface MigrationPredictionFigures {
  strategy: string;
  converges: boolean;
  totalTimeMs?: number;
  downtimeMs?: number;
  iterations?: number;
  dataBytes?: number;
}

/** What libvirt reported at the end, with the prediction and its error. */
export interface MigrationResultFigures {
  totalTimeMs: number;
  downtimeMs: number | null;
  dataTransferredBytes: number | null;
  iterations: number | null;
  compressedBytes: number | null;
  compressionCacheMisses: number | null;
  /** Pages the destination asked for after a post-copy switch (absent in rows written before it was recorded). */
  postcopyRequests?: number | null;
  /** The aborted compressed probe's part of totalTimeMs when `auto` switched strategy (absent: no switch). */
  probeMs?: number | null;
  predictedTotalTimeMs: number | null;
  predictedDowntimeMs: number | null;
  /** (actual − predicted) ÷ predicted, when both exist. */
  totalTimeError: number | null;
  /** Ended by force-complete: post-copy, or pause-and-copy (the downtime limit lifted); absent in rows written before it was recorded. */
  forced?: boolean;
}

/** A migration as the REST API shows it (GET /v1/migrations/:id). */
export interface MigrationView {
  id: string;
  vmId: string;
  state: 'requested' | 'planned' | 'running' | 'completed' | 'failed' | 'cancelled';
  origin: string;
  mode: string;
  storage: string;
  /** Requested strategy (may be `auto`). */
  requestedStrategy: string;
  /** The strategy that ran, and why. */
  strategy: string | null;
  strategyReason: string | null;
  sourceHostId: string;
  targetHostId: string | null;
  maxDowntimeMs: number | null;
  bandwidthMiBs: number | null;
  reason: string;
  stage: string | null;
  progress: (MigrationProgressFigures & { at: string }) | null;
  /** Cost model figures before the start. */
  predictions: MigrationPredictionFigures[] | null;
  dirtyRateMiBs: number | null;
  /** What libvirt reported at the end, with the prediction and its error. */
  result: MigrationResultFigures | null;
  stages: { stage: string; at: string }[];
  /** Where the VM runs after a failure or cancellation. */
  vmHostId: string | null;
  error: string | null;
  requestedAt: string;
  updatedAt: string;
}
