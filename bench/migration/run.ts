/**
 * Migration benchmark: real live migrations of a real guest between two lab hosts, every strategy side by side, with
 * what the cost model predicted and what `auto` would have chosen.
 *
 *   bash bench/migration/run.sh                 # the default matrix, in chunks, each under the lab lock
 *   node -r ./bench/migration/register-paths.js dist/.bench-migration/bench/migration/run.js [options]
 *
 * One chunk (one invocation) boots ONE 256 MiB guest for each storage kind it needs (a linked clone on the lab's
 * image; `copy`: in the VM's directory, migrated with --copy-storage-inc onto an overlay pre-created on the target,
 * as the provisioner's prepare-migration does; `shared`: in /var/lib/minicloud/shared, migrated with --unsafe), and
 * for each workload (idle, `dirty 64 word`, `dirty 64 random`, set on the guest's serial console), each bandwidth (no
 * cap, --bandwidth N) and each strategy runs the migration the migrator runs (virshMigrate from libs/hypervisor), to
 * the other host and back on the next run. Before each run the dirty rate is measured as the migrator does
 * (virshDomdirtyrateCalc 1 s, virshDomstatsDirtyrate, parseDirtyRate). During a run `virsh domjobinfo` is polled
 * every second (the downtime limit is set before the job starts, as the migrator does); past the per-run timeout the
 * job is aborted (virshDomjobabort) and the run counts as not converged. After a completed run the figures come from
 * `virsh domjobinfo --completed` on the destination (parseDomjobinfo), and the guest's console counter must go on
 * there. Everything it created (domains, VM directories, the shared disk) is removed on exit, also on failure.
 *
 * Per case it prints one table (strategies side by side, measured and predicted), what `auto` chooses (chooseStrategy
 * on the measured dirty rate and bandwidth; a probe is resolved with afterProbe on the compressed run's job
 * statistics at the first conclusive poll, as the migrator's poll loop does) and how it fares against the best strategy; then a
 * summary with PASS/FAIL per target. `--json FILE` appends the raw results; `--report FILE...` prints tables and
 * summary from such files without touching the lab (run.sh uses it to join its chunks).
 */
import 'reflect-metadata';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { createHash, randomUUID } from 'crypto';
import { join } from 'path';
import type { ConcreteStrategy, MigrationStorageKind } from '@minicloud/contracts';
import { SshPool } from '@minicloud/ssh';
import {
  buildDomainXml,
  cmd,
  DomainJobInfo,
  domainName,
  imagePath,
  parseDirtyRate,
  parseDomjobinfo,
  virshDomdirtyrateCalc,
  virshDomjobabort,
  virshDomjobinfo,
  virshDomstatsDirtyrate,
  virshMigrate,
  virshMigrateSetMaxDowntime,
  VirshMigrateOptions,
  vmConsoleLogPath,
  vmDir,
  vmDiskPath,
  vmDomainXmlPath,
  parseJobCompletedEvent,
} from '@minicloud/hypervisor';
import { afterProbe, chooseStrategy, jobFacts, learnedInputs, MigrationInputs, predict, Prediction, predictionError } from '@minicloud/migration';

const MiB = 2 ** 20;
const GiB = 1024 * MiB;
const LAB_DIR = process.env.MINICLOUD_LAB_DIR ?? '/var/lib/minicloud-lab';
const SHARED_DIR = '/var/lib/minicloud/shared';
const STRATEGIES: ConcreteStrategy[] = ['precopy', 'compressed', 'auto-converge', 'postcopy'];
const WORKLOADS = ['idle', 'word', 'random'] as const;
type Workload = (typeof WORKLOADS)[number];
const STORAGES: MigrationStorageKind[] = ['shared', 'copy'];

// ---------------------------------------------------------------------------------------------------------------
// options

interface Options {
  cases: CaseKey[];
  strategies: ConcreteStrategy[];
  runs: number;
  idleRuns: number;
  timeoutCappedS: number;
  timeoutUncappedS: number;
  memoryMiB: number;
  dirtyMiB: number;
  maxDowntimeMs: number;
  allowPostcopy: boolean;
  json?: string;
  report?: string[];
}

interface CaseKey {
  workload: Workload;
  /** null: no cap. */
  bandwidthMiBs: number | null;
  storage: MigrationStorageKind;
}

const caseName = (c: CaseKey) => `${c.workload}/${c.bandwidthMiBs === null ? 'uncapped' : `${c.bandwidthMiBs}MiBs`}/${c.storage}`;

const USAGE = `usage: run.js [options]
  --quick                 one run per case, shared storage only: idle uncapped, word and random capped; 45 s timeout
  --cases LIST            explicit cases, comma-separated WORKLOAD/BANDWIDTH/STORAGE, "*" allowed in a field,
                          e.g. "idle/none/shared,word/20/*" (BANDWIDTH: none or MiB/s)
  --workloads LIST        idle,word,random (default all)      --bandwidths LIST  none,20 (default both)
  --storage LIST          shared,copy (default both)           --strategies LIST  precopy,compressed,auto-converge,postcopy
  --runs N                runs per strategy and case (default 1)
  --idle-runs N           runs of idle/uncapped/shared (the downtime target; default 3)
  --timeout S             per-run timeout with a cap (default 90)   --timeout-uncapped S (default 60)
  --memory MIB            guest memory (default 256)           --dirty-mib MIB  the dirtier's size (default 64)
  --max-downtime MS       downtime limit and the model's T (default 300)
  --allow-postcopy        let auto choose post-copy (the migrator's MIGRATOR_ALLOW_POSTCOPY; default off, as there)
  --json FILE             append the raw results (one JSON line per case)
  --report FILE...        print tables and summary from --json files (no lab needed)`;

function parseArgs(argv: string[]): Options {
  const val = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  };
  const num = (name: string, dflt: number): number => {
    const v = val(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
    return n;
  };
  const list = <T extends string>(name: string, all: readonly T[], dflt: readonly T[] = all): T[] => {
    const v = val(name);
    if (v === undefined) return [...dflt];
    const xs = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const x of xs) if (!all.includes(x as T)) throw new Error(`--${name}: unknown ${JSON.stringify(x)} (one of ${all.join(', ')})`);
    return xs as T[];
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const known = new Set(['quick', 'cases', 'workloads', 'bandwidths', 'storage', 'strategies', 'runs', 'idle-runs', 'timeout', 'timeout-uncapped', 'memory', 'dirty-mib', 'max-downtime', 'allow-postcopy', 'json', 'report', 'help']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a.slice(2))) throw new Error(`unknown option ${a}\n${USAGE}`);

  const reportIdx = argv.indexOf('--report');
  const report = reportIdx >= 0 ? argv.slice(reportIdx + 1).filter((a) => !a.startsWith('--')) : undefined;
  const quick = argv.includes('--quick');
  const bwOf = (s: string): number | null => {
    if (s === 'none' || s === 'uncapped') return null;
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`bandwidth must be "none" or whole MiB/s, got ${s}`);
    return n;
  };
  let cases: CaseKey[] = [];
  const explicit = val('cases') ?? (quick ? 'idle/none/shared,word/20/shared,random/20/shared' : undefined);
  if (explicit) {
    for (const spec of explicit.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [w, b, s] = spec.split('/');
      if (!w || !b || !s) throw new Error(`--cases: ${spec} is not WORKLOAD/BANDWIDTH/STORAGE`);
      const ws = w === '*' ? [...WORKLOADS] : [w as Workload];
      const bs = b === '*' ? [null, 20] : [bwOf(b)];
      const ss = s === '*' ? STORAGES : [s as MigrationStorageKind];
      for (const x of ws) if (!WORKLOADS.includes(x)) throw new Error(`--cases: unknown workload ${x}`);
      for (const x of ss) if (!STORAGES.includes(x)) throw new Error(`--cases: unknown storage ${x}`);
      for (const storage of ss) for (const workload of ws) for (const bandwidthMiBs of bs) cases.push({ workload, bandwidthMiBs, storage });
    }
  } else {
    const bws = (val('bandwidths') ?? 'none,20').split(',').map((s) => bwOf(s.trim()));
    for (const storage of list('storage', STORAGES)) for (const workload of list('workloads', WORKLOADS)) for (const bandwidthMiBs of bws) cases.push({ workload, bandwidthMiBs, storage });
  }
  cases = cases.filter((c, i) => cases.findIndex((d) => caseName(d) === caseName(c)) === i);
  return {
    cases,
    strategies: list('strategies', STRATEGIES),
    runs: num('runs', 1),
    idleRuns: num('idle-runs', quick ? 1 : 3),
    timeoutCappedS: num('timeout', quick ? 45 : 90),
    timeoutUncappedS: num('timeout-uncapped', quick ? 45 : 60),
    memoryMiB: num('memory', 256),
    dirtyMiB: num('dirty-mib', 64),
    maxDowntimeMs: num('max-downtime', 300),
    allowPostcopy: argv.includes('--allow-postcopy'),
    json: val('json'),
    report,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// results

interface Sample {
  /** ms since `virsh migrate` was started (what the migrator's probe timer counts). */
  tMs: number;
  info: DomainJobInfo;
}

interface RunResult {
  strategy: ConcreteStrategy;
  run: number;
  from: string;
  to: string;
  argv: string[];
  /** MiB/s measured just before (domdirtyrate-calc, 1 s); undefined when it could not be measured. */
  dirtyRateMiBs?: number;
  outcome: 'completed' | 'timeout' | 'failed';
  converged: boolean;
  error?: string;
  /** `virsh migrate` start to end, as seen from here (includes ssh and libvirt set-up). */
  wallMs: number;
  /** `virsh domjobinfo --completed` on the destination. */
  completed?: DomainJobInfo;
  /** The running job, polled once a second on the source (trimmed for the JSON: every sample of compressed runs). */
  samples: Sample[];
  /** The guest's console counter went on on the host it ended on. */
  guestAlive: boolean;
  /** Where `completed` came from: domjobinfo --completed on the destination, or (post-copy) the source's event. */
  statsFrom?: string;
  /** When the counter stopped: the guest's state as libvirt and QEMU see it. */
  diagnosis?: string;
}

interface CaseResult {
  key: CaseKey;
  name: string;
  memoryMiB: number;
  maxDowntimeMs: number;
  dirtyMiB: number;
  allowPostcopy: boolean;
  timeoutS: number;
  runs: RunResult[];
  startedAt: string;
  /** Setting the workload and waiting for it to warm up. */
  setupMs: number;
}

interface ChunkTimes {
  bootMs: number[];
  dirtyRateMs: number;
  migrationMs: number;
  timedOutMs: number;
  prepareMs: number;
  cleanupMs: number;
  totalMs: number;
}

// ---------------------------------------------------------------------------------------------------------------
// the lab

interface LabHost {
  name: string;
  address: string;
  port: number;
  user: string;
  hostKey: string;
  index: number;
}

class Lab {
  readonly pool: SshPool;
  readonly hosts: LabHost[];

  constructor() {
    const lab = JSON.parse(readFileSync(join(LAB_DIR, 'lab.json'), 'utf8')) as { hosts: LabHost[] };
    if (lab.hosts.length < 2) throw new Error(`the lab has ${lab.hosts.length} host(s); 2 are needed (infra/lab/lab.sh up 2)`);
    this.hosts = lab.hosts.slice(0, 2);
    this.pool = new SshPool({ privateKeyPath: join(LAB_DIR, 'id_ed25519'), knownHostsPath: join(LAB_DIR, 'known_hosts') });
  }

  exec(h: LabHost, argv: string[], timeoutMs = 30_000) {
    return this.pool.exec({ address: h.address, port: h.port, user: h.user, hostKey: h.hostKey }, argv, { timeoutMs, check: false });
  }

  async run(h: LabHost, argv: string[], timeoutMs = 30_000, stdin?: string): Promise<string> {
    const r = await this.pool.exec({ address: h.address, port: h.port, user: h.user, hostKey: h.hostKey }, argv, { timeoutMs, check: false, stdin });
    if (r.code !== 0) throw new Error(`${h.name}: ${argv.join(' ')} → ${r.code}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  upload(h: LabHost, local: string, remote: string) {
    return this.pool.upload({ address: h.address, port: h.port, user: h.user, hostKey: h.hostKey }, local, remote);
  }

  /** The host's console log of the VM, read from the root namespace (the lab binds each host's state dir there). */
  consoleLog(h: LabHost, vmId: string): string {
    const f = join(LAB_DIR, 'hosts', `h${h.index}`, 'minicloud', vmConsoleLogPath(vmId).replace('/var/lib/minicloud/', ''));
    try {
      return readFileSync(f, 'latin1');
    } catch {
      return '';
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

function maxCounter(text: string): number {
  let max = -1;
  for (const m of text.matchAll(/minicloud-counter (\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

/** The lab's guest image, in each host's image cache under its checksum (the platform's layout). */
interface Image {
  disk: string;
  kernel: string;
  initrd: string;
  cmdline: string;
}

async function ensureImage(lab: Lab): Promise<Image> {
  const dir = join(LAB_DIR, 'images');
  const manifest = JSON.parse(readFileSync(join(dir, 'minicloud-lab.manifest.json'), 'utf8')) as { cmdline: string };
  const files = { qcow2: 'minicloud-lab.qcow2', vmlinuz: 'minicloud-lab.vmlinuz', initrd: 'minicloud-lab.initrd' } as const;
  const remote: Record<string, string> = {};
  for (const [ext, name] of Object.entries(files)) {
    const local = join(dir, name);
    const sum = createHash('sha256').update(readFileSync(local)).digest('hex');
    remote[ext] = imagePath(sum, ext as 'qcow2' | 'vmlinuz' | 'initrd');
    for (const h of lab.hosts) {
      await lab.run(h, cmd.prepareHostDirs());
      const r = await lab.exec(h, cmd.sha256sum(remote[ext]));
      if (r.code === 0 && r.stdout.startsWith(sum)) continue;
      log(`uploading ${name} to ${h.name}:${remote[ext]}`);
      await lab.upload(h, local, remote[ext]); // to a temporary name, then renamed: never rewritten in place
    }
  }
  return { disk: remote.qcow2, kernel: remote.vmlinuz, initrd: remote.initrd, cmdline: manifest.cmdline };
}


const diskPathFor = (vmId: string, storage: MigrationStorageKind) => (storage === 'shared' ? `${SHARED_DIR}/${vmId}/disk.qcow2` : vmDiskPath(vmId));

/** One guest, booted on hosts[0]; moves between the two hosts. */
class Guest {
  readonly vmId = randomUUID();
  readonly name = domainName(this.vmId);
  on: LabHost;
  private defined = false;

  constructor(
    private readonly lab: Lab,
    private readonly image: Image,
    readonly storage: MigrationStorageKind,
    readonly memoryMiB: number,
  ) {
    this.on = lab.hosts[0];
  }

  get other(): LabHost {
    return this.lab.hosts.find((h) => h !== this.on)!;
  }

  private async overlay(h: LabHost): Promise<void> {
    const disk = diskPathFor(this.vmId, this.storage);
    await this.lab.run(h, cmd.mkdirs(vmDir(this.vmId), disk.slice(0, disk.lastIndexOf('/'))));
    await this.lab.run(h, cmd.removeFile(disk));
    await this.lab.run(h, cmd.qemuImgOverlay(this.image.disk, 'qcow2', disk, GiB));
  }

  async boot(): Promise<number> {
    const t0 = Date.now();
    const h = this.on;
    await this.overlay(h);
    let xml = buildDomainXml({
      vmId: this.vmId,
      name: `bench-migration-${this.storage}`,
      vcpus: 1,
      memoryMiB: this.memoryMiB,
      diskGiB: 1,
      image: { format: 'qcow2', virtualSizeBytes: GiB, paths: { disk: this.image.disk, kernel: this.image.kernel, initrd: this.image.initrd }, cmdline: `${this.image.cmdline} minicloud.hostname=bench` },
    });
    if (this.storage === 'shared') {
      const from = `<source file='${vmDiskPath(this.vmId)}'/>`;
      if (!xml.includes(from)) throw new Error('buildDomainXml changed: cannot point the disk at the shared directory');
      xml = xml.replace(from, `<source file='${diskPathFor(this.vmId, 'shared')}'/>`);
    }
    await this.lab.run(h, cmd.writeStdinTo(vmDomainXmlPath(this.vmId)), 30_000, xml);
    this.defined = true;
    await this.lab.run(h, cmd.virshDefine(vmDomainXmlPath(this.vmId)));
    await this.lab.run(h, cmd.virshStart(this.vmId), 60_000);
    await this.waitConsole(h, /minicloud-counter 2\b/, 120_000, 'the guest did not boot (no counter on its console)');
    return Date.now() - t0;
  }

  async waitConsole(h: LabHost, re: RegExp, timeoutMs: number, what: string, from = 0): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (re.test(this.lab.consoleLog(h, this.vmId).slice(from))) return;
      await sleep(250);
    }
    throw new Error(`${what} (${h.name}, ${timeoutMs / 1000} s)`);
  }

  /** Types a line on the serial console (the pty is held open 1.5 s: qemu reads it only while a client holds it). */
  async console(line: string, ack: RegExp): Promise<void> {
    const h = this.on;
    const from = this.lab.consoleLog(h, this.vmId).length;
    for (let attempt = 1; ; attempt++) {
      await this.lab.run(h, ['sh', '-c', 'p=$(virsh -q -c qemu:///system ttyconsole "$1") && case $p in /dev/pts/*) (printf "%s\\n" "$2"; sleep 1.5) > "$p";; *) exit 3;; esac', 'sh', this.name, line]);
      try {
        await this.waitConsole(h, ack, 10_000, `no answer to "${line}"`, from);
        return;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }

  async setWorkload(w: Workload, dirtyMiB: number): Promise<void> {
    await this.console('stop-dirty', /minicloud-dirty stopped/);
    if (w === 'idle') return;
    await this.console(`dirty ${dirtyMiB} ${w}`, new RegExp(`minicloud-dirty started mib=${dirtyMiB} mode=${w}`));
  }

  /** As the migrator measures it (apps/migrator host-ops dirtyRateMiBs): 1 s of page sampling. */
  async dirtyRate(): Promise<number | undefined> {
    const h = this.on;
    const calc = await this.lab.exec(h, virshDomdirtyrateCalc(this.vmId, 1), 15_000);
    if (calc.code !== 0) {
      log(`domdirtyrate-calc failed on ${h.name}: ${calc.stderr.trim()}`);
      return undefined;
    }
    await sleep(1000);
    const end = Date.now() + 6000;
    while (Date.now() < end) {
      const r = await this.lab.exec(h, virshDomstatsDirtyrate(this.vmId), 10_000);
      const v = r.code === 0 ? parseDirtyRate(r.stdout) : undefined;
      if (v?.status === 'measured') return v.megabytesPerSecond;
      await sleep(250);
    }
    return undefined;
  }

  /** The target of the next migration gets what the provisioner's prepare-migration puts there. */
  async prepareTarget(): Promise<void> {
    const t = this.other;
    await this.removeDomain(t);
    if (this.storage === 'copy') await this.overlay(t);
    else await this.lab.run(t, cmd.mkdirs(vmDir(this.vmId)));
  }

  async removeDomain(h: LabHost): Promise<void> {
    await this.lab.exec(h, cmd.virshDestroy(this.vmId));
    await this.lab.exec(h, cmd.virshUndefine(this.vmId));
  }

  async state(h: LabHost): Promise<string> {
    const r = await this.lab.exec(h, cmd.virshDomstate(this.vmId));
    return r.code === 0 ? r.stdout.trim().split('\n')[0] : 'absent';
  }

  async migrate(strategy: ConcreteStrategy, bandwidthMiBs: number | null, maxDowntimeMs: number, timeoutS: number): Promise<Omit<RunResult, 'run' | 'dirtyRateMiBs'>> {
    const src = this.on;
    const tgt = this.other;
    // Exactly the options the migrator's runner builds (apps/migrator/src/engine/runner.ts, job()).
    const opts: VirshMigrateOptions = {
      targetAddress: tgt.address,
      live: true,
      storage: this.storage,
      incremental: this.storage === 'copy',
      strategy,
      bandwidthMiBs: bandwidthMiBs ?? undefined,
      xbzrleCacheBytes: strategy === 'compressed' ? this.memoryMiB * MiB : undefined,
      allowPostcopy: strategy === 'postcopy',
    };
    const argv = virshMigrate(this.vmId, opts);
    const before = Math.max(maxCounter(this.lab.consoleLog(src, this.vmId)), maxCounter(this.lab.consoleLog(tgt, this.vmId)));
    // libvirt keeps no completed statistics on the destination of a post-copy migration ("Job type: None"): the
    // source's job-completed event carries them (its typed parameters, printed by virsh event).
    const pidFile = `${vmDir(this.vmId)}/bench-event.pid`;
    const event = this.lab
      .exec(src, ['sh', '-c', 'echo $$ > "$3"; exec virsh -c qemu:///system event --domain "$1" --event job-completed --timeout "$2"', 'sh', this.name, String(timeoutS + 150), pidFile], (timeoutS + 160) * 1000)
      .catch(() => null);
    await sleep(500);
    // The downtime limit before the job starts, as the migrator's runner does (QEMU keeps it as a migration
    // parameter of the source's process); retried once the job exists if it failed.
    let downtimeSet = (await this.lab.exec(src, virshMigrateSetMaxDowntime(this.vmId, maxDowntimeMs)).catch(() => null))?.code === 0;
    const t0 = Date.now();
    let done = false;
    const exec = this.lab.exec(src, argv, (timeoutS + 120) * 1000).finally(() => (done = true));
    const samples: Sample[] = [];
    let aborted = false;
    while (!done) {
      await Promise.race([exec, sleep(1000)]);
      if (done) break;
      const r = await this.lab.exec(src, virshDomjobinfo(this.vmId), 10_000).catch(() => null);
      const tMs = Date.now() - t0;
      if (r && r.code === 0) {
        try {
          const info = parseDomjobinfo(r.stdout);
          if (info.jobType !== 'None') {
            samples.push({ tMs, info });
            if (!downtimeSet) {
              downtimeSet = true;
              const d = await this.lab.exec(src, virshMigrateSetMaxDowntime(this.vmId, maxDowntimeMs));
              if (d.code !== 0) log(`migrate-setmaxdowntime failed: ${d.stderr.trim()}`);
            }
          }
        } catch (err) {
          log(`domjobinfo not parsed: ${(err as Error).message}`);
        }
      }
      if (!aborted && tMs > timeoutS * 1000) {
        aborted = true;
        log(`  ${strategy}: no convergence after ${timeoutS} s: virsh domjobabort`);
        const a = await this.lab.exec(src, virshDomjobabort(this.vmId), 20_000);
        if (a.code !== 0) log(`  domjobabort: ${a.stderr.trim()}`);
      }
    }
    const res = await exec;
    const wallMs = Date.now() - t0;
    const ev = await Promise.race([event, sleep(5000).then(() => undefined)]);
    if (ev === undefined) {
      // No event (the migration failed or was aborted): end the waiting virsh event.
      await this.lab.exec(src, ['sh', '-c', 'p=$(cat "$1") && kill "$p"; rm -f "$1"', 'sh', pidFile]).catch(() => undefined);
    } else {
      await this.lab.exec(src, cmd.removeFile(pidFile)).catch(() => undefined);
    }
    if (process.env.BENCH_DEBUG) log(`job-completed event: ${ev ? ev.stdout + ev.stderr : 'none'}`);
    const ok = res.code === 0;
    const out: Omit<RunResult, 'run' | 'dirtyRateMiBs'> = { strategy, from: src.name, to: tgt.name, argv, outcome: ok ? 'completed' : aborted ? 'timeout' : 'failed', converged: ok, wallMs, samples, guestAlive: false };
    if (!ok) out.error = (res.stderr || res.stdout).replace(/Migration: \[[^\]]*\]\s*/g, '').trim().slice(0, 400);
    const [s, t] = [await this.state(src), await this.state(tgt)];
    if (ok && t === 'running' && s === 'absent') {
      const j = await this.lab.exec(tgt, virshDomjobinfo(this.vmId, { completed: true }));
      if (j.code === 0) out.completed = parseDomjobinfo(j.stdout);
      if (process.env.BENCH_DEBUG) log(`domjobinfo --completed on ${tgt.name} (${j.code}):\n${j.stdout}${j.stderr}`);
      out.statsFrom = 'destination';
      if (out.completed?.timeElapsedMs === undefined && ev?.stdout.includes("event 'job-completed'")) {
        out.completed = parseJobCompletedEvent(ev.stdout) ?? undefined;
        out.statsFrom = 'source job-completed event';
      }
      this.on = tgt;
    } else if (ok) {
      throw new Error(`virsh migrate succeeded but the source is ${s} and the target ${t}`);
    } else {
      // The VM stays on the source; the target keeps nothing (a paused source is resumed, as the migrator's settle does).
      if (t !== 'absent') await this.removeDomain(tgt);
      if (s === 'paused') await this.lab.exec(src, cmd.virshResume(this.vmId));
      if (s !== 'running' && s !== 'paused') throw new Error(`the migration failed and the source's domain is ${s}: ${out.error}`);
    }
    // The guest goes on where it is: its counter passes the last value seen before the migration.
    const end = Date.now() + 10_000;
    while (Date.now() < end && maxCounter(this.lab.consoleLog(this.on, this.vmId)) <= before) await sleep(250);
    out.guestAlive = maxCounter(this.lab.consoleLog(this.on, this.vmId)) > before;
    if (!out.guestAlive) out.diagnosis = await this.diagnose(before);
    if (strategy !== 'compressed') out.samples = samples.slice(-1); // only the probe needs the whole series
    return out;
  }

  /** The console counter stopped: what state the guest is in, and whether it comes back within 60 s. */
  async diagnose(before: number): Promise<string> {
    const h = this.on;
    const lines: string[] = [];
    const q = async (label: string, argv: string[]) => {
      const r = await this.lab.exec(h, argv).catch((e) => ({ code: -1, stdout: '', stderr: String(e) }));
      lines.push(`${label}: ${(r.stdout + r.stderr).trim().replace(/\s*\n\s*/g, ' | ').slice(0, 600)}`);
    };
    await q('domstate', ['virsh', '-c', 'qemu:///system', 'domstate', '--reason', this.name]);
    for (const hmp of ['info status', 'info cpus', 'info migrate_parameters']) await q(hmp, ['virsh', '-c', 'qemu:///system', 'qemu-monitor-command', '--hmp', this.name, hmp]);
    const end = Date.now() + 60_000;
    while (Date.now() < end && maxCounter(this.lab.consoleLog(h, this.vmId)) <= before) await sleep(1000);
    const now = maxCounter(this.lab.consoleLog(h, this.vmId));
    lines.push(now > before ? `the counter came back after ${((60_000 - (end - Date.now())) / 1000).toFixed(0)} s more` : 'no counter within 60 s more');
    await q('info cpus (again)', ['virsh', '-c', 'qemu:///system', 'qemu-monitor-command', '--hmp', this.name, 'info cpus']);
    const text = lines.join('\n    ');
    log(`  GUEST DIAGNOSIS on ${h.name}:\n    ${text}`);
    return text;
  }

  async destroy(): Promise<void> {
    if (!this.defined) return;
    // Keep the console logs (both hosts') for a post-mortem: they are removed with the VM's directories.
    const keep = process.env.BENCH_LOG_DIR ?? '/tmp/bench-migration-logs';
    try {
      mkdirSync(keep, { recursive: true });
      for (const h of this.lab.hosts) writeFileSync(join(keep, `${this.vmId}-${h.name}.console.log`), this.lab.consoleLog(h, this.vmId), 'latin1');
    } catch (err) {
      log(`could not keep the console logs: ${err}`);
    }
    for (const h of this.lab.hosts) {
      await this.removeDomain(h).catch(() => undefined);
      await this.lab.exec(h, cmd.removeVmDir(this.vmId)).catch(() => undefined);
      if (this.storage === 'shared') await this.lab.exec(h, ['rm', '-rf', '--', `${SHARED_DIR}/${this.vmId}`]).catch(() => undefined);
    }
    // The state as the hosts see it afterwards: nothing of this guest anywhere.
    for (const h of this.lab.hosts) {
      const left = await this.state(h);
      if (left !== 'absent') log(`WARNING: ${this.name} still ${left} on ${h.name}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// analysis

const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface StrategySummary {
  strategy: ConcreteStrategy;
  runs: RunResult[];
  converged: number;
  totalMs?: number;
  downtimeMs?: number;
  dataBytes?: number;
  memoryBytes?: number;
  iterations?: number;
  throttle?: number;
  xbzrle?: { bytes: number; pages: number; misses: number; overflows: number };
  /** Prediction on the case's measured inputs (the ratio r unknown, as before any probe). */
  predicted: Prediction;
}

interface AutoVerdict {
  inputs: MigrationInputs;
  bandwidthSource: string;
  choice: string;
  reason: string;
  /** The strategy the migration ends with. */
  strategy: ConcreteStrategy;
  probe?: { plannedS: number; decidedAtMs?: number; decision?: string; reason?: string };
  predictedTotalMs?: number;
  predictedDowntimeMs?: number;
  converged: boolean;
  /** What the guest's owner waits: the probe (when it was aborted) plus the kept or restarted job. */
  totalMs?: number;
  downtimeMs?: number;
  /** The measured run(s) standing for auto. */
  basis: string;
}

interface CaseAnalysis {
  c: CaseResult;
  dirtyRates: number[];
  summaries: StrategySummary[];
  auto: AutoVerdict;
  best?: { strategy: ConcreteStrategy; totalMs: number };
  /** The best among the strategies auto may choose (post-copy only when allowed). */
  bestAllowed?: { strategy: ConcreteStrategy; totalMs: number };
}

function summarise(runs: RunResult[], strategy: ConcreteStrategy, inputs: MigrationInputs): StrategySummary {
  const ok = runs.filter((r) => r.converged && r.completed);
  const pick = (f: (j: DomainJobInfo) => number | undefined) => median(ok.map((r) => f(r.completed!)).filter((x): x is number => x !== undefined));
  const last = (r: RunResult) => r.completed ?? r.samples[r.samples.length - 1]?.info;
  const throttles = runs.map((r) => r.samples[r.samples.length - 1]?.info.autoConvergeThrottlePercent ?? r.completed?.autoConvergeThrottlePercent).filter((x): x is number => x !== undefined);
  const x = runs.map(last).find((j) => j?.compressedPages !== undefined || j?.compressionCacheMisses !== undefined);
  return {
    strategy,
    runs,
    converged: ok.length,
    totalMs: pick((j) => j.timeElapsedMs),
    downtimeMs: pick((j) => j.totalDowntimeMs),
    dataBytes: pick((j) => j.dataProcessedBytes),
    memoryBytes: pick((j) => j.memoryProcessedBytes),
    iterations: pick((j) => j.iteration),
    throttle: throttles.length ? Math.max(...throttles) : undefined,
    xbzrle: x ? { bytes: x.compressedBytes ?? 0, pages: x.compressedPages ?? 0, misses: x.compressionCacheMisses ?? 0, overflows: x.compressionOverflows ?? 0 } : undefined,
    predicted: predict(strategy, inputs),
  };
}

function analyse(c: CaseResult): CaseAnalysis {
  const dirtyRates = c.runs.map((r) => r.dirtyRateMiBs).filter((x): x is number => x !== undefined);
  // The bandwidth: the cap, else what completed migrations of this case measured ("past migrations between the
  // two hosts", as the migrator takes it), else the migrator's default.
  const bws = c.runs.filter((r) => r.completed?.memoryBandwidthBytesPerSec).map((r) => r.completed!.memoryBandwidthBytesPerSec!);
  const bandwidthBytesPerSec = c.key.bandwidthMiBs !== null ? c.key.bandwidthMiBs * MiB : bws.length ? bws.reduce((a, b) => a + b, 0) / bws.length : 400 * MiB;
  const bandwidthSource = c.key.bandwidthMiBs !== null ? 'the cap' : bws.length ? `mean "Memory bandwidth" of the ${bws.length} completed run(s)` : 'the migrator default (nothing completed)';
  // The VM's non-zero memory and copied disk as its past migrations tell the migrator (here: this case's completed
  // runs, like B), W from the 1 s dirty-rate sample; O and Z are the model's calibrated defaults (no path history).
  const facts = c.runs.filter((r) => r.completed).map((r) => jobFacts(r.completed));
  const used = median(facts.map((f) => f.usedMemoryBytes).filter((x): x is number => x !== undefined));
  const disk = median(facts.map((f) => f.diskBytes).filter((x): x is number => x !== undefined));
  const dirty = median(dirtyRates);
  const inputs: MigrationInputs = {
    memoryBytes: c.memoryMiB * MiB,
    dirtyRateBytesPerSec: (dirty ?? 0) * MiB,
    bandwidthBytesPerSec,
    maxDowntimeMs: c.maxDowntimeMs,
    ...learnedInputs({ usedMemoryBytes: used, diskBytes: disk }, { memoryBytes: c.memoryMiB * MiB, storage: c.key.storage, dirtyRateBytesPerSec: dirty === undefined ? undefined : dirty * MiB, sampleSeconds: 1 }),
  };
  const strategies = [...new Set(c.runs.map((r) => r.strategy))];
  const summaries = STRATEGIES.filter((s) => strategies.includes(s)).map((s) => summarise(c.runs.filter((r) => r.strategy === s), s, inputs));
  const by = (s: ConcreteStrategy) => summaries.find((x) => x.strategy === s);

  const choice = chooseStrategy(inputs, { allowPostcopy: c.allowPostcopy });
  const auto: AutoVerdict = { inputs, bandwidthSource, choice: choice.strategy, reason: choice.reason, strategy: choice.strategy, converged: false, basis: '' };
  const chosenPred = choice.predictions.find((p) => p.strategy === choice.strategy);
  auto.predictedTotalMs = chosenPred?.totalTimeMs;
  auto.predictedDowntimeMs = chosenPred?.downtimeMs;
  const adopt = (s: StrategySummary | undefined, extraMs = 0) => {
    if (!s) {
      auto.basis = `${auto.strategy} was not run in this case`;
      return;
    }
    auto.converged = s.converged > 0;
    auto.totalMs = s.totalMs !== undefined ? s.totalMs + extraMs : undefined;
    auto.downtimeMs = s.downtimeMs;
    auto.basis = `the ${auto.strategy} run${s.runs.length > 1 ? 's (median)' : ''}${extraMs ? ` + the ${(extraMs / 1000).toFixed(1)} s probe` : ''}`;
  };
  if (!choice.probe) {
    adopt(by(choice.strategy));
  } else {
    // The probe, as the migrator's poll loop runs it (apps/migrator/src/engine/runner.ts): each poll's job statistics
    // go through afterProbe, which decides at the first conclusive poll (xbzrle has encoded pages), not only once the
    // planned probe time has passed; a switch aborts the probe's job and starts the chosen strategy afresh.
    const comp = by('compressed');
    auto.probe = { plannedS: choice.probe.seconds };
    const run = comp?.runs[0];
    if (!run) {
      auto.basis = 'the compressed run (the probe) was not run in this case';
    } else {
      let decided: ReturnType<typeof afterProbe> | undefined;
      for (const s of run.samples) {
        const v = afterProbe(inputs, s.info, { allowPostcopy: c.allowPostcopy });
        if (v.conclusive) {
          decided = v;
          auto.probe.decidedAtMs = s.tMs;
          break;
        }
      }
      if (!decided && run.converged && run.completed) {
        // The migration finished before the probe had to decide (or while it was still inconclusive): kept.
        decided = afterProbe(inputs, run.completed, { allowPostcopy: c.allowPostcopy });
      }
      if (!decided) {
        auto.probe.decision = 'inconclusive until the timeout';
        auto.strategy = 'compressed';
        auto.converged = false;
        auto.basis = 'the compressed run (the probe never became conclusive)';
      } else {
        auto.probe.decision = decided.abortProbe ? `switch to ${decided.strategy}` : `keep ${decided.strategy}`;
        auto.probe.reason = decided.reason;
        auto.strategy = decided.strategy;
        const p = decided.predictions.find((x) => x.strategy === decided!.strategy);
        auto.predictedTotalMs = p?.totalTimeMs;
        auto.predictedDowntimeMs = p?.downtimeMs;
        if (decided.abortProbe) adopt(by(decided.strategy), auto.probe.decidedAtMs ?? 0);
        else adopt(comp);
      }
    }
  }
  const fastest = (xs: StrategySummary[]) => {
    const ok = xs.filter((s) => s.converged > 0 && s.totalMs !== undefined).sort((a, b) => a.totalMs! - b.totalMs!);
    return ok[0] ? { strategy: ok[0].strategy, totalMs: ok[0].totalMs! } : undefined;
  };
  return {
    c,
    dirtyRates,
    summaries,
    auto,
    best: fastest(summaries),
    bestAllowed: fastest(summaries.filter((s) => s.strategy !== 'postcopy' || c.allowPostcopy)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// printing

const f1 = (ms?: number) => (ms === undefined ? '—' : (ms / 1000).toFixed(1));
const fms = (ms?: number) => (ms === undefined ? '—' : String(Math.round(ms)));
const fmib = (b?: number) => (b === undefined ? '—' : (b / MiB).toFixed(b < 10 * MiB ? 1 : 0));
const pct = (e: number) => `${e >= 0 ? '+' : ''}${Math.round(e * 100)} %`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

function printCase(a: CaseAnalysis, out: (s: string) => void): void {
  const { c, auto } = a;
  const rates = a.dirtyRates.map((d) => String(d)).join(', ');
  out(`\n### ${c.name} — ${c.memoryMiB} MiB guest, ${c.key.workload === 'idle' ? 'idle' : `dirty ${c.dirtyMiB} ${c.key.workload}`}, ${c.key.bandwidthMiBs === null ? 'no bandwidth cap' : `--bandwidth ${c.key.bandwidthMiBs}`}, ${c.key.storage} storage\n`);
  out(`dirty rate measured before each run (MiB/s): ${rates || 'not measured'} → D = ${(auto.inputs.dirtyRateBytesPerSec / MiB).toFixed(0)} MiB/s; B = ${(auto.inputs.bandwidthBytesPerSec / MiB).toFixed(0)} MiB/s (${auto.bandwidthSource}); T = ${c.maxDowntimeMs} ms; U = ${auto.inputs.usedMemoryBytes === undefined ? 'unknown (all memory)' : `${(auto.inputs.usedMemoryBytes / MiB).toFixed(0)} MiB non-zero`}; W = ${auto.inputs.workingSetBytes === undefined ? '—' : `${(auto.inputs.workingSetBytes / MiB).toFixed(0)} MiB`}${auto.inputs.diskBytes !== undefined ? `; S = ${(auto.inputs.diskBytes / MiB).toFixed(1)} MiB of disk` : ''}; per-run timeout ${c.timeoutS} s\n\n`);
  const header = ['strategy', 'converged', 'total s', 'downtime ms', 'data MiB', 'memory MiB', 'iterations', 'throttle %', 'xbzrle (MiB enc / pages / overflows / misses)', 'predicted: converges', 'total s', 'downtime ms', 'error (total)'];
  const rows = a.summaries.map((s) => {
    const p = s.predicted;
    const err = p.converges && p.totalTimeMs && s.totalMs !== undefined ? pct(predictionError(p.totalTimeMs, s.totalMs)) : '—';
    const notes = s.runs.filter((r) => !r.converged).map((r) => r.outcome);
    return [
      s.strategy,
      `${s.converged}/${s.runs.length}${notes.length ? ` (${[...new Set(notes)].join(', ')})` : ''}${s.runs.some((r) => !r.guestAlive) ? ' GUEST?' : ''}`,
      f1(s.totalMs),
      fms(s.downtimeMs),
      fmib(s.dataBytes),
      fmib(s.memoryBytes),
      s.iterations === undefined ? (s.runs[0]?.samples.at(-1)?.info.iteration !== undefined ? `(${s.runs[0].samples.at(-1)!.info.iteration})` : '—') : String(s.iterations),
      s.throttle === undefined ? '—' : String(s.throttle),
      s.xbzrle ? `${fmib(s.xbzrle.bytes)} / ${s.xbzrle.pages} / ${s.xbzrle.overflows} / ${s.xbzrle.misses}` : '—',
      `${p.converges ? 'yes' : 'no'}${p.assumed ? ' (r assumed)' : ''}`,
      p.converges ? f1(p.totalTimeMs) : '—',
      p.converges ? fms(p.downtimeMs) : '—',
      err,
    ];
  });
  out(table(header, rows));
  const failed = c.runs.filter((r) => r.outcome === 'failed');
  for (const r of failed) out(`  ${r.strategy} run ${r.run} FAILED: ${r.error}\n`);
  for (const r of c.runs.filter((x) => !x.guestAlive)) out(`  GUEST? after ${r.strategy} run ${r.run} (${r.from}→${r.to}, ${r.outcome}) the console counter did not go on within 10 s:\n    ${r.diagnosis ?? ''}\n`);
  for (const r of c.runs.filter((x) => x.statsFrom && x.statsFrom !== 'destination')) out(`  ${r.strategy} run ${r.run}: figures from the ${r.statsFrom} (domjobinfo --completed on the destination had none)\n`);
  out(`(iterations in parentheses: the last one seen before the abort; data = memory + disk; predicted = the model on D, B, T, U, W, S with the xbzrle ratio unknown and the default fixed costs)\n`);
  out(`auto: ${auto.reason}\n`);
  if (auto.probe) {
    out(`  probe planned for ${auto.probe.plannedS} s → ${auto.probe.decision}${auto.probe.decidedAtMs !== undefined ? ` at ${f1(auto.probe.decidedAtMs)} s` : ' (the compressed job ended first)'}: ${auto.probe.reason ?? ''}\n`);
  }
  const err = auto.predictedTotalMs && auto.totalMs !== undefined && auto.converged ? ` (error ${pct(predictionError(auto.predictedTotalMs, auto.totalMs - (auto.probe?.decidedAtMs && auto.strategy !== 'compressed' ? auto.probe.decidedAtMs : 0)))} on the job)` : '';
  out(`  → ${auto.strategy}: predicted ${auto.predictedTotalMs ? `${f1(auto.predictedTotalMs)} s, ${fms(auto.predictedDowntimeMs)} ms pause` : 'no convergence'}; actual ${auto.converged ? `${f1(auto.totalMs)} s, ${fms(auto.downtimeMs)} ms pause` : 'not converged'}${err}, from ${auto.basis}\n`);
  const vs = (b?: { strategy: string; totalMs: number }) => (b ? `${b.strategy} ${f1(b.totalMs)} s${auto.converged && auto.totalMs !== undefined ? ` (auto ${(auto.totalMs / b.totalMs).toFixed(2)}×)` : ''}` : 'none converged');
  out(`  best: ${vs(a.best)}${a.bestAllowed && a.best && a.bestAllowed.strategy !== a.best.strategy ? `; best without post-copy: ${vs(a.bestAllowed)}` : ''}\n`);
}

function printSummary(as: CaseAnalysis[], out: (s: string) => void): boolean {
  out('\n## Summary\n\n');
  const rows = as.map((a) => {
    const ratio = a.auto.converged && a.auto.totalMs !== undefined && a.best ? a.auto.totalMs / a.best.totalMs : undefined;
    const ratioAllowed = a.auto.converged && a.auto.totalMs !== undefined && a.bestAllowed ? a.auto.totalMs / a.bestAllowed.totalMs : undefined;
    const conv = !a.best ? 'n/a' : a.auto.converged ? 'PASS' : 'FAIL';
    const within = !a.best ? 'n/a' : ratio !== undefined && ratio <= 1.25 ? 'PASS' : 'FAIL';
    return [
      a.c.name,
      a.auto.strategy + (a.auto.probe ? ` (probe → ${a.auto.probe.decision})` : ''),
      a.auto.converged ? f1(a.auto.totalMs) : 'no',
      a.best ? `${a.best.strategy} ${f1(a.best.totalMs)}` : 'none',
      ratio === undefined ? '—' : ratio.toFixed(2),
      a.bestAllowed ? `${a.bestAllowed.strategy} ${f1(a.bestAllowed.totalMs)}` : 'none',
      ratioAllowed === undefined ? '—' : ratioAllowed.toFixed(2),
      conv,
      within,
    ];
  });
  out(table(['case', 'auto → strategy', 'auto total s', 'best s', 'auto / best', 'best w/o post-copy s', 'auto / that', 'auto converges', 'within 1.25×'], rows));

  const verdicts: [string, string, string][] = [];
  const idle = as.find((a) => a.c.key.workload === 'idle' && a.c.key.bandwidthMiBs === null && a.c.key.storage === 'shared');
  if (idle) {
    const pre = idle.summaries.find((s) => s.strategy === 'precopy');
    const dts = (pre?.runs ?? []).filter((r) => r.completed?.totalDowntimeMs !== undefined).map((r) => r.completed!.totalDowntimeMs!);
    const m = median(dts);
    verdicts.push([
      `idle 256 MiB guest, shared storage: downtime ≤ 50 ms (median of ${dts.length} pre-copy runs, at least 3)`,
      `median ${fms(m)} ms of [${dts.join(', ')}]${dts.length < 3 ? ` — only ${dts.length} run(s)` : ''}; "w/o network": [${(pre?.runs ?? []).map((r) => r.completed?.downtimeNetMs ?? '—').join(', ')}] ms`,
      m !== undefined && m <= 50 && dts.length >= 3 ? 'PASS' : m !== undefined && m <= 50 ? 'PASS (fewer than 3 runs)' : 'FAIL',
    ]);
  } else verdicts.push(['idle downtime ≤ 50 ms', 'idle/uncapped/shared not run', 'n/a']);
  const withAny = as.filter((a) => a.best);
  const notConv = withAny.filter((a) => !a.auto.converged);
  verdicts.push([
    'auto converges in every case where any strategy converges',
    `${withAny.length - notConv.length}/${withAny.length} cases${notConv.length ? `; not: ${notConv.map((a) => `${a.c.name} (${a.auto.strategy})`).join(', ')}` : ''}`,
    withAny.length === 0 ? 'n/a' : notConv.length ? 'FAIL' : 'PASS',
  ]);
  const slow = withAny.filter((a) => !(a.auto.converged && a.auto.totalMs! <= 1.25 * a.best!.totalMs));
  verdicts.push([
    'auto within 1.25× of the best strategy\'s total time',
    `${withAny.length - slow.length}/${withAny.length} cases${slow.length ? `; not: ${slow.map((a) => `${a.c.name} (${a.auto.converged ? `${(a.auto.totalMs! / a.best!.totalMs).toFixed(2)}× of ${a.best!.strategy}` : 'not converged'})`).join(', ')}` : ''}`,
    withAny.length === 0 ? 'n/a' : slow.length ? 'FAIL' : 'PASS',
  ]);
  const slowAllowed = as.filter((a) => a.bestAllowed && !(a.auto.converged && a.auto.totalMs! <= 1.25 * a.bestAllowed.totalMs));
  verdicts.push([
    '  (same, best among what auto may choose: post-copy only when allowed)',
    `${as.filter((a) => a.bestAllowed).length - slowAllowed.length}/${as.filter((a) => a.bestAllowed).length} cases${slowAllowed.length ? `; not: ${slowAllowed.map((a) => a.c.name).join(', ')}` : ''}`,
    slowAllowed.length ? 'FAIL' : 'PASS',
  ]);
  // How far the model was off, over every converged run it predicted to converge.
  const errs: { name: string; e: number }[] = [];
  for (const a of as) for (const s of a.summaries) if (s.predicted.converges && s.predicted.totalTimeMs && s.totalMs !== undefined) errs.push({ name: `${a.c.name} ${s.strategy}`, e: predictionError(s.predicted.totalTimeMs, s.totalMs) });
  const wrong = as.flatMap((a) => a.summaries.filter((s) => s.runs.length && s.predicted.converges !== s.converged > 0).map((s) => `${a.c.name} ${s.strategy} (predicted ${s.predicted.converges ? 'yes' : 'no'}${s.predicted.assumed ? ', r assumed' : ''})`));
  out('\n' + table(['target', 'measured', 'verdict'], verdicts));
  if (errs.length) {
    const abs = errs.map((x) => Math.abs(x.e));
    const worst = [...errs].sort((x, y) => Math.abs(y.e) - Math.abs(x.e)).slice(0, 3);
    out(`\ncost model: total-time error (actual − predicted) / predicted over ${errs.length} converged runs: median |error| ${Math.round(median(abs)! * 100)} %, worst ${worst.map((w) => `${w.name} ${pct(w.e)}`).join('; ')}\n`);
  }
  out(`cost model: convergence predicted wrongly in ${wrong.length} of ${as.reduce((n, a) => n + a.summaries.filter((s) => s.runs.length).length, 0)} strategy runs${wrong.length ? `: ${wrong.join('; ')}` : ''}\n`);
  return verdicts.every((v) => v[2] !== 'FAIL');
}

// ---------------------------------------------------------------------------------------------------------------
// main

async function measure(o: Options): Promise<CaseResult[]> {
  const lab = new Lab();
  const results: CaseResult[] = [];
  const times: ChunkTimes = { bootMs: [], dirtyRateMs: 0, migrationMs: 0, timedOutMs: 0, prepareMs: 0, cleanupMs: 0, totalMs: 0 };
  const t0 = Date.now();
  const guests: Guest[] = [];
  let stopping = false;
  const cleanup = async () => {
    const c0 = Date.now();
    for (const g of guests) await g.destroy().catch((err) => log(`cleanup of ${g.name}: ${err}`));
    guests.length = 0;
    times.cleanupMs += Date.now() - c0;
  };
  const onSignal = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    const image = await ensureImage(lab);
    for (const storage of STORAGES) {
      const cases = o.cases.filter((c) => c.storage === storage);
      if (!cases.length) continue;
      const guest = new Guest(lab, image, storage, o.memoryMiB);
      guests.push(guest);
      log(`booting ${guest.name} (${o.memoryMiB} MiB, ${storage} storage) on ${guest.on.name}`);
      const bootMs = await guest.boot();
      times.bootMs.push(bootMs);
      log(`booted in ${(bootMs / 1000).toFixed(1)} s`);
      // Idle first (a fresh guest's memory), then the light writer, then the random writer.
      cases.sort((a, b) => WORKLOADS.indexOf(a.workload) - WORKLOADS.indexOf(b.workload) || (a.bandwidthMiBs ?? 0) - (b.bandwidthMiBs ?? 0));
      let workload: Workload | undefined;
      for (const key of cases) {
        const s0 = Date.now();
        if (workload !== key.workload) {
          log(`${caseName(key)}: workload ${key.workload === 'idle' ? 'idle' : `dirty ${o.dirtyMiB} ${key.workload}`}`);
          await guest.setWorkload(key.workload, o.dirtyMiB);
          workload = key.workload;
          if (key.workload !== 'idle') await sleep(3000); // the dirtier touches its memory once, then loops
        }
        const timeoutS = key.bandwidthMiBs === null ? o.timeoutUncappedS : o.timeoutCappedS;
        const c: CaseResult = { key, name: caseName(key), memoryMiB: o.memoryMiB, maxDowntimeMs: o.maxDowntimeMs, dirtyMiB: o.dirtyMiB, allowPostcopy: o.allowPostcopy, timeoutS, runs: [], startedAt: new Date().toISOString(), setupMs: Date.now() - s0 };
        // Runs interleaved (1st of each strategy, then the 2nd of each, …): the machine's drift and whatever the
        // first migrations after a workload change pay spread evenly over the strategies instead of landing on one.
        const runsOf = (strategy: ConcreteStrategy) => (key.workload === 'idle' && key.bandwidthMiBs === null && key.storage === 'shared' && strategy === 'precopy' ? Math.max(o.runs, o.idleRuns) : o.runs);
        const rounds = Math.max(...o.strategies.map(runsOf));
        for (let run = 1; run <= rounds; run++) {
          for (const strategy of o.strategies) {
            if (run > runsOf(strategy)) continue;
            const p0 = Date.now();
            await guest.prepareTarget();
            const d0 = Date.now();
            times.prepareMs += d0 - p0;
            const dirtyRateMiBs = await guest.dirtyRate();
            const m0 = Date.now();
            times.dirtyRateMs += m0 - d0;
            const r = await guest.migrate(strategy, key.bandwidthMiBs, o.maxDowntimeMs, timeoutS);
            times.migrationMs += Date.now() - m0;
            if (!r.converged) times.timedOutMs += Date.now() - m0;
            const j = r.completed;
            log(
              `  ${strategy} #${run} ${r.from}→${r.to}: ${r.outcome}${j ? ` ${f1(j.timeElapsedMs)} s, downtime ${fms(j.totalDowntimeMs)} ms, ${fmib(j.dataProcessedBytes)} MiB, ${j.iteration ?? '?'} it.` : r.error ? `: ${r.error.slice(0, 160)}` : ''} (D ${dirtyRateMiBs ?? '?'} MiB/s, wall ${f1(r.wallMs)} s${r.guestAlive ? '' : ', GUEST COUNTER DID NOT GO ON'})`,
            );
            c.runs.push({ ...r, run, dirtyRateMiBs });
          }
        }
        results.push(c);
        if (o.json) appendFileSync(o.json, JSON.stringify({ case: c, times: undefined }) + '\n');
        printCase(analyse(c), (s) => process.stdout.write(s));
      }
      const c0 = Date.now();
      await guest.destroy();
      guests.splice(guests.indexOf(guest), 1);
      times.cleanupMs += Date.now() - c0;
    }
  } finally {
    await cleanup();
    await lab.pool.close();
  }
  times.totalMs = Date.now() - t0;
  const other = times.totalMs - times.bootMs.reduce((a, b) => a + b, 0) - times.dirtyRateMs - times.migrationMs - times.prepareMs - times.cleanupMs;
  const where = `where the time went: ${f1(times.totalMs)} s in all — boot ${times.bootMs.map((b) => f1(b)).join(' + ')} s, migrations ${f1(times.migrationMs)} s (of which runs that did not converge ${f1(times.timedOutMs)} s), dirty-rate sampling ${f1(times.dirtyRateMs)} s, target preparation ${f1(times.prepareMs)} s, clean-up ${f1(times.cleanupMs)} s, workload set-up and the rest ${f1(other)} s\n`;
  process.stdout.write('\n' + where);
  if (o.json) appendFileSync(o.json, JSON.stringify({ times }) + '\n');
  return results;
}

function readReports(files: string[]): { cases: CaseResult[]; times: ChunkTimes[] } {
  const cases: CaseResult[] = [];
  const times: ChunkTimes[] = [];
  for (const f of files) {
    if (!existsSync(f)) throw new Error(`no such file ${f}`);
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const x = JSON.parse(line) as { case?: CaseResult; times?: ChunkTimes };
      if (x.case) cases.push(x.case);
      if (x.times) times.push(x.times);
    }
  }
  return { cases, times };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const out = (s: string) => process.stdout.write(s);
  if (o.report) {
    const { cases, times } = readReports(o.report);
    const order = (c: CaseResult) => STORAGES.indexOf(c.key.storage) * 100 + (c.key.bandwidthMiBs === null ? 0 : 50) + WORKLOADS.indexOf(c.key.workload);
    cases.sort((a, b) => order(a) - order(b));
    out(`# Migration benchmark: ${cases.length} cases, ${cases.reduce((n, c) => n + c.runs.length, 0)} migrations\n`);
    const as = cases.map(analyse);
    for (const a of as) printCase(a, out);
    const ok = printSummary(as, out);
    if (times.length) {
      const sum = (f: (t: ChunkTimes) => number) => times.reduce((n, t) => n + f(t), 0);
      out(`\nwhere the time went (${times.length} chunk(s)): ${f1(sum((t) => t.totalMs))} s in all — boots ${f1(sum((t) => t.bootMs.reduce((a, b) => a + b, 0)))} s (${times.flatMap((t) => t.bootMs).length}), migrations ${f1(sum((t) => t.migrationMs))} s of which runs that did not converge ${f1(sum((t) => t.timedOutMs))} s, dirty-rate sampling ${f1(sum((t) => t.dirtyRateMs))} s, target preparation ${f1(sum((t) => t.prepareMs))} s, clean-up ${f1(sum((t) => t.cleanupMs))} s\n`);
    }
    process.exitCode = ok ? 0 : 1;
    return;
  }
  if (!o.cases.length) throw new Error('no case selected');
  out(`# Migration benchmark: ${o.cases.map(caseName).join(', ')}; strategies ${o.strategies.join(', ')}; ${o.runs} run(s) each (idle/uncapped/shared pre-copy: ${Math.max(o.runs, o.idleRuns)})\n`);
  const cases = await measure(o);
  const ok = printSummary(cases.map(analyse), out);
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(2);
});
