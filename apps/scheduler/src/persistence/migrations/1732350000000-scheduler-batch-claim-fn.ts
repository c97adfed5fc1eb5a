import { MigrationInterface, QueryRunner } from '@minicloud/database';

/**
 * `scheduler.batch_claimable(vm text)`: the batch claim's per-VM guard, so the whole batch claim is ONE statement
 * (one round trip, no explicit transaction) instead of BEGIN, try-lock, claim, COMMIT.
 *
 * It tries the VM's advisory lock without waiting (the lock ClaimRepository.lockVm takes: same key, the VM id as
 * text) and returns NULL when another transaction holds it; holding it, it returns whether nothing is decided for the
 * VM yet (no claim, no failure, no queue entry). It is VOLATILE on purpose: in READ COMMITTED a volatile function
 * takes a fresh snapshot for each query it runs, so the existence check — run after the lock is ours — sees whatever
 * the lock's previous holder committed, even though the calling statement's own snapshot is older.
 */
export class SchedulerBatchClaimFn1732350000000 implements MigrationInterface {
  name = 'SchedulerBatchClaimFn1732350000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.migrations'))`);
    await qr.query(`
      CREATE OR REPLACE FUNCTION scheduler.batch_claimable(vm text) RETURNS boolean
      LANGUAGE plpgsql VOLATILE AS $fn$
      BEGIN
        IF NOT pg_try_advisory_xact_lock(hashtext('minicloud.scheduler.vm'), hashtext(vm)) THEN
          RETURN NULL;
        END IF;
        RETURN NOT EXISTS (SELECT 1 FROM scheduler.claims c WHERE c.vm_id = vm::uuid)
          AND NOT EXISTS (SELECT 1 FROM scheduler.schedule_failures f WHERE f.vm_id = vm::uuid)
          AND NOT EXISTS (SELECT 1 FROM scheduler.pending p WHERE p.vm_id = vm::uuid);
      END
      $fn$`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP FUNCTION IF EXISTS scheduler.batch_claimable(text)`);
  }
}
