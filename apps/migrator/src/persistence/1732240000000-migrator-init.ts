import { createInboxTable, MigrationInterface, QueryRunner } from '@minicloud/database';

export class MigratorInit1732240000000 implements MigrationInterface {
  name = 'MigratorInit1732240000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.migrator.migrations'))`);
    await qr.query(`CREATE TABLE IF NOT EXISTS migrator.migrations (
      id uuid PRIMARY KEY,
      vm_id uuid NOT NULL,
      source_host_id uuid NOT NULL,
      target_host_id uuid,
      state text NOT NULL CHECK (state IN ('planned', 'running', 'completed', 'failed', 'cancelled')),
      reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX IF NOT EXISTS migrations_vm_idx ON migrator.migrations (vm_id)`);
    await createInboxTable(qr, 'migrator');
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query('DROP TABLE IF EXISTS migrator.migrations');
    await qr.query('DROP TABLE IF EXISTS migrator.inbox');
  }
}
