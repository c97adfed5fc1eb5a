import { MigrationInterface, QueryRunner } from '@minicloud/database';

/**
 * Issue 6: the migration planner and host maintenance. `hosts.maintenance` (draining | maintenance) takes a host
 * out of placement at once (filters and the claim's SQL guard), whatever its liveness state says. Per host, the
 * latest vm.metrics (sum and per-VM CPU) and the planner's count of rounds above a load cap; the planner's
 * recommendations and settings; each host's maintenance record, the drain's migrations and its blocked VMs.
 */
export class SchedulerPlanner1732270000000 implements MigrationInterface {
  name = 'SchedulerPlanner1732270000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.migrations'))`);
    await qr.query(`ALTER TABLE scheduler.hosts ADD COLUMN IF NOT EXISTS maintenance text CHECK (maintenance IN ('draining', 'maintenance'))`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.planner_hosts (
      host_id uuid PRIMARY KEY REFERENCES scheduler.hosts (id) ON DELETE CASCADE,
      vm_cpu_sum double precision,
      vm_cpu jsonb NOT NULL DEFAULT '{}',
      vm_metrics_at timestamptz,
      hot_rounds int NOT NULL DEFAULT 0 CHECK (hot_rounds >= 0)
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.recommendations (
      id uuid PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('balance', 'hot-spot', 'consolidation', 'maintenance')),
      vm_id uuid NOT NULL,
      source_host_id uuid NOT NULL,
      target_host_id uuid NOT NULL,
      reason text NOT NULL,
      gap_before double precision,
      gap_after double precision,
      state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'applied', 'dismissed', 'expired')),
      state_reason text,
      migration_id uuid UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((state = 'applied') = (migration_id IS NOT NULL))
    )`);
    await qr.query(`CREATE UNIQUE INDEX IF NOT EXISTS recommendations_one_open_per_vm ON scheduler.recommendations (vm_id) WHERE state = 'open'`);
    await qr.query(`CREATE INDEX IF NOT EXISTS recommendations_by_created ON scheduler.recommendations (created_at DESC)`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.planner_settings (
      id int PRIMARY KEY CHECK (id = 1),
      automation text NOT NULL CHECK (automation IN ('manual', 'automatic')),
      consolidation boolean NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.host_maintenance (
      host_id uuid PRIMARY KEY REFERENCES scheduler.hosts (id) ON DELETE CASCADE,
      state text NOT NULL CHECK (state IN ('draining', 'maintenance', 'up')),
      previous_state text NOT NULL,
      epoch int NOT NULL DEFAULT 1,
      since timestamptz NOT NULL DEFAULT now(),
      changed_at timestamptz NOT NULL DEFAULT now(),
      announced boolean NOT NULL DEFAULT false
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.maintenance_moves (
      migration_id uuid PRIMARY KEY,
      host_id uuid NOT NULL,
      epoch int NOT NULL,
      vm_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX IF NOT EXISTS maintenance_moves_by_host ON scheduler.maintenance_moves (host_id, epoch)`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.maintenance_blocked (
      host_id uuid NOT NULL,
      vm_id uuid NOT NULL,
      reason text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (host_id, vm_id)
    )`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS scheduler.maintenance_blocked`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.maintenance_moves`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.host_maintenance`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.planner_settings`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.recommendations`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.planner_hosts`);
    await qr.query(`ALTER TABLE scheduler.hosts DROP COLUMN IF EXISTS maintenance`);
  }
}
