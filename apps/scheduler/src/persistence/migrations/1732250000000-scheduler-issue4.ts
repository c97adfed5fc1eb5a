import { MigrationInterface, QueryRunner } from '@minicloud/database';

/**
 * Issue 4: preemptible and reserved capacity per host, host load from host.metrics, the pending queue,
 * preemptions, advance reservations, and per-claim scheduling options (group, priority, attempts, request).
 * `change_seq` (set by a trigger on every write) lets each replica refresh its in-memory host view cheaply.
 */
export class SchedulerIssue41732250000000 implements MigrationInterface {
  name = 'SchedulerIssue41732250000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.migrations'))`);
    await qr.query(`ALTER TABLE scheduler.hosts
      ADD COLUMN IF NOT EXISTS preemptible_vcpus int NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS preemptible_memory_mib int NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS preemptible_disk_gib int NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS reserved_vcpus int NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS reserved_memory_mib int NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS reserved_disk_gib int NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS active_vms int NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS cpu_percent double precision,
      ADD COLUMN IF NOT EXISTS memory_percent double precision,
      ADD COLUMN IF NOT EXISTS metrics_vm_count int,
      ADD COLUMN IF NOT EXISTS metrics_at timestamptz,
      ADD COLUMN IF NOT EXISTS change_seq bigint NOT NULL DEFAULT 0`);
    await qr.query(`CREATE SEQUENCE IF NOT EXISTS scheduler.host_change_seq`);
    await qr.query(`CREATE OR REPLACE FUNCTION scheduler.bump_host_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.change_seq := nextval('scheduler.host_change_seq'); RETURN NEW; END $$`);
    await qr.query(`DROP TRIGGER IF EXISTS hosts_change_seq ON scheduler.hosts`);
    await qr.query(`CREATE TRIGGER hosts_change_seq BEFORE INSERT OR UPDATE ON scheduler.hosts FOR EACH ROW EXECUTE FUNCTION scheduler.bump_host_change_seq()`);
    await qr.query(`CREATE INDEX IF NOT EXISTS hosts_by_change_seq ON scheduler.hosts (change_seq)`);

    await qr.query(`ALTER TABLE scheduler.claims
      ADD COLUMN IF NOT EXISTS priority int NOT NULL DEFAULT 4,
      ADD COLUMN IF NOT EXISTS preemptible boolean NOT NULL DEFAULT false,
      ADD COLUMN IF NOT EXISTS group_name text,
      ADD COLUMN IF NOT EXISTS group_policy text,
      ADD COLUMN IF NOT EXISTS reservation_id uuid,
      ADD COLUMN IF NOT EXISTS attempt int NOT NULL DEFAULT 1,
      ADD COLUMN IF NOT EXISTS failed_hosts uuid[] NOT NULL DEFAULT '{}',
      ADD COLUMN IF NOT EXISTS policy text,
      ADD COLUMN IF NOT EXISTS request jsonb`);
    await qr.query(`CREATE INDEX IF NOT EXISTS claims_active_group ON scheduler.claims (group_name) WHERE released_at IS NULL AND group_name IS NOT NULL`);
    await qr.query(`CREATE INDEX IF NOT EXISTS claims_active_preemptible ON scheduler.claims (host_id) WHERE released_at IS NULL AND preemptible`);
    await qr.query(`CREATE INDEX IF NOT EXISTS claims_active_reservation ON scheduler.claims (reservation_id) WHERE released_at IS NULL AND reservation_id IS NOT NULL`);

    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.pending (
      vm_id uuid PRIMARY KEY,
      request jsonb NOT NULL,
      priority int NOT NULL CHECK (priority BETWEEN 1 AND 4),
      deadline timestamptz,
      expires_at timestamptz NOT NULL,
      enqueued_at timestamptz NOT NULL DEFAULT now(),
      reason text NOT NULL,
      removed_by_filter jsonb NOT NULL,
      tries int NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.preemptions (
      id bigserial PRIMARY KEY,
      vm_id uuid NOT NULL,
      host_id uuid NOT NULL,
      action text NOT NULL CHECK (action IN ('stop', 'migrate')),
      target_host_id uuid,
      preempted_by_vm_id uuid,
      reservation_id uuid,
      reason text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.reservations (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      state text NOT NULL CHECK (state IN ('accepted', 'active', 'ended', 'cancelled')),
      start_at timestamptz NOT NULL,
      end_at timestamptz NOT NULL CHECK (end_at > start_at),
      count int NOT NULL CHECK (count > 0),
      vcpus int NOT NULL,
      memory_mib int NOT NULL,
      disk_gib int NOT NULL,
      stop_vms_at_end boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      opened_at timestamptz,
      ended_at timestamptz
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS scheduler.reservation_hosts (
      reservation_id uuid NOT NULL REFERENCES scheduler.reservations (id),
      host_id uuid NOT NULL REFERENCES scheduler.hosts (id),
      slots int NOT NULL CHECK (slots >= 0),
      used int NOT NULL DEFAULT 0 CHECK (used >= 0),
      PRIMARY KEY (reservation_id, host_id)
    )`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS scheduler.reservation_hosts`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.reservations`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.preemptions`);
    await qr.query(`DROP TABLE IF EXISTS scheduler.pending`);
    await qr.query(`DROP TRIGGER IF EXISTS hosts_change_seq ON scheduler.hosts`);
    await qr.query(`DROP FUNCTION IF EXISTS scheduler.bump_host_change_seq()`);
    await qr.query(`DROP SEQUENCE IF EXISTS scheduler.host_change_seq`);
  }
}
