/**
 * Metrics through the gateway: the gateway and the metrics-collector (ingest + RPC, no SSH collection) against a
 * private nats-server and a throwaway database. host.metrics / vm.metrics are published as the collector's
 * collection would; the REST answers are checked as a client sees them.
 */
import { randomUUID } from 'crypto';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { makeEvent, Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { bootstrapService } from '@minicloud/service-kit';
import { AppModule as GatewayModule } from '../../../apps/gateway/src/app.module';
import { configureGateway } from '../../../apps/gateway/src/configure';
import { AppModule as CollectorModule } from '../../../apps/metrics-collector/src/app.module';
import { startNats, TestNats } from '../../support/nats-server';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { until as waitUntil } from '../../support/wait';

jest.setTimeout(90_000);

let nats: TestNats;
let db: TestDatabase;
let gateway: INestApplication;
let collector: INestApplication | undefined;
let bus: Bus;
let base: string;

const HOST = randomUUID();
const FACTS = { cpus: 2, cpuModel: 'qemu64', memoryMiB: 4096, diskGiB: 50, arch: 'x86_64', hypervisorVersion: '7.2.0', libvirtVersion: '9.0.0' };
const CHECKSUM = 'c'.repeat(64);
let vmId: string;

async function api(path: string) {
  const r = await fetch(base + path);
  return { status: r.status, body: (await r.json()) as any };
}

const until = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 15_000) => waitUntil(what, probe, ms, 100);

async function startCollector() {
  const app = await NestFactory.create(CollectorModule, { logger: ['error'], abortOnError: false });
  await app.init();
  return app;
}

beforeAll(async () => {
  nats = await startNats();
  db = await createTestDatabase('mc_test_gwmetrics');
  Object.assign(process.env, { NATS_URL: nats.url, DATABASE_URL: db.url, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'fatal', PORT: '0', METRICS_COLLECT: 'false', METRICS_INGEST_FLUSH_MS: '50' });
  gateway = await bootstrapService(GatewayModule, { name: 'gateway', defaultPort: 0, configure: configureGateway });
  base = `http://127.0.0.1:${(gateway.getHttpServer().address() as { port: number }).port}`;
  bus = await Bus.connect({ servers: nats.url, name: 'gw-metrics-it', log: () => undefined });
  await bus.publish(Subjects.HostRegistered, { hostId: HOST, name: 'hv1', address: '10.254.7.11', sshPort: 22, sshUser: 'root', state: 'up', facts: FACTS });
  const imageId = randomUUID();
  await bus.publish(Subjects.ImageRegistered, { imageId, name: 'img', format: 'raw', checksum: CHECKSUM, sizeBytes: 1, virtualSizeBytes: 1, arch: 'x86_64' });
  await until('host and image in the read model', async () => (await api(`/v1/hosts/${HOST}`)).status === 200 && (await api(`/v1/images/${imageId}`)).status === 200);
  const created = await fetch(`${base}/v1/vms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'web-1', vcpus: 1, memoryMiB: 256, diskGiB: 1, image: 'img' }) });
  expect(created.status).toBe(202);
  vmId = ((await created.json()) as { id: string }).id;
  await bus.publish(
    Subjects.VmScheduled,
    makeEvent(Subjects.VmScheduled, { vmId, name: 'web-1', hostId: HOST, resources: { vcpus: 1, memoryMiB: 256, diskGiB: 1 }, image: { id: imageId, name: 'img', checksum: CHECKSUM }, reason: 'test', attempt: 1 }),
  );
  await bus.publish(Subjects.VmStateChanged, { vmId, state: 'running', previousState: 'provisioning', hostId: HOST, generation: 3 });
  await until('vm running', async () => (await api(`/v1/vms/${vmId}`)).body.status === 'running');
});

afterAll(async () => {
  await collector?.close();
  await gateway?.close();
  await bus?.close();
  await nats?.stop();
  await db?.drop();
  delete process.env.PORT;
  delete process.env.METRICS_COLLECT;
});

describe('metrics through the gateway', () => {
  it('answers 503 for history and null latest values while no collector runs', async () => {
    const r = await api(`/v1/hosts/${HOST}/metrics`);
    expect(r).toEqual({ status: 503, body: { statusCode: 503, error: 'Service Unavailable', message: 'no metrics service is answering' } });
    expect((await api('/v1/hosts')).body.items[0]).toMatchObject({ id: HOST, metrics: null });
    expect((await api(`/v1/vms/${vmId}`)).body).toMatchObject({ metrics: null, hostState: 'up', hostReachable: true });
  });

  it('inlines the latest round in GET /v1/hosts and GET /v1/vms/:id', async () => {
    collector = await startCollector();
    const at = new Date(Date.now() - 20_000);
    for (let i = 0; i < 3; i++) {
      const occurredAt = new Date(at.getTime() + i * 10_000).toISOString();
      await bus.publish(Subjects.HostMetrics, { ...makeEvent(Subjects.HostMetrics, { hostId: HOST, cpuPercent: 10 * (i + 1), memoryTotalMiB: 4096, memoryAvailableMiB: 3000, vmCount: 1 }), occurredAt });
      await bus.publish(Subjects.VmMetrics, { ...makeEvent(Subjects.VmMetrics, { hostId: HOST, vms: [{ domain: `mc-${vmId}`, vmId, state: 'running', cpuPercent: 40 + i, memoryCurrentMiB: 256 }] }), occurredAt });
    }
    const hosts = await until('latest host metrics', async () => {
      const b = (await api('/v1/hosts')).body;
      return b.items[0].metrics?.cpuPercent === 30 && b;
    });
    expect(hosts.items[0].metrics).toEqual({ collectedAt: new Date(at.getTime() + 20_000).toISOString(), cpuPercent: 30, memoryTotalMiB: 4096, memoryAvailableMiB: 3000, vmCount: 1 });
    const vm = await until('latest vm metrics', async () => {
      const b = (await api(`/v1/vms/${vmId}`)).body;
      return b.metrics?.cpuPercent === 42 && b;
    });
    expect(vm.metrics).toEqual({ collectedAt: new Date(at.getTime() + 20_000).toISOString(), hostId: HOST, state: 'running', cpuPercent: 42, memoryCurrentMiB: 256 });
  });

  it('serves host and VM history with from/to/step, validating the query', async () => {
    const from = new Date(Date.now() - 120_000).toISOString();
    const h = await api(`/v1/hosts/${HOST}/metrics?from=${encodeURIComponent(from)}&step=30`);
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ id: HOST, kind: 'host', step: 30, source: 'raw', fields: expect.arrayContaining(['cpuPercent', 'memoryTotalMiB', 'cpuPercentMax']) });
    const points = h.body.points as { samples: number; cpuPercent: number | null }[];
    expect(points.reduce((n, p) => n + p.samples, 0)).toBe(3);
    expect(Math.max(...points.map((p) => p.cpuPercent ?? 0))).toBeGreaterThanOrEqual(20);
    const v = await api(`/v1/vms/${vmId}/metrics?from=${encodeURIComponent(from)}&step=60`);
    expect(v.body).toMatchObject({ kind: 'vm', source: '1m', step: 60 });

    expect((await api(`/v1/hosts/${randomUUID()}/metrics`)).status).toBe(404);
    expect((await api(`/v1/vms/${randomUUID()}/metrics`)).status).toBe(404);
    const bad = await api(`/v1/hosts/${HOST}/metrics?step=0&from=yesterday`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['from', 'step']);
    const inverted = await api(`/v1/hosts/${HOST}/metrics?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`);
    expect(inverted).toEqual({ status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'from must be before to' } });
  });

  it("shows on the VM that its host is unreachable once the host is down", async () => {
    await bus.publish(Subjects.HostStateChanged, { hostId: HOST, state: 'down', previousState: 'up', reason: 'missed 3 metrics collection rounds in a row; last: unreachable' });
    const vm = await until('host down on the vm', async () => {
      const b = (await api(`/v1/vms/${vmId}`)).body;
      return b.hostState === 'down' && b;
    });
    expect(vm).toMatchObject({ status: 'running', hostState: 'down', hostReachable: false });
    const list = (await api('/v1/vms')).body.items.find((x: { id: string }) => x.id === vmId);
    expect(list).toMatchObject({ hostReachable: false });
  });
});
