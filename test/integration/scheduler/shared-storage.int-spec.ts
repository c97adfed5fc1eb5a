/**
 * Shared storage in the scheduler, against real Postgres and a private nats-server: hosts report whether they mount
 * the shared datastore (host.registered facts.sharedStorage); a VM with `storage: shared` is only placed on such
 * hosts (and vm.scheduled carries its storage to the provisioner); its migrations only target such hosts and are
 * planned with storage `shared` whatever an internal requester (here the planner's `copy`) asked for.
 */
import { randomUUID } from 'crypto';
import { Bus } from '@minicloud/messaging';
import { EventOf, makeEvent, Subjects } from '@minicloud/contracts';
import { pollUntil, SchedulerTestBed, startSchedulerTestBed, vmRequest } from './support';

jest.setTimeout(120_000);

const SHARED_A = '00000000-0000-4000-8000-0000000005a1';
const SHARED_B = '00000000-0000-4000-8000-0000000005b1';
const LOCAL_C = '00000000-0000-4000-8000-0000000005c1';
const until = pollUntil(20_000, 50);

let bed: SchedulerTestBed;
let client: Bus;
let scheduled: EventOf<typeof Subjects.VmScheduled>[];
let failed: EventOf<typeof Subjects.VmScheduleFailed>[];
let planned: EventOf<typeof Subjects.MigrationPlanned>[];
let migrationFailed: EventOf<typeof Subjects.MigrationFailed>[];

beforeAll(async () => {
  bed = await startSchedulerTestBed({ database: 'mc_test_shared_storage', busName: 'shared-storage-test' });
  client = bed.client;
  scheduled = bed.collect(Subjects.VmScheduled);
  failed = bed.collect(Subjects.VmScheduleFailed);
  planned = bed.collect(Subjects.MigrationPlanned);
  migrationFailed = bed.collect(Subjects.MigrationFailed);
  await bed.startApp({ SCHEDULER_POLICY: 'spread' });
});

afterAll(async () => {
  await bed?.stop();
});

const withDatastore = (id: string, name: string, shared: boolean) =>
  client.publish(Subjects.HostRegistered, {
    hostId: id,
    name,
    address: '10.254.7.10',
    sshPort: 22,
    sshUser: 'minicloud',
    state: 'up',
    facts: { cpus: 8, cpuModel: 'qemu64', memoryMiB: 16384, diskGiB: 200, arch: 'x86_64', hypervisorVersion: '7.2.0', libvirtVersion: '9.0.0', sharedStorage: shared },
  });

async function place(over: Parameters<typeof vmRequest>[0] = {}) {
  const e = vmRequest(over);
  await client.publish(Subjects.VmRequested, e);
  return until(`decision for ${e.vmId}`, () => scheduled.find((x) => x.vmId === e.vmId) || failed.find((x) => x.vmId === e.vmId));
}

async function migrate(vmId: string, sourceHostId: string, over: Partial<EventOf<typeof Subjects.MigrationRequested>> = {}) {
  const e = makeEvent(Subjects.MigrationRequested, {
    migrationId: randomUUID(), vmId, sourceHostId, mode: 'live', storage: 'copy', strategy: 'auto', origin: 'planner', reason: 'integration test', ...over,
  });
  await client.publish(Subjects.MigrationRequested, e);
  return until(`answer to ${e.migrationId}`, () => planned.find((p) => p.migrationId === e.migrationId) || migrationFailed.find((f) => f.migrationId === e.migrationId));
}

describe('shared storage in the scheduler', () => {
  it('stores which hosts mount the shared datastore', async () => {
    await withDatastore(SHARED_A, 'shared-a', true);
    await withDatastore(SHARED_B, 'shared-b', true);
    await withDatastore(LOCAL_C, 'local-c', false);
    for (const id of [SHARED_A, SHARED_B, LOCAL_C]) await until(id, () => bed.hostRow(id));
    expect((await bed.hostRow(SHARED_A)).shared_storage).toBe(true);
    expect((await bed.hostRow(LOCAL_C)).shared_storage).toBe(false);
  });

  it('places shared VMs only on hosts with the datastore and tells the provisioner their storage; local VMs anywhere', async () => {
    const hostsOfShared = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const s = await place({ storage: 'shared' });
      expect(s).toHaveProperty('hostId');
      const d = s as EventOf<typeof Subjects.VmScheduled>;
      expect(d.storage).toBe('shared');
      hostsOfShared.add(d.hostId);
    }
    expect([...hostsOfShared].sort()).toEqual([SHARED_A, SHARED_B].sort());
    const local = (await place({ targetHostId: LOCAL_C })) as EventOf<typeof Subjects.VmScheduled>;
    expect(local.hostId).toBe(LOCAL_C);
    expect(local.storage).toBeUndefined();
  });

  it('refuses a shared VM asked for a host without the datastore, naming the filter', async () => {
    const f = (await place({ storage: 'shared', targetHostId: LOCAL_C })) as EventOf<typeof Subjects.VmScheduleFailed>;
    expect(f.removedByFilter).toMatchObject({ 'shared-storage': 1 });
    expect(f.reason).toMatch(/had no shared datastore/);
  });

  it('moves a shared VM only to a host with the datastore, planned with storage shared even when copy was asked', async () => {
    const s = (await place({ storage: 'shared' })) as EventOf<typeof Subjects.VmScheduled>;
    const other = s.hostId === SHARED_A ? SHARED_B : SHARED_A;
    const p = (await migrate(s.vmId, s.hostId)) as EventOf<typeof Subjects.MigrationPlanned>;
    expect(p).toMatchObject({ vmId: s.vmId, targetHostId: other, storage: 'shared', origin: 'planner' });

    const s2 = (await place({ storage: 'shared' })) as EventOf<typeof Subjects.VmScheduled>;
    const refused = (await migrate(s2.vmId, s2.hostId, { targetHostId: LOCAL_C, origin: 'manual', storage: 'shared' })) as EventOf<typeof Subjects.MigrationFailed>;
    expect(refused.vmHostId).toBe(s2.hostId);
    expect(refused.reason).toMatch(/target local-c .*had no shared datastore/);
  });
});
