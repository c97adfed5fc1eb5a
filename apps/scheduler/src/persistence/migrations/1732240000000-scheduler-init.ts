import { createInboxTable, MigrationInterface, QueryRunner } from '@minicloud/database';

/**
 * The scheduler's tables. An advisory lock serialises replicas that run this migration at the same moment and
 * every statement is IF NOT EXISTS, so the second one does no harm. (On a cold start TypeORM's own
 * typeorm_migrations table may still race; @nestjs/typeorm then retries the connection and it succeeds.)
 */
export class SchedulerInit1732240000000 implements MigrationInterface {
  name = 'SchedulerInit1732240000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.migrations'))`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.hosts (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      state text NOT NULL CHECK (state IN ('up', 'down', 'disabled', 'maintenance')),
      state_at timestamptz NOT NULL,
      arch text NOT NULL,
      total_vcpus int NOT NULL CHECK (total_vcpus >= 0),
      total_memory_mib int NOT NULL CHECK (total_memory_mib >= 0),
      total_disk_gib int NOT NULL CHECK (total_disk_gib >= 0),
      cpu_allocation_ratio double precision NOT NULL DEFAULT 4.0 CHECK (cpu_allocation_ratio > 0),
      ram_allocation_ratio double precision NOT NULL DEFAULT 1.0 CHECK (ram_allocation_ratio > 0),
      disk_allocation_ratio double precision NOT NULL DEFAULT 1.0 CHECK (disk_allocation_ratio > 0),
      allocated_vcpus int NOT NULL DEFAULT 0 CHECK (allocated_vcpus >= 0),
      allocated_memory_mib int NOT NULL DEFAULT 0 CHECK (allocated_memory_mib >= 0),
      allocated_disk_gib int NOT NULL DEFAULT 0 CHECK (allocated_disk_gib >= 0),
      generation bigint NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.claims (
      vm_id uuid PRIMARY KEY,
      host_id uuid REFERENCES scheduler.hosts (id),
      vcpus int NOT NULL CHECK (vcpus >= 0),
      memory_mib int NOT NULL CHECK (memory_mib >= 0),
      disk_gib int NOT NULL CHECK (disk_gib >= 0),
      reason text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      released_at timestamptz,
      release_reason text
    )`);
    await qr.query(`CREATE INDEX IF NOT EXISTS claims_active_by_host ON scheduler.claims (host_id) WHERE released_at IS NULL`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.schedule_failures (
      vm_id uuid PRIMARY KEY,
      reason text NOT NULL,
      removed_by_filter jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.cursor (
      policy text PRIMARY KEY,
      value text,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await createInboxTable(qr, 'scheduler');
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS scheduler.cursor`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.schedule_failures`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.claims`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.hosts`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.inbox`);
  }
}
