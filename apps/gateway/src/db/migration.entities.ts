import { Column, Entity, PrimaryColumn } from 'typeorm';
// The figures' shapes are the contract's (MigrationView); the jsonb columns hold them as they are.
import type { MigrationPredictionFigures, MigrationProgressFigures, MigrationResultFigures, MigrationStage, MigrationState } from '@minicloud/contracts';
import { SCHEMA } from './entities';


export interface StageMarkRow {
  stage: MigrationStage;
  at: string;
}

/** Nullable float columns come back as numbers; keep them so. */
const floatOrNull = { to: (v: number | null) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) };

/** One live or cold migration as the gateway knows it (requests it accepted, and migration.* events). */
@Entity({ schema: SCHEMA, name: 'migrations' })
export class MigrationRow {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'vm_id' }) vmId: string;
  @Column('text') state: MigrationState;
  @Column('text') origin: string;
  @Column('text') mode: string;
  @Column('text') storage: string;
  @Column('text', { name: 'requested_strategy' }) requestedStrategy: string;
  @Column('text', { nullable: true }) strategy: string | null;
  @Column('text', { name: 'strategy_reason', nullable: true }) strategyReason: string | null;
  @Column('uuid', { name: 'source_host_id' }) sourceHostId: string;
  @Column('uuid', { name: 'target_host_id', nullable: true }) targetHostId: string | null;
  @Column('int', { name: 'max_downtime_ms', nullable: true }) maxDowntimeMs: number | null;
  @Column('int', { name: 'bandwidth_mibs', nullable: true }) bandwidthMiBs: number | null;
  @Column('text') reason: string;
  @Column('text', { nullable: true }) stage: MigrationStage | null;
  @Column('jsonb', { nullable: true }) progress: MigrationProgressFigures | null;
  /** occurredAt of the progress event shown (later ones replace it, older ones are dropped). */
  @Column('timestamptz', { name: 'progress_at', nullable: true }) progressAt: Date | null;
  @Column('jsonb', { nullable: true }) predictions: MigrationPredictionFigures[] | null;
  @Column('double precision', { name: 'dirty_rate_mibs', nullable: true, transformer: floatOrNull }) dirtyRateMiBs: number | null;
  @Column('jsonb', { nullable: true }) result: MigrationResultFigures | null;
  @Column('jsonb') stages: StageMarkRow[];
  @Column('uuid', { name: 'vm_host_id', nullable: true }) vmHostId: string | null;
  @Column('text', { nullable: true }) error: string | null;
  /** When migration.planned / migration.started were applied (each fills its facts once, whatever the order). */
  @Column('timestamptz', { name: 'planned_at', nullable: true }) plannedAt: Date | null;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt: Date | null;
  @Column('timestamptz', { name: 'requested_at' }) requestedAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}

export const MIGRATION_ENTITIES = [MigrationRow];
