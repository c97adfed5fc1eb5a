/**
 * Ingest benchmark: N simulated hosts publish host.metrics every interval through a private nats-server
 * (JetStream, file storage) into a throwaway Postgres database, stored by the real metrics-collector running as
 * its own process (METRICS_COLLECT=false: ingest only). Prints, per scenario and beside the targets: messages/s
 * published and stored, end-to-end lag p50/p99 (collection time → row inserted), rows/s written, CPU and RSS of the
 * collector (and of nats-server and this simulator, which share the machine).
 */
import 'reflect-metadata';
import { ChildProcess, spawn } from 'child_process';
import { readFileSync } from 'fs';
import { randomUUID } from 'crypto';
import { join } from 'path';
import { connect, headers as natsHeaders, JetStreamClient, NatsConnection } from 'nats';
import { Client } from 'pg';
import { SCHEMA_VERSION, Streams, Subjects } from '@minicloud/contracts';
import { createTestDatabase } from '../../test/support/database';
import { freePort, startNats, waitForPort } from '../../test/support/nats-server';

interface Scenario {
  hosts: number;
  intervalS: number;
}

const ROOT = join(__dirname, '../../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const WARMUP_S = 5;
const SCENARIOS: Scenario[] = (process.env.BENCH_SCENARIOS ?? '1000@10,10000@10,1000@1,10000@1').split(',').map((s) => {
  const [h, i] = s.split('@').map(Number);
  return { hosts: h, intervalS: i };
});
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime
}
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
/** Busy share of the whole machine (all cores) between two /proc/stat reads. */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function hostEvent(hostId: string, occurredAt: string, i: number): string {
  return JSON.stringify({
    schemaVersion: SCHEMA_VERSION,
    eventId: randomUUID(),
    occurredAt,
    hostId,
    cpuPercent: (i * 7) % 100,
    memoryUsedPercent: 41.5,
    memoryTotalMiB: 257_000,
    memoryAvailableMiB: 150_000,
    load1: 3.2,
    load5: 2.9,
    load15: 2.5,
    diskTotalBytes: 3_840_000_000_000,
    diskUsedBytes: 1_200_000_000_000,
    netRxBytesPerSec: 12_345_678,
    netTxBytesPerSec: 9_876_543,
    vmCount: 24,
  });
}

async function startCollector(natsUrl: string, dbUrl: string): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['-r', join(ROOT, 'tools/register-paths.js'), join(ROOT, 'dist/apps/metrics-collector/src/main.js')], {
    env: {
      ...process.env,
      NATS_URL: natsUrl,
      DATABASE_URL: dbUrl,
      PORT: String(port),
      METRICS_COLLECT: 'false',
      OTEL_SDK_DISABLED: 'true',
      LOG_LEVEL: 'warn',
      METRICS_MAINTENANCE_INTERVAL_MS: '3600000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(port, 60_000);
  return { proc, port };
}

async function publishLoop(js: JetStreamClient, nc: NatsConnection, sc: Scenario, seconds: number, hostIds: string[]): Promise<{ sent: number; failed: number }> {
  const rate = sc.hosts / sc.intervalS; // messages per second
  const sliceMs = 50;
  const start = Date.now();
  let issued = 0;
  let sent = 0;
  let failed = 0;
  const h = natsHeaders();
  h.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  const inflight = new Set<Promise<unknown>>();
  for (let slice = 0; ; slice++) {
    const now = Date.now();
    if (now - start >= seconds * 1000) break;
    // Messages due by the end of this slice: hosts take turns, each once per interval.
    const due = Math.floor(((now - start + sliceMs) / 1000) * rate);
    while (issued < due) {
      const i = issued++;
      // Stamped when published, like a collection round: the lag measured is the pipeline's, not the simulator's.
      const p = js
        .publish(Subjects.HostMetrics, hostEvent(hostIds[i % hostIds.length], new Date().toISOString(), i), { headers: h })
        .then(() => sent++, () => failed++)
        .finally(() => inflight.delete(p));
      inflight.add(p);
      // Publisher-side flow control: at most 4000 unacknowledged publishes.
      if (inflight.size >= 4000) await Promise.race(inflight);
    }
    const wait = start + (slice + 1) * sliceMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.allSettled([...inflight]);
  await nc.flush();
  return { sent, failed };
}

async function runScenario(sc: Scenario) {
  const nats = await startNats();
  const db = await createTestDatabase('mc_bench_metrics');
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  const nc = await connect({ servers: nats.url, name: 'bench-sim' });
  const jsm = await nc.jetstreamManager();
  const tele = Streams.find((s) => s.name === 'MINICLOUD_TELEMETRY')!;
  const collector = await startCollector(nats.url, db.url);
  // The collector created the streams and its consumers at start (its HTTP port answers after that).
  await jsm.streams.info(tele.name);
  const js = nc.jetstream();
  const hostIds = Array.from({ length: sc.hosts }, () => randomUUID());
  const cpu0 = { col: cpuSeconds(collector.proc.pid!), sim: process.cpuUsage(), m: machineTicks() };
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(rssMiB(collector.proc.pid!)), 1000);
  const t0 = Date.now();
  const pub = await publishLoop(js, nc, sc, SECONDS, hostIds);
  const pubSeconds = (Date.now() - t0) / 1000;
  // Drain: wait until every published message is stored (or give up after 120 s).
  const drainStart = Date.now();
  let stored = 0;
  for (;;) {
    stored = Number((await pg.query(`SELECT count(*) FROM metrics.host_samples`)).rows[0].count);
    if (stored >= pub.sent || Date.now() - drainStart > 120_000) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const drainS = (Date.now() - drainStart) / 1000;
  clearInterval(sampler);
  const wall = (Date.now() - t0) / 1000;
  const cpuCol = cpuSeconds(collector.proc.pid!) - cpu0.col;
  const simU = process.cpuUsage(cpu0.sim);
  const m1 = machineTicks();
  const measureFrom = new Date(t0 + WARMUP_S * 1000);
  const lag = (
    await pg.query(
      `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY l) AS p50, percentile_disc(0.99) WITHIN GROUP (ORDER BY l) AS p99, max(l) AS max, count(*) AS n
       FROM (SELECT extract(epoch FROM ingested_at - collected_at) AS l FROM metrics.host_samples WHERE collected_at >= $1) s`,
      [measureFrom],
    )
  ).rows[0];
  const window = (
    await pg.query(
      `SELECT count(*) AS n, extract(epoch FROM max(ingested_at) - min(ingested_at)) AS s FROM metrics.host_samples WHERE ingested_at >= $1 AND ingested_at < $2`,
      [measureFrom, new Date(t0 + SECONDS * 1000)],
    )
  ).rows[0];
  const result = {
    scenario: `${sc.hosts} hosts @ ${sc.intervalS}s`,
    targetMsgs: sc.hosts / sc.intervalS,
    publishedPerS: Math.round(pub.sent / pubSeconds),
    publishFailed: pub.failed,
    storedPerS: Math.round(Number(window.n) / Math.max(1, Number(window.s))),
    stored,
    lagP50: Number(lag.p50),
    lagP99: Number(lag.p99),
    lagMax: Number(lag.max),
    drainS,
    collectorCpuPct: Math.round((cpuCol / wall) * 100),
    collectorRssMiB: Math.round(Math.max(...rss, 0)),
    simulatorCpuPct: Math.round(((simU.user + simU.system) / 1e6 / wall) * 100),
    machineBusyPct: Math.round(((m1.busy - cpu0.m.busy) / (m1.total - cpu0.m.total)) * 100),
  };
  const ci = await jsm.consumers.info(tele.name, 'metrics-collector-host-metrics');
  process.stdout.write(`    published ${pub.sent}, stored ${stored}, redelivered ${ci.num_redelivered}, still pending ${ci.num_pending + ci.num_ack_pending}\n`);
  collector.proc.kill('SIGTERM');
  await new Promise((r) => collector.proc.once('exit', r));
  await nc.close();
  await pg.end();
  await db.drop();
  await nats.stop();
  return result;
}

function fmt(n: number, d = 0): string {
  return Number.isFinite(n) ? n.toFixed(d) : '-';
}

async function main() {
  process.stdout.write(`metrics ingest benchmark: ${SECONDS} s per scenario (first ${WARMUP_S} s not in the lag/rate figures), ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length} CPUs shared\n`);
  const rows = [];
  for (const sc of SCENARIOS) {
    process.stdout.write(`  running ${sc.hosts} hosts @ ${sc.intervalS}s …\n`);
    rows.push(await runScenario(sc));
  }
  const header = ['scenario', 'target msg/s', 'published/s', 'stored/s', 'lag p50 s', 'lag p99 s (target < 2)', 'lag max s', 'drain s', 'collector CPU %', 'collector RSS MiB', 'simulator CPU %', 'machine busy %'];
  const lines = rows.map((r) => [
    r.scenario,
    fmt(r.targetMsgs),
    fmt(r.publishedPerS) + (r.publishFailed ? ` (${r.publishFailed} failed)` : ''),
    fmt(r.storedPerS),
    fmt(r.lagP50, 2),
    fmt(r.lagP99, 2) + (r.targetMsgs >= 10_000 ? (r.lagP99 < 2 ? ' ok' : ' MISSED') : ''),
    fmt(r.lagMax, 2),
    fmt(r.drainS, 1),
    fmt(r.collectorCpuPct),
    fmt(r.collectorRssMiB),
    fmt(r.simulatorCpuPct),
    fmt(r.machineBusyPct),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  process.stdout.write('\n' + row(header) + '\n' + row(widths.map((w) => '-'.repeat(w))) + '\n' + lines.map(row).join('\n') + '\n');
  process.stdout.write('rows/s written = stored/s (one row per host.metrics message). CPU % is of one core (200 % = both).\n');
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(1);
});
