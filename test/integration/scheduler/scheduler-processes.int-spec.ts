/**
 * The scheduler as three separate PROCESSES (dist/, built by `npm run build`; built here if missing) against
 * real Postgres and a private nats-server: a concurrent burst larger than the cluster, the pending queue and
 * its aging, preemption on a full host, and an advance reservation.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { existsSync } from 'fs';
import { join } from 'path';
import { Client } from 'pg';
import { Bus } from '@minicloud/messaging';
import { EventOf, QueueView, ReservationView, Rpc, Subjects } from '@minicloud/contracts';
import { freePort, waitForPort } from '../../support/nats-server';
import { pollUntil, SchedulerTestBed, startSchedulerTestBed, VmRequestOverrides, vmRequest as baseVmRequest } from './support';

type Scheduled = EventOf<typeof Subjects.VmScheduled>;
type Failed = EventOf<typeof Subjects.VmScheduleFailed>;
type Queued = EventOf<typeof Subjects.VmQueued>;
type Preempt = EventOf<typeof Subjects.VmPreemptRequested>;

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..', '..');
// SCHEDULER_TEST_BUILD=bench: the scheduler of the benchmark's private build (bash bench/scheduler/run.sh --build-only
// or `npx tsc -p bench/scheduler/tsconfig.json`), to test a change without rebuilding the shared dist/.
const PRIVATE = process.env.SCHEDULER_TEST_BUILD === 'bench';
const MAIN = PRIVATE ? join(ROOT, 'dist', '.bench-scheduler', 'apps', 'scheduler', 'src', 'main.js') : join(ROOT, 'dist', 'apps', 'scheduler', 'src', 'main.js');
const PATHS = PRIVATE ? './bench/scheduler/register-paths.js' : './tools/register-paths.js';

let bed: SchedulerTestBed;
let pg: Client;
let client: Bus;
const procs: { proc: ChildProcess; out: string[] }[] = [];
let scheduled: Scheduled[];
let failed: Failed[];
let queued: Queued[];
let preempts: Preempt[];
const hostId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const until = pollUntil(30_000, 100);

const vmRequest = (over: VmRequestOverrides = {}) => baseVmRequest({ resources: { vcpus: 1, memoryMiB: 1024, diskGiB: 1 }, ...over });

const decided = (vmId: string) => scheduled.find((s) => s.vmId === vmId) ?? failed.find((f) => f.vmId === vmId) ?? queued.find((q) => q.vmId === vmId);

/** Per host: allocated memory equals the sum of its active claims; memory and vCPUs stay within total × ratio. */
const assertNoHostOverCapacity = () => bed.assertAllocationsMatchClaims({ equal: ['mem'], withinCapacity: ['mem', 'vcpus'] });

const queue = () => client.request<QueueView>(Rpc.SchedulerQueue, { limit: 1000 });

beforeAll(async () => {
  if (!existsSync(MAIN)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  bed = await startSchedulerTestBed({ database: 'mc_test_sched_procs', busName: 'scheduler-procs-test' });
  ({ pg, client } = bed);
  scheduled = bed.collect(Subjects.VmScheduled);
  failed = bed.collect(Subjects.VmScheduleFailed);
  queued = bed.collect(Subjects.VmQueued);
  preempts = bed.collect(Subjects.VmPreemptRequested);
  const start = async () => {
    const port = await freePort();
    const out: string[] = [];
    const proc = spawn(process.execPath, ['-r', PATHS, MAIN], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        ...bed.schedulerEnv,
        SCHEDULER_POLICY: 'spread',
        SCHEDULER_QUEUE_MAX_WAIT_S: '600',
        SCHEDULER_AGING_STEP_S: '2',
        SCHEDULER_TICK_MS: '250',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d) => out.push(String(d)));
    proc.stderr!.on('data', (d) => out.push(String(d)));
    procs.push({ proc, out });
    await waitForPort(port, 60_000);
  };
  // The first process runs the migrations; the other two start together.
  await start();
  await Promise.all([start(), start()]);
});

afterAll(async () => {
  if (process.env.SCHEDULER_TEST_LOGS) procs.forEach((p, i) => require('fs').writeFileSync(`/tmp/scheduler-proc-${i}.log`, p.out.join('')));
  await Promise.all(
    procs.map(
      ({ proc }) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
          setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  await bed?.stop();
});

describe('scheduler: three processes', () => {
  const burst = Array.from({ length: 200 }, () => vmRequest());

  it('places exactly 150 of 200 concurrent requests on a cluster that fits 150; 50 wait in the queue with a reason', async () => {
    // 5 hosts × 30 GiB: 150 VMs of 1 GiB (memory binds: 8 cores × 4.0 = 32 vCPUs each).
    for (let i = 1; i <= 5; i++) await bed.registerHost(hostId(i), `host-${i}`, 8, 30 * 1024, 500);
    await until('5 hosts', async () => (await pg.query(`SELECT count(*)::int AS n FROM scheduler.hosts`)).rows[0].n === 5);
    await Promise.all(burst.map((e) => client.publish(Subjects.VmRequested, e)));
    await until('200 decisions', () => burst.every((e) => decided(e.vmId)), 60_000);
    await new Promise((r) => setTimeout(r, 1000)); // nothing more may be placed

    const ids = new Set(burst.map((e) => e.vmId));
    const placed = new Set(scheduled.filter((s) => ids.has(s.vmId)).map((s) => s.vmId));
    const waiting = queued.filter((q) => ids.has(q.vmId));
    expect(placed.size).toBe(150);
    expect(waiting).toHaveLength(50);
    expect(failed.filter((f) => ids.has(f.vmId))).toEqual([]);
    for (const q of waiting) {
      expect(placed.has(q.vmId)).toBe(false);
      expect(q.reason).toBe('no valid host among 5 hosts: 5 lacked memory (need 1024 MiB, best free 0 MiB)');
      expect(q.removedByFilter).toEqual({ memory: 5 });
      expect(q.priority).toBe(4);
    }
    const perHost = await pg.query(`SELECT host_id, count(*)::int AS n FROM scheduler.claims WHERE released_at IS NULL GROUP BY host_id`);
    expect(perHost.rows.map((r) => r.n).sort()).toEqual([30, 30, 30, 30, 30]);
    await assertNoHostOverCapacity();
    // Nothing lost: every request is either placed or in the queue, and the queue says so over RPC.
    const q = await queue();
    expect(q.total).toBe(50);
    expect(new Set(q.items.map((i) => i.vmId))).toEqual(new Set(waiting.map((w) => w.vmId)));
    // More than one process did the work.
    const busy = procs.filter((p) => p.out.join('').includes('"VM scheduled"')).length;
    expect(busy).toBeGreaterThanOrEqual(2);
  });

  it('ages waiting requests (not starved by newer higher-priority ones) and serves the queue when capacity frees up', async () => {
    // After 3 aging steps (2 s each) the priority-4 requests from the burst rank as priority 1.
    await new Promise((r) => setTimeout(r, 6500));
    const late = vmRequest({ priority: 2 });
    await client.publish(Subjects.VmRequested, late);
    await until('late request queued', () => queued.find((x) => x.vmId === late.vmId));
    const q = await queue();
    expect(q.total).toBe(51);
    const old = q.items.filter((i) => i.vmId !== late.vmId);
    expect(old.every((i) => i.priority === 4 && i.effectivePriority === 1)).toBe(true);
    const lateEntry = q.items.find((i) => i.vmId === late.vmId)!;
    expect(lateEntry.effectivePriority).toBe(2);
    expect(lateEntry.position).toBe(51);

    // Free two slots: two of the aged old requests are placed (the first in queue order among them), not the
    // newer priority-2 request.
    const first = q.items[0].vmId;
    const oldIds = new Set(old.map((i) => i.vmId));
    const before = scheduled.length;
    // Two DISTINCT placed VMs (delivery is at-least-once: a redelivered request republishes its vm.scheduled).
    const burstIds = new Set(burst.map((b) => b.vmId));
    const victims = [...new Map(scheduled.filter((s) => burstIds.has(s.vmId)).map((s) => [s.vmId, s])).values()].slice(0, 2);
    expect(victims).toHaveLength(2);
    for (const v of victims) await client.publish(Subjects.VmDeleted, { vmId: v.vmId, hostId: v.hostId, generation: 5 });
    const placedFromQueue = () => new Set(scheduled.slice(before).filter((s) => oldIds.has(s.vmId)).map((s) => s.vmId));
    await until('two queued requests placed', () => placedFromQueue().size >= 2, 20_000);
    await new Promise((r) => setTimeout(r, 800));
    expect(scheduled.some((s) => s.vmId === first)).toBe(true);
    expect(scheduled.some((s) => s.vmId === late.vmId)).toBe(false);
    expect((await queue()).total).toBe(49);
    await assertNoHostOverCapacity();

    // Deleting queued VMs empties the queue (the rest of this file needs an idle cluster).
    const rest = (await queue()).items.map((i) => i.vmId);
    for (const id of rest) await client.publish(Subjects.VmDeleted, { vmId: id, generation: 1 });
    await until('queue empty', async () => (await queue()).total === 0, 20_000);
  });

  it('a priority-1 request preempts lower-priority preemptible VMs on a full host; priority 3 waits instead', async () => {
    const P = hostId(100);
    await bed.registerHost(P, 'host-p', 2, 4096, 100);
    await until('host-p', async () => (await pg.query(`SELECT 1 FROM scheduler.hosts WHERE id = $1`, [P])).rowCount === 1);
    const fill = [4, 3, 4, 4].map((priority) => vmRequest({ targetHostId: P, preemptible: true, priority }));
    for (const e of fill) {
      await client.publish(Subjects.VmRequested, e);
      await until('filler placed', () => scheduled.find((s) => s.vmId === e.vmId));
    }
    const p3 = vmRequest({ targetHostId: P, priority: 3, resources: { vcpus: 1, memoryMiB: 2048, diskGiB: 1 } });
    await client.publish(Subjects.VmRequested, p3);
    const q3 = await until('priority-3 queued', () => queued.find((x) => x.vmId === p3.vmId));
    expect(q3.reason).toContain('lacked memory');
    expect(preempts).toHaveLength(0);

    const p1 = vmRequest({ targetHostId: P, priority: 1, resources: { vcpus: 1, memoryMiB: 2048, diskGiB: 1 } });
    await client.publish(Subjects.VmRequested, p1);
    const s1 = await until('priority-1 placed', () => scheduled.find((x) => x.vmId === p1.vmId));
    expect(s1.hostId).toBe(P);
    expect(s1.reason).toMatch(/^priority 1: no host had room; preempted 2 preemptible VM\(s\)/);
    await until('2 preemption events', () => preempts.length >= 2);
    // Lowest priority first, newest first: the last two priority-4 fillers; the priority-3 one survives.
    expect(new Set(preempts.map((p) => p.vmId))).toEqual(new Set([fill[3].vmId, fill[2].vmId]));
    for (const p of preempts) {
      expect(p).toMatchObject({ hostId: P, preemptedByVmId: p1.vmId });
      expect(['stop', 'migrate']).toContain(p.action);
      if (p.action === 'migrate') expect(p.targetHostId).not.toBe(P);
    }
    const rec = await pg.query(`SELECT vm_id, action FROM scheduler.preemptions WHERE preempted_by_vm_id = $1`, [p1.vmId]);
    expect(rec.rowCount).toBe(2);
    expect((await pg.query(`SELECT allocated_memory_mib FROM scheduler.hosts WHERE id = $1`, [P])).rows[0].allocated_memory_mib).toBe(4096);
    await assertNoHostOverCapacity();
    // The priority-3 request is still waiting (it may not preempt).
    expect((await queue()).items.map((i) => i.vmId)).toContain(p3.vmId);
    await client.publish(Subjects.VmDeleted, { vmId: p3.vmId, generation: 1 });
  });

  it('a reservation holds capacity against best-effort VMs and admits its own VMs in its window', async () => {
    const R = hostId(200);
    await bed.registerHost(R, 'host-r', 4, 4096, 100);
    await until('host-r', async () => (await pg.query(`SELECT 1 FROM scheduler.hosts WHERE id = $1`, [R])).rowCount === 1);
    const start = new Date(Date.now() + 5000);
    const end = new Date(Date.now() + 120_000);
    const res = await client.request<ReservationView>(Rpc.ReservationCreate, {
      name: 'night-batch',
      start: start.toISOString(),
      end: end.toISOString(),
      count: 2,
      flavor: { vcpus: 1, memoryMiB: 1024, diskGiB: 1 },
    });
    expect(res).toMatchObject({ state: 'accepted', count: 2, hosts: [{ hostId: R, slots: 2, used: 0 }] });
    // The cluster cannot guarantee more than what is left.
    await expect(
      client.request(Rpc.ReservationCreate, { name: 'too-big', start: start.toISOString(), end: end.toISOString(), count: 10, flavor: { vcpus: 1, memoryMiB: 1024, diskGiB: 1 } }),
    ).rejects.toMatchObject({ status: 409 });

    // A best-effort, non-preemptible VM may not use the held 2 GiB.
    const blocked = vmRequest({ targetHostId: R, resources: { vcpus: 1, memoryMiB: 3072, diskGiB: 1 }, deadline: new Date(Date.now() + 1500).toISOString() });
    await client.publish(Subjects.VmRequested, blocked);
    const f = await until('blocked request fails at its deadline', () => failed.find((x) => x.vmId === blocked.vmId), 20_000);
    expect(f.reason).toMatch(/^deadline passed after waiting \d+ s in the scheduler queue; .*1 lacked memory \(need 3072 MiB, best free 2048 MiB\)/);
    // A preemptible one may, until the window opens.
    const borrower = vmRequest({ targetHostId: R, preemptible: true, resources: { vcpus: 1, memoryMiB: 3072, diskGiB: 1 } });
    await client.publish(Subjects.VmRequested, borrower);
    const b = await until('preemptible borrower placed', () => scheduled.find((x) => x.vmId === borrower.vmId));
    expect(b.hostId).toBe(R);

    // The window opens: the borrower is preempted for the reservation.
    const p = await until('borrower preempted', () => preempts.find((x) => x.vmId === borrower.vmId), 20_000);
    expect(p).toMatchObject({ hostId: R, reservationId: res.id });
    expect((await client.request<ReservationView>(Rpc.ReservationGet, { id: res.id })).state).toBe('active');

    // Its own VMs are placed in the reserved slots.
    const own = [vmRequest({ reservationId: res.id }), vmRequest({ reservationId: res.id })];
    for (const e of own) await client.publish(Subjects.VmRequested, e);
    for (const e of own) {
      const s = await until('reserved VM placed', () => scheduled.find((x) => x.vmId === e.vmId));
      expect(s.hostId).toBe(R);
      expect(s.reason).toMatch(/^reservation night-batch/);
    }
    const after = await client.request<ReservationView>(Rpc.ReservationGet, { id: res.id });
    expect(after.hosts).toEqual([{ hostId: R, slots: 2, used: 2 }]);
    await assertNoHostOverCapacity();

    const cancelled = await client.request<ReservationView>(Rpc.ReservationCancel, { id: res.id });
    expect(cancelled.state).toBe('cancelled');
    const list = await client.request<ReservationView[]>(Rpc.ReservationList, {});
    expect(list.map((r) => [r.id, r.state])).toEqual([[res.id, 'cancelled']]);
    const row = (await pg.query(`SELECT reserved_memory_mib FROM scheduler.hosts WHERE id = $1`, [R])).rows[0];
    expect(row.reserved_memory_mib).toBe(0);
  });
});
