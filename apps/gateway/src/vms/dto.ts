import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsByteLength,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidateIf,
  ValidationOptions,
} from 'class-validator';
import { GroupPolicies, GroupPolicy, NAME_PATTERN, NAME_RULE, PlacementPolicies, PlacementPolicyName, VmState, VmStates, VmStorageKind, VmStorageKinds } from '@minicloud/contracts';
import { IsBoolean, IsISO8601, IsUUID, ValidateNested } from 'class-validator';
import { HostStates } from '@minicloud/contracts';
import { VmLatestMetricsDto } from '../metrics/dto';
import { parseTagFilters } from './tag-filter';

/** An image or host reference: its id (UUID) or its name. */
export const REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$/;
/** One OpenSSH public key line: type, base64 blob, optional comment; no line breaks. */
export const SSH_KEY_PATTERN =
  /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: [^\r\n\0]*)?$/;
export const TAG_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
export const MAX_TAGS = 50;
export const MAX_TAG_VALUE = 256;
export const MAX_USER_DATA_BYTES = 64 * 1024;

/** Why a tags value is not a string→string map, or null when it is one. */
export function tagsProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'tags must be an object of string values';
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_TAGS) return `tags must have at most ${MAX_TAGS} entries`;
  for (const [k, v] of entries) {
    if (!TAG_KEY_PATTERN.test(k)) return `tag key "${k.slice(0, 64)}" must be 1-63 characters: letters, digits, ".", "_", "/" or "-"`;
    if (typeof v !== 'string') return `tag "${k}" must have a string value`;
    if (v.length > MAX_TAG_VALUE) return `tag "${k}" must be at most ${MAX_TAG_VALUE} characters`;
  }
  return null;
}

export function IsStringMap(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isStringMap',
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => tagsProblem(value) === null,
        defaultMessage: (args) => tagsProblem(args?.value) ?? 'tags are invalid',
      },
    });
}

/** Explicit sizes are required without a flavor, and checked whenever given. */
function sizeRequired(o: { flavor?: unknown }, value: unknown): boolean {
  return o.flavor === undefined || value !== undefined;
}

/** A VM is sized by a flavor OR by vcpus/memoryMiB/diskGiB: never both. */
export function NotWithExplicitSize(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'notWithExplicitSize',
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (_v: unknown, args) => ['vcpus', 'memoryMiB', 'diskGiB'].every((k) => (args?.object as Record<string, unknown>)[k] === undefined),
        defaultMessage: () => 'give flavor or vcpus/memoryMiB/diskGiB, not both',
      },
    });
}

/** `tag` query values: "key=value" or "key" (see tag-filter.ts). */
export function IsTagFilter(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isTagFilter',
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => !('error' in parseTagFilters(value as string | string[])),
        defaultMessage: (args) => {
          const r = parseTagFilters(args?.value as string | string[]);
          return 'error' in r ? r.error : 'tag is invalid';
        },
      },
    });
}

export class VmGroupDto {
  @ApiProperty({ example: 'web', pattern: NAME_PATTERN.source })
  @IsString() @Matches(NAME_PATTERN, { message: `group name ${NAME_RULE}` })
  name: string;

  @ApiProperty({ enum: GroupPolicies })
  @IsIn(GroupPolicies as unknown as string[], { message: `group policy must be one of: ${GroupPolicies.join(', ')}` })
  policy: GroupPolicy;
}

export class CreateVmDto {
  @ApiProperty({ example: 'web-1', pattern: NAME_PATTERN.source, description: `The VM's name: ${NAME_RULE}` })
  @IsString()
  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name: string;

  @ApiPropertyOptional({ example: 'm1.small', description: 'A flavor (GET /v1/flavors) OR all of vcpus, memoryMiB and diskGiB: not both' })
  @IsOptional() @IsString() @Matches(NAME_PATTERN, { message: 'flavor must be a flavor name' }) @NotWithExplicitSize()
  flavor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 64, example: 1, description: 'Required unless flavor is given' })
  @ValidateIf(sizeRequired) @IsInt() @Min(1) @Max(64)
  vcpus?: number;

  @ApiPropertyOptional({ minimum: 64, maximum: 1024 * 1024, example: 512, description: 'Required unless flavor is given' })
  @ValidateIf(sizeRequired) @IsInt() @Min(64) @Max(1024 * 1024)
  memoryMiB?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 16384, example: 2, description: 'Required unless flavor is given' })
  @ValidateIf(sizeRequired) @IsInt() @Min(1) @Max(16384)
  diskGiB?: number;

  @ApiProperty({ example: 'minicloud-lab', description: 'A registered image, by name or id' })
  @IsString()
  @Matches(REF_PATTERN, { message: 'image must be an image name or id' })
  image: string;

  @ApiPropertyOptional({ description: 'Place the VM on this host (id or name); the scheduler still checks capacity' })
  @IsOptional() @IsString()
  @Matches(REF_PATTERN, { message: 'targetHost must be a host name or id' })
  targetHost?: string;

  @ApiPropertyOptional({ type: [String], maxItems: 16, description: 'OpenSSH public keys for the default user' })
  @IsOptional() @IsArray() @ArrayMaxSize(16)
  @IsString({ each: true }) @MaxLength(8192, { each: true })
  @Matches(SSH_KEY_PATTERN, { each: true, message: 'each sshKeys entry must be one OpenSSH public key line ("ssh-ed25519 AAAA... comment")' })
  sshKeys?: string[];

  @ApiPropertyOptional({ description: 'cloud-init user data, at most 64 KiB' })
  @IsOptional() @IsString()
  @IsByteLength(0, MAX_USER_DATA_BYTES, { message: `userData must be at most ${MAX_USER_DATA_BYTES} bytes (64 KiB)` })
  userData?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { team: 'web' } })
  @IsOptional() @IsStringMap()
  tags?: Record<string, string>;

  @ApiPropertyOptional({
    enum: VmStorageKinds,
    default: 'local',
    description: "Where the disk lives: local (the host's own disk) or shared (the shared datastore every host with sharedStorage mounts; live migration then moves no disk)",
  })
  @IsOptional() @IsIn(VmStorageKinds as unknown as string[], { message: `storage must be one of: ${VmStorageKinds.join(', ')}` })
  storage?: VmStorageKind;
  // ---- Scheduling options (docs/scheduler.md) ----

  @ApiPropertyOptional({ minimum: 1, maximum: 4, default: 4, description: '1 = highest; 1 and 2 may preempt preemptible VMs of lower priority' })
  @IsOptional() @IsInt() @Min(1) @Max(4)
  priority?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'When no host fits, wait in the scheduler queue until this time, then fail' })
  @IsOptional() @IsISO8601({ strict: true })
  deadline?: string;

  @ApiPropertyOptional({ description: 'The VM may be stopped or moved to make room for higher-priority VMs or a reservation' })
  @IsOptional() @IsBoolean()
  preemptible?: boolean;

  @ApiPropertyOptional({ type: () => VmGroupDto, description: 'Join a server group: affinity (same host) or anti-affinity (never two on one host)' })
  @IsOptional() @ValidateNested() @Type(() => VmGroupDto)
  group?: VmGroupDto;

  @ApiPropertyOptional({ enum: PlacementPolicies, description: "Overrides the cluster's default placement policy" })
  @IsOptional() @IsIn(PlacementPolicies as unknown as string[], { message: `policy must be one of: ${PlacementPolicies.join(', ')}` })
  policy?: PlacementPolicyName;

  @ApiPropertyOptional({ format: 'uuid', description: 'Place inside this advance reservation (POST /v1/reservations)' })
  @IsOptional() @IsUUID()
  reservationId?: string;
}

export class ListVmsQuery {
  @ApiPropertyOptional({ enum: VmStates, description: 'Only VMs in this state (deleted VMs are listed only when asked for)' })
  @IsOptional() @IsIn(VmStates as unknown as string[], { message: `status must be one of: ${VmStates.join(', ')}` })
  status?: VmState;

  @ApiPropertyOptional({ description: 'Only VMs on this host (id or name)' })
  @IsOptional() @IsString() @Matches(REF_PATTERN, { message: 'host must be a host name or id' })
  host?: string;

  @ApiPropertyOptional({ type: [String], description: 'Only VMs with this tag: "key=value" or "key" (any value); repeat for several (all must match)', example: 'team=web' })
  @IsOptional() @IsTagFilter()
  tag?: string | string[];

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  offset?: number;
}

export class ConsoleQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 10000, default: 100, description: 'Last N lines of the serial console' })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(10000)
  lines?: number;
}

export class ListQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  offset?: number;
}

export class VmHostRefDto {
  @ApiProperty() id: string;
  @ApiProperty({ nullable: true, type: String }) name: string | null;
  @ApiProperty({ nullable: true, type: String }) address: string | null;
}

export class VmImageRefDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
}

/** Swagger shape of VmView's `migration` (views.ts VmMigrationRef). */
export class VmMigrationRefDto {
  @ApiProperty({ format: 'uuid', description: 'GET /v1/migrations/{id}' }) id: string;
  @ApiProperty({ enum: ['requested', 'planned', 'running'] }) state: string;
  @ApiProperty({ enum: ['live', 'cold'] }) mode: string;
  @ApiProperty({ nullable: true, type: String }) stage: string | null;
  @ApiProperty({ format: 'uuid' }) sourceHostId: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) targetHostId: string | null;
}

/** Swagger shape of VmView's `scheduling` (views.ts VmSchedulingView): the fields of `queued` and of `preempted`. */
export class VmSchedulingDto {
  @ApiProperty({ enum: ['queued', 'preempted'], description: 'queued: waits in the scheduler queue (status requested); preempted: stopped by a preemption (status stopped)' }) state: string;
  @ApiProperty({ description: 'queued: why nothing fits now; preempted: why it was preempted' }) reason: string;
  @ApiProperty({ required: false, format: 'date-time', description: 'queued: since when' }) since?: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: 'queued: hosts removed per filter' }) removedByFilter?: Record<string, number>;
  @ApiProperty({ required: false, description: 'queued: the request priority (1 highest … 4)' }) priority?: number;
  @ApiProperty({ required: false, nullable: true, type: String, format: 'date-time', description: 'queued: when it gives up' }) deadline?: string | null;
  @ApiProperty({ required: false, description: 'queued: seconds waited so far' }) waitedSeconds?: number;
  @ApiProperty({ required: false, nullable: true, type: Number, description: 'queued: place in the queue, 1 = next (GET /v1/vms/{id} only)' }) position?: number | null;
  @ApiProperty({ required: false, nullable: true, type: Number, description: 'queued: priority after aging (GET /v1/vms/{id} only)' }) effectivePriority?: number | null;
  @ApiProperty({ required: false, format: 'date-time', description: 'preempted: when' }) at?: string;
  @ApiProperty({ required: false, format: 'uuid', description: 'preempted: the host it was stopped on' }) hostId?: string;
  @ApiProperty({ required: false, enum: ['stop', 'migrate'], description: 'preempted: what the scheduler asked' }) action?: string;
  @ApiProperty({ required: false, nullable: true, type: String, format: 'uuid' }) targetHostId?: string | null;
  @ApiProperty({ required: false, nullable: true, type: String, format: 'uuid', description: 'preempted: the VM that needed the room' }) preemptedByVmId?: string | null;
  @ApiProperty({ required: false, nullable: true, type: String, format: 'uuid', description: 'preempted: the reservation whose window opened' }) reservationId?: string | null;
}

/** Swagger shape of VmView (views.ts). */
export class VmViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: VmStates }) status: string;
  @ApiProperty({ type: VmHostRefDto, nullable: true }) host: VmHostRefDto | null;
  @ApiProperty() vcpus: number;
  @ApiProperty() memoryMiB: number;
  @ApiProperty() diskGiB: number;
  @ApiProperty({ type: VmImageRefDto }) image: VmImageRefDto;
  @ApiProperty({ enum: VmStorageKinds, description: 'Where the disk lives: local (its host) or shared (the shared datastore)' }) storage: string;
  @ApiProperty({ nullable: true, type: String, description: 'Why the VM failed' }) reason: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) tags: Record<string, string>;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiProperty({ enum: HostStates, nullable: true, description: "State of the VM's host (null: not placed)" }) hostState: string | null;
  @ApiProperty({ type: Boolean, nullable: true, description: "false when the VM's host is down (unreachable): the status may be stale" }) hostReachable: boolean | null;
  @ApiProperty({ type: VmLatestMetricsDto, nullable: true, description: 'Latest metrics round (GET /v1/vms/{id} only)' }) metrics: VmLatestMetricsDto | null;
  @ApiProperty({ type: VmMigrationRefDto, nullable: true, description: 'The unfinished migration of the VM (GET /v1/vms/{id} only)' }) migration: VmMigrationRefDto | null;
  @ApiProperty({ type: VmSchedulingDto, nullable: true, description: 'What the scheduler says beyond the status: queued (requested) or preempted (stopped); null otherwise' }) scheduling: VmSchedulingDto | null;
}

export class VmListDto {
  @ApiProperty({ type: [VmViewDto] }) items: VmViewDto[];
  @ApiProperty() total: number;
}

export class ConsoleDto {
  @ApiProperty({ type: [String] }) lines: string[];
}

export class ErrorDto {
  @ApiProperty() statusCode: number;
  @ApiProperty() error: string;
  @ApiProperty() message: string;
  @ApiPropertyOptional({ type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, reason: { type: 'string' } } } })
  errors?: { field: string; reason: string }[];
}
