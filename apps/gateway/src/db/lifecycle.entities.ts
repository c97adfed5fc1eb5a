import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { OperationStatus } from '@minicloud/contracts';
import { SCHEMA } from './entities';

/** What an operation does: a lifecycle action, or the VM's creation (finished when it runs or fails). */
export type OperationAction = 'create' | 'start' | 'stop' | 'force-stop' | 'reboot' | 'suspend' | 'resume' | 'delete';

@Entity({ schema: SCHEMA, name: 'operations' })
export class OperationRow {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'vm_id' }) vmId: string;
  @Column('text') action: OperationAction;
  @Column('text') status: OperationStatus;
  @Column('text', { nullable: true }) error: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt: Date | null;
}

@Entity({ schema: SCHEMA, name: 'flavors' })
export class FlavorRow {
  @PrimaryColumn('text') name: string;
  @Column('int') vcpus: number;
  @Column('int', { name: 'memory_mib' }) memoryMiB: number;
  @Column('int', { name: 'disk_gib' }) diskGiB: number;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
}

export const LIFECYCLE_ENTITIES = [OperationRow, FlavorRow];
