/**
 * Scheduler benchmark: the real scheduler service (separate processes from dist/, real NATS JetStream, real
 * Postgres claims) placing N requests of mixed sizes on simulated hosts. The "host driver" here is a
 * SIMULATION (`sim`): it only records the placements it receives on vm.scheduled; nothing is built.
 *
 *   bash bench/scheduler/run.sh [--requests 50000] [--hosts 1000,10000] [--replicas 1,3] [--policy least-loaded,pack]
 *     [--rate flood,1000] [--cpu-prof DIR]
 *
 * --rate: how the requests arrive. `flood` (the default) publishes them all as fast as the bus takes them (64
 * publishers): the scheduler works flat out, so placements/s is its maximum throughput and its latencies include
 * the queue that builds up. A number N publishes them open-loop at N requests per second (request i is due at
 * i/N s, whether earlier ones were decided or not): the latency the scheduler gives at that offered load, and
 * whether it keeps up with it. Each rate is a scenario of its own, printed as a row of its own.
 *
 * run.sh builds the bench and the scheduler it runs into dist/.bench-scheduler (never over the shared dist/).
 *
 * Prints one row per scenario: placements/s, decision latency p50/p99, overcommitted hosts (must be 0),
 * requests lost (must be 0), and hosts used against the lower bound (total demand ÷ host capacity).
 */
import 'reflect-metadata';
import { ChildProcess, spawn } from 'child_process';
import { randomUUID } from 'crypto';
import { join } from 'path';
import { loadavg } from 'os';
import { performance } from 'perf_hooks';
import { Client } from 'pg';
import { Bus } from '@minicloud/messaging';
import { makeEvent, Subjects } from '@minicloud/contracts';
import { freePort, startNats, waitForPort } from '../../test/support/nats-server';
import { createTestDatabase } from '../../test/support/database';

/** This file runs as dist/.bench-scheduler/bench/scheduler/run.js; the scheduler beside it in the same private build. */
const ROOT = join(__dirname, '..', '..', '..', '..');
const MAIN = join(__dirname, '..', '..', 'apps', 'scheduler', 'src', 'main.js');
const PATHS = './bench/scheduler/register-paths.js';

/** Simulated hosts: all alike (48 cores, 256 GiB, 4 TiB); default ratios (CPU 4.0, RAM 1.0, disk 1.0). */
const HOST = { cpus: 48, memoryMiB: 256 * 1024, diskGiB: 4096 };
/** Mixed request sizes, with their share of requests. */
const FLAVORS = [
  { vcpus: 1, memoryMiB: 1024, diskGiB: 10, share: 0.4 },
  { vcpus: 2, memoryMiB: 2048, diskGiB: 20, share: 0.3 },
  { vcpus: 4, memoryMiB: 4096, diskGiB: 40, share: 0.2 },
  { vcpus: 8, memoryMiB: 8192, diskGiB: 80, share: 0.1 },
];

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

/** Placements of each replica left out of the "warm" latency figures (JIT, first host-view load, start-up burst). */
const WARMUP = Math.max(0, Number(arg('warmup', '1000')) || 0);

function flavorFor(i: number) {
  // Deterministic mix: the same requests in every scenario.
  const x = ((i * 2654435761) % 1000) / 1000;
  let acc = 0;
  for (const f of FLAVORS) {
    acc += f.share;
    if (x < acc) return f;
  }
  return FLAVORS[0];
}

interface Row {
  hosts: number;
  /** `flood`, or the offered requests per second (open loop). */
  rate: string;
  /** Requests per second the bench really published at (a busy machine can fall behind the schedule). */
  offered: number;
  /** End to end, measured by the bench: vm.requested published → vm.scheduled received (includes the queue). */
  e2eP50: number;
  e2eP99: number;
  warmE2eP99: number;
  replicas: number;
  policy: string;
  requests: number;
  placed: number;
  failed: number;
  queued: number;
  seconds: number;
  perSecond: number;
  /** In replica: message handed to the handler → decision committed and published (includes the wait for a batch). */
  p50: number;
  p99: number;
  /** Attempt: the scheduler starts deciding the request (its batch) → decision committed and published. */
  attemptP50: number;
  attemptP99: number;
  /** The same after each replica's first WARMUP placements. */
  warmAttemptP99: number;
  /** Commit: the same start → the claim committed (durable; the attempt without the wait for vm.scheduled's JetStream ack). */
  commitP50: number;
  commitP99: number;
  warmCommitP99: number;
  /** How late the replicas' event loops ran their timers (the worst replica's p99, ms). */
  loopP99: number;
  warmP99: number;
  overcommitted: number;
  lost: number;
  hostsUsed: number;
  lowerBound: number;
  /** The machine's 1-minute load average at the end of the scenario (other work on it skews the figures). */
  load: number;
}

async function scenario(hosts: number, replicas: number, policy: string, requests: number, rate: string): Promise<Row> {
  const nats = await startNats();
  const db = await createTestDatabase('mc_bench_sched');
  const procs: { proc: ChildProcess; out: string[] }[] = [];
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  const bus = await Bus.connect({ name: 'bench-sim', servers: nats.url, log: () => undefined });
  try {
    const start = async () => {
      const port = await freePort();
      const out: string[] = [];
      const prof = arg('cpu-prof', '');
      const nodeArgs = prof ? ['--cpu-prof', '--cpu-prof-dir', join(prof, `${hosts}h-${replicas}r-${policy}`)] : [];
      const proc = spawn(process.execPath, [...nodeArgs, '-r', PATHS, MAIN], {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(port),
          NATS_URL: nats.url,
          DATABASE_URL: db.url,
          OTEL_SDK_DISABLED: 'true',
          LOG_LEVEL: 'warn',
          SCHEDULER_POLICY: policy,
          SCHEDULER_QUEUE_MAX_WAIT_S: '0',
          SCHEDULER_DB_POOL: process.env.SCHEDULER_DB_POOL ?? '16',
          SCHEDULER_STATS_WARMUP: String(WARMUP),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      proc.stdout!.on('data', (d) => out.push(String(d)));
      proc.stderr!.on('data', (d) => out.push(String(d)));
      procs.push({ proc, out });
      await waitForPort(port, 60_000);
    };
    await start();
    await Promise.all(Array.from({ length: replicas - 1 }, start));

    // Simulated hosts go straight into the scheduler's host table, exactly as its host.registered consumer
    // writes them (10,000 registrations through the bus would only measure registration).
    await pg.query(
      `INSERT INTO scheduler.hosts (id, name, state, state_at, arch, total_vcpus, total_memory_mib, total_disk_gib)
       SELECT gen_random_uuid(), 'sim-' || g, 'up', now(), 'x86_64', $2, $3, $4 FROM generate_series(1, $1) g`,
      [hosts, HOST.cpus, HOST.memoryMiB, HOST.diskGiB],
    );
    // Statistics, as autovacuum's analyze gives any fleet that has run for a minute: without them the planner
    // guesses that a third of the rows match `change_seq > $1` and every replica's incremental view refresh
    // (5 a second each) reads all 10,000 rows instead of the few hundred that changed.
    await pg.query('ANALYZE scheduler.hosts');
    await new Promise((r) => setTimeout(r, 1500)); // the replicas' host views pick them up

    // The sim driver: records every decision it receives.
    const placedAt = new Map<string, { hostId: string; vcpus: number; memoryMiB: number; diskGiB: number }>();
    /** When the bench published each request, and how long until its vm.scheduled arrived (ms). */
    const sentAt = new Map<string, { at: number; i: number }>();
    const e2e: number[] = [];
    /** The same for the requests after the replicas' warm-up (the first WARMUP × replicas published). */
    const e2eWarm: number[] = [];
    const failed = new Set<string>();
    const queued = new Set<string>();
    let lastDecision = 0;
    const subs = [
      bus.nc.subscribe(Subjects.VmScheduled, {
        callback: (_e, m) => {
          const s = JSON.parse(m.string());
          const sent = sentAt.get(s.vmId);
          if (sent !== undefined && !placedAt.has(s.vmId)) {
            e2e.push(performance.now() - sent.at);
            if (sent.i >= WARMUP * replicas) e2eWarm.push(performance.now() - sent.at);
          }
          placedAt.set(s.vmId, { hostId: s.hostId, ...s.resources });
          lastDecision = Date.now();
        },
      }),
      bus.nc.subscribe(Subjects.VmScheduleFailed, { callback: (_e, m) => (failed.add(JSON.parse(m.string()).vmId), (lastDecision = Date.now())) }),
      bus.nc.subscribe(Subjects.VmQueued, { callback: (_e, m) => (queued.add(JSON.parse(m.string()).vmId), (lastDecision = Date.now())) }),
    ];

    const image = { id: randomUUID(), name: 'bench', checksum: 'b'.repeat(64) };
    const ids: string[] = [];
    const t0 = Date.now();
    let next = 0;
    const request = (i: number) => {
      const f = flavorFor(i);
      const e = makeEvent(Subjects.VmRequested, { vmId: randomUUID(), name: `b-${i}`, resources: { vcpus: f.vcpus, memoryMiB: f.memoryMiB, diskGiB: f.diskGiB }, image });
      ids.push(e.vmId);
      sentAt.set(e.vmId, { at: performance.now(), i });
      return bus.publish(Subjects.VmRequested, e);
    };
    if (rate === 'flood') {
      const publisher = async () => {
        while (next < requests) await request(next++);
      };
      await Promise.all(Array.from({ length: 64 }, publisher));
    } else {
      // Open loop: request i is due at i/rate s after the start; due ones go out every 5 ms, acks not awaited.
      const perMs = Number(rate) / 1000;
      const acks: Promise<unknown>[] = [];
      const tStart = performance.now();
      while (next < requests) {
        const due = Math.min(requests, Math.floor((performance.now() - tStart) * perMs) + 1);
        while (next < due) acks.push(request(next++));
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(acks);
    }
    const offered = requests / ((Date.now() - t0) / 1000);
    const decided = () => placedAt.size + failed.size + queued.size;
    let lastCount = -1;
    let stuckSince = Date.now();
    while (decided() < requests) {
      await new Promise((r) => setTimeout(r, 250));
      if (decided() !== lastCount) {
        lastCount = decided();
        stuckSince = Date.now();
      } else if (Date.now() - stuckSince > 30_000) break; // nothing moved for 30 s: count the rest as lost
    }
    const seconds = ((lastDecision || Date.now()) - t0) / 1000;
    for (const s of subs) s.unsubscribe();

    // Overcommit, from the placements the sim driver received and from the scheduler's own table.
    const perHost = new Map<string, { vcpus: number; memoryMiB: number; diskGiB: number }>();
    for (const p of placedAt.values()) {
      const h = perHost.get(p.hostId) ?? { vcpus: 0, memoryMiB: 0, diskGiB: 0 };
      h.vcpus += p.vcpus;
      h.memoryMiB += p.memoryMiB;
      h.diskGiB += p.diskGiB;
      perHost.set(p.hostId, h);
    }
    const cap = { vcpus: HOST.cpus * 4, memoryMiB: HOST.memoryMiB, diskGiB: HOST.diskGiB };
    let over = [...perHost.values()].filter((h) => h.vcpus > cap.vcpus || h.memoryMiB > cap.memoryMiB || h.diskGiB > cap.diskGiB).length;
    const dbOver = await pg.query(`
      SELECT count(*)::int AS n FROM scheduler.hosts h LEFT JOIN (
        SELECT host_id, sum(vcpus) v, sum(memory_mib) m, sum(disk_gib) d FROM scheduler.claims WHERE released_at IS NULL GROUP BY host_id) c ON c.host_id = h.id
      WHERE c.v > floor(h.total_vcpus * h.cpu_allocation_ratio) OR c.m > floor(h.total_memory_mib * h.ram_allocation_ratio)
        OR c.d > floor(h.total_disk_gib * h.disk_allocation_ratio) OR h.allocated_memory_mib > floor(h.total_memory_mib * h.ram_allocation_ratio)`);
    over = Math.max(over, dbOver.rows[0].n);
    // Lost: published but neither placed, failed nor queued (checked against the scheduler's tables too).
    const known = new Set([...placedAt.keys(), ...failed, ...queued]);
    const stored = await pg.query(`SELECT (SELECT count(*) FROM scheduler.claims)::int + (SELECT count(*) FROM scheduler.schedule_failures)::int + (SELECT count(*) FROM scheduler.pending)::int AS n`);
    const lost = Math.max(ids.filter((id) => !known.has(id)).length, requests - stored.rows[0].n);

    const demand = { vcpus: 0, memoryMiB: 0, diskGiB: 0 };
    for (let i = 0; i < requests; i++) {
      const f = flavorFor(i);
      demand.vcpus += f.vcpus;
      demand.memoryMiB += f.memoryMiB;
      demand.diskGiB += f.diskGiB;
    }
    const lowerBound = Math.max(Math.ceil(demand.vcpus / cap.vcpus), Math.ceil(demand.memoryMiB / cap.memoryMiB), Math.ceil(demand.diskGiB / cap.diskGiB));

    // Decision latency, measured inside each replica (message handed to the handler → decision published).
    await Promise.all(
      procs.map(
        ({ proc }) =>
          new Promise<void>((resolve) => {
            proc.once('exit', () => resolve());
            proc.kill('SIGTERM');
            setTimeout(() => proc.kill('SIGKILL'), 20_000).unref();
          }),
      ),
    );
    const stats = procs
      .map((p) => p.out.join('').split('\n').find((l) => l.includes('"decision stats"')))
      .filter((l): l is string => !!l)
      .map((l) => JSON.parse(l) as { count: number; p50: number; p99: number; attempt?: { p50: number; p99: number }; committed?: { p50: number; p99: number }; warm?: { p99: number; attempt: { p99: number }; committed?: { p99: number } }; steps?: Record<string, { p50: number; p99: number }>; eventLoopDelay?: { p50: number; p99: number; max: number }; counters?: Record<string, number> });
    for (const s of stats) process.stderr.write(`  replica: ${JSON.stringify({ count: s.count, p50: s.p50, p99: s.p99, attempt: s.attempt, committed: s.committed, warm: s.warm, steps: s.steps, eventLoopDelay: s.eventLoopDelay, ...s.counters })}\n`);
    const total = stats.reduce((a, s) => a + s.count, 0) || 1;
    const p50 = stats.reduce((a, s) => a + s.p50 * s.count, 0) / total;
    const p99 = Math.max(0, ...stats.map((s) => s.p99));
    const attemptP50 = stats.reduce((a, s) => a + (s.attempt?.p50 ?? s.p50) * s.count, 0) / total;
    const attemptP99 = Math.max(0, ...stats.map((s) => s.attempt?.p99 ?? s.p99));
    const warmAttemptP99 = Math.max(0, ...stats.map((s) => s.warm?.attempt.p99 ?? s.attempt?.p99 ?? s.p99));
    const warmP99 = Math.max(0, ...stats.map((s) => s.warm?.p99 ?? s.p99));
    const commitP50 = stats.reduce((a, s) => a + (s.committed?.p50 ?? NaN) * s.count, 0) / total;
    const commitP99 = Math.max(0, ...stats.map((s) => s.committed?.p99 ?? NaN));
    const warmCommitP99 = Math.max(0, ...stats.map((s) => s.warm?.committed?.p99 ?? NaN));
    const loopP99 = Math.max(0, ...stats.map((s) => s.eventLoopDelay?.p99 ?? NaN));
    const pct = (xs: number[], q: number) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
    };
    return {
      hosts,
      rate,
      offered,
      e2eP50: pct(e2e, 0.5),
      e2eP99: pct(e2e, 0.99),
      warmE2eP99: pct(e2eWarm, 0.99),
      replicas,
      policy,
      requests,
      placed: placedAt.size,
      failed: failed.size,
      queued: queued.size,
      seconds,
      perSecond: placedAt.size / seconds,
      p50,
      p99,
      attemptP50,
      attemptP99,
      warmAttemptP99,
      warmP99,
      commitP50,
      commitP99,
      warmCommitP99,
      loopP99,
      overcommitted: over,
      lost,
      hostsUsed: perHost.size,
      lowerBound,
      load: loadavg()[0],
    };
  } finally {
    for (const { proc } of procs) if (proc.exitCode === null) proc.kill('SIGKILL');
    await bus.close(1000).catch(() => undefined);
    await pg.end().catch(() => undefined);
    await db.drop().catch(() => undefined);
    await nats.stop();
  }
}

async function main() {
  const requests = Number(arg('requests', '50000'));
  const hostsList = arg('hosts', '1000,10000').split(',').map(Number);
  const replicasList = arg('replicas', '1,3').split(',').map(Number);
  const policies = arg('policy', 'least-loaded,pack').split(',');
  const rates = arg('rate', 'flood').split(',');
  for (const r of rates) if (r !== 'flood' && !(Number(r) > 0)) throw new Error(`--rate: "${r}" is neither flood nor a positive number`);
  const rows: Row[] = [];
  for (const policy of policies) for (const hosts of hostsList) for (const rate of rates) {
    for (const replicas of replicasList) {
      process.stderr.write(`scenario: ${hosts} sim hosts, ${replicas} scheduler replica(s), policy ${policy}, ${requests} requests, ${rate === 'flood' ? 'flood' : `${rate}/s offered`}...\n`);
      const r = await scenario(hosts, replicas, policy, requests, rate);
      rows.push(r);
      process.stderr.write(`  ${JSON.stringify(r)}\n`);
    }
  }
  const head = ['sim hosts', 'replicas', 'policy', 'arrivals', 'placed', 'failed', 'seconds', 'placements/s', 'decide p50', 'decide p99', 'warm decide p99', 'commit p50', 'commit p99', 'warm commit p99', 'loop delay p99', 'in-replica p50', 'in-replica p99', 'warm in-replica p99', 'end-to-end p50', 'end-to-end p99', 'warm end-to-end p99', 'overcommitted', 'lost', 'hosts used', 'lower bound', 'load'];
  const body = rows.map((r) => [r.hosts, r.replicas, r.policy, r.rate === 'flood' ? 'flood' : `${r.offered.toFixed(0)}/s`, r.placed, r.failed + r.queued, r.seconds.toFixed(1), r.perSecond.toFixed(0), r.attemptP50.toFixed(1), r.attemptP99.toFixed(1), r.warmAttemptP99.toFixed(1), r.commitP50.toFixed(1), r.commitP99.toFixed(1), r.warmCommitP99.toFixed(1), r.loopP99.toFixed(1), r.p50.toFixed(1), r.p99.toFixed(1), r.warmP99.toFixed(1), r.e2eP50.toFixed(1), r.e2eP99.toFixed(1), r.warmE2eP99.toFixed(1), r.overcommitted, r.lost, r.hostsUsed, r.lowerBound, r.load.toFixed(1)].map(String));
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(width[i])).join('  ');
  process.stdout.write(`\nscheduler benchmark (${requests} requests of mixed sizes; host driver: sim, records placements only)\n`);
  process.stdout.write(line(head) + '\n' + body.map(line).join('\n') + '\n');
  process.stdout.write(`(ms; decide = the scheduler starts deciding the request → committed and published; commit = the same start → its claim committed (durable), without the wait for vm.scheduled's JetStream ack; loop delay = how late the replica's event loop ran its timers; in-replica = handed to the handler → same, with the wait for a batch; warm = after each replica's first ${WARMUP} placements (end to end: after the first ${WARMUP} × replicas requests); p99 = the worst replica's)\n`);
  process.stdout.write(`(arrivals: flood = all requests published at once, the scheduler's maximum throughput; N/s = published open-loop at that rate; end-to-end = the bench publishes vm.requested → receives vm.scheduled)\n`);
  // The issue's target, side by side with what each 10,000-host, 3-replica scenario reached: the throughput from a
  // flood, the latency at 1,000 requests/s offered (open loop) — a scheduler that keeps up with that rate.
  for (const r of rows.filter((x) => x.hosts === 10000 && x.replicas === 3)) {
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const lat = `decide p99 ${r.attemptP99.toFixed(1)} ms (to the commit ${r.commitP99.toFixed(1)}, warm ${r.warmCommitP99.toFixed(1)}), in-replica p99 ${r.p99.toFixed(1)} ms (warm ${r.warmP99.toFixed(1)}), end-to-end p99 ${r.e2eP99.toFixed(1)} ms (warm ${r.warmE2eP99.toFixed(1)})`;
    if (r.rate === 'flood') {
      process.stdout.write(`target (3 replicas, 10,000 hosts) >= 1000 placements/s | ${r.policy}, flood: ${r.perSecond.toFixed(0)}/s (${met(r.perSecond >= 1000)}); under that full load ${lat}\n`);
    } else {
      const keptUp = r.placed === r.requests && r.perSecond >= 0.98 * r.offered;
      process.stdout.write(
        `target (3 replicas, 10,000 hosts) decision p99 < 50 ms at >= 1000 requests/s | ${r.policy}, ${r.offered.toFixed(0)}/s offered: ` +
          `placed ${r.perSecond.toFixed(0)}/s (${keptUp ? 'kept up' : 'fell behind'}); ${lat} → ${met(keptUp && r.offered >= 1000 && r.p99 < 50)} (in-replica p99)\n`,
      );
    }
  }
  if (rows.some((r) => r.overcommitted > 0 || r.lost > 0)) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(1);
});
