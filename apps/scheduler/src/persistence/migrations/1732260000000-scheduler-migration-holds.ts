import { MigrationInterface, QueryRunner } from '@minicloud/database';

/**
 * Issue 6: capacity held for live migrations. A hold is the target host's allocation for a migrating VM (the
 * source keeps the VM's claim until the migration ends); at most one open hold per VM. A refusal of
 * migration.requested is stored too, so a redelivered request is answered the same way.
 */
export class SchedulerMigrationHolds1732260000000 implements MigrationInterface {
  name = 'SchedulerMigrationHolds1732260000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.migrations'))`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.migration_holds (
      migration_id uuid PRIMARY KEY,
      vm_id uuid NOT NULL,
      source_host_id uuid NOT NULL REFERENCES scheduler.hosts (id),
      target_host_id uuid NOT NULL REFERENCES scheduler.hosts (id),
      vcpus int NOT NULL CHECK (vcpus >= 0),
      memory_mib int NOT NULL CHECK (memory_mib >= 0),
      disk_gib int NOT NULL CHECK (disk_gib >= 0),
      preemptible boolean NOT NULL DEFAULT false,
      reason text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      settled_at timestamptz,
      outcome text CHECK (outcome IN ('completed', 'failed', 'cancelled', 'vm-deleted')),
      CHECK (source_host_id <> target_host_id),
      CHECK ((settled_at IS NULL) = (outcome IS NULL))
    )`);
    await qr.query(`CREATE UNIQUE INDEX IF NOT EXISTS migration_holds_one_open_per_vm ON scheduler.migration_holds (vm_id) WHERE settled_at IS NULL`);
    await qr.query(`CREATE INDEX IF NOT EXISTS migration_holds_open_by_target ON scheduler.migration_holds (target_host_id) WHERE settled_at IS NULL`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.migration_refusals (
      migration_id uuid PRIMARY KEY,
      vm_id uuid NOT NULL,
      vm_host_id uuid NOT NULL,
      reason text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS scheduler.migration_refusals`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.migration_holds`);
  }
}
