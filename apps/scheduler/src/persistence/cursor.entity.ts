import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A placement policy's cursor (round-robin: the last host that got a VM), shared by all replicas. */
@Entity({ schema: 'scheduler', name: 'cursor' })
export class CursorEntity {
  @PrimaryColumn('text')
  policy: string;

  @Column('text', { nullable: true })
  value: string | null;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;
}
