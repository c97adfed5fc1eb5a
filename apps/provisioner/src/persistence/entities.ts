import { Column, CreateDateColumn, Entity, PrimaryColumn, Unique, UpdateDateColumn, ValueTransformer } from 'typeorm';
import type { HostFacts, HostState, ImageFormat, VmAction, VmResources, VmState, VmStorageKind } from '@minicloud/contracts';

/** bigint columns come back from pg as strings: sizes here stay far below 2^53. */
const bigintNumber: ValueTransformer = {
  to: (v?: number | null) => v,
  from: (v?: string | null) => (v === null || v === undefined ? v : Number(v)),
};

@Entity({ schema: 'provisioner', name: 'hosts' })
@Unique('hosts_address_port_key', ['address', 'sshPort'])
export class HostEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') address!: string;
  @Column({ name: 'ssh_port', type: 'int' }) sshPort!: number;
  @Column({ name: 'ssh_user', type: 'text' }) sshUser!: string;
  /** Pinned at registration from known_hosts; every later connection must present exactly this key. */
  @Column({ name: 'host_key', type: 'text' }) hostKey!: string;
  @Column('jsonb') facts!: HostFacts;
  @Column('text') state!: HostState;
  @Column({ name: 'state_reason', type: 'text', default: '' }) stateReason!: string;
  /** Set by rpc.provisioner.host.admin-state: a disabled host stays `disabled` until enabled again. */
  @Column({ name: 'admin_state', type: 'text', default: 'enabled' }) adminState!: 'enabled' | 'disabled';
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ schema: 'provisioner', name: 'images' })
export class ImageEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'text', unique: true }) name!: string;
  @Column('text') path!: string;
  @Column('text') format!: ImageFormat;
  @Column('text') checksum!: string;
  @Column({ name: 'size_bytes', type: 'bigint', transformer: bigintNumber }) sizeBytes!: number;
  @Column({ name: 'virtual_size_bytes', type: 'bigint', transformer: bigintNumber }) virtualSizeBytes!: number;
  @Column('text') arch!: string;
  @Column({ name: 'kernel_path', type: 'text', nullable: true }) kernelPath!: string | null;
  @Column({ name: 'kernel_checksum', type: 'text', nullable: true }) kernelChecksum!: string | null;
  @Column({ name: 'initrd_path', type: 'text', nullable: true }) initrdPath!: string | null;
  @Column({ name: 'initrd_checksum', type: 'text', nullable: true }) initrdChecksum!: string | null;
  @Column({ type: 'text', nullable: true }) cmdline!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

/** Which files (by checksum) a host's cache holds, verified when they were put there. */
@Entity({ schema: 'provisioner', name: 'host_images' })
export class HostImageEntity {
  @PrimaryColumn({ name: 'host_id', type: 'uuid' }) hostId!: string;
  @PrimaryColumn('text') checksum!: string;
  @Column({ name: 'remote_path', type: 'text' }) remotePath!: string;
  @Column({ name: 'uploaded_at', type: 'timestamptz' }) uploadedAt!: Date;
}

@Entity({ schema: 'provisioner', name: 'vms' })
export class VmEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column({ name: 'host_id', type: 'uuid' }) hostId!: string;
  @Column({ name: 'image_id', type: 'uuid' }) imageId!: string;
  @Column('jsonb') resources!: VmResources;
  /** Where the disk lives: `local` (host's VM directory) or `shared` (the shared datastore). */
  @Column({ type: 'text', default: 'local' }) storage!: VmStorageKind;
  @Column('text') state!: VmState;
  /** The last generation this service published for the VM (vm.scheduled is 1; ours start at 2). */
  @Column('int') generation!: number;
  @Column({ name: 'domain_name', type: 'text' }) domainName!: string;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  /** Live migration: the host a migration was prepared for (rpc prepare-migration) or runs to; null otherwise. */
  @Column({ name: 'migration_target_host_id', type: 'uuid', nullable: true }) migrationTargetHostId?: string | null;
  /** The migration running (set by migration.started, cleared when it ends). */
  @Column({ name: 'migration_id', type: 'uuid', nullable: true }) migrationId?: string | null;
  /** The state the VM had before `migrating` (running, or stopped for a cold move). */
  @Column({ name: 'pre_migration_state', type: 'text', nullable: true }) preMigrationState?: VmState | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** One lifecycle action (vm.action-requested), keyed by the gateway's operation id: the idempotency record. */
@Entity({ schema: 'provisioner', name: 'operations' })
export class OperationEntity {
  @PrimaryColumn({ name: 'operation_id', type: 'uuid' }) operationId!: string;
  @Column({ name: 'vm_id', type: 'uuid' }) vmId!: string;
  @Column('text') action!: VmAction;
  @Column('text') status!: 'running' | 'succeeded' | 'failed';
  /** The VM's state when the operation finished. */
  @Column({ type: 'text', nullable: true }) state!: VmState | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt!: Date | null;
}

/** An `mc-*` domain found on a host that no VM of ours accounts for: reported, never deleted. */
@Entity({ schema: 'provisioner', name: 'unknown_domains' })
export class UnknownDomainEntity {
  @PrimaryColumn({ name: 'host_id', type: 'uuid' }) hostId!: string;
  @PrimaryColumn({ name: 'domain_name', type: 'text' }) domainName!: string;
  @Column('text') uuid!: string;
  @Column('text') state!: string;
  @Column({ name: 'first_seen_at', type: 'timestamptz' }) firstSeenAt!: Date;
  @Column({ name: 'last_seen_at', type: 'timestamptz' }) lastSeenAt!: Date;
}

export const entities = [HostEntity, ImageEntity, HostImageEntity, VmEntity, OperationEntity, UnknownDomainEntity];
