import { createInboxTable, MigrationInterface, QueryRunner } from '@minicloud/database';
import { GatewayVmStorage1732330000000 } from './1732330000000-gateway-vm-storage';
import { GatewayVmScheduling1732320000000 } from './1732320000000-gateway-vm-scheduling';

/** The gateway's read model: vms, hosts, images (fed by events and RPC replies) and the consumers' inbox. */
export class GatewayInit1732240000000 implements MigrationInterface {
  name = 'GatewayInit1732240000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`CREATE TABLE gateway.hosts (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      address text NOT NULL,
      ssh_port integer NOT NULL,
      ssh_user text NOT NULL,
      state text NOT NULL,
      state_reason text NOT NULL DEFAULT '',
      state_at timestamptz,
      facts jsonb NOT NULL,
      registered_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX hosts_name_idx ON gateway.hosts (name)`);

    await qr.query(`CREATE TABLE gateway.images (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      path text,
      format text NOT NULL,
      checksum text NOT NULL,
      size_bytes bigint NOT NULL,
      virtual_size_bytes bigint NOT NULL,
      arch text NOT NULL,
      kernel_path text,
      initrd_path text,
      cmdline text,
      registered_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX images_name_idx ON gateway.images (name, registered_at DESC)`);

    await qr.query(`CREATE TABLE gateway.vms (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      status text NOT NULL,
      generation integer NOT NULL DEFAULT 0 CHECK (generation >= 0),
      host_id uuid,
      target_host_id uuid,
      vcpus integer NOT NULL CHECK (vcpus > 0),
      memory_mib integer NOT NULL CHECK (memory_mib > 0),
      disk_gib integer NOT NULL CHECK (disk_gib > 0),
      image_id uuid NOT NULL,
      image_name text NOT NULL,
      tags jsonb NOT NULL DEFAULT '{}'::jsonb,
      reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX vms_status_idx ON gateway.vms (status)`);
    await qr.query(`CREATE INDEX vms_host_idx ON gateway.vms (host_id)`);
    await qr.query(`CREATE INDEX vms_created_idx ON gateway.vms (created_at DESC, id DESC)`);

    await createInboxTable(qr, 'gateway');
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS gateway.inbox`);
    await qr.query(`DROP TABLE IF EXISTS gateway.vms`);
    await qr.query(`DROP TABLE IF EXISTS gateway.images`);
    await qr.query(`DROP TABLE IF EXISTS gateway.hosts`);
  }
}

export const GATEWAY_MIGRATIONS = [GatewayInit1732240000000, GatewayVmScheduling1732320000000, GatewayVmStorage1732330000000];
