import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const SCHEMA = 'migrator';

export type MigrationRowState = 'planned' | 'running' | 'completed' | 'failed' | 'cancelled';

/** One live or cold migration as the migrator runs it. */
@Entity({ schema: SCHEMA, name: 'migrations' })
export class MigrationRecord {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'vm_id' }) vmId!: string;
  @Column('uuid', { name: 'source_host_id' }) sourceHostId!: string;
  @Column('uuid', { name: 'target_host_id', nullable: true }) targetHostId!: string | null;
  @Column('text') state!: MigrationRowState;
  @Column('text', { nullable: true }) reason!: string | null;
  @Column('text') mode!: 'live' | 'cold';
  @Column('text') storage!: 'shared' | 'copy';
  @Column('text', { name: 'requested_strategy' }) requestedStrategy!: string;
  @Column('text', { nullable: true }) strategy!: string | null;
  @Column('text', { name: 'strategy_reason', nullable: true }) strategyReason!: string | null;
  @Column('text') origin!: string;
  @Column('int', { name: 'max_downtime_ms', nullable: true }) maxDowntimeMs!: number | null;
  @Column('int', { name: 'bandwidth_mibs', nullable: true }) bandwidthMiBs!: number | null;
  @Column('int', { name: 'memory_mib' }) memoryMiB!: number;
  @Column('int') vcpus!: number;
  @Column('text', { nullable: true }) stage!: string | null;
  @Column('jsonb') stages!: { stage: string; at: string }[];
  @Column('jsonb', { nullable: true }) predictions!: unknown[] | null;
  @Column('double precision', { name: 'dirty_rate_mibs', nullable: true }) dirtyRateMiBs!: number | null;
  @Column('double precision', { name: 'bandwidth_assumed_mibs', nullable: true }) bandwidthAssumedMiBs!: number | null;
  @Column('double precision', { name: 'predicted_total_ms', nullable: true }) predictedTotalMs!: number | null;
  @Column('double precision', { name: 'predicted_downtime_ms', nullable: true }) predictedDowntimeMs!: number | null;
  @Column('jsonb', { nullable: true }) actual!: Record<string, number | undefined> | null;
  @Column('text', { nullable: true }) owner!: string | null;
  @Column('timestamptz', { name: 'heartbeat_at', nullable: true }) heartbeatAt!: Date | null;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
  @Column('uuid', { name: 'vm_host_id', nullable: true }) vmHostId!: string | null;
  @Column('text', { nullable: true }) error!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** Hosts as the migrator knows them, from host.registered / host.state-changed / host.removed. */
@Entity({ schema: SCHEMA, name: 'hosts' })
export class MigratorHost {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') address!: string;
  @Column('int', { name: 'ssh_port' }) sshPort!: number;
  @Column('text', { name: 'ssh_user' }) sshUser!: string;
  @Column('text') state!: string;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
