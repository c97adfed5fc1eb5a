import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const SCHEMA = 'migrator';

/** One live or cold migration as the migrator runs it (its stages and figures are added with the migrator's engine). */
@Entity({ schema: SCHEMA, name: 'migrations' })
export class MigrationRecord {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'vm_id' })
  vmId!: string;

  @Column('uuid', { name: 'source_host_id' })
  sourceHostId!: string;

  @Column('uuid', { name: 'target_host_id', nullable: true })
  targetHostId!: string | null;

  @Column('text')
  state!: string;

  @Column('text', { nullable: true })
  reason!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
