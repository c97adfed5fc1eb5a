import { MigrationInterface, QueryRunner } from '@minicloud/database';

/** Shared storage: where each VM's disk lives (`local` for every VM created before). */
export class GatewayVmStorage1732330000000 implements MigrationInterface {
  name = 'GatewayVmStorage1732330000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE gateway.vms ADD COLUMN IF NOT EXISTS storage text NOT NULL DEFAULT 'local' CHECK (storage IN ('local', 'shared'))`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE gateway.vms DROP COLUMN IF EXISTS storage`);
  }
}
