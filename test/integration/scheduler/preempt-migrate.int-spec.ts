/**
 * Preemption by live migration, against real Postgres and a private nats-server (one scheduler app in this
 * process): a priority-1 request on a full host moves a preemptible VM to another host that has room instead of
 * stopping it. The victim's claim moves to the target at once, the preempting VM takes the source's room, and a
 * live migration (origin `preemption`) is planned; the provisioner leaves the VM running. When the migration
 * completes nothing else moves; when it fails, the claim is released and the VM is stopped instead. This test plays
 * the gateway (requests) and the migrator (completed / failed).
 */
import { Client } from 'pg';
import { Bus } from '@minicloud/messaging';
import { EventOf, Subjects } from '@minicloud/contracts';
import { pollUntil, SchedulerTestBed, sleep, startSchedulerTestBed, VmRequestOverrides, vmRequest } from './support';

type Scheduled = EventOf<typeof Subjects.VmScheduled>;
type Planned = EventOf<typeof Subjects.MigrationPlanned>;
type Preempt = EventOf<typeof Subjects.VmPreemptRequested>;

jest.setTimeout(120_000);

let bed: SchedulerTestBed;
let pg: Client;
let client: Bus;
let scheduled: Scheduled[];
let planned: Planned[];
let preempts: Preempt[];

const HOST_A = '00000000-0000-4000-8000-0000000000a1';
const HOST_B = '00000000-0000-4000-8000-0000000000b1';

const until = pollUntil(20_000, 50);

const place = (over: VmRequestOverrides = {}) => bed.placer(scheduled, until)(over);

const memoryOf = async (id: string): Promise<number> => (await bed.hostRow(id)).allocated_memory_mib;
const claimOf = (vmId: string) => bed.claimOf(vmId);
const holdOf = (migrationId: string) => bed.holdOf(migrationId);
/** Allocations equal the active claims (a preempted VM's hold allocates nothing of its own) and stay within capacity. */
const assertAllocations = () => bed.assertAllocationsMatchClaims({ holds: true, equal: ['vcpus', 'mem', 'disk', 'preemptibleMem', 'vms'] });

beforeAll(async () => {
  bed = await startSchedulerTestBed({ database: 'mc_test_preempt_migrate', busName: 'preempt-migrate-test' });
  ({ pg, client } = bed);
  scheduled = bed.collect(Subjects.VmScheduled);
  planned = bed.collect(Subjects.MigrationPlanned);
  preempts = bed.collect(Subjects.VmPreemptRequested);
  await bed.startApp();
});

afterAll(async () => {
  await bed?.stop();
});

describe('preemption moves a preemptible VM away by live migration when another host has room', () => {
  const fill: Scheduled[] = [];

  it('fills host-a with two preemptible VMs; host-b has room for one', async () => {
    await bed.registerHost(HOST_A, 'host-a', 4, 4096, 100);
    await bed.registerHost(HOST_B, 'host-b', 4, 4096, 100);
    await until('hosts', async () => (await bed.hostRow(HOST_A)) && (await bed.hostRow(HOST_B)));
    fill.push(await place({ targetHostId: HOST_A, preemptible: true, priority: 4 }));
    fill.push(await place({ targetHostId: HOST_A, preemptible: true, priority: 4 }));
    await place({ targetHostId: HOST_B, priority: 4 });
    expect(await memoryOf(HOST_A)).toBe(4096);
    expect(await memoryOf(HOST_B)).toBe(2048);
  });

  it('a priority-1 request takes the room on host-a; the newest filler moves to host-b, still running', async () => {
    const p1 = await place({ targetHostId: HOST_A, priority: 1 });
    expect(p1.hostId).toBe(HOST_A);
    expect(p1.reason).toMatch(/preempted 1 preemptible VM\(s\) of lower priority on host host-a .*: \S+ moved to /);
    const victim = fill[1].vmId;
    const pre = await until('vm.preempt-requested', () => preempts.find((p) => p.vmId === victim));
    expect(pre).toMatchObject({ hostId: HOST_A, action: 'migrate', targetHostId: HOST_B, preemptedByVmId: p1.vmId, migrationId: expect.any(String) });
    const mig = await until('migration.planned', () => planned.find((p) => p.migrationId === pre.migrationId));
    expect(mig).toMatchObject({ vmId: victim, sourceHostId: HOST_A, targetHostId: HOST_B, mode: 'live', storage: 'copy', strategy: 'auto', origin: 'preemption', memoryMiB: 2048, vcpus: 1 });
    expect(mig.reason).toMatch(/^preempted on host-a \(preempted by VM .*\); moving to host-b: /);

    // The claim is on host-b already; host-a holds the filler left there and the priority-1 VM: nothing counted twice.
    expect(await claimOf(victim)).toMatchObject({ host_id: HOST_B, released_at: null });
    expect(await holdOf(mig.migrationId)).toMatchObject({ vm_id: victim, claim_moved: true, settled_at: null });
    expect(await memoryOf(HOST_A)).toBe(4096);
    expect(await memoryOf(HOST_B)).toBe(4096);
    await assertAllocations();
    const rec = await pg.query(`SELECT action, target_host_id, migration_id FROM scheduler.preemptions WHERE vm_id = $1`, [victim]);
    expect(rec.rows).toEqual([{ action: 'migrate', target_host_id: HOST_B, migration_id: mig.migrationId }]);

    // The migrator moved it: the hold closes, nothing else changes.
    await bed.migrationCompleted(mig, { downtimeMs: 40 });
    await until('hold settled', async () => (await holdOf(mig.migrationId)).outcome === 'completed');
    await sleep(300);
    expect(await claimOf(victim)).toMatchObject({ host_id: HOST_B, released_at: null });
    expect(await memoryOf(HOST_A)).toBe(4096);
    expect(await memoryOf(HOST_B)).toBe(4096);
    expect(preempts.filter((p) => p.vmId === victim)).toHaveLength(1);
    await assertAllocations();
  });

  it('the preempting request delivered again (after a crash before publishing) publishes the same preemption and migration', async () => {
    const p1 = scheduled.find((s) => s.reason.startsWith('priority 1:'))!;
    const first = preempts.find((p) => p.preemptedByVmId === p1.vmId)!;
    const again = vmRequest({ vmId: p1.vmId, name: p1.name, targetHostId: HOST_A, priority: 1 });
    const before = { preempts: preempts.length, planned: planned.length };
    await client.publish(Subjects.VmRequested, again);
    await until('preemption published again', () => preempts.length > before.preempts && planned.length > before.planned);
    const rePre = preempts.slice(before.preempts).find((p) => p.vmId === first.vmId)!;
    expect(rePre).toMatchObject({ eventId: first.eventId, action: 'migrate', migrationId: first.migrationId, targetHostId: first.targetHostId });
    const rePlan = planned.slice(before.planned).find((p) => p.migrationId === first.migrationId)!;
    expect(rePlan).toMatchObject({ origin: 'preemption', vmId: first.vmId, eventId: planned.find((p) => p.migrationId === first.migrationId)!.eventId });
  });

  it('a migration that fails stops the VM instead: its claim is released and a stop is published', async () => {
    // Make room on host-b for one more (the ordinary VM there is deleted), then preempt the other filler.
    const ordinary = scheduled.find((s) => s.hostId === HOST_B && s.vmId !== fill[1].vmId)!;
    await client.publish(Subjects.VmDeleted, { vmId: ordinary.vmId, hostId: HOST_B, generation: 5 });
    await until('room on host-b', async () => (await memoryOf(HOST_B)) === 2048);
    const p2 = await place({ targetHostId: HOST_A, priority: 2 });
    expect(p2.hostId).toBe(HOST_A);
    const victim = fill[0].vmId;
    const pre = await until('vm.preempt-requested', () => preempts.find((p) => p.vmId === victim));
    expect(pre).toMatchObject({ action: 'migrate', targetHostId: HOST_B, preemptedByVmId: p2.vmId });
    const mig = await until('migration.planned', () => planned.find((p) => p.migrationId === pre.migrationId));
    expect(await memoryOf(HOST_B)).toBe(4096);

    // The moving VM has its one open hold (no other migration of it is planned meanwhile).
    expect((await pg.query(`SELECT count(*)::int AS n FROM scheduler.migration_holds WHERE vm_id = $1 AND settled_at IS NULL`, [victim])).rows[0].n).toBe(1);

    await client.publish(Subjects.MigrationFailed, { migrationId: mig.migrationId, vmId: victim, sourceHostId: HOST_A, targetHostId: HOST_B, reason: 'unable to connect to the destination libvirtd', vmHostId: HOST_A });
    const stop = await until('the fallback stop', () => preempts.find((p) => p.vmId === victim && p.action === 'stop'));
    expect(stop).toMatchObject({ hostId: HOST_A, preemptedByVmId: p2.vmId });
    expect(stop.migrationId).toBeUndefined();
    expect(stop.reason).toBe(`preempted VM could not be moved to host-b: migration ${mig.migrationId} failed; stopped instead`);
    expect(await holdOf(mig.migrationId)).toMatchObject({ outcome: 'failed', claim_moved: true });
    const claim = await claimOf(victim);
    expect(claim.released_at).not.toBeNull();
    expect(claim.release_reason).toBe(stop.reason);
    expect(await memoryOf(HOST_B)).toBe(2048);
    expect(await memoryOf(HOST_A)).toBe(4096);
    await assertAllocations();
    const rec = await pg.query(`SELECT action FROM scheduler.preemptions WHERE vm_id = $1 ORDER BY id`, [victim]);
    expect(rec.rows.map((r) => r.action)).toEqual(['migrate', 'stop']);

    // The migrator's event again (another event id): nothing is freed twice, no second stop.
    await client.publish(Subjects.MigrationFailed, { migrationId: mig.migrationId, vmId: victim, sourceHostId: HOST_A, targetHostId: HOST_B, reason: 'again', vmHostId: HOST_A });
    await sleep(500);
    expect(await memoryOf(HOST_B)).toBe(2048);
    expect(preempts.filter((p) => p.vmId === victim && p.action === 'stop')).toHaveLength(1);
  });
});
