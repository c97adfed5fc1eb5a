import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { Bus, RpcError } from '@minicloud/messaging';
import {
  EventOf,
  HostRegisterRequest,
  HostView,
  ImageRegisterRequest,
  ImageView,
  makeEvent,
  Rpc,
  Subjects,
  VmConsoleRequest,
} from '@minicloud/contracts';
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
const FACTS = { cpus: 4, cpuModel: 'QEMU Virtual CPU', memoryMiB: 8192, diskGiB: 100, arch: 'x86_64', hypervisorVersion: 'QEMU 7.2.0', libvirtVersion: '9.0.0' };
const CHECKSUM = 'd'.repeat(64);

let nats: TestNats;
let db: TestDatabase;
let app: INestApplication;
let base: string;
let bus: Bus; // the test's own connection: publishes events as the scheduler/provisioner would
let provisioner: Bus | undefined; // a fake provisioner answering the RPCs
const requested: EventOf<typeof Subjects.VmRequested>[] = [];

const api = (method: string, path: string, body?: unknown, raw?: string) => requestJson(base + path, { method, body, raw });

const waitFor = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 15_000) => waitUntil(what, probe, ms, 100);

const sql = <T = any>(q: string, params: unknown[] = []) => sqlRows<T>(db.url, q, params);

/** Waits until the gateway's consumer has recorded the event in its inbox (processed, applied or not). */
const processed = (eventId: string) => waitFor(`event ${eventId} processed`, async () => (await sql('SELECT 1 FROM gateway.inbox WHERE event_id = $1', [eventId])).length > 0);

const goodVm = { name: 'web-1', vcpus: 1, memoryMiB: 256, diskGiB: 2, image: 'minicloud-lab' };

beforeAll(async () => {
  nats = await startNats();
  db = await createTestDatabase('mc_gateway_it');
  process.env.NATS_URL = nats.url;
  process.env.DATABASE_URL = db.url;
  process.env.PORT = '0';
  process.env.LOG_LEVEL = 'fatal';
  app = await bootstrapService(AppModule, { name: 'gateway', defaultPort: 0, configure: configureGateway });
  const addr = app.getHttpServer().address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
  bus = await Bus.connect({ servers: nats.url, name: 'gateway-it', log: quiet });
  await bus.consume(Subjects.VmRequested, { durable: 'it-vm-requested' }, async (e) => void requested.push(e));
});

afterAll(async () => {
  await app?.close();
  await provisioner?.close();
  await bus?.close();
  await nats?.stop();
  await db?.drop();
  delete process.env.PORT;
});

function startFakeProvisioner(b: Bus) {
  const hosts = new Map<string, HostView>();
  b.serve(Rpc.HostRegister, HostRegisterRequest, 'provisioner', async (req) => {
    if (req.address === '10.254.7.99') throw new RpcError(422, 'cannot reach 10.254.7.99:22: connect ETIMEDOUT');
    const existing = [...hosts.values()].find((h) => h.address === req.address);
    if (existing) throw new RpcError(409, `host ${req.address} is already registered as ${existing.id}`);
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
  b.serve(Rpc.ImageRegister, ImageRegisterRequest, 'provisioner', async (req): Promise<ImageView> => ({
    id: randomUUID(),
    name: req.name,
    path: req.path,
    format: 'qcow2',
    checksum: CHECKSUM,
    sizeBytes: 123456789,
    virtualSizeBytes: 2147483648,
    arch: 'x86_64',
    registeredAt: new Date().toISOString(),
  }));
  b.serve(Rpc.VmConsole, VmConsoleRequest, 'provisioner', async (req) => {
    if (req.lines === 7) throw new RpcError(409, `vm ${req.vmId} has no console yet (state scheduled)`);
    return { vmId: req.vmId, hostId: randomUUID(), lines: Array.from({ length: req.lines ?? 3 }, (_, i) => `line ${i + 1}`) };
  });
}

describe('gateway (real Postgres + NATS)', () => {
  let host: HostView;
  let vmId: string;

  it('is ready and documents its API', async () => {
    const ready = await api('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ nats: { status: 'up' }, postgres: { status: 'up' } });
    const doc = await api('GET', '/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/vms', '/v1/vms/{id}', '/v1/vms/{id}/console', '/v1/hosts', '/v1/hosts/{id}', '/v1/images', '/v1/images/{id}']));
    // A VM is sized by a flavor OR by vcpus/memoryMiB/diskGiB, so only name and image are always required.
    expect(doc.body.components.schemas.CreateVmDto.required).toEqual(expect.arrayContaining(['name', 'image']));
    expect(Object.keys(doc.body.components.schemas.CreateVmDto.properties)).toEqual(expect.arrayContaining(['flavor', 'vcpus', 'memoryMiB', 'diskGiB']));
    expect(Object.keys(doc.body.components.schemas.RegisterHostDto.properties)).toEqual(expect.arrayContaining(['address', 'sshPort', 'sshUser', 'name']));
    const ui = await api('GET', '/docs');
    expect(ui.status).toBe(200);
    expect(String(ui.body)).toMatch(/swagger/i);
  });

  it('answers 503 on POST /v1/hosts when no provisioner answers', async () => {
    const r = await api('POST', '/v1/hosts', { address: '10.254.7.11' });
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.stringMatching(/no provisioner/) });
    expect((await api('GET', '/v1/hosts')).body).toEqual({ items: [], total: 0 });
  });

  it('registers a host through the provisioner and serves it from the read model', async () => {
    provisioner = await Bus.connect({ servers: nats.url, name: 'fake-provisioner', log: quiet });
    startFakeProvisioner(provisioner);
    await provisioner.nc.flush(); // the responders' subscriptions reach the server before the first request
    const r = await api('POST', '/v1/hosts', { address: '10.254.7.11', name: 'hv1', sshUser: 'root' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'hv1', address: '10.254.7.11', sshPort: 22, state: 'up', facts: FACTS });
    host = r.body;
    const none = { vcpus: 0, memoryMiB: 0, diskGiB: 0 };
    const all = { vcpus: 4, memoryMiB: 8192, diskGiB: 100 };
    const capacity = { capacity: all, allocated: none, free: all, vmCount: 0 };
    expect((await api('GET', `/v1/hosts/${host.id}`)).body).toEqual({ ...host, ...capacity });
    // No metrics-collector runs here: the latest metrics are null, the list still answers.
    expect((await api('GET', '/v1/hosts')).body).toEqual({ items: [{ ...host, ...capacity, metrics: null }], total: 1 });
  });

  it('passes the provisioner 422/409 through and validates the host body', async () => {
    const unreachable = await api('POST', '/v1/hosts', { address: '10.254.7.99' });
    expect(unreachable.status).toBe(422);
    expect(unreachable.body).toEqual({ statusCode: 422, error: 'Unprocessable Entity', message: 'cannot reach 10.254.7.99:22: connect ETIMEDOUT' });
    const dup = await api('POST', '/v1/hosts', { address: '10.254.7.11' });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toMatch(/already registered/);
    const bad = await api('POST', '/v1/hosts', { address: '10.254.7.12 -oProxyCommand=sh', sshPort: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.field).sort()).toEqual(['address', 'sshPort']);
  });

  it('registers images via RPC and learns images from image.registered events', async () => {
    const r = await api('POST', '/v1/images', { name: 'minicloud-lab', path: '/var/lib/minicloud-images/lab.qcow2' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'minicloud-lab', path: '/var/lib/minicloud-images/lab.qcow2', checksum: CHECKSUM, sizeBytes: 123456789 });
    expect((await api('GET', `/v1/images/${r.body.id}`)).body).toMatchObject({ id: r.body.id, name: 'minicloud-lab', virtualSizeBytes: 2147483648 });

    const imageId = randomUUID();
    await bus.publish(Subjects.ImageRegistered, { imageId, name: 'alpine', format: 'raw', checksum: 'e'.repeat(64), sizeBytes: 1000, virtualSizeBytes: 1000, arch: 'x86_64' });
    const img = await waitFor('image from event', async () => {
      const g = await api('GET', `/v1/images/${imageId}`);
      return g.status === 200 && g.body;
    });
    expect(img).toMatchObject({ id: imageId, name: 'alpine', format: 'raw', path: null });
    expect((await api('GET', '/v1/images')).body.total).toBe(2);
    const badPath = await api('POST', '/v1/images', { name: 'x', path: '/tmp/$(reboot)' });
    expect(badPath.status).toBe(400);
    expect(badPath.body.errors[0].field).toBe('path');
  });

  it('refuses bad VM bodies with field-level reasons', async () => {
    const cases: [unknown, string[]][] = [
      [{ ...goodVm, vcpus: -1, memoryMiB: -256, diskGiB: -2 }, ['vcpus', 'memoryMiB', 'diskGiB']],
      [{ ...goodVm, name: 'web-1;reboot' }, ['name']],
      [{ ...goodVm, name: '$(touch /tmp/x)' }, ['name']],
      [{ ...goodVm, privileged: true }, ['privileged']],
      [{ ...goodVm, userData: 'x'.repeat(64 * 1024 + 1) }, ['userData']],
      [{ ...goodVm, tags: { team: 42 } }, ['tags']],
    ];
    for (const [body, fields] of cases) {
      const r = await api('POST', '/v1/vms', body);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(r.body.errors.map((e: any) => e.field).sort()).toEqual([...fields].sort());
      expect(r.body.message).toContain(`${fields[0]}: `);
    }
    const unknownImage = await api('POST', '/v1/vms', { ...goodVm, image: 'nope' });
    expect(unknownImage.status).toBe(400);
    expect(unknownImage.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'image: unknown image "nope"', errors: [{ field: 'image', reason: 'unknown image "nope"' }] });
    const unknownHost = await api('POST', '/v1/vms', { ...goodVm, targetHost: 'hv9' });
    expect(unknownHost.status).toBe(400);
    expect(unknownHost.body.errors).toEqual([{ field: 'targetHost', reason: 'unknown host "hv9"' }]);
    const notJson = await api('POST', '/v1/vms', undefined, '{"name": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/JSON/) });
    const huge = await api('POST', '/v1/vms', { ...goodVm, userData: 'x'.repeat(600 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.body).toEqual({ statusCode: 413, error: 'Payload Too Large', message: expect.stringMatching(/too large/i) });
    // Nothing was stored or published for any of them.
    expect((await api('GET', '/v1/vms')).body.total).toBe(0);
    expect((await sql('SELECT count(*)::int AS n FROM gateway.vms'))[0].n).toBe(0);
  });

  it('accepts a good VM: 202, Location, stored as requested, vm.requested on the bus', async () => {
    const r = await api('POST', '/v1/vms', { ...goodVm, targetHost: 'hv1', sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@x'], userData: '#cloud-config\n', tags: { team: 'web' } });
    expect(r.status).toBe(202);
    vmId = r.body.id;
    expect(r.headers.get('location')).toBe(`/v1/vms/${vmId}`);
    expect(r.body).toMatchObject({ id: vmId, status: 'requested', name: 'web-1', host: null, image: { name: 'minicloud-lab' }, tags: { team: 'web' }, reason: null });
    const [e] = await waitFor('vm.requested', async () => requested.filter((x) => x.vmId === vmId).length === 1 && requested.filter((x) => x.vmId === vmId));
    expect(e).toMatchObject({
      vmId,
      name: 'web-1',
      resources: { vcpus: 1, memoryMiB: 256, diskGiB: 2 },
      image: { name: 'minicloud-lab', checksum: CHECKSUM },
      targetHostId: host.id,
      sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@x'],
      userData: '#cloud-config\n',
      tags: { team: 'web' },
    });
    const g = await api('GET', r.headers.get('location')!);
    expect(g.status).toBe(200);
    const { operation, ...vm } = r.body;
    expect(g.body).toEqual(vm);
    expect(operation).toMatchObject({ vmId, action: 'create', status: 'pending', error: null });
  });

  it('follows vm.scheduled and vm.state-changed, ignoring an older generation that arrives late', async () => {
    const scheduled = makeEvent(Subjects.VmScheduled, {
      vmId,
      name: 'web-1',
      hostId: host.id,
      resources: { vcpus: 1, memoryMiB: 256, diskGiB: 2 },
      image: { id: requested[0].image.id, name: 'minicloud-lab', checksum: CHECKSUM },
      reason: 'target host hv1 has room',
      attempt: 1,
    });
    await bus.publish(Subjects.VmScheduled, scheduled);
    const s = await waitFor('scheduled', async () => {
      const g = await api('GET', `/v1/vms/${vmId}`);
      return g.body.status === 'scheduled' && g.body;
    });
    expect(s.host).toEqual({ id: host.id, name: 'hv1', address: '10.254.7.11' });

    await bus.publish(Subjects.VmStateChanged, { vmId, state: 'running', previousState: 'provisioning', hostId: host.id, generation: 3 });
    await waitFor('running', async () => (await api('GET', `/v1/vms/${vmId}`)).body.status === 'running');

    const late = makeEvent(Subjects.VmStateChanged, { vmId, state: 'provisioning', previousState: 'scheduled', hostId: host.id, generation: 2 });
    await bus.publish(Subjects.VmStateChanged, late);
    await processed(late.eventId);
    const after = await api('GET', `/v1/vms/${vmId}`);
    expect(after.body.status).toBe('running');
    expect((await sql('SELECT generation FROM gateway.vms WHERE id = $1', [vmId]))[0].generation).toBe(3);
    // A late scheduler event (generation 1) does not move it back either.
    const again = { ...scheduled, eventId: randomUUID(), occurredAt: new Date().toISOString() };
    await bus.publish(Subjects.VmScheduled, again);
    await processed(again.eventId);
    expect((await api('GET', `/v1/vms/${vmId}`)).body.status).toBe('running');
  });

  it('lists VMs with filters and pagination', async () => {
    const second = await api('POST', '/v1/vms', { ...goodVm, name: 'db-1' });
    expect(second.status).toBe(202);
    const failed = makeEvent(Subjects.VmScheduleFailed, { vmId: second.body.id, reason: 'no valid host among 1: 1 lacked memory', removedByFilter: { memory: 1 } });
    await bus.publish(Subjects.VmScheduleFailed, failed);
    const f = await waitFor('failed', async () => {
      const g = await api('GET', `/v1/vms/${second.body.id}`);
      return g.body.status === 'failed' && g.body;
    });
    expect(f.reason).toBe('no valid host among 1: 1 lacked memory');

    const all = await api('GET', '/v1/vms');
    expect(all.body.total).toBe(2);
    expect(all.body.items.map((v: any) => v.name)).toEqual(['db-1', 'web-1']); // newest first
    expect((await api('GET', '/v1/vms?status=running')).body.items.map((v: any) => v.id)).toEqual([vmId]);
    expect((await api('GET', '/v1/vms?host=hv1')).body.items.map((v: any) => v.id)).toEqual([vmId]);
    expect((await api('GET', `/v1/vms?host=${host.id}`)).body.total).toBe(1);
    const page = await api('GET', '/v1/vms?limit=1&offset=1');
    expect(page.body).toMatchObject({ total: 2, items: [{ id: vmId }] });
    const bad = await api('GET', '/v1/vms?limit=0&status=exploded');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.field).sort()).toEqual(['limit', 'status']);
  });

  it('answers 404 for unknown ids and 400 for malformed ones', async () => {
    for (const p of ['/v1/vms', '/v1/hosts', '/v1/images']) {
      const nf = await api('GET', `${p}/${randomUUID()}`);
      expect(nf.status).toBe(404);
      expect(nf.body).toEqual({ statusCode: 404, error: 'Not Found', message: expect.stringMatching(/not found/) });
      const bad = await api('GET', `${p}/not-a-uuid`);
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([{ field: 'id', reason: 'id must be a UUID' }]);
    }
    expect((await api('GET', `/v1/vms/${randomUUID()}/console`)).status).toBe(404);
  });

  it('reads the console through the provisioner and passes its errors through', async () => {
    const c = await api('GET', `/v1/vms/${vmId}/console?lines=2`);
    expect(c.status).toBe(200);
    expect(c.body).toEqual({ lines: ['line 1', 'line 2'] });
    const conflict = await api('GET', `/v1/vms/${vmId}/console?lines=7`);
    expect(conflict.status).toBe(409);
    expect(conflict.body.message).toMatch(/no console yet/);
    expect((await api('GET', `/v1/vms/${vmId}/console?lines=-1`)).status).toBe(400);
  });

  it('applies vm.deleted and hides deleted VMs from the default list', async () => {
    await bus.publish(Subjects.VmDeleted, { vmId, hostId: host.id, generation: 5 });
    await waitFor('deleted', async () => (await api('GET', `/v1/vms/${vmId}`)).body.status === 'deleted');
    expect((await api('GET', '/v1/vms')).body.items.map((v: any) => v.id)).not.toContain(vmId);
    expect((await api('GET', '/v1/vms?status=deleted')).body.items.map((v: any) => v.id)).toEqual([vmId]);
    const zombie = makeEvent(Subjects.VmStateChanged, { vmId, state: 'running', hostId: host.id, generation: 9 });
    await bus.publish(Subjects.VmStateChanged, zombie);
    await processed(zombie.eventId);
    expect((await api('GET', `/v1/vms/${vmId}`)).body.status).toBe('deleted');
  });

  it('follows host.state-changed, ignoring an older one', async () => {
    const t0 = Date.now() + 1000;
    const down = makeEvent(Subjects.HostStateChanged, { hostId: host.id, state: 'down', previousState: 'up', reason: 'ssh: connection refused' });
    down.occurredAt = new Date(t0).toISOString();
    await bus.publish(Subjects.HostStateChanged, down);
    await waitFor('host down', async () => (await api('GET', `/v1/hosts/${host.id}`)).body.state === 'down');
    const older = makeEvent(Subjects.HostStateChanged, { hostId: host.id, state: 'up', previousState: 'down', reason: 'recovered' });
    older.occurredAt = new Date(t0 - 500).toISOString();
    await bus.publish(Subjects.HostStateChanged, older);
    await processed(older.eventId);
    expect((await api('GET', `/v1/hosts/${host.id}`)).body).toMatchObject({ state: 'down', stateReason: 'ssh: connection refused' });
  });

  it('dead-letters events for VMs it never accepted, with the reason', async () => {
    const stray = randomUUID();
    const sub = bus.nc.subscribe('deadletter.gateway-vm-state-changed.vm.state-changed', { max: 1 });
    const got = (async () => {
      for await (const m of sub) return JSON.parse(m.string());
    })();
    await bus.publish(Subjects.VmStateChanged, { vmId: stray, state: 'running', generation: 2 });
    let timer: NodeJS.Timeout | undefined;
    const dl = await Promise.race([got, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('no dead letter')), 15_000)))]).finally(() => clearTimeout(timer));
    expect(dl).toMatchObject({ consumer: 'gateway-vm-state-changed', reason: `vm ${stray} is not in the gateway read model` });
  });

  it('answers 503 and keeps nothing when vm.requested cannot be published', async () => {
    const before = (await sql('SELECT count(*)::int AS n FROM gateway.vms'))[0].n;
    await bus.jsm.streams.delete('MINICLOUD_EVENTS');
    try {
      const r = await api('POST', '/v1/vms', { ...goodVm, name: 'lost-1' });
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.stringMatching(/could not be queued/) });
      expect((await sql('SELECT count(*)::int AS n FROM gateway.vms'))[0].n).toBe(before);
      expect(await sql(`SELECT id FROM gateway.vms WHERE name = 'lost-1'`)).toEqual([]);
    } finally {
      await bus.ensureStreams();
    }
  });
});
