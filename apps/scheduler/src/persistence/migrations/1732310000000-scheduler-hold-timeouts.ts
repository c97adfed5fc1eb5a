import { MigrationInterface, QueryRunner } from '@minicloud/database';

/**
 * A migration hold may end `timed-out`: no migration.completed/failed arrived within the scheduler's migration
 * timeout, so it gave the target's capacity back (docs/scheduler.md, "Migration holds").
 */
export class SchedulerHoldTimeouts1732310000000 implements MigrationInterface {
  name = 'SchedulerHoldTimeouts1732310000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.migrations'))`);
    await qr.query(`ALTER TABLE scheduler.migration_holds DROP CONSTRAINT IF EXISTS migration_holds_outcome_check`);
    await qr.query(`ALTER TABLE scheduler.migration_holds ADD CONSTRAINT migration_holds_outcome_check
      CHECK (outcome IN ('completed', 'failed', 'cancelled', 'vm-deleted', 'timed-out'))`);
    await qr.query(`ALTER TABLE scheduler.migration_holds ADD COLUMN IF NOT EXISTS settle_reason text`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE scheduler.migration_holds DROP COLUMN IF EXISTS settle_reason`);
    await qr.query(`ALTER TABLE scheduler.migration_holds DROP CONSTRAINT IF EXISTS migration_holds_outcome_check`);
    await qr.query(`ALTER TABLE scheduler.migration_holds ADD CONSTRAINT migration_holds_outcome_check
      CHECK (outcome IN ('completed', 'failed', 'cancelled', 'vm-deleted'))`);
  }
}
