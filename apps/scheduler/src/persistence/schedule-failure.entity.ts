import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A VM the scheduler could not place. Kept so a redelivered vm.requested republishes the same answer
 * instead of placing a VM the rest of the platform already considers failed.
 */
@Entity({ schema: 'scheduler', name: 'schedule_failures' })
export class ScheduleFailureEntity {
  @PrimaryColumn('uuid', { name: 'vm_id' })
  vmId: string;

  @Column('text')
  reason: string;

  @Column('jsonb', { name: 'removed_by_filter' })
  removedByFilter: Record<string, number>;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;
}
