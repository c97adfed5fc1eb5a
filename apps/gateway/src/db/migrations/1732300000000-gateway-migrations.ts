import { MigrationInterface, QueryRunner } from '@minicloud/database';

/** Issue 6: the live migrations the gateway accepted or heard of (fed by migration.* events). */
export class GatewayMigrations1732300000000 implements MigrationInterface {
  name = 'GatewayMigrations1732300000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`CREATE TABLE gateway.migrations (
      id uuid PRIMARY KEY,
      vm_id uuid NOT NULL,
      state text NOT NULL CHECK (state IN ('requested', 'planned', 'running', 'completed', 'failed', 'cancelled')),
      origin text NOT NULL,
      mode text NOT NULL,
      storage text NOT NULL,
      requested_strategy text NOT NULL,
      strategy text,
      strategy_reason text,
      source_host_id uuid NOT NULL,
      target_host_id uuid,
      max_downtime_ms integer,
      bandwidth_mibs integer,
      reason text NOT NULL,
      stage text,
      progress jsonb,
      progress_at timestamptz,
      predictions jsonb,
      dirty_rate_mibs double precision,
      result jsonb,
      stages jsonb NOT NULL DEFAULT '[]'::jsonb,
      vm_host_id uuid,
      error text,
      planned_at timestamptz,
      started_at timestamptz,
      finished_at timestamptz,
      requested_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX migrations_vm_idx ON gateway.migrations (vm_id, requested_at DESC)`);
    await qr.query(`CREATE INDEX migrations_requested_idx ON gateway.migrations (requested_at DESC, id DESC)`);
    await qr.query(`CREATE INDEX migrations_open_idx ON gateway.migrations (vm_id) WHERE state IN ('requested', 'planned', 'running')`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS gateway.migrations`);
  }
}
