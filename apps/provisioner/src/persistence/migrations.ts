import { MigrationInterface, QueryRunner } from 'typeorm';
import { createInboxTable } from '@minicloud/database';

export class ProvisionerInit1732240000000 implements MigrationInterface {
  name = 'ProvisionerInit1732240000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`CREATE TABLE provisioner.hosts (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      address text NOT NULL,
      ssh_port int NOT NULL CHECK (ssh_port BETWEEN 1 AND 65535),
      ssh_user text NOT NULL,
      host_key text NOT NULL,
      facts jsonb NOT NULL,
      state text NOT NULL,
      state_reason text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT hosts_address_port_key UNIQUE (address, ssh_port)
    )`);
    await qr.query(`CREATE TABLE provisioner.images (
      id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE,
      path text NOT NULL,
      format text NOT NULL CHECK (format IN ('qcow2', 'raw')),
      checksum text NOT NULL CHECK (checksum ~ '^[a-f0-9]{64}$'),
      size_bytes bigint NOT NULL,
      virtual_size_bytes bigint NOT NULL,
      arch text NOT NULL,
      kernel_path text,
      kernel_checksum text CHECK (kernel_checksum ~ '^[a-f0-9]{64}$'),
      initrd_path text,
      initrd_checksum text CHECK (initrd_checksum ~ '^[a-f0-9]{64}$'),
      cmdline text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE provisioner.host_images (
      host_id uuid NOT NULL REFERENCES provisioner.hosts(id) ON DELETE CASCADE,
      checksum text NOT NULL,
      remote_path text NOT NULL,
      uploaded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (host_id, checksum)
    )`);
    await qr.query(`CREATE TABLE provisioner.vms (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      host_id uuid NOT NULL,
      image_id uuid NOT NULL,
      resources jsonb NOT NULL,
      state text NOT NULL,
      generation int NOT NULL,
      domain_name text NOT NULL,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX vms_host_id_idx ON provisioner.vms (host_id)`);
    await createInboxTable(qr, 'provisioner');
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS provisioner.vms`);
    await qr.query(`DROP TABLE IF EXISTS provisioner.host_images`);
    await qr.query(`DROP TABLE IF EXISTS provisioner.images`);
    await qr.query(`DROP TABLE IF EXISTS provisioner.hosts`);
    await qr.query(`DROP TABLE IF EXISTS provisioner.inbox`);
  }
}

/** Issue 3: lifecycle operations, unknown domains found by reconciliation, host admin state. */
export class ProvisionerLifecycle1732260000000 implements MigrationInterface {
  name = 'ProvisionerLifecycle1732260000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE provisioner.hosts ADD COLUMN admin_state text NOT NULL DEFAULT 'enabled' CHECK (admin_state IN ('enabled', 'disabled'))`);
    await qr.query(`CREATE TABLE provisioner.operations (
      operation_id uuid PRIMARY KEY,
      vm_id uuid NOT NULL,
      action text NOT NULL,
      status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
      state text,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`);
    await qr.query(`CREATE INDEX operations_vm_id_idx ON provisioner.operations (vm_id)`);
    await qr.query(`CREATE TABLE provisioner.unknown_domains (
      host_id uuid NOT NULL REFERENCES provisioner.hosts(id) ON DELETE CASCADE,
      domain_name text NOT NULL,
      uuid text NOT NULL,
      state text NOT NULL,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (host_id, domain_name)
    )`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS provisioner.unknown_domains`);
    await qr.query(`DROP TABLE IF EXISTS provisioner.operations`);
    await qr.query(`ALTER TABLE provisioner.hosts DROP COLUMN IF EXISTS admin_state`);
  }
}

/** Issue 6: live migration bookkeeping on the VM (prepared target, running migration, state before it). */
export class ProvisionerMigration1732280000000 implements MigrationInterface {
  name = 'ProvisionerMigration1732280000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE provisioner.vms ADD COLUMN migration_target_host_id uuid`);
    await qr.query(`ALTER TABLE provisioner.vms ADD COLUMN migration_id uuid`);
    await qr.query(`ALTER TABLE provisioner.vms ADD COLUMN pre_migration_state text`);
    await qr.query(`CREATE INDEX vms_migration_target_host_id_idx ON provisioner.vms (migration_target_host_id) WHERE migration_target_host_id IS NOT NULL`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP INDEX IF EXISTS provisioner.vms_migration_target_host_id_idx`);
    await qr.query(`ALTER TABLE provisioner.vms DROP COLUMN IF EXISTS pre_migration_state`);
    await qr.query(`ALTER TABLE provisioner.vms DROP COLUMN IF EXISTS migration_id`);
    await qr.query(`ALTER TABLE provisioner.vms DROP COLUMN IF EXISTS migration_target_host_id`);
  }
}

/** Shared storage: where each VM's disk lives (`local` for every VM built before). */
export class ProvisionerVmStorage1732330000000 implements MigrationInterface {
  name = 'ProvisionerVmStorage1732330000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE provisioner.vms ADD COLUMN IF NOT EXISTS storage text NOT NULL DEFAULT 'local' CHECK (storage IN ('local', 'shared'))`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE provisioner.vms DROP COLUMN IF EXISTS storage`);
  }
}

export const migrations = [ProvisionerInit1732240000000, ProvisionerLifecycle1732260000000, ProvisionerMigration1732280000000, ProvisionerVmStorage1732330000000];
