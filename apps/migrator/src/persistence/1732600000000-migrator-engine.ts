import { MigrationInterface, QueryRunner } from '@minicloud/database';

/** The migration engine's record (stages, strategy, predictions, figures, control flags, ownership) and its host directory. */
export class MigratorEngine1732600000000 implements MigrationInterface {
  name = 'MigratorEngine1732600000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.migrator.migrations'))`);
    await qr.query(`ALTER TABLE migrator.migrations
      ADD COLUMN IF NOT EXISTS mode text NOT NULL DEFAULT 'live',
      ADD COLUMN IF NOT EXISTS storage text NOT NULL DEFAULT 'copy',
      ADD COLUMN IF NOT EXISTS requested_strategy text NOT NULL DEFAULT 'auto',
      ADD COLUMN IF NOT EXISTS strategy text,
      ADD COLUMN IF NOT EXISTS strategy_reason text,
      ADD COLUMN IF NOT EXISTS origin text NOT NULL DEFAULT 'manual',
      ADD COLUMN IF NOT EXISTS max_downtime_ms integer,
      ADD COLUMN IF NOT EXISTS bandwidth_mibs integer,
      ADD COLUMN IF NOT EXISTS memory_mib integer NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS vcpus integer NOT NULL DEFAULT 1,
      ADD COLUMN IF NOT EXISTS stage text,
      ADD COLUMN IF NOT EXISTS stages jsonb NOT NULL DEFAULT '[]',
      ADD COLUMN IF NOT EXISTS predictions jsonb,
      ADD COLUMN IF NOT EXISTS dirty_rate_mibs double precision,
      ADD COLUMN IF NOT EXISTS bandwidth_assumed_mibs double precision,
      ADD COLUMN IF NOT EXISTS predicted_total_ms double precision,
      ADD COLUMN IF NOT EXISTS predicted_downtime_ms double precision,
      ADD COLUMN IF NOT EXISTS actual jsonb,
      ADD COLUMN IF NOT EXISTS owner text,
      ADD COLUMN IF NOT EXISTS heartbeat_at timestamptz,
      ADD COLUMN IF NOT EXISTS started_at timestamptz,
      ADD COLUMN IF NOT EXISTS finished_at timestamptz,
      ADD COLUMN IF NOT EXISTS vm_host_id uuid,
      ADD COLUMN IF NOT EXISTS error text`);
    await qr.query(`CREATE INDEX IF NOT EXISTS migrations_state_idx ON migrator.migrations (state, created_at)`);
    // A cancel or force-complete may arrive before the migration is planned here: kept apart, read by the runner.
    await qr.query(`CREATE TABLE IF NOT EXISTS migrator.controls (
      migration_id uuid PRIMARY KEY,
      action text NOT NULL CHECK (action IN ('cancel', 'force-complete')),
      requested_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS migrator.hosts (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      address text NOT NULL,
      ssh_port integer NOT NULL,
      ssh_user text NOT NULL,
      state text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query('DROP TABLE IF EXISTS migrator.hosts');
    await qr.query('DROP TABLE IF EXISTS migrator.controls');
  }
}
