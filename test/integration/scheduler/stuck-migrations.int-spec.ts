/**
 * Against real Postgres and a private nats-server, one scheduler in-process:
 * - migrations that never end: a maintenance drain's migration that gets no migration.completed/failed times out
 *   (SCHEDULER_MIGRATION_TIMEOUT_* small): the target's hold is released, the migrator is asked to cancel, the
 *   drain's status shows it, and the VM is requested again; a timed-out migration that completes after all moves
 *   the claim to the target;
 * - restarting a preempted VM (rpc.scheduler.vm.start-claim): refused with 409 and the reason while its host has
 *   no room, capacity taken again on its own host once there is.
 * This test plays the gateway (requests, RPCs) and the migrator (completed), and never answers some migrations.
 */
import { randomUUID } from 'crypto';
import { Client } from 'pg';
import { Bus, RpcError } from '@minicloud/messaging';
import { EventOf, HostMaintenanceView, makeEvent, Rpc, Subjects, VmStartClaimReply } from '@minicloud/contracts';
import { pollUntil, SchedulerTestBed, startSchedulerTestBed, VmRequestOverrides } from './support';

type Scheduled = EventOf<typeof Subjects.VmScheduled>;
type Planned = EventOf<typeof Subjects.MigrationPlanned>;

jest.setTimeout(120_000);

let bed: SchedulerTestBed;
let pg: Client;
let client: Bus;
let scheduled: Scheduled[];
let planned: Planned[];
let requested: EventOf<typeof Subjects.MigrationRequested>[];
let failed: EventOf<typeof Subjects.MigrationFailed>[];
let controls: EventOf<typeof Subjects.MigrationControl>[];
let preempts: EventOf<typeof Subjects.VmPreemptRequested>[];
let hostStates: EventOf<typeof Subjects.HostStateChanged>[];

const HOST_A = '00000000-0000-4000-8000-0000000000a1';
const HOST_B = '00000000-0000-4000-8000-0000000000b1';
const HOST_S = '00000000-0000-4000-8000-0000000000c1';
/** 2 GiB VMs time out after 2 s + 1 s/GiB × 2 GiB = 4 s. */
const TIMEOUT_ENV = { SCHEDULER_MIGRATION_TIMEOUT_BASE_S: '2', SCHEDULER_MIGRATION_TIMEOUT_PER_GIB_S: '1' };

const until = pollUntil(30_000, 100);
const rpc = <T>(subject: (typeof Rpc)[keyof typeof Rpc], body: object) => client.request<T>(subject, body, 10_000);
const holdOf = (migrationId: string) => bed.holdOf(migrationId);
const claimOf = (vmId: string) => bed.claimOf(vmId);
const assertHostsMatchClaimsAndHolds = () => bed.assertAllocationsMatchClaims({ holds: true, equal: ['vcpus', 'mem', 'disk', 'preemptibleMem', 'vms'] });

const place = (over: VmRequestOverrides = {}) => bed.placer(scheduled, until)(over);
const completed = (p: Planned) => bed.migrationCompleted(p);

beforeAll(async () => {
  bed = await startSchedulerTestBed({ database: 'mc_test_stuck_migrations', busName: 'stuck-migrations-test' });
  ({ pg, client } = bed);
  scheduled = bed.collect(Subjects.VmScheduled);
  planned = bed.collect(Subjects.MigrationPlanned);
  requested = bed.collect(Subjects.MigrationRequested);
  controls = bed.collect(Subjects.MigrationControl);
  failed = bed.collect(Subjects.MigrationFailed);
  preempts = bed.collect(Subjects.VmPreemptRequested);
  hostStates = bed.collect(Subjects.HostStateChanged);
  // Preempted VMs are stopped (their claim released), not moved: the restart test needs a released claim.
  await bed.startApp({ ...TIMEOUT_ENV, PLANNER_INTERVAL_S: '0.5', SCHEDULER_PREEMPT_MIGRATE: 'false', SCHEDULER_TICK_MS: '200' });
  await bed.registerHost(HOST_A, 'host-a', 8, 16384, 200);
  await bed.registerHost(HOST_B, 'host-b', 8, 16384, 200);
  await bed.registerHost(HOST_S, 'host-small', 2, 4096, 100);
  await until('3 hosts registered', async () => (await pg.query(`SELECT count(*)::int AS n FROM scheduler.hosts`)).rows[0].n === 3);
});

afterAll(async () => {
  await bed?.stop();
});

describe('migrations that never end', () => {
  it('a drain migration with no answer times out: hold released, migrator told to cancel, drain shows it and asks again', async () => {
    const vm = await place({ targetHostId: HOST_A });
    expect(vm.hostId).toBe(HOST_A);
    const view = await rpc<HostMaintenanceView>(Rpc.HostMaintenance, { hostId: HOST_A, action: 'enter' });
    expect(view).toMatchObject({ state: 'draining', remainingVms: 1, timedOut: [] });
    const [first] = view.migrationIds;
    const p1 = await until('migration.planned of the drain', () => planned.find((p) => p.migrationId === first));
    expect(p1).toMatchObject({ vmId: vm.vmId, sourceHostId: HOST_A, origin: 'maintenance' });
    const target = p1.targetHostId;
    expect((await bed.hostRow(target)).allocated_memory_mib).toBe(2048);

    // Nobody ever answers it: after ~4 s the scheduler gives up.
    const hold = await until('hold timed out', async () => {
      const h = await holdOf(first);
      return h.outcome === 'timed-out' ? h : null;
    }, 20_000);
    expect((hold.settled_at.getTime() - hold.created_at.getTime()) / 1000).toBeGreaterThanOrEqual(4);
    expect(hold.settle_reason).toMatch(new RegExp(`migration ${first} did not end within 4 s`));
    expect(await until('migration.control cancel', () => controls.find((c) => c.migrationId === first))).toMatchObject({ action: 'cancel' });
    expect((await claimOf(vm.vmId)).host_id).toBe(HOST_A); // the VM never left
    // The target holds only what open holds still need (the drain may have asked again already).
    const open = (await pg.query(`SELECT migration_id FROM scheduler.migration_holds WHERE target_host_id = $1 AND settled_at IS NULL`, [target])).rows;
    expect(open.map((r) => r.migration_id)).not.toContain(first);
    expect((await bed.hostRow(target)).allocated_memory_mib).toBe(2048 * open.length);
    await assertHostsMatchClaimsAndHolds();

    // The drain's status says so, and the VM is requested again (a new migration).
    const again = await until('a second drain request', () => requested.find((r) => r.vmId === vm.vmId && r.migrationId !== first && r.origin === 'maintenance'));
    const status = await rpc<HostMaintenanceView>(Rpc.HostMaintenance, { hostId: HOST_A, action: 'enter' });
    expect(status.state).toBe('draining');
    expect(status.timedOut).toEqual([{ vmId: vm.vmId, migrationId: first, reason: hold.settle_reason }]);
    expect(status.migrationIds).toEqual([first, again.migrationId]);

    // This one completes: the host is drained.
    const p2 = await until('second migration.planned', () => planned.find((p) => p.migrationId === again.migrationId));
    await completed(p2);
    await until('host.state-changed maintenance', () => hostStates.find((h) => h.hostId === HOST_A && h.state === 'maintenance'));
    expect((await claimOf(vm.vmId)).host_id).toBe(p2.targetHostId);
    await assertHostsMatchClaimsAndHolds();
    await rpc<HostMaintenanceView>(Rpc.HostMaintenance, { hostId: HOST_A, action: 'exit' });
  });

  it('a timed-out migration that completes after all moves the claim to the target', async () => {
    const vm = await place({ targetHostId: HOST_B });
    const e = makeEvent(Subjects.MigrationRequested, { migrationId: randomUUID(), vmId: vm.vmId, sourceHostId: HOST_B, targetHostId: HOST_A, mode: 'live', storage: 'copy', strategy: 'auto', origin: 'planner', reason: 'test' });
    await client.publish(Subjects.MigrationRequested, e);
    const p = await until('migration.planned', () => {
      const refused = failed.find((x) => x.migrationId === e.migrationId);
      if (refused) throw new Error(`refused: ${refused.reason}`);
      return planned.find((x) => x.migrationId === e.migrationId);
    });
    await until('hold timed out', async () => (await holdOf(e.migrationId)).outcome === 'timed-out', 20_000);
    const before = await bed.hostRow(HOST_A);
    await completed(p);
    await until('claim moved to host-a', async () => (await claimOf(vm.vmId)).host_id === HOST_A);
    expect((await bed.hostRow(HOST_A)).allocated_memory_mib).toBe(before.allocated_memory_mib + 2048);
    await assertHostsMatchClaimsAndHolds();
  });
});

describe('restarting a preempted VM (rpc.scheduler.vm.start-claim)', () => {
  it('409 with the reason while its host is full; capacity taken again on its own host once there is room', async () => {
    const victim = await place({ targetHostId: HOST_S, resources: { vcpus: 1, memoryMiB: 4096, diskGiB: 10 }, preemptible: true });
    const winner = await place({ targetHostId: HOST_S, resources: { vcpus: 1, memoryMiB: 4096, diskGiB: 10 }, priority: 1 });
    expect(winner.hostId).toBe(HOST_S);
    expect(await until('vm.preempt-requested', () => preempts.find((x) => x.vmId === victim.vmId))).toMatchObject({ action: 'stop', hostId: HOST_S, preemptedByVmId: winner.vmId });
    expect((await claimOf(victim.vmId)).released_at).not.toBeNull();

    const refused = (await rpc(Rpc.VmStartClaim, { vmId: victim.vmId, hostId: HOST_S }).catch((err) => err)) as RpcError;
    expect(refused).toBeInstanceOf(RpcError);
    expect(refused.status).toBe(409);
    expect(refused.message).toMatch(/cannot start: its capacity was given away \(preempted by VM .*\), and host host-small .* lacked memory \(need 4096 MiB, free 0 MiB\)/);
    expect((await claimOf(victim.vmId)).released_at).not.toBeNull();

    // The winner is deleted: room again.
    await client.publish(Subjects.VmDeleted, { vmId: winner.vmId, hostId: HOST_S, generation: 9 });
    await until('winner released', async () => (await claimOf(winner.vmId)).released_at !== null);
    const ok = await rpc<VmStartClaimReply>(Rpc.VmStartClaim, { vmId: victim.vmId, hostId: HOST_S });
    expect(ok).toMatchObject({ vmId: victim.vmId, hostId: HOST_S, claim: 'reclaimed' });
    const claim = await claimOf(victim.vmId);
    expect(claim).toMatchObject({ host_id: HOST_S, released_at: null });
    expect((await bed.hostRow(HOST_S)).allocated_memory_mib).toBe(4096);
    await assertHostsMatchClaimsAndHolds();

    // Asked again (a retried start): confirmed, nothing allocated twice.
    expect(await rpc<VmStartClaimReply>(Rpc.VmStartClaim, { vmId: victim.vmId, hostId: HOST_S })).toMatchObject({ claim: 'held' });
    expect((await bed.hostRow(HOST_S)).allocated_memory_mib).toBe(4096);

    // A deleted VM never gets capacity back.
    const gone = await rpc(Rpc.VmStartClaim, { vmId: winner.vmId, hostId: HOST_S }).catch((err) => err);
    expect(gone).toMatchObject({ status: 409, message: `VM ${winner.vmId} was deleted` });
  });
});
