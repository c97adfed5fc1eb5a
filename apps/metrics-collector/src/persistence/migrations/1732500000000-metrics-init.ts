import { createInboxTable, MigrationInterface, QueryRunner } from '@minicloud/database';
import { HOST_FIELDS, rawColumnsDdl, rollupColumnsDdl, VM_FIELDS } from '../fields';

/**
 * The collector's schema. Samples are range-partitioned by time (raw by hour, 1-minute rollups by day; the
 * partitions themselves are created on demand by the ingest and the maintenance job, and dropped by retention).
 * A failed round is a row with `error` set and every value NULL: missing, never 0.
 */
export class MetricsInit1732500000000 implements MigrationInterface {
  name = 'MetricsInit1732500000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.metrics.migrations'))`);
    await qr.query(`CREATE TABLE IF NOT EXISTS metrics.hosts (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      address text NOT NULL,
      ssh_port int NOT NULL CHECK (ssh_port BETWEEN 1 AND 65535),
      ssh_user text NOT NULL,
      state text NOT NULL CHECK (state IN ('up', 'down', 'disabled', 'maintenance')),
      state_reason text NOT NULL DEFAULT '',
      state_at timestamptz NOT NULL,
      registered_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE IF NOT EXISTS metrics.host_samples (
      host_id uuid NOT NULL,
      collected_at timestamptz NOT NULL,
      ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      ${rawColumnsDdl(HOST_FIELDS)},
      error text,
      PRIMARY KEY (host_id, collected_at)
    ) PARTITION BY RANGE (collected_at)`);
    await qr.query(`CREATE TABLE IF NOT EXISTS metrics.vm_samples (
      vm_id uuid NOT NULL,
      collected_at timestamptz NOT NULL,
      host_id uuid NOT NULL,
      ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      state text NOT NULL,
      ${rawColumnsDdl(VM_FIELDS)},
      PRIMARY KEY (vm_id, collected_at)
    ) PARTITION BY RANGE (collected_at)`);
    await qr.query(`CREATE TABLE IF NOT EXISTS metrics.host_samples_1m (
      host_id uuid NOT NULL,
      bucket timestamptz NOT NULL,
      samples int NOT NULL,
      missing int NOT NULL,
      ${rollupColumnsDdl(HOST_FIELDS)},
      PRIMARY KEY (host_id, bucket)
    ) PARTITION BY RANGE (bucket)`);
    await qr.query(`CREATE TABLE IF NOT EXISTS metrics.vm_samples_1m (
      vm_id uuid NOT NULL,
      bucket timestamptz NOT NULL,
      host_id uuid NOT NULL,
      samples int NOT NULL,
      ${rollupColumnsDdl(VM_FIELDS)},
      PRIMARY KEY (vm_id, bucket)
    ) PARTITION BY RANGE (bucket)`);
    await qr.query(`CREATE TABLE IF NOT EXISTS metrics.rollup_state (
      source text PRIMARY KEY,
      rolled_until timestamptz NOT NULL
    )`);
    await createInboxTable(qr, 'metrics');
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of ['rollup_state', 'vm_samples_1m', 'host_samples_1m', 'vm_samples', 'host_samples', 'hosts', 'inbox']) {
      await qr.query(`DROP TABLE IF EXISTS metrics.${t}`);
    }
  }
}

export const METRICS_MIGRATIONS = [MetricsInit1732500000000];
