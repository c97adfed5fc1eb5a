import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One VM's claim on a host. One row per VM, ever: a released claim keeps its row (released_at set), so a
 * redelivered release never frees capacity twice and a late vm.requested for a deleted VM never claims again.
 * host_id is null only for a tombstone written when a VM was released before it was ever placed.
 */
@Entity({ schema: 'scheduler', name: 'claims' })
export class ClaimEntity {
  @PrimaryColumn('uuid', { name: 'vm_id' })
  vmId: string;

  @Column('uuid', { name: 'host_id', nullable: true })
  hostId: string | null;

  @Column('int')
  vcpus: number;

  @Column('int', { name: 'memory_mib' })
  memoryMiB: number;

  @Column('int', { name: 'disk_gib' })
  diskGiB: number;

  /** The policy's explanation, re-sent when a redelivered vm.requested republishes vm.scheduled. */
  @Column('text')
  reason: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'released_at', nullable: true })
  releasedAt: Date | null;

  @Column('text', { name: 'release_reason', nullable: true })
  releaseReason: string | null;
}
