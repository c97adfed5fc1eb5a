/**
 * The batch claim as ONE statement on the real Postgres (apps/scheduler/src/persistence/batch-claim.repository.ts and
 * its guard function, migration 1732350000000): capacity is never exceeded however the batch was planned, a VM
 * whose lock another transaction holds is neither claimed nor reported as locked, a VM already decided is left
 * alone, and the guard sees what the lock's previous holder committed after the statement began.
 */
import { randomUUID } from 'crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createServiceDataSource } from '@minicloud/database';
import { entities, migrations } from '../../../apps/scheduler/src/persistence';
import { BatchClaim, claimBatch } from '../../../apps/scheduler/src/persistence/batch-claim.repository';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { sleep } from './support';

jest.setTimeout(60_000);

let db: TestDatabase;
let ds: DataSource;
let other: Client;

beforeAll(async () => {
  db = await createTestDatabase('mc_batch_claim');
  ds = await createServiceDataSource({ schema: 'scheduler', entities, migrations, url: db.url, poolSize: 4 });
  other = new Client({ connectionString: db.url });
  await other.connect();
});

afterAll(async () => {
  await other?.end().catch(() => undefined);
  await ds?.destroy().catch(() => undefined);
  await db?.drop().catch(() => undefined);
});

/** An `up` host with 4 vCPUs, 4096 MiB and 100 GiB at ratio 1.0 for CPU too (so vCPUs bind first). */
async function host(): Promise<string> {
  const id = randomUUID();
  await ds.query(
    `INSERT INTO scheduler.hosts (id, name, state, state_at, arch, total_vcpus, total_memory_mib, total_disk_gib, cpu_allocation_ratio)
     VALUES ($1, $2, 'up', now(), 'x86_64', 4, 4096, 100, 1.0)`,
    [id, `h-${id.slice(0, 8)}`],
  );
  return id;
}

function claim(hostId: string, over: Partial<BatchClaim> = {}): BatchClaim {
  const vmId = randomUUID();
  return { vmId, hostId, vcpus: 1, memoryMiB: 1024, diskGiB: 10, preemptible: false, reason: 'test', priority: 4, policy: 'least-loaded', request: { vmId }, ...over };
}

async function allocated(hostId: string) {
  const [h] = await ds.query(`SELECT allocated_vcpus AS v, allocated_memory_mib AS m, active_vms AS n FROM scheduler.hosts WHERE id = $1`, [hostId]);
  const [c] = await ds.query(`SELECT count(*)::int AS n, coalesce(sum(vcpus), 0)::int AS v FROM scheduler.claims WHERE host_id = $1 AND released_at IS NULL`, [hostId]);
  return { host: h, claims: c };
}

it('claims in batch order while the host has room, and nothing beyond its capacity', async () => {
  const a = await host();
  const b = await host();
  // Planned badly on purpose: 6 one-vCPU VMs on a (4 fit), 2 two-vCPU VMs on b (both fit).
  const onA = Array.from({ length: 6 }, () => claim(a));
  const onB = [claim(b, { vcpus: 2 }), claim(b, { vcpus: 2 })];
  const r = await claimBatch(ds.manager, [...onA, ...onB]);

  expect(r.locked.size).toBe(8);
  expect(onA.filter((c) => r.claimed.has(c.vmId)).map((c) => c.vmId)).toEqual(onA.slice(0, 4).map((c) => c.vmId));
  expect(onB.every((c) => r.claimed.has(c.vmId))).toBe(true);
  expect(await allocated(a)).toEqual({ host: { v: 4, m: 4096, n: 4 }, claims: { n: 4, v: 4 } });
  expect(await allocated(b)).toEqual({ host: { v: 4, m: 2048, n: 2 }, claims: { n: 2, v: 4 } });
  expect(r.hosts.map((h) => h.id).sort()).toEqual([a, b].sort());

  // The same host again: full, nothing is claimed and nothing changes.
  const more = await claimBatch(ds.manager, [claim(a)]);
  expect(more.claimed.size).toBe(0);
  expect(await allocated(a)).toEqual({ host: { v: 4, m: 4096, n: 4 }, claims: { n: 4, v: 4 } });
});

it('leaves a VM whose lock another transaction holds: not claimed, not reported as locked; the rest of the batch goes on', async () => {
  const h = await host();
  const busy = claim(h);
  const free = claim(h);
  await other.query('BEGIN');
  try {
    await other.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.vm'), hashtext($1))`, [busy.vmId]);
    const r = await claimBatch(ds.manager, [busy, free]);
    expect(r.locked.has(busy.vmId)).toBe(false);
    expect(r.claimed.has(busy.vmId)).toBe(false);
    expect(r.locked.has(free.vmId)).toBe(true);
    expect(r.claimed.has(free.vmId)).toBe(true);
  } finally {
    await other.query('ROLLBACK');
  }
  expect(await allocated(h)).toEqual({ host: { v: 1, m: 1024, n: 1 }, claims: { n: 1, v: 1 } });
});

it('leaves a VM already decided (claimed, failed or queued): locked, not claimed again', async () => {
  const h = await host();
  const claimed = claim(h);
  await claimBatch(ds.manager, [claimed]);
  const failed = claim(h);
  await ds.query(`INSERT INTO scheduler.schedule_failures (vm_id, reason, removed_by_filter) VALUES ($1, 'no valid host', '{}')`, [failed.vmId]);
  const queued = claim(h);
  await ds.query(
    `INSERT INTO scheduler.pending (vm_id, request, priority, expires_at, reason, removed_by_filter) VALUES ($1, $2, 4, now() + interval '1 hour', 'nothing fits', '{}')`,
    [queued.vmId, JSON.stringify(queued.request)],
  );
  const r = await claimBatch(ds.manager, [claimed, failed, queued]);
  expect([...r.locked].sort()).toEqual([claimed.vmId, failed.vmId, queued.vmId].sort());
  expect(r.claimed.size).toBe(0);
  expect(await allocated(h)).toEqual({ host: { v: 1, m: 1024, n: 1 }, claims: { n: 1, v: 1 } });
});

it("the guard sees what the lock's holder committed after the calling statement began (a fresh snapshot after the lock)", async () => {
  const vm = randomUUID();
  // The statement starts (its snapshot), sleeps 600 ms, then asks the guard; meanwhile another transaction that
  // held the VM's lock queues the VM and commits.
  await other.query('BEGIN');
  await other.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.vm'), hashtext($1))`, [vm]);
  const asked = ds.query(`WITH w AS MATERIALIZED (SELECT pg_sleep(0.6) AS s) SELECT scheduler.batch_claimable($1) AS ok FROM w`, [vm]);
  await sleep(200);
  await other.query(`INSERT INTO scheduler.pending (vm_id, request, priority, expires_at, reason, removed_by_filter) VALUES ($1, '{}', 4, now() + interval '1 hour', 'nothing fits', '{}')`, [vm]);
  await other.query('COMMIT');
  const [row] = await asked;
  // With the statement's own snapshot it would say "claimable" (true) and the VM would be both queued and placed.
  expect(row.ok).toBe(false);

  // And without any decision: claimable; with the lock held elsewhere: NULL.
  const fresh = randomUUID();
  expect((await ds.query(`SELECT scheduler.batch_claimable($1) AS ok`, [fresh]))[0].ok).toBe(true);
  await other.query('BEGIN');
  try {
    await other.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.vm'), hashtext($1))`, [fresh]);
    expect((await ds.query(`SELECT scheduler.batch_claimable($1) AS ok`, [fresh]))[0].ok).toBeNull();
  } finally {
    await other.query('ROLLBACK');
  }
});
