/**
 * Migration holds in the scheduler, against real Postgres and a private nats-server: two scheduler app
 * instances (replicas) share the durable consumers. A migrating VM holds capacity on both hosts until the
 * migration ends: migration.requested → capacity held on the target and migration.planned (or a refusal as
 * migration.failed); migration.completed → the source is freed and the claim moves; migration.failed → the
 * target is freed. This test plays the gateway (requests) and the migrator (completed / failed).
 */
import { randomUUID } from 'crypto';
import { Client } from 'pg';
import { Bus } from '@minicloud/messaging';
import { EventOf, makeEvent, Subjects } from '@minicloud/contracts';
import { pollUntil, SchedulerTestBed, sleep, startSchedulerTestBed, VmRequestOverrides } from './support';

type Scheduled = EventOf<typeof Subjects.VmScheduled>;
type Planned = EventOf<typeof Subjects.MigrationPlanned>;
type MigrationFailed = EventOf<typeof Subjects.MigrationFailed>;
type MigrationRequested = EventOf<typeof Subjects.MigrationRequested>;

jest.setTimeout(120_000);

let bed: SchedulerTestBed;
let pg: Client;
let client: Bus;
let scheduled: Scheduled[];
let planned: Planned[];
/** Every migration.failed on the bus: the scheduler's refusals and the ones this test publishes as the migrator. */
let migrationFailed: MigrationFailed[];

const HOST_A = '00000000-0000-4000-8000-00000000000a';
const HOST_B = '00000000-0000-4000-8000-00000000000b';
const HOST_C = '00000000-0000-4000-8000-00000000000c';
const HOSTS = [HOST_A, HOST_B, HOST_C];
const NAMES: Record<string, string> = { [HOST_A]: 'host-a', [HOST_B]: 'host-b', [HOST_C]: 'host-c' };

const until = pollUntil(20_000, 50);

/** Places a VM (vm.requested → vm.scheduled): the decision, with its id and host. */
const place = (over: VmRequestOverrides = {}) => bed.placer(scheduled, until)(over);

function migrationRequest(vmId: string, sourceHostId: string, over: Partial<MigrationRequested> = {}): MigrationRequested {
  return makeEvent(Subjects.MigrationRequested, {
    migrationId: randomUUID(),
    vmId,
    sourceHostId,
    mode: 'live',
    storage: 'shared',
    strategy: 'auto',
    maxDowntimeMs: 300,
    origin: 'manual',
    reason: 'integration test',
    ...over,
  });
}

/** Publishes migration.requested and waits for the scheduler's answer (planned, or failed = refused). */
async function migrate(vmId: string, sourceHostId: string, over: Partial<MigrationRequested> = {}) {
  const e = migrationRequest(vmId, sourceHostId, over);
  await client.publish(Subjects.MigrationRequested, e);
  const answer = await until(`answer to migration ${e.migrationId}`, () => planned.find((p) => p.migrationId === e.migrationId) || migrationFailed.find((f) => f.migrationId === e.migrationId));
  return { request: e, planned: 'memoryMiB' in answer ? (answer as Planned) : null, refused: 'vmHostId' in answer ? (answer as MigrationFailed) : null };
}

/** Plays the migrator: the migration ended with the VM on the target. */
const completed = (p: Planned) => bed.migrationCompleted(p, { downtimeMs: 40 });

/** Plays the migrator: the migration failed (or was cancelled) with the VM on `vmHostId`. */
function failedMigration(p: Planned, vmHostId: string, cancelled = false) {
  return client.publish(Subjects.MigrationFailed, {
    migrationId: p.migrationId,
    vmId: p.vmId,
    sourceHostId: p.sourceHostId,
    targetHostId: p.targetHostId,
    reason: cancelled ? 'cancelled by the user' : 'unable to connect to the destination libvirtd',
    vmHostId,
    ...(cancelled ? { cancelled: true } : {}),
  });
}

const hostRow = (id: string) => bed.hostRow(id);

async function memoryByHost(): Promise<Record<string, number>> {
  const r = await pg.query(`SELECT id, allocated_memory_mib FROM scheduler.hosts`);
  return Object.fromEntries(r.rows.map((x) => [x.id, x.allocated_memory_mib]));
}

const claimOf = (vmId: string) => bed.claimOf(vmId);
const holdOf = (migrationId: string) => bed.holdOf(migrationId);

async function openHoldsOf(vmId: string) {
  return (await pg.query(`SELECT * FROM scheduler.migration_holds WHERE vm_id = $1 AND settled_at IS NULL`, [vmId])).rows;
}

/**
 * Per host: allocation (and its preemptible part, and the VM count) equals the sum of the active claims on it
 * plus the open migration holds targeting it, and stays within total × ratio.
 */
const assertHostsMatchClaimsAndHolds = () => bed.assertAllocationsMatchClaims({ holds: true, equal: ['vcpus', 'mem', 'disk', 'preemptibleMem', 'vms'] });

beforeAll(async () => {
  bed = await startSchedulerTestBed({ database: 'mc_test_migration_holds', busName: 'migration-holds-test' });
  ({ pg, client } = bed);
  scheduled = bed.collect(Subjects.VmScheduled);
  planned = bed.collect(Subjects.MigrationPlanned);
  migrationFailed = bed.collect(Subjects.MigrationFailed);
  // The first replica runs the migrations (schema); the second starts against the migrated schema.
  await bed.startApp();
  await bed.startApp();
});

afterAll(async () => {
  await bed?.stop();
});

describe('migration holds (two scheduler replicas)', () => {
  let vm: string;

  it('registers three equal hosts', async () => {
    for (const id of HOSTS) await bed.registerHost(id, NAMES[id], 4, 8192, 100);
    for (const id of HOSTS) await until(NAMES[id], () => hostRow(id));
    await assertHostsMatchClaimsAndHolds();
  });

  it('holds capacity on the target until the migration completes, then frees the source and moves the claim', async () => {
    const placed = await place();
    vm = placed.vmId;
    const source = placed.hostId;

    const { request, planned: p } = await migrate(vm, source);
    expect(p).not.toBeNull();
    expect(p!.targetHostId).not.toBe(source);
    expect(p).toMatchObject({ vmId: vm, sourceHostId: source, mode: 'live', storage: 'shared', strategy: 'auto', maxDowntimeMs: 300, origin: 'manual', memoryMiB: 2048, vcpus: 1 });
    expect(p!.reason).toMatch(/^round-robin: host host-[abc] /);
    const target = p!.targetHostId;

    // The VM holds capacity on both hosts; the third host is untouched.
    const during = await memoryByHost();
    expect(during[source]).toBe(2048);
    expect(during[target]).toBe(2048);
    expect(during[HOSTS.find((h) => h !== source && h !== target)!]).toBe(0);
    expect(await holdOf(request.migrationId)).toMatchObject({ vm_id: vm, source_host_id: source, target_host_id: target, memory_mib: 2048, vcpus: 1, disk_gib: 10, settled_at: null, outcome: null });
    expect((await claimOf(vm)).host_id).toBe(source);
    await assertHostsMatchClaimsAndHolds();

    await completed(p!);
    await until('claim moved to the target', async () => (await claimOf(vm)).host_id === target);
    const after = await memoryByHost();
    expect(after[source]).toBe(0);
    expect(after[target]).toBe(2048);
    expect((await hostRow(source)).active_vms).toBe(0);
    expect((await hostRow(target)).active_vms).toBe(1);
    expect(await holdOf(request.migrationId)).toMatchObject({ outcome: 'completed' });
    expect((await holdOf(request.migrationId)).settled_at).not.toBeNull();
    expect((await claimOf(vm)).released_at).toBeNull();

    // The migrator's event delivered again (another event id): nothing is freed twice.
    await completed(p!);
    await sleep(500);
    expect(await memoryByHost()).toEqual(after);
    await assertHostsMatchClaimsAndHolds();
  });

  it('refuses an explicit target that lacks memory, naming the filter, and holds nothing', async () => {
    const at = (await claimOf(vm)).host_id as string;
    const mem = await memoryByHost();
    const full = HOSTS.find((h) => h !== at && mem[h] === 0)!;
    // 7 GiB on the chosen target leaves 1 GiB there: too little for the VM's 2 GiB.
    const filler = await place({ targetHostId: full, resources: { vcpus: 1, memoryMiB: 7168, diskGiB: 10 } });
    expect(filler.hostId).toBe(full);
    const before = await memoryByHost();

    const { request, refused } = await migrate(vm, at, { targetHostId: full });
    expect(refused).toMatchObject({ vmId: vm, sourceHostId: at, targetHostId: full, vmHostId: at });
    expect(refused!.reason).toBe(`target ${NAMES[full]} (${full}) lacked memory (need 2048 MiB, free 1024 MiB)`);
    expect(await holdOf(request.migrationId)).toBeUndefined();
    expect(await memoryByHost()).toEqual(before);
    expect((await claimOf(vm)).host_id).toBe(at);
    await assertHostsMatchClaimsAndHolds();

    // Clean up: the filler goes away.
    await client.publish(Subjects.VmDeleted, { vmId: filler.vmId, hostId: full, generation: 5 });
    await until('filler released', async () => (await memoryByHost())[full] === 0);
  });

  it('gives the target back when the migration fails or is cancelled; a VM that ended on the target counts as completed', async () => {
    let at = (await claimOf(vm)).host_id as string;

    const failed = (await migrate(vm, at)).planned!;
    expect((await memoryByHost())[failed.targetHostId]).toBe(2048);
    await failedMigration(failed, at);
    await until('hold failed', async () => (await holdOf(failed.migrationId)).outcome === 'failed');
    expect((await memoryByHost())[failed.targetHostId]).toBe(0);
    expect((await memoryByHost())[at]).toBe(2048);
    expect((await claimOf(vm)).host_id).toBe(at);
    await assertHostsMatchClaimsAndHolds();

    const cancelled = (await migrate(vm, at)).planned!;
    expect((await memoryByHost())[cancelled.targetHostId]).toBe(2048);
    await failedMigration(cancelled, at, true);
    await until('hold cancelled', async () => (await holdOf(cancelled.migrationId)).outcome === 'cancelled');
    expect((await memoryByHost())[cancelled.targetHostId]).toBe(0);
    expect((await claimOf(vm)).host_id).toBe(at);
    await assertHostsMatchClaimsAndHolds();

    // The migrator reports a failure, but the VM runs on the target (it failed after the switch-over).
    const landed = (await migrate(vm, at)).planned!;
    await failedMigration(landed, landed.targetHostId);
    await until('hold settled as completed', async () => (await holdOf(landed.migrationId)).outcome === 'completed');
    expect((await claimOf(vm)).host_id).toBe(landed.targetHostId);
    expect((await memoryByHost())[at]).toBe(0);
    expect((await memoryByHost())[landed.targetHostId]).toBe(2048);
    at = landed.targetHostId;
    await assertHostsMatchClaimsAndHolds();
  });

  it('refuses a second migration while one is open; a redelivered request is answered again and holds nothing twice', async () => {
    const at = (await claimOf(vm)).host_id as string;
    const first = await migrate(vm, at);
    const p = first.planned!;
    const held = await memoryByHost();

    const second = await migrate(vm, at);
    expect(second.planned).toBeNull();
    expect(second.refused).toMatchObject({ vmId: vm, vmHostId: at, reason: `VM ${vm} is already migrating (migration ${p.migrationId})` });

    // The same migration.requested (same event id, same migration id) delivered again, to either replica.
    const nPlanned = planned.filter((x) => x.migrationId === p.migrationId).length;
    await client.publishRaw(Subjects.MigrationRequested, JSON.stringify(first.request), randomUUID());
    await client.publishRaw(Subjects.MigrationRequested, JSON.stringify(first.request), randomUUID());
    await until('planned republished twice', () => planned.filter((x) => x.migrationId === p.migrationId).length >= nPlanned + 2);
    for (const again of planned.filter((x) => x.migrationId === p.migrationId)) {
      expect(again).toMatchObject({ eventId: p.eventId, targetHostId: p.targetHostId, reason: p.reason });
    }
    // The refused one delivered again is refused the same way (not planned now that it is seen a second time).
    const nRefused = migrationFailed.filter((x) => x.migrationId === second.request.migrationId).length;
    await client.publishRaw(Subjects.MigrationRequested, JSON.stringify(second.request), randomUUID());
    await until('refusal republished', () => migrationFailed.filter((x) => x.migrationId === second.request.migrationId).length > nRefused);
    expect(migrationFailed.filter((x) => x.migrationId === second.request.migrationId).at(-1)).toMatchObject({ eventId: second.refused!.eventId, reason: second.refused!.reason });
    expect(planned.find((x) => x.migrationId === second.request.migrationId)).toBeUndefined();

    expect(await openHoldsOf(vm)).toHaveLength(1);
    expect((await pg.query(`SELECT count(*)::int AS n FROM scheduler.migration_holds WHERE migration_id = $1`, [p.migrationId])).rows[0].n).toBe(1);
    expect(await memoryByHost()).toEqual(held);
    await assertHostsMatchClaimsAndHolds();

    await completed(p);
    await until('claim moved', async () => (await claimOf(vm)).host_id === p.targetHostId);
    await assertHostsMatchClaimsAndHolds();
  });

  it('refuses a VM that is not placed, a wrong source, and the source as target', async () => {
    const at = (await claimOf(vm)).host_id as string;
    const other = HOSTS.find((h) => h !== at)!;
    const ghost = randomUUID();
    const none = await migrate(ghost, HOST_A);
    expect(none.refused).toMatchObject({ vmHostId: HOST_A, reason: `VM ${ghost} is not placed (no active claim in the scheduler)` });

    const wrong = await migrate(vm, other);
    expect(wrong.refused).toMatchObject({ vmHostId: at, reason: `VM ${vm} runs on host ${at} according to the scheduler, not on the requested source ${other}` });

    const same = await migrate(vm, at, { targetHostId: at });
    expect(same.refused).toMatchObject({ vmHostId: at, reason: `target host ${at} is the VM's source host` });
    expect(await openHoldsOf(vm)).toHaveLength(0);
    await assertHostsMatchClaimsAndHolds();
  });

  it('anti-affinity: never plans a member onto a host where another member runs or is migrating to', async () => {
    const group = { name: 'ha-web', policy: 'anti-affinity' as const };
    const small = { vcpus: 1, memoryMiB: 1024, diskGiB: 5 };
    const g1 = await place({ group, resources: small, targetHostId: HOST_A });
    const g2 = await place({ group, resources: small, targetHostId: HOST_B });
    expect([g1.hostId, g2.hostId]).toEqual([HOST_A, HOST_B]);

    // g1 can only go to C (B runs g2).
    const m1 = (await migrate(g1.vmId, HOST_A)).planned!;
    expect(m1.targetHostId).toBe(HOST_C);

    // g2: A runs g1 and C receives g1: no host is left, whatever the planner would like.
    const m2 = await migrate(g2.vmId, HOST_B);
    expect(m2.planned).toBeNull();
    expect(m2.refused!.vmHostId).toBe(HOST_B);
    expect(m2.refused!.reason).toBe(`no target host for VM ${g2.vmId} (source host-b excluded): no valid host among 2 hosts: 2 already run a member of group ha-web (anti-affinity)`);
    const toC = await migrate(g2.vmId, HOST_B, { targetHostId: HOST_C });
    expect(toC.refused!.reason).toBe(`target host-c (${HOST_C}) already runs a member of group ha-web (anti-affinity)`);
    await assertHostsMatchClaimsAndHolds();

    // Once g1 has moved to C, A is free of members: g2 goes there.
    await completed(m1);
    await until('g1 on C', async () => (await claimOf(g1.vmId)).host_id === HOST_C);
    const m3 = (await migrate(g2.vmId, HOST_B)).planned!;
    expect(m3.targetHostId).toBe(HOST_A);
    await completed(m3);
    await until('g2 on A', async () => (await claimOf(g2.vmId)).host_id === HOST_A);
    await assertHostsMatchClaimsAndHolds();
  });

  it('a VM deleted during its migration frees both hosts; the late end of the migration changes nothing', async () => {
    const at = (await claimOf(vm)).host_id as string;
    const before = await memoryByHost();
    const p = (await migrate(vm, at)).planned!;
    expect((await memoryByHost())[p.targetHostId]).toBe(before[p.targetHostId] + 2048);

    await client.publish(Subjects.VmDeleted, { vmId: vm, hostId: at, generation: 20 });
    await until('hold settled by the deletion', async () => (await holdOf(p.migrationId)).outcome === 'vm-deleted');
    const after = await memoryByHost();
    expect(after[at]).toBe(before[at] - 2048);
    expect(after[p.targetHostId]).toBe(before[p.targetHostId]);
    expect((await claimOf(vm)).released_at).not.toBeNull();

    await completed(p);
    await sleep(500);
    expect(await memoryByHost()).toEqual(after);
    expect((await holdOf(p.migrationId)).outcome).toBe('vm-deleted');
    await assertHostsMatchClaimsAndHolds();
  });
});
