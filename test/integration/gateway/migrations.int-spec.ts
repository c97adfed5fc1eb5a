/**
 * Issue 6 on the gateway: POST /v1/vms/:id/migrate, /v1/migrations (get, list, cancel, force-complete) and the
 * migrations read model. Real Postgres + a private nats-server; the gateway runs in-process. The scheduler and
 * migrator are played by this test: it captures what the gateway publishes (migration.requested,
 * migration.control) and publishes the events they would (migration.planned/started/progress/completed/failed,
 * vm.state-changed).
 */
import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { Bus } from '@minicloud/messaging';
import { EventBody, EventOf, makeEvent, Subject, Subjects } from '@minicloud/contracts';
import { bootstrapService } from '@minicloud/service-kit';
import { AppModule } from '../../../apps/gateway/src/app.module';
import { configureGateway } from '../../../apps/gateway/src/configure';
import { startNats, TestNats } from '../../support/nats-server';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { until as waitUntil } from '../../support/wait';
import { requestJson } from '../../support/http';
import { sqlRows } from '../../support/sql';

jest.setTimeout(60_000);

const quiet = () => undefined;
const FACTS = { cpus: 8, cpuModel: 'QEMU Virtual CPU', memoryMiB: 16384, diskGiB: 200, arch: 'x86_64', hypervisorVersion: 'QEMU 7.2.0', libvirtVersion: '9.0.0' };
const CHECKSUM = 'e'.repeat(64);
const HV1 = randomUUID();
const HV2 = randomUUID();
const HV3 = randomUUID(); // disabled
const MiB = 1024 * 1024;

let nats: TestNats;
let db: TestDatabase;
let app: INestApplication;
let base: string;
let bus: Bus; // publishes as the scheduler, migrator and provisioner would; captures what the gateway publishes
const requested: EventOf<typeof Subjects.MigrationRequested>[] = [];
const controls: EventOf<typeof Subjects.MigrationControl>[] = [];

const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => requestJson(base + path, { method, body, headers });
const waitFor = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 15_000) => waitUntil(what, probe, ms, 100);
const sql = <T = any>(q: string, params: unknown[] = []) => sqlRows<T>(db.url, q, params);
const processed = (eventId: string) => waitFor(`event ${eventId} processed`, async () => (await sql('SELECT 1 FROM gateway.inbox WHERE event_id = $1', [eventId])).length > 0);

/** Publishes an event and waits until the gateway's consumer has recorded it. */
async function publishAndWait<S extends Subject>(subject: S, body: EventBody<S>): Promise<EventOf<S>> {
  const e = makeEvent(subject, body);
  await bus.publish(subject, e);
  await processed(e.eventId);
  return e;
}

const migration = async (id: string) => (await api('GET', `/v1/migrations/${id}`)).body;
const waitMigration = (id: string, what: string, ok: (m: any) => boolean) =>
  waitFor(`migration ${what}`, async () => {
    const m = await migration(id);
    return ok(m) && m;
  });

beforeAll(async () => {
  nats = await startNats();
  db = await createTestDatabase('mc_gateway_mig_it');
  process.env.NATS_URL = nats.url;
  process.env.DATABASE_URL = db.url;
  process.env.PORT = '0';
  process.env.LOG_LEVEL = 'fatal';
  app = await bootstrapService(AppModule, { name: 'gateway', defaultPort: 0, configure: configureGateway });
  base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  bus = await Bus.connect({ servers: nats.url, name: 'gateway-mig-it', log: quiet });
  await bus.consume(Subjects.MigrationRequested, { durable: 'it-mig-requested' }, async (e) => void requested.push(e));
  await bus.consume(Subjects.MigrationControl, { durable: 'it-mig-control' }, async (e) => void controls.push(e));
  await publishAndWait(Subjects.ImageRegistered, { imageId: randomUUID(), name: 'lab', format: 'qcow2', checksum: CHECKSUM, sizeBytes: 1000, virtualSizeBytes: 2000, arch: 'x86_64' });
  for (const [hostId, name, i] of [[HV1, 'hv1', 11], [HV2, 'hv2', 12], [HV3, 'hv3', 13]] as const) {
    await publishAndWait(Subjects.HostRegistered, { hostId, name, address: `10.254.7.${i}`, sshPort: 22, sshUser: 'root', state: 'up', facts: FACTS });
  }
  await publishAndWait(Subjects.HostStateChanged, { hostId: HV3, state: 'disabled', previousState: 'up', reason: 'disk replacement' });
});

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await nats?.stop();
  await db?.drop();
  delete process.env.PORT;
});

/** A VM accepted by the gateway, then brought to `state` on `hostId` as the scheduler and provisioner would. */
async function vmOn(name: string, hostId: string | null, state: 'running' | 'stopped', extra: Record<string, unknown> = {}): Promise<string> {
  const r = await api('POST', '/v1/vms', { name, vcpus: 1, memoryMiB: 512, diskGiB: 2, image: 'lab', ...extra });
  expect(r.status).toBe(202);
  const vmId = r.body.id;
  if (hostId) await publishAndWait(Subjects.VmScheduled, { vmId, name, hostId, resources: { vcpus: 1, memoryMiB: 512, diskGiB: 2 }, image: { id: randomUUID(), name: 'lab', checksum: CHECKSUM }, reason: 'test', attempt: 1 });
  await publishAndWait(Subjects.VmStateChanged, { vmId, state, ...(hostId ? { hostId } : {}), generation: 3 });
  return vmId;
}

describe('live migration through the gateway (issue 6)', () => {
  let web: string; // running on hv1
  let cold: string; // stopped on hv1, its disk on the shared datastore
  let accepted: any;

  beforeAll(async () => {
    web = await vmOn('web-1', HV1, 'running');
    cold = await vmOn('cold-1', HV1, 'stopped', { storage: 'shared' });
  });

  it('refuses bad bodies with 400 and the field reasons; nothing is stored or published', async () => {
    const bad = async (body: unknown) => {
      const r = await api('POST', `/v1/vms/${web}/migrate`, body);
      expect(r.status).toBe(400);
      return r.body;
    };
    expect((await bad({ mode: 'warm' })).errors).toEqual([{ field: 'mode', reason: 'mode must be one of: live, cold' }]);
    expect((await bad({ strategy: 'teleport' })).errors).toEqual([{ field: 'strategy', reason: 'strategy must be one of: auto, precopy, compressed, auto-converge, postcopy' }]);
    expect((await bad({ maxDowntimeMs: 0 })).errors).toEqual([{ field: 'maxDowntimeMs', reason: 'maxDowntimeMs must not be less than 1' }]);
    expect((await bad({ bandwidthMiBs: 1.5, storage: 'nfs' })).errors.map((e: any) => e.field).sort()).toEqual(['bandwidthMiBs', 'storage']);
    expect((await bad({ targetHost: 'hv2', force: true })).errors).toEqual([{ field: 'force', reason: 'property force should not exist' }]);
    expect(await bad({ targetHost: 'hv9' })).toEqual({ statusCode: 400, error: 'Bad Request', message: 'targetHost: unknown host "hv9"', errors: [{ field: 'targetHost', reason: 'unknown host "hv9"' }] });
    expect((await bad({ targetHost: 'hv2;reboot' })).errors[0].field).toBe('targetHost');
    expect((await api('POST', '/v1/vms/not-a-uuid/migrate', {})).status).toBe(400);
    expect((await sql('SELECT count(*)::int AS n FROM gateway.migrations'))[0].n).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(requested).toHaveLength(0);
  });

  it('answers 404 for an unknown VM and 409 naming the obstacle', async () => {
    const unknown = await api('POST', `/v1/vms/${randomUUID()}/migrate`); // no body at all: every field is optional
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/^vm .* not found$/);

    const live = await api('POST', `/v1/vms/${cold}/migrate`, { targetHost: 'hv2' });
    expect(live.status).toBe(409);
    expect(live.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'cannot live-migrate a VM that is stopped (a live migration needs a running VM)', state: 'stopped' });
    const coldOnRunning = await api('POST', `/v1/vms/${web}/migrate`, { mode: 'cold' });
    expect(coldOnRunning.status).toBe(409);
    expect(coldOnRunning.body.state).toBe('running');

    const hostless = await vmOn('no-host', null, 'running');
    const noHost = await api('POST', `/v1/vms/${hostless}/migrate`, {});
    expect(noHost.status).toBe(409);
    expect(noHost.body.message).toBe('vm no-host has no host to migrate from');

    const same = await api('POST', `/v1/vms/${web}/migrate`, { targetHost: HV1 });
    expect(same.status).toBe(409);
    expect(same.body.message).toBe('vm web-1 already runs on host hv1');
    const disabled = await api('POST', `/v1/vms/${web}/migrate`, { targetHost: 'hv3' });
    expect(disabled.status).toBe(409);
    expect(disabled.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'target host hv3 is disabled (it must be up)', hostState: 'disabled' });
    expect(requested).toHaveLength(0);
  });

  it('accepts a live migration: 202, Location, the view, and migration.requested on the bus', async () => {
    const r = await api('POST', `/v1/vms/${web}/migrate`, { targetHost: 'hv2', strategy: 'auto', maxDowntimeMs: 300, bandwidthMiBs: 100 });
    expect(r.status).toBe(202);
    accepted = r.body;
    expect(r.headers.get('location')).toBe(`/v1/migrations/${accepted.id}`);
    expect(accepted).toEqual({
      id: expect.any(String),
      vmId: web,
      state: 'requested',
      origin: 'manual',
      mode: 'live',
      storage: 'copy',
      requestedStrategy: 'auto',
      strategy: null,
      strategyReason: null,
      sourceHostId: HV1,
      targetHostId: HV2,
      maxDowntimeMs: 300,
      bandwidthMiBs: 100,
      reason: 'requested by a client',
      stage: null,
      progress: null,
      predictions: null,
      dirtyRateMiBs: null,
      result: null,
      stages: [],
      vmHostId: null,
      error: null,
      requestedAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const e = await waitFor('migration.requested', async () => requested.find((x) => x.migrationId === accepted.id));
    expect(e).toMatchObject({ vmId: web, sourceHostId: HV1, targetHostId: HV2, mode: 'live', storage: 'copy', strategy: 'auto', maxDowntimeMs: 300, bandwidthMiBs: 100, origin: 'manual', reason: 'requested by a client' });
    const g = await api('GET', r.headers.get('location')!);
    expect(g.status).toBe(200);
    expect(g.body).toEqual(accepted);
    // The gateway's own consumer sees its request too and keeps the one row.
    expect(await sql('SELECT count(*)::int AS n FROM gateway.migrations WHERE id = $1', [accepted.id])).toEqual([{ n: 1 }]);

    const vm = (await api('GET', `/v1/vms/${web}`)).body;
    expect(vm.migration).toEqual({ id: accepted.id, state: 'requested', mode: 'live', stage: null, sourceHostId: HV1, targetHostId: HV2 });

    const again = await api('POST', `/v1/vms/${web}/migrate`, { targetHost: 'hv2' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ migrationId: accepted.id, message: `vm web-1 already has an unfinished migration ${accepted.id} (requested)` });
    expect((await api('GET', `/v1/migrations/${randomUUID()}`)).status).toBe(404);
  });

  it('follows the migration: planned → running (progress) → completed with result and totalTimeError; the VM ends on the new host', async () => {
    const id = accepted.id;
    const common = { migrationId: id, vmId: web, sourceHostId: HV1, targetHostId: HV2 };
    await publishAndWait(Subjects.MigrationPlanned, { ...common, mode: 'live', storage: 'copy', strategy: 'auto', maxDowntimeMs: 300, bandwidthMiBs: 100, memoryMiB: 512, vcpus: 1, origin: 'manual', reason: 'hv2: most free memory (2 of 3 hosts passed)' });
    let m = await migration(id);
    expect(m).toMatchObject({ state: 'planned', targetHostId: HV2, reason: 'hv2: most free memory (2 of 3 hosts passed)', stage: 'reservation' });

    await publishAndWait(Subjects.MigrationStarted, {
      ...common,
      mode: 'live',
      strategy: 'precopy',
      strategyReason: 'pre-copy converges: dirty rate 4 MiB/s against 100 MiB/s',
      dirtyRateMiBs: 4,
      bandwidthMiBs: 100,
      predictions: [{ strategy: 'precopy', converges: true, totalTimeMs: 4000, downtimeMs: 30, iterations: 3, dataBytes: 600 * MiB }, { strategy: 'postcopy', converges: true, totalTimeMs: 5200 }],
    });
    await publishAndWait(Subjects.VmStateChanged, { vmId: web, state: 'migrating', previousState: 'running', hostId: HV1, generation: 4 });
    m = await migration(id);
    expect(m).toMatchObject({ state: 'running', strategy: 'precopy', strategyReason: 'pre-copy converges: dirty rate 4 MiB/s against 100 MiB/s', dirtyRateMiBs: 4, stage: 'pre-copy' });
    expect(m.predictions).toHaveLength(2);
    expect(m.stages.map((s: any) => s.stage)).toEqual(['reservation', 'pre-copy']);
    const migrating = (await api('GET', `/v1/vms/${web}`)).body;
    expect(migrating).toMatchObject({ status: 'migrating', host: { id: HV1, name: 'hv1' }, migration: { id, state: 'running', stage: 'pre-copy' } });
    expect((await api('GET', '/v1/vms?status=migrating')).body.items.map((v: any) => v.id)).toEqual([web]);

    await bus.publish(Subjects.MigrationProgress, { migrationId: id, vmId: web, stage: 'pre-copy', elapsedMs: 1000, memoryProcessedBytes: 256 * MiB, memoryRemainingBytes: 256 * MiB, memoryTotalBytes: 512 * MiB, dataTransferredBytes: 260 * MiB, iteration: 1, dirtyRatePagesPerSec: 1024 });
    m = await waitMigration(id, 'progress', (x) => x.progress?.memoryProcessedBytes === 256 * MiB);
    expect(m.progress).toEqual({ memoryProcessedBytes: 256 * MiB, memoryRemainingBytes: 256 * MiB, memoryTotalBytes: 512 * MiB, dataTransferredBytes: 260 * MiB, iteration: 1, dirtyRatePagesPerSec: 1024, expectedDowntimeMs: null, elapsedMs: 1000, at: expect.any(String) });
    await bus.publish(Subjects.MigrationProgress, { migrationId: id, vmId: web, stage: 'stop-and-copy', elapsedMs: 3000, memoryProcessedBytes: 600 * MiB, memoryRemainingBytes: 2 * MiB, memoryTotalBytes: 512 * MiB, iteration: 3, expectedDowntimeMs: 25 });
    m = await waitMigration(id, 'stop-and-copy', (x) => x.stage === 'stop-and-copy');
    expect(m.progress).toMatchObject({ memoryRemainingBytes: 2 * MiB, iteration: 3, expectedDowntimeMs: 25 });

    const t0 = Date.now();
    await publishAndWait(Subjects.MigrationCompleted, {
      ...common,
      strategy: 'precopy',
      totalTimeMs: 5000,
      downtimeMs: 42,
      dataTransferredBytes: 610 * MiB,
      iterations: 3,
      probeMs: 1500,
      predictedTotalTimeMs: 4000,
      predictedDowntimeMs: 30,
      stages: [
        { stage: 'reservation', at: new Date(t0 - 6000).toISOString() },
        { stage: 'pre-copy', at: new Date(t0 - 5000).toISOString() },
        { stage: 'stop-and-copy', at: new Date(t0 - 100).toISOString() },
        { stage: 'commitment', at: new Date(t0 - 50).toISOString() },
        { stage: 'activation', at: new Date(t0).toISOString() },
      ],
    });
    m = await migration(id);
    expect(m.state).toBe('completed');
    expect(m.result).toEqual({ totalTimeMs: 5000, downtimeMs: 42, dataTransferredBytes: 610 * MiB, iterations: 3, compressedBytes: null, compressionCacheMisses: null, postcopyRequests: null, probeMs: 1500, predictedTotalTimeMs: 4000, predictedDowntimeMs: 30, totalTimeError: 0.25, forced: false });
    expect(m.stages.map((s: any) => s.stage)).toEqual(['reservation', 'pre-copy', 'stop-and-copy', 'commitment', 'activation']);
    expect(m.stage).toBe('activation');
    expect(m.error).toBeNull();

    // A late progress report does not touch a finished migration; a late plan does not move it back.
    const before = await migration(id);
    await bus.publish(Subjects.MigrationProgress, { migrationId: id, vmId: web, stage: 'pre-copy', memoryProcessedBytes: 1, memoryRemainingBytes: 511 * MiB, memoryTotalBytes: 512 * MiB });
    await publishAndWait(Subjects.MigrationPlanned, { ...common, mode: 'live', storage: 'copy', strategy: 'auto', memoryMiB: 512, vcpus: 1, origin: 'manual', reason: 'duplicate plan' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await migration(id)).toEqual(before);

    // The provisioner reports the VM running on the target: the VM read model moves it there.
    await publishAndWait(Subjects.VmStateChanged, { vmId: web, state: 'running', previousState: 'migrating', hostId: HV2, generation: 5 });
    const vm = (await api('GET', `/v1/vms/${web}`)).body;
    expect(vm).toMatchObject({ status: 'running', host: { id: HV2, name: 'hv2', address: '10.254.7.12' }, migration: null });
    expect((await api('GET', `/v1/vms?host=hv2`)).body.items.map((v: any) => v.id)).toEqual([web]);
  });

  it('cancel publishes migration.control; failed(cancelled) ends it cancelled with where the VM runs; a finished one answers 409', async () => {
    // Its disk is on the shared datastore: copying it is refused, shared is what it gets.
    const copy = await api('POST', `/v1/vms/${cold}/migrate`, { mode: 'cold', storage: 'copy' });
    expect(copy.status).toBe(409);
    expect(copy.body.message).toMatch(/shared datastore/);
    const r = await api('POST', `/v1/vms/${cold}/migrate`, { mode: 'cold', storage: 'shared' });
    expect(r.status).toBe(202);
    const id = r.body.id;
    const e = await waitFor('cold migration.requested', async () => requested.find((x) => x.migrationId === id));
    expect(e).toMatchObject({ mode: 'cold', storage: 'shared', strategy: 'auto', sourceHostId: HV1 });
    expect(e.targetHostId).toBeUndefined();

    const c = await api('POST', `/v1/migrations/${id}/cancel`);
    expect(c.status).toBe(202);
    expect(c.body).toMatchObject({ id, state: 'requested' });
    expect(await waitFor('migration.control', async () => controls.find((x) => x.migrationId === id))).toMatchObject({ migrationId: id, action: 'cancel' });

    await publishAndWait(Subjects.MigrationFailed, { migrationId: id, vmId: cold, sourceHostId: HV1, reason: 'cancelled by a user before the copy started', vmHostId: HV1, cancelled: true });
    const m = await migration(id);
    expect(m).toMatchObject({ state: 'cancelled', vmHostId: HV1, error: 'cancelled by a user before the copy started' });

    const again = await api('POST', `/v1/migrations/${id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ statusCode: 409, error: 'Conflict', message: `cannot cancel migration ${id}: it is already cancelled`, state: 'cancelled' });
    expect((await api('POST', `/v1/migrations/${id}/force-complete`)).status).toBe(409);
    expect((await api('POST', `/v1/migrations/${randomUUID()}/cancel`)).status).toBe(404);
    expect(controls.filter((x) => x.migrationId === id)).toHaveLength(1);
  });

  it('force-complete publishes migration.control; a failure ends the migration failed with the reason', async () => {
    const r = await api('POST', `/v1/vms/${web}/migrate`, { strategy: 'postcopy' });
    expect(r.status).toBe(202);
    const id = r.body.id;
    expect(r.body).toMatchObject({ sourceHostId: HV2, targetHostId: null, requestedStrategy: 'postcopy' });
    const f = await api('POST', `/v1/migrations/${id}/force-complete`, {}, { 'Idempotency-Key': `it-${randomUUID()}` });
    expect(f.status).toBe(202);
    expect(await waitFor('force-complete control', async () => controls.find((x) => x.migrationId === id))).toMatchObject({ action: 'force-complete' });
    await publishAndWait(Subjects.MigrationFailed, { migrationId: id, vmId: web, sourceHostId: HV2, targetHostId: HV1, reason: 'virsh migrate: unable to connect to the target', vmHostId: HV2 });
    expect(await migration(id)).toMatchObject({ state: 'failed', error: 'virsh migrate: unable to connect to the target', vmHostId: HV2, targetHostId: HV1 });
  });

  it("shows the planner's migrations it only hears of on the bus, whatever order the events come in", async () => {
    const id = randomUUID();
    const common = { migrationId: id, vmId: cold, sourceHostId: HV1, targetHostId: HV2 };
    // The start comes before the request: it is retried until the request is in the read model.
    const started = makeEvent(Subjects.MigrationStarted, { ...common, mode: 'cold', strategy: 'precopy', strategyReason: 'cold: copy the disk' });
    await bus.publish(Subjects.MigrationStarted, started);
    await new Promise((r) => setTimeout(r, 300));
    expect((await api('GET', `/v1/migrations/${id}`)).status).toBe(404);
    await publishAndWait(Subjects.MigrationRequested, { ...common, mode: 'cold', storage: 'copy', strategy: 'auto', origin: 'planner', reason: 'balance: hv1 above 85% memory' });
    const m = await waitMigration(id, 'running after the retried start', (x) => x.state === 'running');
    expect(m).toMatchObject({ origin: 'planner', reason: 'balance: hv1 above 85% memory', strategy: 'precopy', targetHostId: HV2, stage: 'pre-copy' });
    await processed(started.eventId);
  });

  it('lists migrations newest first, filtered by VM and state', async () => {
    const all = (await api('GET', '/v1/migrations')).body;
    expect(all.total).toBe(4);
    const times = all.items.map((m: any) => Date.parse(m.requestedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const ofWeb = (await api('GET', `/v1/migrations?vm=${web}`)).body;
    expect(ofWeb.items.map((m: any) => m.state)).toEqual(['failed', 'completed']);
    expect((await api('GET', `/v1/migrations?vm=${cold}&state=cancelled`)).body.items.map((m: any) => m.vmId)).toEqual([cold]);
    expect((await api('GET', '/v1/migrations?state=completed')).body.items.map((m: any) => m.id)).toEqual([accepted.id]);
    const page = (await api('GET', '/v1/migrations?limit=1')).body;
    expect(page).toMatchObject({ total: 4, items: [expect.any(Object)] });
    const bad = await api('GET', '/v1/migrations?state=paused&vm=x&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.field).sort()).toEqual(['limit', 'state', 'vm']);
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    const doc = (await api('GET', '/docs-json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/vms/{id}/migrate', '/v1/migrations', '/v1/migrations/{id}', '/v1/migrations/{id}/cancel', '/v1/migrations/{id}/force-complete']));
    expect(Object.keys(doc.components.schemas.MigrateVmDto.properties).sort()).toEqual(['bandwidthMiBs', 'maxDowntimeMs', 'mode', 'storage', 'strategy', 'targetHost']);
    expect(doc.components.schemas.MigrationViewDto.properties.result).toBeDefined();
  });
});
