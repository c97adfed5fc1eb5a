import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { HostFacts, HostState, ImageFormat, VmState, VmStorageKind } from '@minicloud/contracts';

import type { SchedulingNote } from '../read-model/scheduling-projection';

export const SCHEMA = 'gateway';

/** bigint columns come back from pg as strings; sizes here stay well within Number's safe range. */
const bigintAsNumber = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

@Entity({ schema: SCHEMA, name: 'vms' })
export class VmRow {
  @PrimaryColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('text') status: VmState;
  @Column('int') generation: number;
  @Column('uuid', { name: 'host_id', nullable: true }) hostId: string | null;
  @Column('uuid', { name: 'target_host_id', nullable: true }) targetHostId: string | null;
  @Column('int') vcpus: number;
  @Column('int', { name: 'memory_mib' }) memoryMiB: number;
  @Column('int', { name: 'disk_gib' }) diskGiB: number;
  @Column('uuid', { name: 'image_id' }) imageId: string;
  @Column('text', { name: 'image_name' }) imageName: string;
  @Column('jsonb') tags: Record<string, string>;
  /** Where the disk lives: local (its host) or shared (the shared datastore). */
  @Column('text', { default: 'local' }) storage: VmStorageKind;
  @Column('text', { nullable: true }) reason: string | null;
  /** The scheduler's note beyond the state: queued or preempted (read-model/scheduling-projection.ts). */
  @Column('jsonb', { nullable: true }) scheduling?: SchedulingNote | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}

@Entity({ schema: SCHEMA, name: 'hosts' })
export class HostRow {
  @PrimaryColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('text') address: string;
  @Column('int', { name: 'ssh_port' }) sshPort: number;
  @Column('text', { name: 'ssh_user' }) sshUser: string;
  @Column('text') state: HostState;
  @Column('text', { name: 'state_reason' }) stateReason: string;
  /** occurredAt of the event that set `state` (host events have no generation). */
  @Column('timestamptz', { name: 'state_at', nullable: true }) stateAt: Date | null;
  @Column('jsonb') facts: HostFacts;
  @Column('timestamptz', { name: 'registered_at' }) registeredAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}

@Entity({ schema: SCHEMA, name: 'images' })
export class ImageRow {
  @PrimaryColumn('uuid') id: string;
  @Column('text') name: string;
  /** Known from the registration reply; image.registered does not carry it. */
  @Column('text', { nullable: true }) path: string | null;
  @Column('text') format: ImageFormat;
  @Column('text') checksum: string;
  @Column('bigint', { name: 'size_bytes', transformer: bigintAsNumber }) sizeBytes: number;
  @Column('bigint', { name: 'virtual_size_bytes', transformer: bigintAsNumber }) virtualSizeBytes: number;
  @Column('text') arch: string;
  @Column('text', { name: 'kernel_path', nullable: true }) kernelPath: string | null;
  @Column('text', { name: 'initrd_path', nullable: true }) initrdPath: string | null;
  @Column('text', { nullable: true }) cmdline: string | null;
  @Column('timestamptz', { name: 'registered_at' }) registeredAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}

export const GATEWAY_ENTITIES = [VmRow, HostRow, ImageRow];
