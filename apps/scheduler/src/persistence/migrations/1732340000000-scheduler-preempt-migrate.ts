import { MigrationInterface, QueryRunner } from '@minicloud/database';

/**
 * Preemption by live migration: a preempted VM that another host can take is moved there instead of stopped.
 * Its claim moves to the target at once (the preempting VM takes the source's room), so the migration's hold
 * allocates nothing of its own: `claim_moved`. The preemption record names the migration.
 */
export class SchedulerPreemptMigrate1732340000000 implements MigrationInterface {
  name = 'SchedulerPreemptMigrate1732340000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.migrations'))`);
    await qr.query(`ALTER TABLE scheduler.migration_holds ADD COLUMN IF NOT EXISTS claim_moved boolean NOT NULL DEFAULT false`);
    await qr.query(`ALTER TABLE scheduler.preemptions ADD COLUMN IF NOT EXISTS migration_id uuid`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE scheduler.preemptions DROP COLUMN IF EXISTS migration_id`);
    await qr.query(`ALTER TABLE scheduler.migration_holds DROP COLUMN IF EXISTS claim_moved`);
  }
}
