/**
 * The metrics collector against real Postgres and a private nats-server. SSH is the only fake: the pool's exec
 * answers with probe outputs captured on the lab hosts (counters advanced each round), refuses like a stopped
 * sshd, or answers garbage. Everything else is real: consumers, publishing, batching into partitions, liveness,
 * rollups, retention, the RPCs the gateway uses, and the Prometheus endpoint (parsed by a Prometheus parser).
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { randomUUID } from 'crypto';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { Subscription } from 'nats';
import { EventOf, makeEvent, MetricsLatestReply, MetricsSeries, Rpc, Subjects } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { SshPool, SshUnreachableError } from '@minicloud/ssh';
import { startNats, TestNats, freePort } from '../../support/nats-server';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { installInMemoryTracing } from '../../support/otel';
import { AppModule } from '../../../apps/metrics-collector/src/app.module';
import { MaintenanceService } from '../../../apps/metrics-collector/src/maintenance/maintenance.service';
import { MetricsRepository } from '../../../apps/metrics-collector/src/persistence/metrics.repository';
import { PROBE_ARGV } from '../../../apps/metrics-collector/src/collection/probe-script';
import { until as waitUntil } from '../../support/wait';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const parsePrometheus: (text: string) => { name: string; type: string; metrics: { value?: string; labels?: Record<string, string> }[] }[] = require('parse-prometheus-text-format');

jest.setTimeout(120_000);

type HostMetrics = EventOf<typeof Subjects.HostMetrics>;
type VmMetrics = EventOf<typeof Subjects.VmMetrics>;
type StateChanged = EventOf<typeof Subjects.HostStateChanged>;

const FIX = join(__dirname, '../../../apps/metrics-collector/src/collection/__fixtures__');
const ROUND1 = readFileSync(join(FIX, 'lab-h1.round1.txt'), 'utf8');
const VM_ID = '3f0c2a58-9d6e-4c1b-8a57-5e2f3c1d0b01';
/** h2 answers the same capture with another VM. */
const VM2_ID = '3f0c2a58-9d6e-4c1b-8a57-5e2f3c1d0b02';
const H1 = '00000000-0000-4000-8000-0000000000a1';
const H2 = '00000000-0000-4000-8000-0000000000a2';
const INTERVAL = 600;

let nats: TestNats;
let db: TestDatabase;
let pg: Client;
let client: Bus;
let app: INestApplication;
let port: number;
const subs: Subscription[] = [];
const hostMetrics: HostMetrics[] = [];
const vmMetrics: VmMetrics[] = [];
const stateChanges: StateChanged[] = [];
const traceparents: string[] = [];

/** What each fake host answers: 'ok' (advancing counters), 'down' (refused like a stopped sshd), 'garbage'. */
const behaviour = new Map<string, 'ok' | 'down' | 'garbage'>();
const rounds = new Map<string, number>();
const commands: string[][] = [];

/** The captured answer with its counters moved forward by `n` rounds: 2 s of uptime, 150 busy + 50 idle jiffies. */
function probeAnswer(n: number): string {
  return ROUND1.replace(/^==uptime==\n([\d.]+) ([\d.]+)$/m, (_m, up, idle) => `==uptime==\n${(Number(up) + 2 * n).toFixed(2)} ${idle}`)
    .replace(/^cpu {2}(\d+) (\d+) (\d+) (\d+) (.*)$/m, (_m, u, ni, s, idle, rest) => `cpu  ${Number(u) + 150 * n} ${ni} ${s} ${Number(idle) + 50 * n} ${rest}`)
    .replace(/^ {2}cpu\.time=(\d+)$/m, (_m, t) => `  cpu.time=${Number(t) + n * 1_000_000_000}`)
    .replace(/^(\s*eth0:\s+)(\d+)/m, (_m, p, rx) => `${p}${Number(rx) + n * 2000}`);
}

const until = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 20_000) => waitUntil(what, probe, ms, 50);

function register(hostId: string, name: string, address: string) {
  return client.publish(Subjects.HostRegistered, {
    hostId,
    name,
    address,
    sshPort: 22,
    sshUser: 'root',
    state: 'up',
    facts: { cpus: 2, cpuModel: 'qemu64', memoryMiB: 24105, diskGiB: 251, arch: 'x86_64', hypervisorVersion: '7.2.0', libvirtVersion: '9.0.0' },
  });
}

async function scrape(): Promise<ReturnType<typeof parsePrometheus>> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
  return parsePrometheus(await r.text());
}

function sample(families: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

beforeAll(async () => {
  installInMemoryTracing();
  nats = await startNats();
  db = await createTestDatabase('mc_test_metrics');
  Object.assign(process.env, {
    NATS_URL: nats.url,
    DATABASE_URL: db.url,
    OTEL_SDK_DISABLED: 'true',
    METRICS_INTERVAL_MS: String(INTERVAL),
    METRICS_HOST_TIMEOUT_MS: '400',
    METRICS_BACKOFF_BASE_MS: String(INTERVAL),
    METRICS_BACKOFF_MAX_MS: String(INTERVAL * 2),
    METRICS_INGEST_FLUSH_MS: '50',
    METRICS_MAINTENANCE_INTERVAL_MS: '3600000',
  });
  pg = new Client({ connectionString: db.url });
  await pg.connect();
  client = await Bus.connect({ name: 'metrics-test', servers: nats.url, log: () => undefined });
  const collect = <T>(subject: string, into: T[]) => {
    const sub = client.nc.subscribe(subject);
    subs.push(sub);
    void (async () => {
      for await (const m of sub) {
        into.push(JSON.parse(m.string()) as T);
        if (subject === Subjects.HostMetrics && m.headers?.get('traceparent')) traceparents.push(m.headers.get('traceparent'));
      }
    })();
  };
  collect(Subjects.HostMetrics, hostMetrics);
  collect(Subjects.VmMetrics, vmMetrics);
  collect(Subjects.HostStateChanged, stateChanges);
  app = await NestFactory.create(AppModule, { logger: ['error'], abortOnError: false });
  // The only fake: what the hosts answer over SSH.
  const pool = app.get(SshPool);
  pool.exec = async (target, argv) => {
    commands.push(argv);
    const id = target.address === '10.254.7.11' ? H1 : H2;
    const b = behaviour.get(id) ?? 'ok';
    if (b === 'down') throw new SshUnreachableError(`root@${target.address}:22 is unreachable: ECONNREFUSED`);
    if (b === 'garbage') return { stdout: 'Segmentation fault\n', stderr: '', code: 0 };
    const n = (rounds.get(id) ?? 0) + 1;
    rounds.set(id, n);
    const answer = probeAnswer(n);
    return { stdout: id === H1 ? answer : answer.split(VM_ID).join(VM2_ID), stderr: '', code: 0 };
  };
  port = await freePort();
  await app.listen(port, '127.0.0.1');
});

afterAll(async () => {
  for (const s of subs) s.unsubscribe();
  await app?.close();
  await client?.close();
  await pg?.end();
  await db?.drop();
  await nats?.stop();
});

describe('metrics collector', () => {
  it('learns hosts from host.registered and publishes host.metrics and vm.metrics every interval', async () => {
    await register(H1, 'lab-h1', '10.254.7.11');
    await register(H2, 'lab-h2', '10.254.7.12');
    const host = await until('metrics.hosts rows', async () => {
      const r = await pg.query(`SELECT * FROM metrics.hosts ORDER BY name`);
      return r.rows.length === 2 && r.rows;
    });
    expect(host[0]).toMatchObject({ id: H1, name: 'lab-h1', address: '10.254.7.11', ssh_port: 22, ssh_user: 'root', state: 'up' });
    await until('3 rounds of h1', () => hostMetrics.filter((m) => m.hostId === H1).length >= 3);
    // The one fixed command, as argv.
    expect(commands.every((c) => c.length === 3 && c[0] === 'sh' && c[1] === '-c' && c[2] === PROBE_ARGV[2])).toBe(true);
    const h1 = hostMetrics.filter((m) => m.hostId === H1);
    // First round: no deltas (absent, not 0); then 150/200 jiffies busy = 75 %, 2000 B in 2 s.
    expect(h1[0]).not.toHaveProperty('cpuPercent');
    expect(h1[0]).not.toHaveProperty('netRxBytesPerSec');
    expect(h1[1]).toMatchObject({ cpuPercent: 75, netRxBytesPerSec: 1000, netTxBytesPerSec: 0, memoryTotalMiB: 24105.13, vmCount: 1, load1: expect.any(Number) });
    expect(h1[1].error).toBeUndefined();
    // Rounds are an interval apart (stamped with the collection time).
    const gap = Date.parse(h1[2].occurredAt) - Date.parse(h1[1].occurredAt);
    expect(gap).toBeGreaterThan(INTERVAL * 0.7);
    expect(gap).toBeLessThan(INTERVAL * 1.8);
    const vm = vmMetrics.filter((m) => m.hostId === H1)[1].vms[0];
    expect(vm).toMatchObject({ domain: `mc-${VM_ID}`, vmId: VM_ID, state: 'running', cpuPercent: 50, memoryCurrentMiB: 128, vcpus: 1 });
    // Every message carries a trace context.
    expect(traceparents.length).toBeGreaterThan(0);
    expect(traceparents[0]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('stores every round in the collector schema, in batches, VMs by their id', async () => {
    const rows = await until('stored rounds', async () => {
      const r = await pg.query(`SELECT * FROM metrics.host_samples WHERE host_id = $1 ORDER BY collected_at`, [H1]);
      return r.rows.length >= 3 && r.rows;
    });
    expect(rows[0].cpu_percent).toBeNull();
    expect(rows[1]).toMatchObject({ cpu_percent: 75, net_rx_bps: 1000, vm_count: 1, error: null });
    const vms = await pg.query(`SELECT * FROM metrics.vm_samples WHERE vm_id = $1 ORDER BY collected_at`, [VM_ID]);
    expect(vms.rows.length).toBeGreaterThanOrEqual(2);
    expect(vms.rows[1]).toMatchObject({ host_id: H1, state: 'running', cpu_percent: 50, memory_current_mib: 128 });
    // Stored in hourly partitions created on demand.
    const parts = await pg.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'host_samples'`);
    expect(parts.rows.map((r) => r.relname)).toEqual(expect.arrayContaining([expect.stringMatching(/^host_samples_p\d{10}$/)]));
  });

  it('records a garbled answer as missing (error, every value NULL), never as 0', async () => {
    behaviour.set(H2, 'garbage');
    const bad = await until('a failed round of h2', () => hostMetrics.find((m) => m.hostId === H2 && m.error));
    expect(bad.error).toMatch(/^garbled: not a probe answer/);
    expect(Object.keys(bad).sort()).toEqual(['error', 'eventId', 'hostId', 'occurredAt', 'schemaVersion']);
    const row = await until('stored failed round', async () => (await pg.query(`SELECT * FROM metrics.host_samples WHERE host_id = $1 AND error IS NOT NULL`, [H2])).rows[0]);
    for (const col of ['cpu_percent', 'memory_total_mib', 'load1', 'disk_used_bytes', 'net_rx_bps', 'vm_count']) expect(row[col]).toBeNull();
    behaviour.set(H2, 'ok');
  });

  it('takes a host down after 3 missed rounds in a row, with the reason, and back up on its first good round', async () => {
    const before = stateChanges.length;
    behaviour.set(H1, 'down');
    const t0 = Date.now();
    const down = await until('h1 down', () => stateChanges.slice(before).find((e) => e.hostId === H1 && e.state === 'down'), 10_000);
    expect(Date.now() - t0).toBeLessThan(INTERVAL * 4 + 500);
    expect(down).toMatchObject({ previousState: 'up', reason: expect.stringMatching(/^missed 3 metrics collection rounds in a row; last: (unreachable: .*ECONNREFUSED|backoff: .*)/) });
    const stored = await until('h1 down stored', async () => (await pg.query(`SELECT state, state_reason FROM metrics.hosts WHERE id = $1 AND state = 'down'`, [H1])).rows[0]);
    expect(stored).toEqual({ state: 'down', state_reason: down.reason });
    // Failed rounds are published as missing while the host is down.
    const missed = hostMetrics.filter((m) => m.hostId === H1 && m.error);
    expect(missed.length).toBeGreaterThanOrEqual(3);
    expect(stateChanges.slice(before).filter((e) => e.hostId === H1 && e.state === 'down')).toHaveLength(1);
    behaviour.set(H1, 'ok');
    const up = await until('h1 up', () => stateChanges.slice(before).find((e) => e.hostId === H1 && e.state === 'up'), 10_000);
    expect(up).toMatchObject({ previousState: 'down', reason: 'metrics collection succeeded again' });
    await until('h1 up stored', async () => (await pg.query(`SELECT state FROM metrics.hosts WHERE id = $1`, [H1])).rows[0].state === 'up');
  });

  it('follows state changes published by others (an operator disabling a host is not undone)', async () => {
    const before = stateChanges.length;
    await client.publish(Subjects.HostStateChanged, { hostId: H2, state: 'maintenance', previousState: 'up', reason: 'operator' });
    await until('h2 in maintenance', async () => (await pg.query(`SELECT state FROM metrics.hosts WHERE id = $1`, [H2])).rows[0].state === 'maintenance');
    behaviour.set(H2, 'down');
    await new Promise((r) => setTimeout(r, INTERVAL * 5));
    expect(stateChanges.slice(before).filter((e) => e.hostId === H2 && e.state !== 'maintenance')).toEqual([]);
    behaviour.set(H2, 'ok');
    await client.publish(Subjects.HostStateChanged, { hostId: H2, state: 'up', previousState: 'maintenance', reason: 'operator' });
    await until('h2 up', async () => (await pg.query(`SELECT state FROM metrics.hosts WHERE id = $1`, [H2])).rows[0].state === 'up');
    // Its next good round (after the reconnect backoff) is stored before the tests below look at "latest".
    const seen = hostMetrics.length;
    await until('a good round of h2', async () => {
      const good = hostMetrics.slice(seen).find((m) => m.hostId === H2 && !m.error);
      return good && (await pg.query(`SELECT 1 FROM metrics.host_samples WHERE host_id = $1 AND collected_at = $2`, [H2, good.occurredAt])).rowCount === 1;
    });
  });

  it('answers the latest round of hosts and VMs over rpc.metrics.latest', async () => {
    const r = await client.request<MetricsLatestReply>(Rpc.MetricsLatest, { hostIds: [H1, H2, randomUUID()], vmIds: [VM_ID] });
    expect(Object.keys(r.hosts).sort()).toEqual([H1, H2]);
    expect(r.hosts[H1]).toMatchObject({ collectedAt: expect.any(String), memoryTotalMiB: 24105.13, vmCount: 1 });
    expect(Date.now() - Date.parse(r.hosts[H1].collectedAt)).toBeLessThan(5000);
    expect(r.vms[VM_ID]).toMatchObject({ hostId: H1, state: 'running', memoryCurrentMiB: 128 });
    await expect(client.request(Rpc.MetricsLatest, { hostIds: ['nope'] })).rejects.toMatchObject({ status: 400 });
  });

  it('rolls history up into 1-minute buckets and answers downsampled series', async () => {
    // An hour-old history of a third host: 10 s rounds with cpu 10, 20, …, 60 % in each minute, one failed round.
    const H3 = randomUUID();
    // Aligned to the steps used below (points are aligned to multiples of the step, like Prometheus').
    const base = Math.floor((Date.now() - 3_600_000) / 120_000) * 120_000;
    const events: HostMetrics[] = [];
    for (let i = 0; i < 30; i++) {
      const occurredAt = new Date(base + i * 10_000).toISOString();
      if (i === 7) events.push({ ...makeEvent(Subjects.HostMetrics, { hostId: H3, error: 'timeout: no answer within 8000 ms' }), occurredAt });
      else events.push({ ...makeEvent(Subjects.HostMetrics, { hostId: H3, cpuPercent: ((i % 6) + 1) * 10, memoryTotalMiB: 4096, load1: 1 }), occurredAt });
    }
    await Promise.all(events.map((e) => client.publish(Subjects.HostMetrics, e)));
    await until('history stored', async () => Number((await pg.query(`SELECT count(*) FROM metrics.host_samples WHERE host_id = $1`, [H3])).rows[0].count) === 30);

    const raw = await client.request<MetricsSeries>(Rpc.MetricsHostSeries, { id: H3, from: new Date(base).toISOString(), to: new Date(base + 300_000).toISOString(), step: 30 });
    expect(raw).toMatchObject({ id: H3, kind: 'host', step: 30, source: 'raw' });
    expect(raw.points).toHaveLength(10);
    expect(raw.points[0]).toMatchObject({ t: new Date(base).toISOString(), samples: 3, missing: 0, cpuPercent: 20, cpuPercentMax: 30 });
    // The failed round is counted as missing and does not drag the average to 0.
    expect(raw.points[2]).toMatchObject({ samples: 2, missing: 1, cpuPercent: 20 });

    const m = await app.get(MaintenanceService).runOnce();
    expect(m.rolledUp.hosts).toBeGreaterThanOrEqual(5);
    const roll = await client.request<MetricsSeries>(Rpc.MetricsHostSeries, { id: H3, from: new Date(base).toISOString(), to: new Date(base + 300_000).toISOString(), step: 120 });
    expect(roll).toMatchObject({ step: 120, source: '1m' });
    expect(roll.points.map((p) => p.t)).toEqual([0, 120_000, 240_000].map((d) => new Date(base + d).toISOString()));
    expect(roll.points[0]).toMatchObject({ samples: 11, missing: 1, cpuPercentMax: 60, memoryTotalMiB: 4096 });
    expect(roll.points[0].cpuPercent).toBeCloseTo((35 * 6 + (10 + 20 + 30 + 40 + 50 + 60 - 20)) / 11, 1);
    expect(roll.points[2]).toMatchObject({ samples: 6, missing: 0, cpuPercent: 35 });
    const stored = await pg.query(`SELECT count(*)::int AS n FROM metrics.host_samples_1m WHERE host_id = $1`, [H3]);
    expect(stored.rows[0].n).toBe(5);
    // Running it again changes nothing (recomputes recent buckets only).
    await app.get(MaintenanceService).runOnce();
    expect((await pg.query(`SELECT count(*)::int AS n FROM metrics.host_samples_1m WHERE host_id = $1`, [H3])).rows[0].n).toBe(5);

    const vm = await client.request<MetricsSeries>(Rpc.MetricsVmSeries, { id: VM_ID, from: new Date(Date.now() - 120_000).toISOString(), step: 5 });
    expect(vm).toMatchObject({ kind: 'vm', source: 'raw', step: 5 });
    expect(vm.points.length).toBeGreaterThan(0);
    expect(vm.points.some((p) => p.cpuPercent === 50)).toBe(true);
    expect(vm.points[0]).not.toHaveProperty('missing');

    await expect(client.request(Rpc.MetricsHostSeries, { id: H3, from: new Date(base + 60_000).toISOString(), to: new Date(base).toISOString() })).rejects.toEqual(new RpcError(400, 'from must be before to'));
  });

  it('drops partitions past the retention and ignores samples older than it', async () => {
    const repo = app.get(MetricsRepository);
    const old = Date.now() - 30 * 3_600_000;
    await repo.ensurePartitions('host_samples', 'hour', [old]);
    await pg.query(`INSERT INTO metrics.host_samples (host_id, collected_at, cpu_percent) VALUES ($1, $2, 1)`, [H1, new Date(old)]);
    const { dropped } = await app.get(MaintenanceService).runOnce();
    expect(dropped).toEqual([expect.stringMatching(/^host_samples_p\d{10}$/)]);
    expect((await pg.query(`SELECT count(*)::int AS n FROM metrics.host_samples WHERE collected_at < now() - interval '25 hours'`)).rows[0].n).toBe(0);
    const stale = { ...makeEvent(Subjects.HostMetrics, { hostId: H1, cpuPercent: 1 }), occurredAt: new Date(old).toISOString() };
    await client.publish(Subjects.HostMetrics, stale);
    await new Promise((r) => setTimeout(r, 500));
    expect((await pg.query(`SELECT count(*)::int AS n FROM metrics.host_samples WHERE collected_at < now() - interval '25 hours'`)).rows[0].n).toBe(0);
  });

  it('dead-letters a metrics message that breaks its contract, with the reason', async () => {
    const dead: { reason: string }[] = [];
    const sub = client.nc.subscribe('deadletter.metrics-collector-host-metrics.host.metrics');
    subs.push(sub);
    void (async () => {
      for await (const m of sub) dead.push(JSON.parse(m.string()));
    })();
    await client.publishRaw(Subjects.HostMetrics, JSON.stringify({ ...makeEvent(Subjects.HostMetrics, { hostId: H1 }), cpuPercent: 250 }));
    const d = await until('dead letter', () => dead[0]);
    expect(d.reason).toMatch(/cpuPercent: cpuPercent must not be greater than 100/);
  });

  it('serves fleet and per-host gauges plus process metrics in the Prometheus text format', async () => {
    const f = await scrape();
    const lab = { host_id: H1, host: 'lab-h1' };
    expect(sample(f, 'minicloud_host_up', lab)).toBe(1);
    expect(sample(f, 'minicloud_host_memory_total_bytes', lab)).toBeCloseTo(24683656 * 1024, -4); // MiB with 2 decimals: within 5 KiB
    expect(sample(f, 'minicloud_host_cpu_utilization_percent', lab)).toBe(75);
    expect(sample(f, 'minicloud_host_vms_running', lab)).toBe(1);
    expect(sample(f, 'minicloud_fleet_hosts', { state: 'up' })).toBe(2);
    expect(sample(f, 'minicloud_fleet_hosts', { state: 'down' })).toBe(0);
    expect(sample(f, 'minicloud_fleet_vms_running')).toBe(2);
    expect(sample(f, 'minicloud_collector_rounds_total', { outcome: 'ok' })).toBeGreaterThan(5);
    expect(sample(f, 'minicloud_collector_rounds_total', { outcome: 'garbled' })).toBeGreaterThan(0);
    expect(f.find((x) => x.name === 'minicloud_metrics_ingest_lag_seconds')?.type).toBe('HISTOGRAM');
    expect(sample(f, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(f, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('stops collecting a host once it is removed from the platform', async () => {
    await client.publish(Subjects.HostRemoved, { hostId: H2 });
    await until('h2 gone from metrics.hosts', async () => (await pg.query('SELECT 1 FROM metrics.hosts WHERE id = $1', [H2])).rows.length === 0);
    await new Promise((r) => setTimeout(r, INTERVAL)); // a round already under way may still finish
    const seen = hostMetrics.filter((m) => m.hostId === H2).length;
    await new Promise((r) => setTimeout(r, INTERVAL * 3));
    expect(hostMetrics.filter((m) => m.hostId === H2).length).toBe(seen);
    expect(hostMetrics.filter((m) => m.hostId === H1).length).toBeGreaterThan(0);
  });
});
