/**
 * Issue 3 on the gateway: operations (VM actions and creation), Idempotency-Key, flavors, host administration and
 * VM list filters; and (issue 4) queued and preempted VMs in the VM view, and a start asking the scheduler first.
 * Real Postgres + NATS; the provisioner and the scheduler are played by this test (tiny bus.serve responders for
 * their RPCs, and the events they would publish).
 */
import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { Bus, RpcError } from '@minicloud/messaging';
import { EventOf, HostAdminStateRequest, HostRegisterRequest, HostRemoveRequest, HostView, makeEvent, Rpc, SchedulerQueueRequest, Subjects, VmStartClaimRequest } from '@minicloud/contracts';
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
const CHECKSUM = 'a'.repeat(64);

let nats: TestNats;
let db: TestDatabase;
let app: INestApplication;
let base: string;
let bus: Bus; // publishes events as the scheduler/provisioner would, and watches what the gateway publishes
let provisioner: Bus; // answers the provisioner's RPCs
const requested: EventOf<typeof Subjects.VmRequested>[] = [];
const actions: EventOf<typeof Subjects.VmActionRequested>[] = [];
const adminCalls: HostAdminStateRequest[] = [];
const removeCalls: string[] = [];
const hosts = new Map<string, HostView>();
let imageId: string;

const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => requestJson(base + path, { method, body, headers });

const waitFor = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 15_000) => waitUntil(what, probe, ms, 100);

const sql = <T = any>(q: string, params: unknown[] = []) => sqlRows<T>(db.url, q, params);

const processed = (eventId: string) => waitFor(`event ${eventId} processed`, async () => (await sql('SELECT 1 FROM gateway.inbox WHERE event_id = $1', [eventId])).length > 0);

function startFakeProvisioner(b: Bus) {
  b.serve(Rpc.HostRegister, HostRegisterRequest, 'provisioner', async (req) => {
    if (req.address === '10.254.7.99') throw new RpcError(422, 'cannot reach 10.254.7.99:22: connect ETIMEDOUT');
    const h: HostView = {
      id: randomUUID(),
      name: req.name ?? req.address,
      address: req.address,
      sshPort: req.sshPort ?? 22,
      sshUser: req.sshUser ?? 'root',
      state: 'up',
      stateReason: '',
      facts: FACTS,
      registeredAt: new Date().toISOString(),
    };
    hosts.set(h.id, h);
    return h;
  });
  b.serve(Rpc.HostAdminState, HostAdminStateRequest, 'provisioner', async (req) => {
    adminCalls.push(req);
    const h = hosts.get(req.hostId);
    if (!h) throw new RpcError(404, `host ${req.hostId} not found`);
    const next: HostView = { ...h, state: req.adminState === 'disabled' ? 'disabled' : 'up', stateReason: req.adminState === 'disabled' ? req.reason ?? 'disabled' : '' };
    hosts.set(h.id, next);
    return next;
  });
  b.serve(Rpc.HostRemove, HostRemoveRequest, 'provisioner', async (req) => {
    removeCalls.push(req.hostId);
    hosts.delete(req.hostId);
    return { removed: true };
  });
}

/** Plays the scheduler's RPCs: the start-claim check (refused with `startClaimRefusal` when set) and the queue. */
let startClaimRefusal: string | null = null;
const startClaims: { vmId: string; hostId: string }[] = [];
let queueItems: { vmId: string; position: number; effectivePriority: number }[] = [];
function startFakeScheduler(b: Bus) {
  b.serve(Rpc.VmStartClaim, VmStartClaimRequest, 'scheduler', async (req) => {
    startClaims.push({ vmId: req.vmId, hostId: req.hostId });
    if (startClaimRefusal) throw new RpcError(409, startClaimRefusal);
    return { vmId: req.vmId, hostId: req.hostId, claim: 'held', reason: 'held' };
  });
  b.serve(Rpc.SchedulerQueue, SchedulerQueueRequest, 'scheduler', async () => ({ total: queueItems.length, agingStepSeconds: 60, items: queueItems }));
}

beforeAll(async () => {
  nats = await startNats();
  db = await createTestDatabase('mc_gateway_lc_it');
  process.env.NATS_URL = nats.url;
  process.env.DATABASE_URL = db.url;
  process.env.PORT = '0';
  process.env.LOG_LEVEL = 'fatal';
  app = await bootstrapService(AppModule, { name: 'gateway', defaultPort: 0, configure: configureGateway });
  base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  bus = await Bus.connect({ servers: nats.url, name: 'gateway-lc-it', log: quiet });
  await bus.consume(Subjects.VmRequested, { durable: 'it-lc-vm-requested' }, async (e) => void requested.push(e));
  await bus.consume(Subjects.VmActionRequested, { durable: 'it-lc-vm-action-requested' }, async (e) => void actions.push(e));
  provisioner = await Bus.connect({ servers: nats.url, name: 'fake-provisioner-lc', log: quiet });
  startFakeProvisioner(provisioner);
  startFakeScheduler(provisioner);
  await provisioner.nc.flush(); // the responders' subscriptions reach the server before the first request
  imageId = randomUUID();
  const img = makeEvent(Subjects.ImageRegistered, { imageId, name: 'lab', format: 'qcow2', checksum: CHECKSUM, sizeBytes: 1000, virtualSizeBytes: 2000, arch: 'x86_64' });
  await bus.publish(Subjects.ImageRegistered, img);
  await processed(img.eventId);
});

afterAll(async () => {
  await app?.close();
  await provisioner?.close();
  await bus?.close();
  await nats?.stop();
  await db?.drop();
  delete process.env.PORT;
});

/** Plays the scheduler and provisioner until the VM runs on `hostId`. */
async function bringUp(vmId: string, name: string, hostId: string, size = { vcpus: 1, memoryMiB: 512, diskGiB: 2 }) {
  await bus.publish(Subjects.VmScheduled, { vmId, name, hostId, resources: size, image: { id: imageId, name: 'lab', checksum: CHECKSUM }, reason: 'test', attempt: 1 });
  await bus.publish(Subjects.VmStateChanged, { vmId, state: 'running', previousState: 'provisioning', hostId, generation: 3 });
  await waitFor(`${name} running`, async () => (await api('GET', `/v1/vms/${vmId}`)).body.status === 'running');
}

describe('gateway lifecycle (issue 3)', () => {
  let hv1: HostView;
  let hv2: HostView;
  let web: any; // running on hv1, tags team=web
  let db1: any; // running on hv1, tags team=db, env=prod

  it('imports hosts: registers the good ones, reports each bad one with its status', async () => {
    const r = await api('POST', '/v1/hosts/import', {
      hosts: [{ address: '10.254.7.11', sshUser: 'root' }, { address: '10.254.7.99' }, { address: '10.254.7.12', sshPort: 2222 }, { address: '10.254.7.13;reboot' }],
    });
    expect(r.status).toBe(200);
    expect(r.body.registered.map((h: HostView) => h.address).sort()).toEqual(['10.254.7.11', '10.254.7.12']);
    expect(r.body.registered.find((h: HostView) => h.address === '10.254.7.12').sshPort).toBe(2222);
    expect(r.body.failed).toEqual([
      { address: '10.254.7.99', error: 'cannot reach 10.254.7.99:22: connect ETIMEDOUT', status: 422 },
      { address: '10.254.7.13;reboot', error: expect.stringMatching(/^address: address must be a host name or an IP address/), status: 400 },
    ]);
    hv1 = r.body.registered.find((h: HostView) => h.address === '10.254.7.11');
    hv2 = r.body.registered.find((h: HostView) => h.address === '10.254.7.12');
    expect((await api('GET', '/v1/hosts')).body.total).toBe(2);

    const tooMany = await api('POST', '/v1/hosts/import', { hosts: Array.from({ length: 501 }, (_, i) => ({ address: `10.0.${i >> 8}.${i & 255}` })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0]).toEqual({ field: 'hosts', reason: 'hosts must have at most 500 entries' });
    expect((await api('POST', '/v1/hosts/import', { hosts: [] })).status).toBe(400);
  });

  it('serves the seeded flavors and flavor CRUD', async () => {
    const list = await api('GET', '/v1/flavors');
    expect(list.status).toBe(200);
    expect(list.body.items.map((f: any) => f.name)).toEqual(expect.arrayContaining(['m1.tiny', 'm1.small', 'm1.medium']));
    expect(list.body.items.find((f: any) => f.name === 'm1.small')).toMatchObject({ vcpus: 1, memoryMiB: 512, diskGiB: 2 });
    const created = await api('POST', '/v1/flavors', { name: 'c1.big', vcpus: 4, memoryMiB: 4096, diskGiB: 20 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'c1.big', vcpus: 4, memoryMiB: 4096, diskGiB: 20 });
    expect((await api('GET', '/v1/flavors/c1.big')).body).toEqual(created.body);
    const dup = await api('POST', '/v1/flavors', { name: 'c1.big', vcpus: 1, memoryMiB: 256, diskGiB: 1 });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toBe('flavor "c1.big" already exists');
    const bad = await api('POST', '/v1/flavors', { name: 'x;y', vcpus: -1, memoryMiB: 0, diskGiB: 1, gpu: 1 });
    expect(bad.status).toBe(400);
    expect([...new Set(bad.body.errors.map((e: any) => e.field))].sort()).toEqual(['gpu', 'memoryMiB', 'name', 'vcpus']);
    expect((await api('DELETE', '/v1/flavors/c1.big')).status).toBe(204);
    expect((await api('GET', '/v1/flavors/c1.big')).status).toBe(404);
    expect((await api('DELETE', '/v1/flavors/c1.big')).status).toBe(404);
  });

  it('creates VMs by flavor or explicit size, never both, never an unknown flavor; nothing published for refusals', async () => {
    const before = requested.length;
    const unknown = await api('POST', '/v1/vms', { name: 'x1', flavor: 'nope', image: 'lab' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'flavor: unknown flavor "nope"', errors: [{ field: 'flavor', reason: 'unknown flavor "nope"' }] });
    const both = await api('POST', '/v1/vms', { name: 'x2', flavor: 'm1.small', vcpus: 1, image: 'lab' });
    expect(both.status).toBe(400);
    expect(both.body.errors).toEqual([{ field: 'flavor', reason: 'give flavor or vcpus/memoryMiB/diskGiB, not both' }]);
    const neither = await api('POST', '/v1/vms', { name: 'x3', image: 'lab' });
    expect(neither.status).toBe(400);
    expect([...new Set(neither.body.errors.map((e: any) => e.field))].sort()).toEqual(['diskGiB', 'memoryMiB', 'vcpus']);
    const shell = await api('POST', '/v1/vms', { name: 'a$(id)', vcpus: 1, memoryMiB: -5, diskGiB: 1, image: 'lab', userData: 'x'.repeat(64 * 1024 + 1) });
    expect(shell.status).toBe(400);
    expect([...new Set(shell.body.errors.map((e: any) => e.field))].sort()).toEqual(['memoryMiB', 'name', 'userData']);
    expect((await sql('SELECT count(*)::int AS n FROM gateway.vms'))[0].n).toBe(0);
    expect((await sql('SELECT count(*)::int AS n FROM gateway.operations'))[0].n).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(requested.length).toBe(before);

    const r = await api('POST', '/v1/vms', { name: 'web-1', flavor: 'm1.medium', image: 'lab', targetHost: hv1.id, tags: { team: 'web' } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ name: 'web-1', status: 'requested', vcpus: 2, memoryMiB: 1024, diskGiB: 4, operation: { action: 'create', status: 'pending', vmId: r.body.id } });
    web = r.body;
    const e = await waitFor('vm.requested', async () => requested.find((x) => x.vmId === web.id));
    expect(e.resources).toEqual({ vcpus: 2, memoryMiB: 1024, diskGiB: 4 });
  });

  it("follows the VM's creation as an operation until it runs", async () => {
    await bringUp(web.id, 'web-1', hv1.id, { vcpus: 2, memoryMiB: 1024, diskGiB: 4 });
    const op = await waitFor('create op succeeded', async () => {
      const g = await api('GET', `/v1/operations/${web.operation.id}`);
      return g.body.status === 'succeeded' && g.body;
    });
    expect(op).toMatchObject({ id: web.operation.id, vmId: web.id, action: 'create', status: 'succeeded', error: null, finishedAt: expect.any(String) });

    // A VM that fails to schedule fails its creation with the reason.
    const f = await api('POST', '/v1/vms', { name: 'doomed', flavor: 'm1.tiny', image: 'lab' });
    await bus.publish(Subjects.VmScheduleFailed, { vmId: f.body.id, reason: 'no valid host among 2 hosts: 2 lacked memory', removedByFilter: { memory: 2 } });
    const failed = await waitFor('create op failed', async () => {
      const g = await api('GET', `/v1/operations/${f.body.operation.id}`);
      return g.body.status === 'failed' && g.body;
    });
    expect(failed.error).toBe('no valid host among 2 hosts: 2 lacked memory');
  });

  it('accepts an action: 202, operation, Location, vm.action-requested on the bus', async () => {
    const r = await api('POST', `/v1/vms/${web.id}/actions`, { action: 'stop', stopTimeoutSec: 30 });
    expect(r.status).toBe(202);
    expect(r.body.operation).toMatchObject({ vmId: web.id, action: 'stop', status: 'pending', error: null, finishedAt: null });
    expect(r.headers.get('location')).toBe(`/v1/operations/${r.body.operation.id}`);
    const e = await waitFor('vm.action-requested', async () => actions.find((a) => a.operationId === r.body.operation.id));
    expect(e).toMatchObject({ operationId: r.body.operation.id, vmId: web.id, action: 'stop', stopTimeoutSec: 30 });
    const g = await api('GET', r.headers.get('location')!);
    expect(g.status).toBe(200);
    expect(g.body).toEqual(r.body.operation);

    // The provisioner stops it and says so.
    await bus.publish(Subjects.VmStateChanged, { vmId: web.id, state: 'stopping', previousState: 'running', hostId: hv1.id, generation: 4 });
    await waitFor('stop running', async () => (await api('GET', `/v1/operations/${r.body.operation.id}`)).body.status === 'running');
    await bus.publish(Subjects.VmStateChanged, { vmId: web.id, state: 'stopped', previousState: 'stopping', hostId: hv1.id, generation: 5 });
    await bus.publish(Subjects.VmOperationFinished, { operationId: r.body.operation.id, vmId: web.id, action: 'stop', status: 'succeeded', state: 'stopped' });
    const done = await waitFor('stop succeeded', async () => {
      const x = await api('GET', `/v1/operations/${r.body.operation.id}`);
      return x.body.status === 'succeeded' && x.body;
    });
    expect(done.finishedAt).toEqual(expect.any(String));
    expect((await api('GET', `/v1/vms/${web.id}`)).body.status).toBe('stopped');
  });

  it('records a failed action with its error', async () => {
    const r = await api('POST', `/v1/vms/${web.id}/actions`, { action: 'start' });
    expect(r.status).toBe(202);
    await bus.publish(Subjects.VmOperationFinished, { operationId: r.body.operation.id, vmId: web.id, action: 'start', status: 'failed', error: 'libvirt: domain mc-x: not enough memory', state: 'stopped' });
    const op = await waitFor('start failed', async () => {
      const x = await api('GET', `/v1/operations/${r.body.operation.id}`);
      return x.body.status === 'failed' && x.body;
    });
    expect(op.error).toBe('libvirt: domain mc-x: not enough memory');
    // A late duplicate "succeeded" for a finished operation changes nothing.
    const late = makeEvent(Subjects.VmOperationFinished, { operationId: r.body.operation.id, vmId: web.id, action: 'start', status: 'succeeded' });
    await bus.publish(Subjects.VmOperationFinished, late);
    await processed(late.eventId);
    expect((await api('GET', `/v1/operations/${r.body.operation.id}`)).body.status).toBe('failed');
  });

  it('refuses actions the state machine does not allow: 409 with the state, nothing published', async () => {
    await bus.publish(Subjects.VmStateChanged, { vmId: web.id, state: 'running', previousState: 'stopped', hostId: hv1.id, generation: 6 });
    await waitFor('running again', async () => (await api('GET', `/v1/vms/${web.id}`)).body.status === 'running');
    const before = actions.length;
    const r = await api('POST', `/v1/vms/${web.id}/actions`, { action: 'resume' });
    expect(r.status).toBe(409);
    expect(r.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'cannot resume a VM that is running', state: 'running' });
    expect((await api('POST', `/v1/vms/${web.id}/actions`, { action: 'start' })).body.message).toBe('cannot start a VM that is running');
    const bad = await api('POST', `/v1/vms/${web.id}/actions`, { action: 'explode', force: true });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.field).sort()).toEqual(['action', 'force']);
    expect((await api('POST', `/v1/vms/${randomUUID()}/actions`, { action: 'stop' })).status).toBe(404);
    await new Promise((r2) => setTimeout(r2, 300));
    expect(actions.length).toBe(before);
  });

  it('lists operations of a VM', async () => {
    const r = await api('GET', `/v1/operations?vm=${web.id}`);
    expect(r.status).toBe(200);
    expect(r.body.items.map((o: any) => o.action)).toEqual(['start', 'stop', 'create']);
    expect(r.body.total).toBe(3);
    expect((await api('GET', '/v1/operations?vm=nope')).status).toBe(400);
    expect((await api('GET', `/v1/operations/${randomUUID()}`)).status).toBe(404);
  });

  it('replays a request with the same Idempotency-Key and refuses the key with another body', async () => {
    const key = `it-${randomUUID()}`;
    const body = { name: 'db-1', vcpus: 2, memoryMiB: 2048, diskGiB: 10, image: 'lab', targetHost: hv1.id, tags: { team: 'db', env: 'prod' } };
    const first = await api('POST', '/v1/vms', body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    const again = await api('POST', '/v1/vms', { ...body }, { 'Idempotency-Key': key });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await sql(`SELECT id FROM gateway.vms WHERE name = 'db-1'`)).toEqual([{ id: first.body.id }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(requested.filter((e) => e.name === 'db-1')).toHaveLength(1);

    const other = await api('POST', '/v1/vms', { ...body, name: 'db-2' }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.body).toEqual({ statusCode: 422, error: 'Unprocessable Entity', message: 'Idempotency-Key reused with a different request' });
    expect(await sql(`SELECT id FROM gateway.vms WHERE name = 'db-2'`)).toEqual([]);

    // Actions too: the replay names the same operation.
    db1 = first.body;
    await bringUp(db1.id, 'db-1', hv1.id, { vcpus: 2, memoryMiB: 2048, diskGiB: 10 });
    const akey = `it-${randomUUID()}`;
    const a1 = await api('POST', `/v1/vms/${db1.id}/actions`, { action: 'reboot' }, { 'Idempotency-Key': akey });
    const a2 = await api('POST', `/v1/vms/${db1.id}/actions`, { action: 'reboot' }, { 'Idempotency-Key': akey });
    expect(a1.status).toBe(202);
    expect(a2.status).toBe(202);
    expect(a2.body.operation.id).toBe(a1.body.operation.id);
    expect(a2.headers.get('location')).toBe(`/v1/operations/${a1.body.operation.id}`);
    expect((await api('GET', `/v1/operations?vm=${db1.id}`)).body.items.filter((o: any) => o.action === 'reboot')).toHaveLength(1);
    // A refused request does not hold its key: the same key works once the request is valid.
    const k3 = `it-${randomUUID()}`;
    expect((await api('POST', '/v1/flavors', { name: 'k3', vcpus: 0, memoryMiB: 256, diskGiB: 1 }, { 'Idempotency-Key': k3 })).status).toBe(400);
    expect((await api('POST', '/v1/flavors', { name: 'k3', vcpus: 1, memoryMiB: 256, diskGiB: 1 }, { 'Idempotency-Key': k3 })).status).toBe(201);
    expect((await api('POST', '/v1/flavors', { name: 'k3', vcpus: 1, memoryMiB: 256, diskGiB: 1 }, { 'Idempotency-Key': k3 })).status).toBe(201);
    expect((await api('POST', '/v1/flavors', { name: 'k4', vcpus: 1, memoryMiB: 256, diskGiB: 1 }, { 'Idempotency-Key': 'has space' })).status).toBe(400);
  });

  it('filters the VM list by status, host, tag; pages with a total', async () => {
    const q = async (qs: string) => (await api('GET', `/v1/vms${qs}`)).body;
    expect((await q('?status=running')).items.map((v: any) => v.name).sort()).toEqual(['db-1', 'web-1']);
    expect((await q('?status=failed')).items.map((v: any) => v.name)).toEqual(['doomed']);
    expect((await q(`?host=${hv1.id}`)).total).toBe(2);
    expect((await q('?host=10.254.7.12')).total).toBe(0);
    expect((await q('?tag=team=web')).items.map((v: any) => v.name)).toEqual(['web-1']);
    expect((await q('?tag=env')).items.map((v: any) => v.name)).toEqual(['db-1']);
    expect((await q('?tag=team&tag=env=prod')).items.map((v: any) => v.name)).toEqual(['db-1']);
    expect((await q('?tag=team=nobody')).total).toBe(0);
    const page = await q('?limit=1&offset=1');
    expect(page.total).toBe(3);
    expect(page.items).toHaveLength(1);
    const bad = await api('GET', '/v1/vms?limit=-1&offset=x&tag=%3Dx');
    expect(bad.status).toBe(400);
    expect([...new Set(bad.body.errors.map((e: any) => e.field))].sort()).toEqual(['limit', 'offset', 'tag']);
  });

  it("shows each host's capacity, allocation and VM count from the read model", async () => {
    const h = (await api('GET', `/v1/hosts/${hv1.id}`)).body;
    expect(h).toMatchObject({
      id: hv1.id,
      state: 'up',
      stateReason: '',
      capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 200 },
      allocated: { vcpus: 4, memoryMiB: 3072, diskGiB: 14 },
      free: { vcpus: 4, memoryMiB: 13312, diskGiB: 186 },
      vmCount: 2,
    });
    const list = (await api('GET', '/v1/hosts')).body.items;
    expect(list.find((x: any) => x.id === hv2.id)).toMatchObject({ allocated: { vcpus: 0, memoryMiB: 0, diskGiB: 0 }, vmCount: 0 });
  });

  it('disables and enables a host through the provisioner', async () => {
    const d = await api('POST', `/v1/hosts/${hv2.id}/disable`, { reason: 'disk replacement' });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ id: hv2.id, state: 'disabled', stateReason: 'disk replacement', vmCount: 0 });
    expect(adminCalls.at(-1)).toEqual({ hostId: hv2.id, adminState: 'disabled', reason: 'disk replacement' });
    expect((await api('GET', `/v1/hosts/${hv2.id}`)).body).toMatchObject({ state: 'disabled', stateReason: 'disk replacement' });
    const e = await api('POST', `/v1/hosts/${hv2.id}/enable`, {});
    expect(e.status).toBe(200);
    expect(e.body).toMatchObject({ state: 'up', stateReason: '' });
    expect(adminCalls.at(-1)).toEqual({ hostId: hv2.id, adminState: 'enabled' });
    expect((await api('POST', `/v1/hosts/${hv2.id}/disable`, { reason: 'x'.repeat(501) })).status).toBe(400);
    expect((await api('POST', `/v1/hosts/${randomUUID()}/disable`, {})).status).toBe(404);
  });

  it('refuses to remove a host with VMs (409 with the list), removes an empty one, and follows host.removed', async () => {
    const calls = removeCalls.length;
    const r = await api('DELETE', `/v1/hosts/${hv1.id}`);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ statusCode: 409, error: 'Conflict', message: expect.stringMatching(/still has 2 VMs/) });
    expect(r.body.vms.map((v: any) => v.name).sort()).toEqual(['db-1', 'web-1']);
    expect(r.body.vms[0]).toEqual({ id: expect.any(String), name: expect.any(String), status: 'running' });
    expect(removeCalls.length).toBe(calls);

    const ok = await api('DELETE', `/v1/hosts/${hv2.id}`);
    expect(ok.status).toBe(204);
    expect(removeCalls.at(-1)).toBe(hv2.id);
    expect((await api('GET', `/v1/hosts/${hv2.id}`)).status).toBe(404);

    // A host removed elsewhere (host.removed) leaves the read model too.
    const extra = await api('POST', '/v1/hosts/import', { hosts: [{ address: '10.254.7.14' }] });
    const hv3 = extra.body.registered[0];
    await bus.publish(Subjects.HostRemoved, { hostId: hv3.id });
    await waitFor('host removed', async () => (await api('GET', `/v1/hosts/${hv3.id}`)).status === 404);
  });

  it('deletes a VM: 202 with a delete operation, 409 once it is deleted', async () => {
    const r = await api('DELETE', `/v1/vms/${web.id}`);
    expect(r.status).toBe(202);
    expect(r.body.operation).toMatchObject({ vmId: web.id, action: 'delete', status: 'pending' });
    expect(r.headers.get('location')).toBe(`/v1/operations/${r.body.operation.id}`);
    await waitFor('vm.action-requested delete', async () => actions.find((a) => a.operationId === r.body.operation.id && a.action === 'delete'));
    await bus.publish(Subjects.VmStateChanged, { vmId: web.id, state: 'deleting', previousState: 'running', hostId: hv1.id, generation: 7 });
    await bus.publish(Subjects.VmDeleted, { vmId: web.id, hostId: hv1.id, generation: 8 });
    await bus.publish(Subjects.VmOperationFinished, { operationId: r.body.operation.id, vmId: web.id, action: 'delete', status: 'succeeded', state: 'deleted' });
    await waitFor('delete running', async () => ['running', 'succeeded'].includes((await api('GET', `/v1/operations/${r.body.operation.id}`)).body.status));
    await waitFor('delete succeeded', async () => (await api('GET', `/v1/operations/${r.body.operation.id}`)).body.status === 'succeeded');
    await waitFor('vm deleted', async () => (await api('GET', `/v1/vms/${web.id}`)).body.status === 'deleted');
    const again = await api('DELETE', `/v1/vms/${web.id}`);
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'cannot delete a VM that is deleted', state: 'deleted' });
    expect((await api('GET', `/v1/hosts/${hv1.id}`)).body.vmCount).toBe(1);
  });

  it('shows a queued VM (reason, deadline, place in the queue) until it is placed', async () => {
    const r = await api('POST', '/v1/vms', { name: 'waiter', flavor: 'm1.tiny', image: 'lab', priority: 3, deadline: '2099-01-01T00:00:00.000Z' });
    const id = r.body.id;
    const reason = 'no valid host among 2 hosts: 2 lacked memory (need 4096 MiB, best free 1024 MiB)';
    queueItems = [{ vmId: randomUUID(), position: 1, effectivePriority: 1 }, { vmId: id, position: 2, effectivePriority: 2 }];
    await bus.publish(Subjects.VmQueued, { vmId: id, priority: 3, deadline: '2099-01-01T00:00:00.000Z', reason, removedByFilter: { memory: 2 } });
    const shown = await waitFor('queued', async () => {
      const g = await api('GET', `/v1/vms/${id}`);
      return g.body.scheduling && g.body;
    });
    expect(shown.status).toBe('requested');
    expect(shown.scheduling).toMatchObject({ state: 'queued', reason, removedByFilter: { memory: 2 }, priority: 3, deadline: '2099-01-01T00:00:00.000Z', position: 2, effectivePriority: 2, waitedSeconds: expect.any(Number) });
    // The list shows it too (without asking the scheduler for the position).
    const listed = (await api('GET', '/v1/vms?status=requested')).body.items.find((v: any) => v.id === id);
    expect(listed.scheduling).toMatchObject({ state: 'queued', reason, position: null });
    await bus.publish(Subjects.VmScheduled, { vmId: id, name: 'waiter', hostId: hv1.id, resources: { vcpus: 1, memoryMiB: 256, diskGiB: 1 }, image: { id: imageId, name: 'lab', checksum: CHECKSUM }, reason: 'test', attempt: 1 });
    await waitFor('scheduled', async () => (await api('GET', `/v1/vms/${id}`)).body.status === 'scheduled');
    expect((await api('GET', `/v1/vms/${id}`)).body.scheduling).toBeNull();
  });

  it('shows a preempted VM as such; its start asks the scheduler first: 409 with the reason when its host has no room', async () => {
    const r = await api('POST', '/v1/vms', { name: 'spot-1', flavor: 'm1.tiny', image: 'lab', preemptible: true });
    const id = r.body.id;
    await bringUp(id, 'spot-1', hv1.id, { vcpus: 1, memoryMiB: 256, diskGiB: 1 });
    const by = randomUUID();
    await bus.publish(Subjects.VmPreemptRequested, { vmId: id, hostId: hv1.id, action: 'stop', preemptedByVmId: by, reason: `preempted by VM ${by} (priority 1) on host ${hv1.name}` });
    await bus.publish(Subjects.VmStateChanged, { vmId: id, state: 'stopped', previousState: 'running', hostId: hv1.id, generation: 4, reason: `preempted by VM ${by}` });
    const shown = await waitFor('preempted', async () => {
      const g = await api('GET', `/v1/vms/${id}`);
      return g.body.status === 'stopped' && g.body.scheduling && g.body;
    });
    expect(shown.scheduling).toMatchObject({ state: 'preempted', hostId: hv1.id, action: 'stop', preemptedByVmId: by, reservationId: null, targetHostId: null, at: expect.any(String) });

    const before = actions.length;
    startClaimRefusal = `VM ${id} cannot start: its capacity was given away (preempted by VM ${by}), and host ${hv1.name} lacked memory (need 256 MiB, free 0 MiB)`;
    const refused = await api('POST', `/v1/vms/${id}/actions`, { action: 'start' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ statusCode: 409, error: 'Conflict', message: startClaimRefusal });
    expect(startClaims.at(-1)).toEqual({ vmId: id, hostId: hv1.id });
    await new Promise((res) => setTimeout(res, 200));
    expect(actions.length).toBe(before); // nothing handed to the provisioner

    startClaimRefusal = null;
    const ok = await api('POST', `/v1/vms/${id}/actions`, { action: 'start' });
    expect(ok.status).toBe(202);
    await waitFor('vm.action-requested start', async () => actions.find((a) => a.operationId === ok.body.operation.id && a.action === 'start'));
    await bus.publish(Subjects.VmStateChanged, { vmId: id, state: 'running', previousState: 'stopped', hostId: hv1.id, generation: 5 });
    await waitFor('running', async () => (await api('GET', `/v1/vms/${id}`)).body.status === 'running');
    expect((await api('GET', `/v1/vms/${id}`)).body.scheduling).toBeNull();
  });

  it('dead-letters an operation-finished event for an operation it never created', async () => {
    const stray = randomUUID();
    const sub = bus.nc.subscribe('deadletter.gateway-vm-operation-finished.vm.operation-finished', { max: 1 });
    const got = (async () => {
      for await (const m of sub) return JSON.parse(m.string());
    })();
    await bus.publish(Subjects.VmOperationFinished, { operationId: stray, vmId: web.id, action: 'stop', status: 'succeeded' });
    let timer: NodeJS.Timeout | undefined;
    const dl = await Promise.race([got, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('no dead letter')), 15_000)))]).finally(() => clearTimeout(timer));
    expect(dl).toMatchObject({ consumer: 'gateway-vm-operation-finished', reason: `operation ${stray} is not in the gateway read model` });
  });
});
