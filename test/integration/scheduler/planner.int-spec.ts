/**
 * The migration planner and host maintenance in the scheduler, against real Postgres and a private nats-server,
 * the scheduler in-process (PLANNER_INTERVAL_S small, CPU from vm.metrics as on the lab). This test plays the
 * metrics collector (host.metrics, vm.metrics), the gateway (requests, RPCs) and the migrator (completed).
 * Manual: a recommendation is listed and nothing moves until it is applied (→ migration.requested origin planner
 * → migration.planned). Automatic: a new imbalance is moved by itself. Maintenance: a drained host's 3 VMs are
 * requested away (origin maintenance); once they are gone the host is `maintenance`; liveness does not bring it
 * back; exit → up.
 */
import { randomUUID } from 'crypto';
import { Client } from 'pg';
import { Bus, RpcError } from '@minicloud/messaging';
import { EventOf, HostMaintenanceView, PlannerSettingsView, RecommendationView, Rpc, Subjects } from '@minicloud/contracts';
import { pollUntil, SchedulerTestBed, sleep, startSchedulerTestBed, vmRequest } from './support';

type Scheduled = EventOf<typeof Subjects.VmScheduled>;
type ScheduleFailed = EventOf<typeof Subjects.VmScheduleFailed>;
type Planned = EventOf<typeof Subjects.MigrationPlanned>;
type Requested = EventOf<typeof Subjects.MigrationRequested>;
type HostStateChanged = EventOf<typeof Subjects.HostStateChanged>;

jest.setTimeout(120_000);

let bed: SchedulerTestBed;
let pg: Client;
let client: Bus;
let scheduled: Scheduled[];
let scheduleFailed: ScheduleFailed[];
let requested: Requested[];
let planned: Planned[];
let hostStates: HostStateChanged[];
const completedIds = new Set<string>();

const HOST_A = '00000000-0000-4000-8000-0000000000a1';
const HOST_B = '00000000-0000-4000-8000-0000000000b1';
const HOST_C = '00000000-0000-4000-8000-0000000000c1';
/** The host drained for maintenance: it never reports metrics, so the planner's goals leave it alone. */
const HOST_D = '00000000-0000-4000-8000-0000000000d1';
const NAMES: Record<string, string> = { [HOST_A]: 'host-a', [HOST_B]: 'host-b', [HOST_C]: 'host-c', [HOST_D]: 'host-d' };
const MEASURED = [HOST_A, HOST_B, HOST_C];
/** CPU of each VM as vm.metrics reports it (% of one vCPU). */
const vmCpu = new Map<string, number>();

const until = pollUntil(20_000, 50);

/** Places a VM on `hostId` (vm.requested with targetHostId → vm.scheduled). */
async function place(hostId: string, memoryMiB: number, cpu: number): Promise<string> {
  const e = vmRequest({ resources: { vcpus: 1, memoryMiB, diskGiB: 10 }, targetHostId: hostId });
  await client.publish(Subjects.VmRequested, e);
  const s = await until(`vm.scheduled for ${e.vmId}`, () => scheduled.find((x) => x.vmId === e.vmId));
  expect(s.hostId).toBe(hostId);
  vmCpu.set(e.vmId, cpu);
  return e.vmId;
}

async function vmsOn(hostId: string): Promise<string[]> {
  const r = await pg.query(`SELECT vm_id FROM scheduler.claims WHERE host_id = $1 AND released_at IS NULL ORDER BY vm_id`, [hostId]);
  return r.rows.map((x) => x.vm_id);
}

/** One collection round, as the metrics collector publishes it: host.metrics and vm.metrics of every measured host. */
async function reportMetrics(): Promise<void> {
  for (const hostId of MEASURED) {
    const vms = await vmsOn(hostId);
    await client.publish(Subjects.HostMetrics, { hostId, cpuPercent: 10, memoryUsedPercent: 30, vmCount: vms.length });
    await client.publish(Subjects.VmMetrics, { hostId, vms: vms.map((vmId) => ({ domain: `mc-${vmId}`, vmId, state: 'running', cpuPercent: vmCpu.get(vmId) ?? 0, vcpus: 1 })) });
  }
  // The scheduler has stored this round (the latest vm.metrics of each host).
  await until('vm.metrics stored', async () => {
    const r = await pg.query(`SELECT count(*)::int AS n FROM scheduler.planner_hosts WHERE vm_metrics_at IS NOT NULL`);
    return r.rows[0].n === MEASURED.length;
  });
}

/** Plays the migrator: each planned migration not finished yet ends with the VM on its target. */
async function completeAll(filter: (p: Planned) => boolean = () => true): Promise<void> {
  for (const p of planned.filter((x) => filter(x) && !completedIds.has(x.migrationId))) {
    completedIds.add(p.migrationId);
    await client.publish(Subjects.MigrationCompleted, { migrationId: p.migrationId, vmId: p.vmId, sourceHostId: p.sourceHostId, targetHostId: p.targetHostId, strategy: 'precopy', totalTimeMs: 1200, downtimeMs: 30 });
    await until(`claim of ${p.vmId} on the target`, async () => (await pg.query(`SELECT host_id FROM scheduler.claims WHERE vm_id = $1`, [p.vmId])).rows[0].host_id === p.targetHostId);
  }
}

const rpc = <T>(subject: (typeof Rpc)[keyof typeof Rpc], body: object) => client.request<T>(subject, body, 10_000);
const list = (state?: string) => rpc<RecommendationView[]>(Rpc.RecommendationList, state ? { state } : {});

beforeAll(async () => {
  bed = await startSchedulerTestBed({ database: 'mc_test_planner', busName: 'planner-test' });
  ({ pg, client } = bed);
  scheduled = bed.collect(Subjects.VmScheduled);
  scheduleFailed = bed.collect(Subjects.VmScheduleFailed);
  requested = bed.collect(Subjects.MigrationRequested);
  planned = bed.collect(Subjects.MigrationPlanned);
  hostStates = bed.collect(Subjects.HostStateChanged);
  await bed.startApp({ PLANNER_INTERVAL_S: '0.3', PLANNER_CPU_SOURCE: 'vms', PLANNER_AUTOMATION: undefined });
});

afterAll(async () => {
  await bed?.stop();
});

describe('the migration planner and host maintenance', () => {
  const hostA: string[] = [];
  const hostD: string[] = [];
  let first: RecommendationView;

  it('starts in manual mode with the configured settings', async () => {
    for (const id of [...MEASURED, HOST_D]) await bed.registerHost(id, NAMES[id], 4, 8192, 100);
    for (const id of [...MEASURED, HOST_D]) await until(NAMES[id], async () => (await pg.query(`SELECT 1 FROM scheduler.hosts WHERE id = $1`, [id])).rowCount);
    const s = await rpc<PlannerSettingsView>(Rpc.PlannerSettingsGet, {});
    expect(s).toEqual({ automation: 'manual', consolidation: false, balanceThreshold: 0.15, hotSpotRounds: 3, cooldownSeconds: 600, intervalSeconds: 0.3 });
  });

  it('manual: recommends moving a VM off the hot host and publishes no migration by itself', async () => {
    hostA.push(await place(HOST_A, 1024, 100), await place(HOST_A, 2048, 100), await place(HOST_A, 1024, 60));
    await place(HOST_B, 1024, 10);
    for (let i = 0; i < 3; i++) hostD.push(await place(HOST_D, 1024, 0));
    await reportMetrics();

    const recs = await until('an open recommendation', async () => {
      const open = await list('open');
      return open.length ? open : null;
    });
    expect(recs).toHaveLength(1);
    first = recs[0];
    expect(first).toMatchObject({ kind: 'balance', sourceHostId: HOST_A, state: 'open', migrationId: null });
    expect(hostA).toContain(first.vmId);
    expect([HOST_B, HOST_C]).toContain(first.targetHostId);
    expect(first.gapBefore).toBeGreaterThan(0.15);
    expect(first.gapAfter).toBeLessThan(first.gapBefore as number);
    expect(first.reason).toMatch(/^balance: host-a scores /);
    // Several rounds later: still the same single open recommendation, and nothing was asked of the migrator.
    await sleep(1500);
    expect((await list('open')).map((r) => r.id)).toEqual([first.id]);
    expect(requested).toEqual([]);
  });

  it('apply: migration.requested (origin planner) then migration.planned to the recommended target', async () => {
    const applied = await rpc<RecommendationView>(Rpc.RecommendationApply, { id: first.id });
    expect(applied).toMatchObject({ id: first.id, state: 'applied' });
    expect(applied.migrationId).toMatch(/^[0-9a-f-]{36}$/);
    const req = await until('migration.requested', () => requested.find((r) => r.migrationId === applied.migrationId));
    expect(req).toMatchObject({ vmId: first.vmId, sourceHostId: HOST_A, targetHostId: first.targetHostId, origin: 'planner', mode: 'live', storage: 'copy', strategy: 'auto' });
    const p = await until('migration.planned', () => planned.find((x) => x.migrationId === applied.migrationId));
    expect(p).toMatchObject({ vmId: first.vmId, sourceHostId: HOST_A, targetHostId: first.targetHostId, origin: 'planner' });

    // Applying again is a conflict; an unknown id is not found.
    await expect(rpc(Rpc.RecommendationApply, { id: first.id })).rejects.toMatchObject({ status: 409 });
    await expect(rpc(Rpc.RecommendationDismiss, { id: first.id })).rejects.toMatchObject({ status: 409 });
    const unknown = await rpc(Rpc.RecommendationApply, { id: randomUUID() }).catch((e: RpcError) => e);
    expect(unknown).toMatchObject({ status: 404 });

    await completeAll();
    await reportMetrics();
    // Balanced enough now: no new recommendation (and the moved VM is in its cooldown).
    await sleep(1500);
    expect(await list('open')).toEqual([]);
    expect(requested.filter((r) => r.origin === 'planner')).toHaveLength(1);
  });

  it('automatic: a new imbalance is migrated by itself', async () => {
    const s = await rpc<PlannerSettingsView>(Rpc.PlannerSettingsSet, { automation: 'automatic' });
    expect(s.automation).toBe('automatic');
    expect((await rpc<PlannerSettingsView>(Rpc.PlannerSettingsGet, {})).automation).toBe('automatic');
    const before = requested.length;
    await place(HOST_B, 1024, 150);
    await place(HOST_B, 1024, 150);
    await reportMetrics();
    const req = await until('a migration.requested from the planner', () => requested.slice(before).find((r) => r.origin === 'planner'), 20_000);
    expect(req.sourceHostId).toBe(HOST_B);
    expect(req.reason).toMatch(/^planner recommendation .*: balance: host-b scores /);
    const p = await until('its migration.planned', () => planned.find((x) => x.migrationId === req.migrationId));
    expect(p.targetHostId).toBe(req.targetHostId);
    const rec = (await list('applied')).find((r) => r.migrationId === req.migrationId);
    expect(rec).toMatchObject({ state: 'applied', vmId: req.vmId, kind: 'balance' });

    await rpc(Rpc.PlannerSettingsSet, { automation: 'manual' });
    await sleep(700); // a round that was already under way may still apply
    await completeAll();
    await reportMetrics();
  });

  it('maintenance enter: every VM of the host is requested away (origin maintenance), the host takes no VM', async () => {
    const before = requested.length;
    const view = await rpc<HostMaintenanceView>(Rpc.HostMaintenance, { hostId: HOST_D, action: 'enter' });
    expect(view).toMatchObject({ hostId: HOST_D, state: 'draining', remainingVms: 3, blocked: [] });
    expect(view.migrationIds).toHaveLength(3);
    const reqs = await until('3 migration.requested', () => {
      const r = requested.slice(before).filter((x) => x.origin === 'maintenance');
      return r.length >= 3 ? r : null;
    });
    expect(reqs).toHaveLength(3);
    expect(reqs.map((r) => r.vmId).sort()).toEqual([...hostD].sort());
    expect(reqs.every((r) => r.sourceHostId === HOST_D && r.targetHostId === undefined)).toBe(true);
    expect(reqs.map((r) => r.migrationId).sort()).toEqual([...view.migrationIds].sort());
    const plans = await until('3 migration.planned', () => {
      const p = planned.filter((x) => view.migrationIds.includes(x.migrationId));
      return p.length === 3 ? p : null;
    });
    expect(plans.every((p) => p.targetHostId !== HOST_D && p.origin === 'maintenance')).toBe(true);

    // A VM asked for on the draining host is refused, naming it.
    const e = vmRequest({ name: 'on-d', resources: { vcpus: 1, memoryMiB: 512, diskGiB: 1 }, targetHostId: HOST_D });
    await client.publish(Subjects.VmRequested, e);
    const failed = await until('vm.schedule-failed', () => scheduleFailed.find((f) => f.vmId === e.vmId));
    expect(failed.reason).toMatch(/1 draining/);
    // No host.state-changed yet: the host is not empty.
    expect(hostStates.filter((h) => h.hostId === HOST_D)).toEqual([]);
  });

  it('once the migrations completed, the host is in maintenance (host.state-changed) and liveness does not bring it back', async () => {
    await completeAll((p) => p.origin === 'maintenance');
    const changed = await until('host.state-changed maintenance', () => hostStates.find((h) => h.hostId === HOST_D && h.state === 'maintenance'));
    expect(changed).toMatchObject({ previousState: 'up', reason: 'drained by maintenance request' });
    expect(await rpc<HostMaintenanceView>(Rpc.HostMaintenance, { hostId: HOST_D, action: 'enter' })).toMatchObject({ state: 'maintenance', remainingVms: 0 });
    expect(await vmsOn(HOST_D)).toEqual([]);

    // The metrics collector's liveness says up (e.g. after a missed round): the host stays out of placement.
    await client.publish(Subjects.HostStateChanged, { hostId: HOST_D, state: 'up', previousState: 'down', reason: 'metrics collection succeeded again' });
    await until('liveness applied', async () => (await pg.query(`SELECT state FROM scheduler.hosts WHERE id = $1`, [HOST_D])).rows[0].state === 'up');
    const e = vmRequest({ name: 'still-no', resources: { vcpus: 1, memoryMiB: 512, diskGiB: 1 }, targetHostId: HOST_D });
    await client.publish(Subjects.VmRequested, e);
    expect((await until('vm.schedule-failed', () => scheduleFailed.find((f) => f.vmId === e.vmId))).reason).toMatch(/1 maintenance/);
  });

  it('maintenance exit: host.state-changed up and the host takes VMs again', async () => {
    const view = await rpc<HostMaintenanceView>(Rpc.HostMaintenance, { hostId: HOST_D, action: 'exit' });
    expect(view).toMatchObject({ hostId: HOST_D, state: 'up', remainingVms: 0 });
    const up = await until('host.state-changed up', () => hostStates.find((h) => h.hostId === HOST_D && h.state === 'up' && h.previousState === 'maintenance'));
    expect(up.reason).toBe('maintenance ended by request');
    const vmId = await place(HOST_D, 512, 0);
    expect(await vmsOn(HOST_D)).toEqual([vmId]);
    await expect(rpc(Rpc.HostMaintenance, { hostId: randomUUID(), action: 'enter' })).rejects.toMatchObject({ status: 404 });
  });

  it('keeps every host within capacity, allocation = claims + open holds', async () => {
    await bed.assertAllocationsMatchClaims({ holds: true, equal: ['mem'], withinCapacity: ['vcpus', 'mem', 'disk'] });
  });
});
