import { MigrationInterface, QueryRunner } from '@minicloud/database';

/** What the scheduler said about a VM beyond its state: queued (vm.queued) or preempted (vm.preempt-requested). */
export class GatewayVmScheduling1732320000000 implements MigrationInterface {
  name = 'GatewayVmScheduling1732320000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE gateway.vms ADD COLUMN IF NOT EXISTS scheduling jsonb`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE gateway.vms DROP COLUMN IF EXISTS scheduling`);
  }
}
