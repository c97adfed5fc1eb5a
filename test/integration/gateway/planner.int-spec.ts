/**
 * Issue 6 on the gateway: the migration planner's recommendations (list, apply, dismiss), its settings, and host
 * maintenance (enter/exit), all answered by the scheduler over request/reply. Real Postgres + a private
 * nats-server; the gateway runs in-process. No scheduler runs: this test answers rpc.scheduler.* itself
 * (bus.serve with the contracts' request classes) and records the raw requests the gateway sent.
 */
import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { Bus, RpcError } from '@minicloud/messaging';
import {
  HostMaintenanceRequest,
  HostMaintenanceView,
  makeEvent,
  PlannerSettingsRequest,
  PlannerSettingsView,
  RecommendationIdRequest,
  RecommendationListRequest,
  RecommendationView,
  Rpc,
  Subject,
  EventBody,
  Subjects,
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
const FACTS = { cpus: 8, cpuModel: 'QEMU Virtual CPU', memoryMiB: 16384, diskGiB: 200, arch: 'x86_64', hypervisorVersion: 'QEMU 7.2.0', libvirtVersion: '9.0.0' };
const HV1 = randomUUID();
const HV2 = randomUUID();
const VM1 = randomUUID();
const VM2 = randomUUID();

let nats: TestNats;
let db: TestDatabase;
let app: INestApplication;
let base: string;
let bus: Bus; // publishes the events the gateway's read model follows
let scheduler: Bus | undefined; // plays the scheduler: answers rpc.scheduler.*, records what the gateway sent
/** Every request the gateway sent on rpc.scheduler.*, as it went on the wire. */
const sent: { subject: string; body: unknown }[] = [];

const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => requestJson(base + path, { method, body, headers });
const waitFor = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 15_000) => waitUntil(what, probe, ms, 100);
const sql = <T = any>(q: string, params: unknown[] = []) => sqlRows<T>(db.url, q, params);
const processed = (eventId: string) => waitFor(`event ${eventId} processed`, async () => (await sql('SELECT 1 FROM gateway.inbox WHERE event_id = $1', [eventId])).length > 0);
const sentOn = (subject: string) => sent.filter((s) => s.subject === subject).map((s) => s.body);
/** The requests on `subject` once `n` have arrived (the recording subscription sees them beside the responder). */
const waitSent = (subject: string, n: number) => waitFor(`${n} request(s) on ${subject}`, () => sentOn(subject).length >= n && sentOn(subject));

async function publishAndWait<S extends Subject>(subject: S, body: EventBody<S>) {
  const e = makeEvent(subject, body);
  await bus.publish(subject, e);
  await processed(e.eventId);
}

// ---- the scheduler's side, as this test plays it ----------------------------------------------------------------

const rec = (over: Partial<RecommendationView> = {}): RecommendationView => ({
  id: randomUUID(),
  kind: 'balance',
  vmId: VM1,
  sourceHostId: HV1,
  targetHostId: HV2,
  reason: 'hv1 score 0.82 vs hv2 0.21 (gap 0.61 > threshold 0.25); after the move 0.55 vs 0.48',
  gapBefore: 0.61,
  gapAfter: 0.07,
  state: 'open',
  migrationId: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...over,
});
const OPEN = rec();
const OPEN_2 = rec({ kind: 'hot-spot', vmId: VM2 });
const DISMISSED = rec({ state: 'dismissed' });
const recommendations = new Map<string, RecommendationView>([OPEN, OPEN_2, DISMISSED].map((r) => [r.id, r]));
let settings: PlannerSettingsView = { automation: 'manual', consolidation: false, balanceThreshold: 0.25, hotSpotRounds: 3, cooldownSeconds: 600, intervalSeconds: 30 };
const MIGRATION_ID = randomUUID();

async function startFakeScheduler(): Promise<Bus> {
  const b = await Bus.connect({ servers: nats.url, name: 'fake-scheduler-planner', log: quiet });
  const spy = b.nc.subscribe('rpc.scheduler.>');
  void (async () => {
    for await (const m of spy) sent.push({ subject: m.subject, body: JSON.parse(m.string()) });
  })();
  b.serve(Rpc.RecommendationList, RecommendationListRequest, 'scheduler', async (req) => [...recommendations.values()].filter((r) => !req.state || r.state === req.state));
  b.serve(Rpc.RecommendationApply, RecommendationIdRequest, 'scheduler', async (req) => {
    const r = recommendations.get(req.id);
    if (!r) throw new RpcError(404, `recommendation ${req.id} not found`);
    if (r.state !== 'open') throw new RpcError(409, `recommendation ${r.id} is ${r.state}, not open`);
    const applied = { ...r, state: 'applied' as const, migrationId: MIGRATION_ID };
    recommendations.set(r.id, applied);
    return applied;
  });
  b.serve(Rpc.RecommendationDismiss, RecommendationIdRequest, 'scheduler', async (req) => {
    const r = recommendations.get(req.id);
    if (!r) throw new RpcError(404, `recommendation ${req.id} not found`);
    if (r.state !== 'open') throw new RpcError(409, `recommendation ${r.id} is ${r.state}, not open`);
    const dismissed = { ...r, state: 'dismissed' as const };
    recommendations.set(r.id, dismissed);
    return dismissed;
  });
  b.serve(Rpc.PlannerSettingsGet, PlannerSettingsRequest, 'scheduler', async () => settings);
  b.serve(Rpc.PlannerSettingsSet, PlannerSettingsRequest, 'scheduler', async (req) => {
    settings = { ...settings, ...(req.automation !== undefined ? { automation: req.automation } : {}), ...(req.consolidation !== undefined ? { consolidation: req.consolidation } : {}) };
    return settings;
  });
  b.serve(Rpc.HostMaintenance, HostMaintenanceRequest, 'scheduler', async (req): Promise<HostMaintenanceView> => {
    if (req.hostId === HV2 && req.action === 'enter') throw new RpcError(500, 'planner crashed');
    if (req.action === 'exit') return { hostId: req.hostId, state: 'up', remainingVms: 0, migrationIds: [], blocked: [], timedOut: [] };
    return { hostId: req.hostId, state: 'draining', remainingVms: 2, migrationIds: [MIGRATION_ID], blocked: [{ vmId: VM2, reason: 'no other host has 4096 MiB free' }], timedOut: [] };
  });
  await b.nc.flush(); // the responders' subscriptions reach the server before the first request
  return b;
}

beforeAll(async () => {
  nats = await startNats();
  db = await createTestDatabase('mc_gateway_planner_it');
  process.env.NATS_URL = nats.url;
  process.env.DATABASE_URL = db.url;
  process.env.PORT = '0';
  process.env.LOG_LEVEL = 'fatal';
  app = await bootstrapService(AppModule, { name: 'gateway', defaultPort: 0, configure: configureGateway });
  base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  bus = await Bus.connect({ servers: nats.url, name: 'gateway-planner-it', log: quiet });
  for (const [hostId, name, i] of [[HV1, 'hv1', 11], [HV2, 'hv2', 12]] as const) {
    await publishAndWait(Subjects.HostRegistered, { hostId, name, address: `10.254.7.${i}`, sshPort: 22, sshUser: 'root', state: 'up', facts: FACTS });
  }
});

afterAll(async () => {
  await app?.close();
  await scheduler?.close();
  await bus?.close();
  await nats?.stop();
  await db?.drop();
  delete process.env.PORT;
});

describe('planner and maintenance without a scheduler', () => {
  it('answers 503 on every route, and changes nothing', async () => {
    const unavailable = { statusCode: 503, error: 'Service Unavailable', message: 'no scheduler service is answering' };
    expect(await api('GET', '/v1/migrations/recommendations')).toMatchObject({ status: 503, body: unavailable });
    expect(await api('POST', `/v1/migrations/recommendations/${OPEN.id}/apply`)).toMatchObject({ status: 503, body: unavailable });
    expect(await api('POST', `/v1/migrations/recommendations/${OPEN.id}/dismiss`)).toMatchObject({ status: 503, body: unavailable });
    expect(await api('GET', '/v1/scheduler/planner')).toMatchObject({ status: 503, body: unavailable });
    expect(await api('PATCH', '/v1/scheduler/planner', { automation: 'automatic' })).toMatchObject({ status: 503, body: unavailable });
    expect(await api('POST', `/v1/hosts/${HV1}/maintenance`)).toMatchObject({ status: 503, body: unavailable });
    expect(await api('POST', `/v1/hosts/${HV1}/maintenance/exit`)).toMatchObject({ status: 503, body: unavailable });
    expect((await api('GET', `/v1/hosts/${HV1}`)).body.state).toBe('up');
  });
});

describe('planner and maintenance through the gateway (issue 6)', () => {
  beforeAll(async () => {
    scheduler = await startFakeScheduler();
  });

  describe('recommendations', () => {
    it('lists them as {items, total}, passing the state filter through (and is not taken for GET /v1/migrations/:id)', async () => {
      const all = await api('GET', '/v1/migrations/recommendations');
      expect(all.status).toBe(200);
      expect(all.body.total).toBe(3);
      expect(all.body.items.map((r: RecommendationView) => r.id).sort()).toEqual([OPEN.id, OPEN_2.id, DISMISSED.id].sort());

      const open = await api('GET', '/v1/migrations/recommendations?state=open');
      expect(open.status).toBe(200);
      expect(open.body).toEqual({ items: [OPEN, OPEN_2], total: 2 });
      expect(await waitSent(Rpc.RecommendationList, 2)).toEqual([{}, { state: 'open' }]);

      const bad = await api('GET', '/v1/migrations/recommendations?state=pending');
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([{ field: 'state', reason: 'state must be one of: open, applied, dismissed, expired' }]);
      await new Promise((r) => setTimeout(r, 200));
      expect(sentOn(Rpc.RecommendationList)).toHaveLength(2);

      // The migrations routes are untouched.
      expect((await api('GET', `/v1/migrations/${randomUUID()}`)).status).toBe(404);
      expect((await api('GET', '/v1/migrations')).body).toEqual({ items: [], total: 0 });
    });

    it('apply answers 202 with the applied recommendation and Location: /v1/migrations/<migrationId>', async () => {
      const r = await api('POST', `/v1/migrations/recommendations/${OPEN.id}/apply`);
      expect(r.status).toBe(202);
      expect(r.headers.get('location')).toBe(`/v1/migrations/${MIGRATION_ID}`);
      expect(r.body).toEqual({ ...OPEN, state: 'applied', migrationId: MIGRATION_ID });
      expect(await waitSent(Rpc.RecommendationApply, 1)).toEqual([{ id: OPEN.id }]);
    });

    it("passes the scheduler's 409 through with its message, and 404 for an unknown recommendation", async () => {
      const again = await api('POST', `/v1/migrations/recommendations/${OPEN.id}/apply`);
      expect(again).toMatchObject({ status: 409, body: { statusCode: 409, error: 'Conflict', message: `recommendation ${OPEN.id} is applied, not open` } });
      expect(again.headers.get('location')).toBeNull();

      const unknown = randomUUID();
      expect(await api('POST', `/v1/migrations/recommendations/${unknown}/apply`)).toMatchObject({ status: 404, body: { statusCode: 404, error: 'Not Found', message: `recommendation ${unknown} not found` } });
      expect((await api('POST', `/v1/migrations/recommendations/${unknown}/dismiss`)).status).toBe(404);
    });

    it('refuses an id that is not a UUID with 400 before asking the scheduler', async () => {
      const before = sent.length;
      const r = await api('POST', '/v1/migrations/recommendations/not-a-uuid/apply');
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual([{ field: 'id', reason: 'id must be a UUID' }]);
      expect((await api('POST', '/v1/migrations/recommendations/x/dismiss')).status).toBe(400);
      await new Promise((r) => setTimeout(r, 200));
      expect(sent.length).toBe(before);
    });

    it('dismiss answers 200 with the dismissed recommendation; dismissing it again is a 409', async () => {
      const r = await api('POST', `/v1/migrations/recommendations/${OPEN_2.id}/dismiss`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ ...OPEN_2, state: 'dismissed' });
      expect((await waitSent(Rpc.RecommendationDismiss, 2))[1]).toEqual({ id: OPEN_2.id }); // [0]: the unknown id above
      expect((await api('POST', `/v1/migrations/recommendations/${OPEN_2.id}/dismiss`)).status).toBe(409);
      expect((await api('GET', '/v1/migrations/recommendations?state=dismissed')).body.total).toBe(2);
    });
  });

  describe('planner settings', () => {
    it('GET shows the settings', async () => {
      const r = await api('GET', '/v1/scheduler/planner');
      expect(r).toMatchObject({ status: 200, body: { automation: 'manual', consolidation: false, balanceThreshold: 0.25, hotSpotRounds: 3, cooldownSeconds: 600, intervalSeconds: 30 } });
    });

    it('PATCH sends only the fields given and answers the new settings', async () => {
      const a = await api('PATCH', '/v1/scheduler/planner', { automation: 'automatic' });
      expect(a.status).toBe(200);
      expect(a.body).toMatchObject({ automation: 'automatic', consolidation: false });
      const c = await api('PATCH', '/v1/scheduler/planner', { consolidation: true });
      expect(c.body).toMatchObject({ automation: 'automatic', consolidation: true });
      expect(await waitSent(Rpc.PlannerSettingsSet, 2)).toEqual([{ automation: 'automatic' }, { consolidation: true }]);
      expect((await api('GET', '/v1/scheduler/planner')).body).toMatchObject({ automation: 'automatic', consolidation: true });
    });

    it('refuses bad values and unknown fields with 400 naming the field; nothing is sent', async () => {
      const sometimes = await api('PATCH', '/v1/scheduler/planner', { automation: 'sometimes' });
      expect(sometimes).toMatchObject({
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', errors: [{ field: 'automation', reason: 'automation must be one of: manual, automatic' }] },
      });
      const yes = await api('PATCH', '/v1/scheduler/planner', { consolidation: 'yes' });
      expect(yes.body.errors).toEqual([{ field: 'consolidation', reason: 'consolidation must be true or false' }]);
      const unknown = await api('PATCH', '/v1/scheduler/planner', { automation: 'manual', balanceThreshold: 0.5 });
      expect(unknown.status).toBe(400);
      expect(unknown.body.errors).toEqual([{ field: 'balanceThreshold', reason: 'property balanceThreshold should not exist' }]);
      await new Promise((r) => setTimeout(r, 200));
      expect(sentOn(Rpc.PlannerSettingsSet)).toHaveLength(2);
      expect(settings.automation).toBe('automatic');
    });
  });

  describe('host maintenance', () => {
    it('enter answers 202 with the drain view and sends {hostId, action: enter}; the host shows the read model state', async () => {
      const r = await api('POST', `/v1/hosts/${HV1}/maintenance`);
      expect(r.status).toBe(202);
      expect(r.headers.get('location')).toBe(`/v1/hosts/${HV1}`);
      expect(r.body).toEqual({ hostId: HV1, state: 'draining', remainingVms: 2, migrationIds: [MIGRATION_ID], blocked: [{ vmId: VM2, reason: 'no other host has 4096 MiB free' }], timedOut: [] });
      expect(await waitSent(Rpc.HostMaintenance, 1)).toEqual([{ hostId: HV1, action: 'enter' }]);
      // Draining is only in the maintenance view: the host stays as the read model has it until host.state-changed.
      expect((await api('GET', `/v1/hosts/${HV1}`)).body.state).toBe('up');
      await publishAndWait(Subjects.HostStateChanged, { hostId: HV1, state: 'maintenance', previousState: 'up', reason: 'maintenance: drained' });
      expect((await api('GET', `/v1/hosts/${HV1}`)).body).toMatchObject({ id: HV1, state: 'maintenance', stateReason: 'maintenance: drained' });
    });

    it('exit answers 200 with the view and sends {hostId, action: exit}', async () => {
      const r = await api('POST', `/v1/hosts/${HV1}/maintenance/exit`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ hostId: HV1, state: 'up', remainingVms: 0, migrationIds: [], blocked: [], timedOut: [] });
      expect((await waitSent(Rpc.HostMaintenance, 2))[1]).toEqual({ hostId: HV1, action: 'exit' });
    });

    it('answers 404 for a host not in the read model and 400 for a bad id, without asking the scheduler', async () => {
      const before = sentOn(Rpc.HostMaintenance).length;
      const unknown = randomUUID();
      expect(await api('POST', `/v1/hosts/${unknown}/maintenance`)).toMatchObject({ status: 404, body: { statusCode: 404, error: 'Not Found', message: `host ${unknown} not found` } });
      expect((await api('POST', `/v1/hosts/${unknown}/maintenance/exit`)).status).toBe(404);
      expect((await api('POST', '/v1/hosts/hv1/maintenance')).status).toBe(400);
      await new Promise((r) => setTimeout(r, 200));
      expect(sentOn(Rpc.HostMaintenance)).toHaveLength(before);
    });

    it("turns the scheduler's own failure into 502 naming the scheduler", async () => {
      const r = await api('POST', `/v1/hosts/${HV2}/maintenance`);
      expect(r).toMatchObject({ status: 502, body: { statusCode: 502, error: 'Bad Gateway', message: 'scheduler failed (500): planner crashed' } });
    });
  });
});

describe('OpenAPI', () => {
  it('documents every planner and maintenance route', async () => {
    const doc = (await api('GET', '/docs-json')).body;
    expect(Object.keys(doc.paths['/v1/migrations/recommendations'])).toEqual(['get']);
    expect(doc.paths['/v1/migrations/recommendations/{id}/apply'].post.responses['202']).toBeDefined();
    expect(doc.paths['/v1/migrations/recommendations/{id}/dismiss'].post.responses['200']).toBeDefined();
    expect(Object.keys(doc.paths['/v1/scheduler/planner']).sort()).toEqual(['get', 'patch']);
    expect(doc.paths['/v1/hosts/{id}/maintenance'].post.responses['202']).toBeDefined();
    expect(doc.paths['/v1/hosts/{id}/maintenance/exit'].post.responses['200']).toBeDefined();
    expect(Object.keys(doc.components.schemas.UpdatePlannerSettingsDto.properties).sort()).toEqual(['automation', 'consolidation']);
  });
});
