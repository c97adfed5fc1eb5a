import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, IsUUID, Max, MaxLength, Min, ValidateNested, IsArray } from 'class-validator';
import { Type } from 'class-transformer';
import { BusEvent } from './base';

export const HostStates = ['up', 'down', 'disabled', 'maintenance'] as const;
export type HostState = (typeof HostStates)[number];

/** What discovery found on a host. */
export class HostFacts {
  @IsInt() @Min(1)
  cpus!: number;

  @IsString() @MaxLength(200)
  cpuModel!: string;

  @IsInt() @Min(1)
  memoryMiB!: number;

  /** Size of the image store's file system. */
  @IsInt() @Min(0)
  diskGiB!: number;

  @IsString() @MaxLength(32)
  arch!: string;

  @IsString() @MaxLength(100)
  hypervisorVersion!: string;

  @IsString() @MaxLength(100)
  libvirtVersion!: string;

  /**
   * The host mounts the shared datastore (MINICLOUD_SHARED_STORAGE_DIR, default /var/lib/minicloud/shared, with its
   * `.minicloud-datastore` marker): VMs with `storage: shared` may run here. Absent (older registrations): false.
   */
  @IsOptional() @IsBoolean()
  sharedStorage?: boolean;
}

/** Published by the provisioner once a host is discovered and stored. */
export class HostRegisteredEvent extends BusEvent {
  @IsUUID()
  hostId!: string;

  @IsString() @MaxLength(253)
  name!: string;

  @IsString() @MaxLength(253)
  address!: string;

  @IsInt() @Min(1) @Max(65535)
  sshPort!: number;

  @IsString() @MaxLength(32)
  sshUser!: string;

  @ValidateNested() @Type(() => HostFacts)
  facts!: HostFacts;

  @IsIn(HostStates as unknown as string[])
  state!: HostState;
}

export class HostStateChangedEvent extends BusEvent {
  @IsUUID()
  hostId!: string;

  @IsIn(HostStates as unknown as string[])
  state!: HostState;

  @IsOptional() @IsIn(HostStates as unknown as string[])
  previousState?: HostState;

  @IsString() @MaxLength(2000)
  reason!: string;
}

/** One collection round of one host. A field the round could not read is absent, never 0. */
export class HostMetricsEvent extends BusEvent {
  @IsUUID()
  hostId!: string;

  @IsOptional() @IsNumber() @Min(0) @Max(100)
  cpuPercent?: number;

  @IsOptional() @IsNumber() @Min(0) @Max(100)
  memoryUsedPercent?: number;

  @IsOptional() @IsNumber() @Min(0)
  memoryTotalMiB?: number;

  @IsOptional() @IsNumber() @Min(0)
  memoryAvailableMiB?: number;

  @IsOptional() @IsNumber() @Min(0)
  load1?: number;

  @IsOptional() @IsNumber() @Min(0)
  load5?: number;

  @IsOptional() @IsNumber() @Min(0)
  load15?: number;

  @IsOptional() @IsNumber() @Min(0)
  diskTotalBytes?: number;

  @IsOptional() @IsNumber() @Min(0)
  diskUsedBytes?: number;

  @IsOptional() @IsNumber() @Min(0)
  netRxBytesPerSec?: number;

  @IsOptional() @IsNumber() @Min(0)
  netTxBytesPerSec?: number;

  @IsOptional() @IsInt() @Min(0)
  vmCount?: number;

  /** Set when the round failed: the other fields are then absent. */
  @IsOptional() @IsString() @MaxLength(2000)
  error?: string;
}

export class VmMetricsSample {
  @IsString() @MaxLength(100)
  domain!: string;

  @IsOptional() @IsUUID()
  vmId?: string;

  @IsString() @MaxLength(32)
  state!: string;

  @IsOptional() @IsNumber() @Min(0)
  cpuPercent?: number;

  @IsOptional() @IsNumber() @Min(0)
  memoryCurrentMiB?: number;

  @IsOptional() @IsNumber() @Min(0)
  memoryRssMiB?: number;

  /** The balloon's ceiling (the domain's maximum memory). */
  @IsOptional() @IsNumber() @Min(0)
  memoryMaxMiB?: number;

  /** What the guest reports as usable (needs the guest's balloon driver with stats). */
  @IsOptional() @IsNumber() @Min(0)
  memoryUsableMiB?: number;

  @IsOptional() @IsInt() @Min(0)
  vcpus?: number;

  @IsOptional() @IsNumber() @Min(0)
  diskReadBytesPerSec?: number;

  @IsOptional() @IsNumber() @Min(0)
  diskWriteBytesPerSec?: number;

  @IsOptional() @IsNumber() @Min(0)
  netRxBytesPerSec?: number;

  @IsOptional() @IsNumber() @Min(0)
  netTxBytesPerSec?: number;
}

export class VmMetricsEvent extends BusEvent {
  @IsUUID()
  hostId!: string;

  @IsArray() @ValidateNested({ each: true }) @Type(() => VmMetricsSample)
  vms!: VmMetricsSample[];
}
