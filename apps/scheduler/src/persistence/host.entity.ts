import { Column, Entity, PrimaryColumn } from 'typeorm';
import { HostState } from '@minicloud/contracts';

/** A host's capacity and what the scheduler has claimed on it. Written only through HostRepository. */
@Entity({ schema: 'scheduler', name: 'hosts' })
export class HostEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  name: string;

  @Column('text')
  state: HostState;

  /** occurredAt of the event that set `state`: an older event never overwrites a newer state. */
  @Column('timestamptz', { name: 'state_at' })
  stateAt: Date;

  @Column('text')
  arch: string;

  @Column('int', { name: 'total_vcpus' })
  totalVcpus: number;

  @Column('int', { name: 'total_memory_mib' })
  totalMemoryMiB: number;

  @Column('int', { name: 'total_disk_gib' })
  totalDiskGiB: number;

  @Column('double precision', { name: 'cpu_allocation_ratio' })
  cpuAllocationRatio: number;

  @Column('double precision', { name: 'ram_allocation_ratio' })
  ramAllocationRatio: number;

  @Column('double precision', { name: 'disk_allocation_ratio' })
  diskAllocationRatio: number;

  @Column('int', { name: 'allocated_vcpus' })
  allocatedVcpus: number;

  @Column('int', { name: 'allocated_memory_mib' })
  allocatedMemoryMiB: number;

  @Column('int', { name: 'allocated_disk_gib' })
  allocatedDiskGiB: number;

  /** Bumped on every change of the row (compare-and-set token for readers that planned on a snapshot). */
  @Column('bigint', { transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  generation: number;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;
}
