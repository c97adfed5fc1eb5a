import { MigrationInterface, QueryRunner } from '@minicloud/database';

/** Shared storage: whether a host mounts the shared datastore (host facts `sharedStorage`); shared VMs only go there. */
export class SchedulerSharedStorage1732330000000 implements MigrationInterface {
  name = 'SchedulerSharedStorage1732330000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.migrations'))`);
    await qr.query(`ALTER TABLE scheduler.hosts ADD COLUMN IF NOT EXISTS shared_storage boolean NOT NULL DEFAULT false`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE scheduler.hosts DROP COLUMN IF EXISTS shared_storage`);
  }
}
