import { MigrationInterface, QueryRunner } from '@minicloud/database';

/** Issue 3: VM operations, idempotency keys of POST/DELETE requests, flavors (with a few defaults). */
export class GatewayLifecycle1732260000000 implements MigrationInterface {
  name = 'GatewayLifecycle1732260000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`CREATE TABLE gateway.operations (
      id uuid PRIMARY KEY,
      vm_id uuid NOT NULL,
      action text NOT NULL,
      status text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`);
    await qr.query(`CREATE INDEX operations_vm_idx ON gateway.operations (vm_id, created_at DESC)`);

    await qr.query(`CREATE TABLE gateway.idempotency_keys (
      key text PRIMARY KEY,
      method text NOT NULL,
      path text NOT NULL,
      request_hash text NOT NULL,
      status integer,
      location text,
      response_body jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX idempotency_keys_created_idx ON gateway.idempotency_keys (created_at)`);

    await qr.query(`CREATE TABLE gateway.flavors (
      name text PRIMARY KEY,
      vcpus integer NOT NULL CHECK (vcpus > 0),
      memory_mib integer NOT NULL CHECK (memory_mib > 0),
      disk_gib integer NOT NULL CHECK (disk_gib > 0),
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`INSERT INTO gateway.flavors (name, vcpus, memory_mib, disk_gib) VALUES
      ('m1.tiny', 1, 256, 1), ('m1.small', 1, 512, 2), ('m1.medium', 2, 1024, 4), ('m1.large', 4, 4096, 8)`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS gateway.flavors`);
    await qr.query(`DROP TABLE IF EXISTS gateway.idempotency_keys`);
    await qr.query(`DROP TABLE IF EXISTS gateway.operations`);
  }
}
