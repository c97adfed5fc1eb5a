/**
 * The scheduler against real Postgres and a private nats-server: three scheduler app instances (replicas)
 * share the durable consumers, a burst of concurrent requests where only some fit, redeliveries, releases.
 */
import { randomUUID } from 'crypto';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { Bus } from '@minicloud/messaging';
import { EventOf, makeEvent, Subjects } from '@minicloud/contracts';
import { SchedulingService } from '../../../apps/scheduler/src/services/scheduling.service';
import { hostRegistration, image, pollUntil, SchedulerTestBed, startSchedulerTestBed, VmRequestOverrides, vmRequest as baseVmRequest } from './support';

type Scheduled = EventOf<typeof Subjects.VmScheduled>;
type Failed = EventOf<typeof Subjects.VmScheduleFailed>;

jest.setTimeout(120_000);

let bed: SchedulerTestBed;
let pg: Client;
let client: Bus;
let scheduled: Scheduled[];
let failed: Failed[];
const handledBy: number[] = [];

const HOST_A = '00000000-0000-4000-8000-00000000000a';
const HOST_B = '00000000-0000-4000-8000-00000000000b';

async function startScheduler(i: number): Promise<INestApplication> {
  const app = await bed.startApp();
  // Count which replica handled each request (the consumer calls the service through this instance).
  const svc = app.get(SchedulingService);
  const orig = svc.handleVmRequested.bind(svc);
  svc.handleVmRequested = async (e) => {
    handledBy.push(i);
    return orig(e);
  };
  return app;
}

const until = pollUntil(20_000, 50);

const vmRequest = (over: VmRequestOverrides = {}) =>
  baseVmRequest({ sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest test@minicloud'], userData: '#cloud-config\n{}', ...over });

const hostRow = (id: string) => bed.hostRow(id);
const claimsOf = (vmId: string) => bed.claimsOf(vmId);

/** VM ids with an active claim on the host, oldest first. */
async function activeClaimsOn(hostId: string): Promise<string[]> {
  const r = await pg.query(`SELECT vm_id FROM scheduler.claims WHERE host_id = $1 AND released_at IS NULL ORDER BY created_at, vm_id`, [hostId]);
  return r.rows.map((x) => x.vm_id);
}

/** Per host: allocation (vCPUs, memory, disk) equals the sum of its active claims and stays within total × ratio. */
const assertConsistentAndWithinCapacity = () => bed.assertAllocationsMatchClaims();

beforeAll(async () => {
  bed = await startSchedulerTestBed({ database: 'mc_test_scheduler', busName: 'scheduler-test' });
  ({ pg, client } = bed);
  scheduled = bed.collect(Subjects.VmScheduled);
  failed = bed.collect(Subjects.VmScheduleFailed);
  // The first replica runs the migration; the other two start together against the migrated schema.
  // (This file checks immediate answers: startApp sets no waiting in the queue.)
  await startScheduler(0);
  await Promise.all([startScheduler(1), startScheduler(2)]);
});

afterAll(async () => {
  await bed?.stop();
});

describe('scheduler with three replicas', () => {
  it('stores registered hosts with the default allocation ratios', async () => {
    // A: 4 cores (16 vCPUs at 4.0), 8 GiB, 100 GiB; B: 2 cores, 4 GiB, 50 GiB. Memory is the binding resource.
    await bed.registerHost(HOST_A, 'host-a', 4, 8192, 100);
    await bed.registerHost(HOST_B, 'host-b', 2, 4096, 50);
    const a = await until('host-a', () => hostRow(HOST_A));
    await until('host-b', () => hostRow(HOST_B));
    expect(a).toMatchObject({ name: 'host-a', state: 'up', total_vcpus: 4, total_memory_mib: 8192, total_disk_gib: 100, cpu_allocation_ratio: 4, ram_allocation_ratio: 1, disk_allocation_ratio: 1, allocated_memory_mib: 0 });
  });

  it('places exactly the VMs that fit out of a concurrent burst, never over capacity', async () => {
    const burst = Array.from({ length: 10 }, () => vmRequest());
    await Promise.all(burst.map((e) => client.publish(Subjects.VmRequested, e)));
    const ids = new Set(burst.map((e) => e.vmId));
    await until('10 decisions', () => scheduled.filter((s) => ids.has(s.vmId)).length + failed.filter((f) => ids.has(f.vmId)).length >= 10);
    await new Promise((r) => setTimeout(r, 300)); // nothing extra may arrive

    const ok = scheduled.filter((s) => ids.has(s.vmId));
    const no = failed.filter((f) => ids.has(f.vmId));
    // 8192/2048 = 4 on A, 4096/2048 = 2 on B.
    expect(ok).toHaveLength(6);
    expect(no).toHaveLength(4);
    expect(new Set(ok.map((s) => s.vmId)).size).toBe(6);
    expect(ok.filter((s) => s.hostId === HOST_A)).toHaveLength(4);
    expect(ok.filter((s) => s.hostId === HOST_B)).toHaveLength(2);
    for (const s of ok) {
      const req = burst.find((e) => e.vmId === s.vmId)!;
      expect(s).toMatchObject({ name: req.name, resources: req.resources, image, sshKeys: req.sshKeys, userData: req.userData, attempt: 1 });
      expect(s.reason).toMatch(/^round-robin: host host-[ab] /);
    }
    for (const f of no) {
      expect(f.reason).toBe('no valid host among 2 hosts: 2 lacked memory (need 2048 MiB, best free 0 MiB)');
      expect(f.removedByFilter).toEqual({ memory: 2 });
    }
    const rows = await assertConsistentAndWithinCapacity();
    expect(rows.find((h) => h.id === HOST_A).allocated_memory_mib).toBe(8192);
    expect(rows.find((h) => h.id === HOST_B).allocated_memory_mib).toBe(4096);
    // The burst really was split between replicas.
    expect(new Set(handledBy).size).toBeGreaterThanOrEqual(2);
  });

  it('republishes the same decision on a redelivered request and never claims twice', async () => {
    const first = scheduled[0];
    const before = await hostRow(first.hostId);
    // The same payload delivered again (a different JetStream msg id, so the stream does not dedupe it).
    const original = vmRequest({ vmId: first.vmId, name: first.name, resources: first.resources });
    const nBefore = scheduled.filter((s) => s.vmId === first.vmId).length;
    await client.publishRaw(Subjects.VmRequested, JSON.stringify(original), randomUUID());
    await until('republished vm.scheduled', () => scheduled.filter((s) => s.vmId === first.vmId).length > nBefore);
    const again = scheduled.filter((s) => s.vmId === first.vmId).at(-1)!;
    expect(again.hostId).toBe(first.hostId);
    expect(again.eventId).toBe(first.eventId);
    expect(await claimsOf(first.vmId)).toHaveLength(1);
    expect((await hostRow(first.hostId)).allocated_memory_mib).toBe(before.allocated_memory_mib);

    const lost = failed[0];
    const nFailed = failed.filter((f) => f.vmId === lost.vmId).length;
    await client.publishRaw(Subjects.VmRequested, JSON.stringify(vmRequest({ vmId: lost.vmId })), randomUUID());
    await until('republished vm.schedule-failed', () => failed.filter((f) => f.vmId === lost.vmId).length > nFailed);
    expect(failed.filter((f) => f.vmId === lost.vmId).at(-1)!.eventId).toBe(lost.eventId);
    expect(await claimsOf(lost.vmId)).toHaveLength(0);
    await assertConsistentAndWithinCapacity();
  });

  it('claims once, and answers consistently, when copies of one request reach several replicas at once', async () => {
    for (let round = 0; round < 3; round++) {
      // Free room for exactly one VM on A (release via a failed build), then race 6 copies of one request.
      const [onA] = await activeClaimsOn(HOST_A);
      await client.publish(Subjects.VmStateChanged, { vmId: onA, state: 'failed', previousState: 'scheduled', reason: 'test', generation: 2 });
      await until('room on A', async () => (await hostRow(HOST_A)).allocated_memory_mib === 6144);
      const req = vmRequest();
      await Promise.all(Array.from({ length: 6 }, () => client.publishRaw(Subjects.VmRequested, JSON.stringify(req), randomUUID())));
      await until('6 answers', () => scheduled.filter((s) => s.vmId === req.vmId).length + failed.filter((f) => f.vmId === req.vmId).length >= 6);
      await new Promise((r) => setTimeout(r, 100));
      expect(failed.filter((f) => f.vmId === req.vmId)).toEqual([]);
      const answers = scheduled.filter((s) => s.vmId === req.vmId);
      expect(answers).toHaveLength(6);
      expect(new Set(answers.map((a) => `${a.hostId}/${a.eventId}`)).size).toBe(1);
      expect(await claimsOf(req.vmId)).toHaveLength(1);
      expect((await hostRow(HOST_A)).allocated_memory_mib).toBe(8192);
      await assertConsistentAndWithinCapacity();
    }
  });

  it('applies a host state change that overtakes the registration, and ignores an older state', async () => {
    const HOST_C = '00000000-0000-4000-8000-00000000000c';
    const registered = makeEvent(Subjects.HostRegistered, hostRegistration(HOST_C, 'host-c', 8, 16384, 200, { address: '10.254.7.12' }));
    const disabled = makeEvent(Subjects.HostStateChanged, { hostId: HOST_C, state: 'disabled', previousState: 'up', reason: 'operator' });
    expect(Date.parse(disabled.occurredAt)).toBeGreaterThanOrEqual(Date.parse(registered.occurredAt));
    // The state change is consumed first: the host is unknown, so it is retried until the registration lands.
    await client.publish(Subjects.HostStateChanged, disabled);
    await new Promise((r) => setTimeout(r, 300));
    expect(await hostRow(HOST_C)).toBeUndefined();
    await client.publish(Subjects.HostRegistered, registered);
    await until('host-c disabled', async () => (await hostRow(HOST_C))?.state === 'disabled', 15_000);
    // An older event (occurred before the stored state) does not move the host back.
    const stale = { ...makeEvent(Subjects.HostStateChanged, { hostId: HOST_C, state: 'up', reason: 'late' }), occurredAt: new Date(Date.parse(disabled.occurredAt) - 60_000).toISOString() };
    await client.publish(Subjects.HostStateChanged, stale);
    await new Promise((r) => setTimeout(r, 500));
    expect((await hostRow(HOST_C)).state).toBe('disabled');
    // Host C must not take part in the rest of the run: it stays disabled.
  });

  it('releases a claim on vm.deleted exactly once, and the freed capacity is placed again', async () => {
    const victim = scheduled.find((s) => s.hostId === HOST_B)!;
    const before = await hostRow(HOST_B);
    await client.publish(Subjects.VmDeleted, { vmId: victim.vmId, hostId: HOST_B, generation: 5 });
    await until('claim released', async () => (await claimsOf(victim.vmId))[0]?.released_at);
    // A second delete event for the same VM (different event id) must not free the capacity again.
    await client.publish(Subjects.VmDeleted, { vmId: victim.vmId, hostId: HOST_B, generation: 6 });
    await new Promise((r) => setTimeout(r, 500));
    expect((await hostRow(HOST_B)).allocated_memory_mib).toBe(before.allocated_memory_mib - 2048);
    await assertConsistentAndWithinCapacity();

    // The freed 2 GiB on B take exactly one new VM.
    const two = [vmRequest(), vmRequest()];
    await Promise.all(two.map((e) => client.publish(Subjects.VmRequested, e)));
    const ids = new Set(two.map((e) => e.vmId));
    await until('2 decisions', () => scheduled.filter((s) => ids.has(s.vmId)).length + failed.filter((f) => ids.has(f.vmId)).length >= 2);
    const placed = scheduled.filter((s) => ids.has(s.vmId));
    expect(placed).toHaveLength(1);
    expect(placed[0].hostId).toBe(HOST_B);
    await assertConsistentAndWithinCapacity();

    // A late request for the deleted VM is not placed again.
    await client.publishRaw(Subjects.VmRequested, JSON.stringify(vmRequest({ vmId: victim.vmId })), randomUUID());
    await new Promise((r) => setTimeout(r, 700));
    expect((await claimsOf(victim.vmId))[0].released_at).not.toBeNull();
    expect(await assertConsistentAndWithinCapacity()).toBeDefined();
  });

  it('releases the claim of a failed build, but not of a VM that failed while running', async () => {
    const [build, running] = await activeClaimsOn(HOST_A);
    const before = (await hostRow(HOST_A)).allocated_memory_mib;
    await client.publish(Subjects.VmStateChanged, { vmId: running, state: 'failed', previousState: 'running', hostId: HOST_A, reason: 'qemu crashed', generation: 4 });
    await client.publish(Subjects.VmStateChanged, { vmId: build, state: 'failed', previousState: 'provisioning', hostId: HOST_A, reason: 'image copy failed', generation: 2 });
    await until('build claim released', async () => (await claimsOf(build))[0]?.released_at);
    await new Promise((r) => setTimeout(r, 300));
    expect((await claimsOf(running))[0].released_at).toBeNull();
    expect((await hostRow(HOST_A)).allocated_memory_mib).toBe(before - 2048);
    await assertConsistentAndWithinCapacity();
  });

  it('skips hosts that are not up, honours a target host, and says why nothing fits', async () => {
    await client.publish(Subjects.HostStateChanged, { hostId: HOST_A, state: 'maintenance', previousState: 'up', reason: 'kernel update' });
    await until('host-a in maintenance', async () => (await hostRow(HOST_A)).state === 'maintenance');

    // A has 2 GiB free but is in maintenance; B is full; C is disabled (previous test).
    const req = vmRequest();
    await client.publish(Subjects.VmRequested, req);
    const f = await until('schedule-failed', () => failed.find((x) => x.vmId === req.vmId));
    expect(f.reason).toBe('no valid host among 3 hosts: 2 were not up (1 disabled, 1 maintenance); 1 lacked memory (need 2048 MiB, best free 0 MiB)');
    expect(f.removedByFilter).toEqual({ state: 2, memory: 1 });

    await client.publish(Subjects.HostStateChanged, { hostId: HOST_A, state: 'up', previousState: 'maintenance', reason: 'done' });
    await until('host-a up', async () => (await hostRow(HOST_A)).state === 'up');
    const targeted = vmRequest({ targetHostId: HOST_B, resources: { vcpus: 1, memoryMiB: 1024, diskGiB: 1 } });
    await client.publish(Subjects.VmRequested, targeted);
    const t = await until('targeted decision', () => failed.find((x) => x.vmId === targeted.vmId) || scheduled.find((x) => x.vmId === targeted.vmId));
    expect(t).toMatchObject({
      reason: `no valid host among 3 hosts: 1 was not up (1 disabled); 1 was not the requested host ${HOST_B}; 1 lacked memory (need 1024 MiB, best free 0 MiB)`,
      removedByFilter: { state: 1, target: 1, memory: 1 },
    });
    const toA = vmRequest({ targetHostId: HOST_A, resources: { vcpus: 1, memoryMiB: 1024, diskGiB: 1 } });
    await client.publish(Subjects.VmRequested, toA);
    const s = await until('targeted placement', () => scheduled.find((x) => x.vmId === toA.vmId));
    expect(s.hostId).toBe(HOST_A);
    await assertConsistentAndWithinCapacity();
  });
});
