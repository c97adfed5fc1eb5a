/**
 * The metrics collector on the lab (infra/lab: `bash infra/lab/lab.sh up 2`): the collector runs in-process with
 * a private nats-server and a throwaway database and collects from the two real lab hosts over SSH. A small VM
 * (build-guest.sh: this machine's kernel + a busybox initramfs that keeps dirtying memory and writing its disk)
 * is started on lab-h1 as a transient domain `mc-<id>` and destroyed at the end.
 */
import { execFile } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Subscription } from 'nats';
import { Client } from 'pg';
import { EventOf, MetricsLatestReply, MetricsSeries, Rpc, Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { SshPool, SshTarget } from '@minicloud/ssh';
import { AppModule } from '../../../apps/metrics-collector/src/app.module';
import { MaintenanceService } from '../../../apps/metrics-collector/src/maintenance/maintenance.service';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { freePort, startNats, TestNats } from '../../support/nats-server';
import { until as waitUntil } from '../../support/wait';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const parsePrometheus: (text: string) => { name: string; metrics: { value?: string; labels?: Record<string, string> }[] }[] = require('parse-prometheus-text-format');

const run = promisify(execFile);
const ROOT = join(__dirname, '../../..');
const LAB_DIR = process.env.MINICLOUD_LAB_DIR ?? '/var/lib/minicloud-lab';
const LAB_SH = join(ROOT, 'infra/lab/lab.sh');
const INTERVAL = 2000;
const H1 = '5e7a0000-0000-4000-8000-000000000e11';
const H2 = '5e7a0000-0000-4000-8000-000000000e12';
const VM_ID = '5e7a0000-0000-4000-8000-00000000e2e1';
const VM_DIR = `/var/lib/minicloud/vms/${VM_ID}`;

type HostMetrics = EventOf<typeof Subjects.HostMetrics>;
type VmMetrics = EventOf<typeof Subjects.VmMetrics>;
type StateChanged = EventOf<typeof Subjects.HostStateChanged>;

interface LabHost {
  name: string;
  address: string;
  port: number;
  user: string;
  index: number;
}
const lab: { hosts: LabHost[] } = JSON.parse(readFileSync(join(LAB_DIR, 'lab.json'), 'utf8'));
const [lab1, lab2] = lab.hosts;
const target = (h: LabHost): SshTarget => ({ address: h.address, port: h.port, user: h.user });

let nats: TestNats;
let db: TestDatabase;
let pg: Client;
let client: Bus;
let app: INestApplication;
let port: number;
let ssh: SshPool;
let guestDir: string;
let sshdStopped = false;
const subs: Subscription[] = [];
const hostMetrics: HostMetrics[] = [];
const vmMetrics: VmMetrics[] = [];
const stateChanges: (StateChanged & { seenAt: number })[] = [];

const until = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 60_000) => waitUntil(what, probe, ms, 100);

const domainXml = `<domain type='qemu'>
  <name>mc-${VM_ID}</name>
  <uuid>${VM_ID}</uuid>
  <title>metrics-e2e</title>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${VM_DIR}/vmlinuz</kernel><initrd>${VM_DIR}/initrd.gz</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${VM_DIR}/disk.raw'/><target dev='vda' bus='virtio'/></disk>
    <serial type='pty'><log file='${VM_DIR}/console.log' append='on'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='virtio'><stats period='2'/></memballoon>
  </devices>
</domain>
`;

async function destroyVm() {
  await ssh.exec(target(lab1), ['virsh', '-c', 'qemu:///system', 'destroy', `mc-${VM_ID}`], { check: false });
  await ssh.exec(target(lab1), ['rm', '-rf', VM_DIR], { check: false });
}

beforeAll(async () => {
  ssh = new SshPool({ privateKeyPath: join(LAB_DIR, 'id_ed25519'), knownHostsPath: join(LAB_DIR, 'known_hosts') });
  // The VM that dirties memory, started on lab-h1 before collection begins.
  guestDir = mkdtempSync(join(tmpdir(), 'mc-metrics-guest-'));
  await run('bash', [join(__dirname, 'build-guest.sh'), guestDir]);
  writeFileSync(join(guestDir, 'domain.xml'), domainXml);
  await destroyVm();
  await ssh.exec(target(lab1), ['mkdir', '-p', VM_DIR]);
  await ssh.exec(target(lab1), ['truncate', '-s', '16M', `${VM_DIR}/disk.raw`]);
  for (const f of ['vmlinuz', 'initrd.gz', 'domain.xml']) await ssh.upload(target(lab1), join(guestDir, f), `${VM_DIR}/${f}`);
  await ssh.exec(target(lab1), ['virsh', '-c', 'qemu:///system', 'create', `${VM_DIR}/domain.xml`]);

  nats = await startNats();
  db = await createTestDatabase('mc_e2e_metrics');
  Object.assign(process.env, {
    NATS_URL: nats.url,
    DATABASE_URL: db.url,
    OTEL_SDK_DISABLED: 'true',
    MINICLOUD_SSH_KEY: join(LAB_DIR, 'id_ed25519'),
    MINICLOUD_SSH_KNOWN_HOSTS: join(LAB_DIR, 'known_hosts'),
    METRICS_INTERVAL_MS: String(INTERVAL),
    METRICS_HOST_TIMEOUT_MS: '1500',
    METRICS_BACKOFF_MAX_MS: String(INTERVAL * 2),
    METRICS_INGEST_FLUSH_MS: '100',
    METRICS_MAINTENANCE_INTERVAL_MS: '3600000',
  });
  pg = new Client({ connectionString: db.url });
  await pg.connect();
  client = await Bus.connect({ name: 'metrics-e2e', servers: nats.url, log: () => undefined });
  const collect = <T>(subject: string, into: T[], stamp = false) => {
    const sub = client.nc.subscribe(subject);
    subs.push(sub);
    void (async () => {
      for await (const m of sub) into.push({ ...JSON.parse(m.string()), ...(stamp ? { seenAt: Date.now() } : {}) });
    })();
  };
  collect(Subjects.HostMetrics, hostMetrics);
  collect(Subjects.VmMetrics, vmMetrics);
  collect(Subjects.HostStateChanged, stateChanges, true);
  app = await NestFactory.create(AppModule, { logger: ['error'], abortOnError: false });
  port = await freePort();
  await app.listen(port, '127.0.0.1');
  for (const [id, h] of [[H1, lab1], [H2, lab2]] as const) {
    await client.publish(Subjects.HostRegistered, {
      hostId: id,
      name: h.name,
      address: h.address,
      sshPort: h.port,
      sshUser: h.user,
      state: 'up',
      facts: { cpus: 2, cpuModel: 'lab', memoryMiB: 1024, diskGiB: 1, arch: 'x86_64', hypervisorVersion: 'lab', libvirtVersion: 'lab' },
    });
  }
}, 180_000);

afterAll(async () => {
  if (sshdStopped) await run('bash', [LAB_SH, 'sshd-start', String(lab2.index)]).catch(() => undefined);
  for (const s of subs) s.unsubscribe();
  await app?.close();
  await destroyVm().catch(() => undefined);
  await ssh?.close();
  if (guestDir) rmSync(guestDir, { recursive: true, force: true });
  await client?.close();
  await pg?.end();
  await db?.drop();
  await nats?.stop();
}, 120_000);

describe('metrics collector on the lab', () => {
  it('collects both hosts every interval, matching what the hosts report', async () => {
    await until('4 rounds of each host', () => [H1, H2].every((id) => hostMetrics.filter((m) => m.hostId === id && !m.error).length >= 4));
    for (const [id, h] of [[H1, lab1], [H2, lab2]] as const) {
      const rounds = hostMetrics.filter((m) => m.hostId === id);
      expect(rounds.slice(0, 4).every((m) => !m.error)).toBe(true);
      const gaps = rounds.slice(1, 4).map((m, i) => Date.parse(m.occurredAt) - Date.parse(rounds[i].occurredAt));
      for (const g of gaps) {
        expect(g).toBeGreaterThan(INTERVAL * 0.6);
        expect(g).toBeLessThan(INTERVAL * 1.6);
      }
      // What the host says itself, asked separately.
      const mem = (await ssh.exec(target(h), ['grep', '^MemTotal:', '/proc/meminfo'])).stdout;
      const df = (await ssh.exec(target(h), ['df', '-P', '-B1', '/var/lib/minicloud'])).stdout.trim().split('\n')[1].split(/\s+/);
      const last = rounds[3];
      expect(last.memoryTotalMiB).toBeCloseTo(Number(/(\d+) kB/.exec(mem)![1]) / 1024, 1);
      expect(last.diskTotalBytes).toBe(Number(df[1]));
      expect(last.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(last.cpuPercent).toBeLessThanOrEqual(100);
      expect(last.load1).toBeGreaterThanOrEqual(0);
      expect(rounds[0]).not.toHaveProperty('cpuPercent');
    }
  });

  it('shows the VM that dirties memory: running, its memory, busy CPU and disk writes', async () => {
    const sample = await until('a VM sample with deltas', () =>
      vmMetrics.filter((m) => m.hostId === H1).flatMap((m) => m.vms).find((v) => v.vmId === VM_ID && v.cpuPercent !== undefined),
    );
    expect(sample).toMatchObject({ domain: `mc-${VM_ID}`, state: 'running', vcpus: 1, memoryCurrentMiB: 128, memoryMaxMiB: 128 });
    const later = await until('a later VM sample', () => vmMetrics.filter((m) => m.hostId === H1).slice(-1)[0]?.vms.find((v) => v.vmId === VM_ID && v.cpuPercent !== undefined && v !== sample));
    // The guest loops writing memory and its disk: it uses CPU (TCG) and writes.
    expect(Math.max(sample.cpuPercent!, later.cpuPercent!)).toBeGreaterThan(20);
    // Its disk writes come in bursts (dd … conv=fsync between memory passes, slow under TCG on a busy machine): some
    // round within the next minute shows them.
    const writing = await until('a VM sample with disk writes', () =>
      vmMetrics.filter((m) => m.hostId === H1).flatMap((m) => m.vms).find((v) => v.vmId === VM_ID && (v.diskWriteBytesPerSec ?? 0) > 0), 90_000);
    expect(writing.diskWriteBytesPerSec).toBeGreaterThan(0);
    expect(later.memoryRssMiB).toBeGreaterThan(50);
    const h1 = hostMetrics.filter((m) => m.hostId === H1 && !m.error).slice(-1)[0];
    expect(h1.vmCount).toBeGreaterThanOrEqual(1);
    // Stored, and answered as the latest value.
    const latest = await until('latest', async () => {
      const r = await client.request<MetricsLatestReply>(Rpc.MetricsLatest, { hostIds: [H1, H2], vmIds: [VM_ID] });
      return r.vms[VM_ID] && Object.keys(r.hosts).length === 2 && r;
    });
    expect(latest.vms[VM_ID]).toMatchObject({ hostId: H1, state: 'running', memoryCurrentMiB: 128 });
  });

  it("takes a host down within 3 intervals of its sshd stopping, and up again after", async () => {
    const before = stateChanges.length;
    const t0 = Date.now();
    sshdStopped = true;
    await run('bash', [LAB_SH, 'sshd-stop', String(lab2.index)]);
    const down = await until('h2 down', () => stateChanges.slice(before).find((e) => e.hostId === H2 && e.state === 'down'), 30_000);
    // 3 missed rounds: at most 3 intervals after the stop (+ the host timeout of the round in flight).
    expect(down.seenAt - t0).toBeLessThan(3 * INTERVAL + 1500 + 1000);
    expect(down.reason).toMatch(/^missed 3 metrics collection rounds in a row; last: (unreachable|backoff|timeout)/);
    expect(hostMetrics.filter((m) => m.hostId === H2 && m.error && Date.parse(m.occurredAt) >= t0).length).toBeGreaterThanOrEqual(3);
    // lab-h1 kept reporting on time meanwhile.
    expect(hostMetrics.filter((m) => m.hostId === H1 && !m.error && Date.parse(m.occurredAt) >= t0).length).toBeGreaterThanOrEqual(2);
    expect(stateChanges.slice(before).filter((e) => e.hostId === H1)).toEqual([]);

    const t1 = Date.now();
    await run('bash', [LAB_SH, 'sshd-start', String(lab2.index)]);
    sshdStopped = false;
    const up = await until('h2 up', () => stateChanges.slice(before).find((e) => e.hostId === H2 && e.state === 'up'), 30_000);
    expect(up).toMatchObject({ previousState: 'down', reason: 'metrics collection succeeded again' });
    expect(up.seenAt - t1).toBeLessThan(INTERVAL * 2 + 2000 + 2000);
    await until('h2 up stored', async () => (await pg.query(`SELECT state FROM metrics.hosts WHERE id = $1`, [H2])).rows[0]?.state === 'up');
  });

  it('answers downsampled history from raw rounds and 1-minute rollups', async () => {
    const first = Date.parse(hostMetrics.find((m) => m.hostId === H1)!.occurredAt);
    // Wait until a whole minute of collection is behind us, then roll it up.
    const minuteEnd = Math.floor(first / 60_000) * 60_000 + 120_000;
    await until('a complete minute', () => Date.now() > minuteEnd + 6000, 180_000);
    await app.get(MaintenanceService).runOnce();
    const from = new Date(first - 60_000).toISOString();
    const raw = await client.request<MetricsSeries>(Rpc.MetricsHostSeries, { id: H1, from, step: 10 });
    expect(raw).toMatchObject({ source: 'raw', step: 10 });
    expect(raw.points.length).toBeGreaterThan(5);
    expect(raw.points.every((p) => p.samples >= 1 && p.samples <= 6)).toBe(true);
    const roll = await client.request<MetricsSeries>(Rpc.MetricsHostSeries, { id: H1, from, step: 60 });
    expect(roll).toMatchObject({ source: '1m', step: 60 });
    const full = roll.points.find((p) => p.samples >= 25);
    expect(full).toBeDefined();
    expect(full!.memoryTotalMiB).toBeGreaterThan(0);
    const vm = await client.request<MetricsSeries>(Rpc.MetricsVmSeries, { id: VM_ID, from, step: 60 });
    expect(vm.points.some((p) => (p.cpuPercent as number) > 20)).toBe(true);
    // The lab-h2 outage shows up as missing rounds in its history, not as zeros.
    const h2 = await client.request<MetricsSeries>(Rpc.MetricsHostSeries, { id: H2, from, step: 10 });
    expect(h2.points.some((p) => (p.missing ?? 0) > 0)).toBe(true);
    expect(h2.points.filter((p) => p.samples === 0).every((p) => p.memoryTotalMiB === null)).toBe(true);
  });

  it('exposes the fleet in Prometheus text format', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    const families = parsePrometheus(await r.text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      Number(families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value);
    expect(value('minicloud_host_up', { host: lab1.name })).toBe(1);
    expect(value('minicloud_host_up', { host: lab2.name })).toBe(1);
    expect(value('minicloud_fleet_hosts', { state: 'up' })).toBe(2);
    expect(value('minicloud_host_vms_running', { host: lab1.name })).toBeGreaterThanOrEqual(1);
    expect(value('minicloud_collector_ssh_payload_bytes_total', { direction: 'received' })).toBeGreaterThan(1000);
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
