import type { DomainState, ExecResult, MigrationJobInfo, VirshMigrateOptions } from '@minicloud/hypervisor';
import { migratorConfigFromEnv } from '../config/config';
import type { MigrationRecord } from '../persistence/entities';
import type { HostOps, HostRef } from './host-ops';
import { Control, libvirtMessage, MigrationRunner, RunnerDeps } from './runner';

const VM = '11111111-1111-4111-8111-111111111111';
const H1: HostRef = { id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', name: 'h1', address: '10.254.7.11', sshPort: 22, sshUser: 'root' };
const H2: HostRef = { id: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', name: 'h2', address: '10.254.7.12', sshPort: 22, sshUser: 'root' };

/** A pretend pair of hosts for the runner's unit tests: the domain lives on one of them; `migrate` moves it. */
class FakeHostPair {
  on: 'h1' | 'h2' = 'h1';
  calls: string[] = [];
  /** How the next migrate ends: after `ms`, ok or not; `hang` waits until aborted. */
  plan: { ok: boolean; ms: number; hang?: boolean } = { ok: true, ms: 30 };
  /** A plan for one strategy's jobs (else `plan`). */
  plans: Partial<Record<string, { ok: boolean; ms: number; hang?: boolean }>> = {};
  removed: string[] = [];
  private abortJob: (() => void) | null = null;
  jobRunning = false;
  dirtyMiBs = 0.5;
  /** What virsh migrate prints when the job is aborted (p2p on the lab: virsh's connection ends). */
  abortMessage = 'error: End of file while reading data: : Input/output error';
  /** Post-copy: the destination keeps no completed job (`Job type: None`), only the source's event has the figures. */
  destinationKeepsStats = true;
  /** The completed job's figures (destination's domjobinfo --completed and the source's job-completed event). */
  completed: Partial<MigrationJobInfo> = {};
  /** The running job's statistics by strategy (default: a job moving along). */
  running: Partial<Record<string, Partial<MigrationJobInfo>>> = {};
  strategy = '';
  startedAt = 0;
  abortsAt: number[] = [];
  eventWatches = 0;
  eventStops = 0;
  private eventEnd: ((info: MigrationJobInfo | null) => void) | null = null;

  ops(h: HostRef): HostOps {
    const me = h.name as 'h1' | 'h2';
    const pair = this;
    const info = (jobType: MigrationJobInfo['jobType']): MigrationJobInfo => ({ jobType, memoryProcessedBytes: 1e6 * Date.now() / 1e9, memoryRemainingBytes: 1e6, memoryTotalBytes: 256 * 2 ** 20, timeElapsedMs: 20, totalDowntimeMs: 12, dataProcessedBytes: 9e6, iteration: 2, ...(jobType === 'Completed' ? pair.completed : (pair.running[pair.strategy] ?? {})) });
    return {
      watchJobCompleted() {
        pair.eventWatches++;
        return {
          result: new Promise<MigrationJobInfo | null>((resolve) => (pair.eventEnd = resolve)),
          async stop() {
            pair.eventStops++;
            pair.eventEnd?.(null);
          },
        };
      },
      async domainState(): Promise<DomainState> {
        return pair.on === me ? 'running' : 'absent';
      },
      async jobInfo(_vm: string, completed?: boolean) {
        if (completed) return pair.on === me ? (pair.destinationKeepsStats ? info('Completed') : { jobType: 'None' }) : null;
        return pair.jobRunning && me === 'h1' ? info('Unbounded') : { jobType: 'None' };
      },
      async dirtyRateMiBs() {
        return pair.dirtyMiBs;
      },
      migrate(_vm: string, opts: VirshMigrateOptions): Promise<ExecResult> {
        pair.calls.push(`migrate ${opts.strategy} ${opts.storage} -> ${opts.targetAddress}`);
        pair.jobRunning = true;
        pair.strategy = opts.strategy ?? 'precopy';
        pair.startedAt = Date.now();
        return new Promise((resolve) => {
          let done = false;
          const end = (ok: boolean, err = '') => {
            if (done) return; // aborted already
            done = true;
            pair.jobRunning = false;
            if (ok) pair.on = 'h2';
            // The source's job-completed event: only for a job that completed.
            if (ok) pair.eventEnd?.(info('Completed'));
            resolve({ code: ok ? 0 : 1, stdout: '', stderr: err });
          };
          pair.abortJob = () => end(false, pair.abortMessage);
          const plan = pair.plans[pair.strategy] ?? pair.plan;
          if (!plan.hang) setTimeout(() => end(plan.ok, plan.ok ? '' : 'error: internal error: unable to connect to server'), plan.ms);
        });
      },
      async abortJob() {
        pair.calls.push('domjobabort');
        pair.abortsAt.push(Date.now() - pair.startedAt);
        pair.abortJob?.();
      },
      async setMaxDowntime(_vm: string, ms: number) {
        pair.calls.push(`downtime ${ms}`);
      },
      async switchToPostcopy() {
        pair.calls.push('postcopy');
      },
      async resume() {
        pair.calls.push(`resume ${me}`);
      },
      async removeDomain(_vm: string, files: boolean) {
        pair.removed.push(`${me}${files ? '+files' : ''}`);
      },
      async copyDiskTo() {
        pair.calls.push('copy disk');
      },
    };
  }
}

function setup(over: Partial<MigrationRecord> = {}, control: () => Control = () => null) {
  const pair = new FakeHostPair();
  const published: { kind: string; body: any }[] = [];
  const updates: Partial<MigrationRecord>[] = [];
  const rec = {
    id: '22222222-2222-4222-8222-222222222222',
    vmId: VM,
    sourceHostId: H1.id,
    targetHostId: H2.id,
    state: 'running',
    mode: 'live',
    storage: 'copy',
    requestedStrategy: 'auto',
    memoryMiB: 256,
    vcpus: 1,
    origin: 'manual',
    maxDowntimeMs: null,
    bandwidthMiBs: null,
    stages: [],
    predictedTotalMs: null,
    predictedDowntimeMs: null,
    createdAt: new Date(Date.now() - 1000),
    ...over,
  } as unknown as MigrationRecord;
  const deps: RunnerDeps = {
    cfg: { ...migratorConfigFromEnv({}), pollMs: 5, progressTimeoutS: 60 },
    host: async (id) => [H1, H2].find((h) => h.id === id) ?? null,
    ops: (h) => pair.ops(h),
    prepare: async () => undefined,
    history: async () => undefined,
    update: async (_id, patch) => void updates.push(patch),
    heartbeat: async () => control(),
    publishStarted: async (body) => void published.push({ kind: 'started', body }),
    publishProgress: async (body) => void published.push({ kind: 'progress', body }),
    publishCompleted: async (body) => void published.push({ kind: 'completed', body }),
    publishFailed: async (body) => void published.push({ kind: 'failed', body }),
    log: () => undefined,
  };
  return { pair, published, updates, rec, deps, run: () => new MigrationRunner(deps, rec).run() };
}

describe('MigrationRunner', () => {
  it('an idle guest: auto picks pre-copy, the VM ends on the target, the source copy goes, the record has the figures', async () => {
    const t = setup();
    await t.run();
    expect(t.pair.on).toBe('h2');
    // the downtime limit before the job: a short migration would otherwise switch over under QEMU's default
    expect(t.pair.calls.slice(0, 2)).toEqual(['downtime 300', 'migrate precopy copy -> 10.254.7.12']);
    expect(t.pair.calls.filter((c) => c.startsWith('downtime'))).toEqual(['downtime 300']);
    expect(t.published.map((p) => p.kind).filter((k) => k !== 'progress')).toEqual(['started', 'completed']);
    const started = t.published[0].body;
    expect(started).toMatchObject({ strategy: 'precopy', dirtyRateMiBs: 0.5, bandwidthMiBs: 400 });
    expect(started.strategyReason).toMatch(/dirty rate 0\.5 MiB\/s, bandwidth 400 MiB\/s from the default/);
    const done = t.published.find((p) => p.kind === 'completed')!.body;
    expect(done).toMatchObject({ vmId: VM, sourceHostId: H1.id, targetHostId: H2.id, strategy: 'precopy', downtimeMs: 12, totalTimeMs: 20, dataTransferredBytes: 9e6 });
    expect(done.predictedTotalTimeMs).toBeGreaterThan(0);
    expect(done.stages.map((s: any) => s.stage)).toEqual(['reservation', 'pre-copy', 'stop-and-copy', 'commitment', 'activation']);
    expect(t.pair.removed).toEqual(['h1+files']);
    expect(t.updates.at(-1)).toMatchObject({ state: 'completed', vmHostId: H2.id });
  });

  it('a libvirt failure: the VM stays on the source, the target copy is removed, migration.failed names the host', async () => {
    const t = setup();
    t.pair.plan = { ok: false, ms: 20 };
    await t.run();
    expect(t.pair.on).toBe('h1');
    const f = t.published.find((p) => p.kind === 'failed')!.body;
    expect(f).toMatchObject({ vmHostId: H1.id, cancelled: false });
    expect(f.reason).toMatch(/unable to connect to server; the source still runs the VM/);
    expect(t.pair.removed).toEqual(['h2+files']);
  });

  it('cancel while running: domjobabort, state cancelled, the VM on the source', async () => {
    let n = 0;
    const t = setup({}, () => (++n > 3 ? 'cancel' : null));
    t.pair.plan = { ok: true, ms: 0, hang: true };
    await t.run();
    expect(t.pair.calls).toContain('domjobabort');
    expect(t.pair.on).toBe('h1');
    expect(t.published.find((p) => p.kind === 'failed')!.body).toMatchObject({ cancelled: true, vmHostId: H1.id });
    expect(t.published.some((p) => p.kind === 'progress')).toBe(true);
    expect(t.updates.at(-1)).toMatchObject({ state: 'cancelled' });
  });

  it('force-complete without post-copy: pause-and-copy (the largest downtime limit), then completed', async () => {
    let n = 0;
    const t = setup({ requestedStrategy: 'precopy' }, () => (++n === 3 ? 'force-complete' : null));
    t.pair.plan = { ok: true, ms: 80 };
    await t.run();
    expect(t.pair.calls).toContain('downtime 2000000');
    expect(t.pair.on).toBe('h2');
    expect(t.published.some((p) => p.kind === 'completed')).toBe(true);
  });

  it('a progress timeout aborts a stuck migration (default action): failed, VM on the source', async () => {
    const t = setup();
    t.deps.cfg = { ...t.deps.cfg, progressTimeoutS: 0.05 };
    t.pair.plan = { ok: true, ms: 0, hang: true };
    // A stuck job: nothing processed between polls.
    const ops = t.deps.ops;
    t.deps.ops = (h) => ({ ...ops(h), jobInfo: async () => ({ jobType: 'Unbounded', memoryProcessedBytes: 5, memoryRemainingBytes: 1, memoryTotalBytes: 10 }) });
    await t.run();
    const f = t.published.find((p) => p.kind === 'failed')!.body;
    expect(f.reason).toMatch(/^progress timeout \(abort\)/);
    expect(f.cancelled).toBe(false);
    expect(t.pair.on).toBe('h1');
  });

  it('a live migration of a VM that is not running is refused before anything happens on the hosts', async () => {
    const t = setup();
    t.pair.on = 'h2'; // not on the source
    await t.run();
    expect(t.pair.calls).toEqual([]);
    expect(t.published.map((p) => p.kind)).toEqual(['failed']);
    expect(t.published[0].body.reason).toMatch(/needs the VM running on h1; libvirt says absent/);
  });

  it('a maintenance drain that finds the VM stopped moves it cold: disk copied host to host, offline define', async () => {
    const t = setup({ origin: 'maintenance' });
    const ops = t.deps.ops;
    t.deps.ops = (h) => ({ ...ops(h), domainState: async () => (t.pair.on === h.name ? 'shutoff' : 'absent') });
    await t.run();
    expect(t.pair.calls).toEqual(['copy disk', 'migrate precopy copy -> 10.254.7.12']);
    expect(t.pair.on).toBe('h2');
    expect(t.published.map((p) => p.kind)).toEqual(['started', 'completed']);
    expect(t.published[0].body.mode).toBe('cold');
  });

  it('a user asking a live move of a stopped VM is refused', async () => {
    const t = setup();
    const ops = t.deps.ops;
    t.deps.ops = (h) => ({ ...ops(h), domainState: async () => (t.pair.on === h.name ? 'shutoff' : 'absent') });
    await t.run();
    expect(t.pair.calls).toEqual([]);
    expect(t.published[0].body.reason).toMatch(/live migration needs the VM running on h1; libvirt says shutoff/);
  });

  it('a failed preparation of the target: nothing started, the target is cleaned', async () => {
    const t = setup();
    t.deps.prepare = async () => {
      throw new Error("storage 'shared' but host h2 does not see /var/lib/minicloud/vms/x/disk.qcow2");
    };
    await t.run();
    expect(t.pair.calls).toEqual([]);
    expect(t.pair.removed).toEqual(['h2+files']);
    expect(t.published[0].body.reason).toMatch(/^preparing h2 failed: storage 'shared'/);
  });
});

describe('MigrationRunner: what the record keeps', () => {
  const MiB = 2 ** 20;
  // A random writer at 20 MiB/s: the probe's xbzrle pages overflow (figures of the bench's random/20MiBs/shared case).
  const overflowing: Partial<MigrationJobInfo> = { pageSizeBytes: 4096, compressedBytes: 1535 * MiB, compressedPages: 396_547, compressionOverflows: 392_914, compressionCacheMisses: 16_543 };

  it('post-copy: the destination keeps no completed job, the figures come from the source job-completed event', async () => {
    const t = setup({ requestedStrategy: 'postcopy', storage: 'shared' });
    t.pair.plan = { ok: true, ms: 30 };
    t.pair.destinationKeepsStats = false;
    t.pair.completed = { timeElapsedMs: 8200, totalDowntimeMs: 13, dataProcessedBytes: 199 * MiB, iteration: 3, postcopyRequests: 12, memoryBandwidthBytesPerSec: 27 * MiB };
    await t.run();
    expect(t.pair.eventWatches).toBe(1);
    const done = t.published.find((p) => p.kind === 'completed')!.body;
    expect(done).toMatchObject({ strategy: 'postcopy', totalTimeMs: 8200, downtimeMs: 13, dataTransferredBytes: 199 * MiB, iterations: 3 });
    expect(t.updates.at(-1)!.actual).toMatchObject({ totalTimeMs: 8200, jobTimeMs: 8200, downtimeMs: 13, postcopyRequests: 12, bandwidthMiBs: 27 });
    expect(done.stages.map((x: any) => x.stage)).toContain('stop-and-copy');
    // the host it left keeps nothing of it: its host-local directory goes too (the shared disk is never asked for)
    expect(t.pair.removed).toEqual(['h1+files']);
  });

  it('no completed statistics anywhere: the measured time, no made-up downtime or data', async () => {
    const t = setup({ requestedStrategy: 'postcopy', storage: 'shared' });
    t.pair.plan = { ok: true, ms: 40 };
    t.pair.destinationKeepsStats = false;
    const ops = t.deps.ops;
    t.deps.ops = (h) => ({ ...ops(h), watchJobCompleted: () => ({ result: Promise.resolve(null), stop: async () => undefined }) });
    await t.run();
    const done = t.published.find((p) => p.kind === 'completed')!.body;
    expect(done.totalTimeMs).toBeGreaterThanOrEqual(30);
    expect(done.totalTimeMs).not.toBe(20); // the running job's last poll says 20 ms: not the job's figure
    expect(done.downtimeMs).toBeUndefined();
    expect(done.dataTransferredBytes).toBeUndefined();
  });

  it('a probe whose statistics are conclusive at once: switched within the first polls, not after the planned probe time', async () => {
    const t = setup({ bandwidthMiBs: 20, storage: 'shared' });
    t.pair.dirtyMiBs = 67;
    t.pair.running = { compressed: overflowing };
    t.pair.plans = { compressed: { ok: true, ms: 0, hang: true } }; // the probe only ends when aborted
    const started = Date.now();
    await t.run();
    expect(t.pair.calls.filter((c) => c.startsWith('migrate'))).toEqual(['migrate compressed shared -> 10.254.7.12', 'migrate auto-converge shared -> 10.254.7.12']);
    expect(t.pair.abortsAt).toHaveLength(1);
    expect(t.pair.abortsAt[0]).toBeLessThan(1000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(t.pair.on).toBe('h2');
  });

  it('after a probe switch: the prediction made with what the probe measured, the total = probe + second job, the probe as a stage', async () => {
    const t = setup({ bandwidthMiBs: 20, storage: 'shared' });
    t.pair.dirtyMiBs = 67;
    t.pair.running = { compressed: overflowing, 'auto-converge': { autoConvergeThrottlePercent: 50 } };
    t.pair.plan = { ok: true, ms: 120 };
    t.pair.completed = { timeElapsedMs: 68_900, totalDowntimeMs: 68 };
    await t.run();
    const started = t.published.find((p) => p.kind === 'started')!.body;
    expect(started.strategy).toBe('compressed');
    const switched = t.updates.find((u) => u.strategy === 'auto-converge')!;
    const measured = (switched.predictions as any[]).find((p) => p.strategy === 'auto-converge');
    expect(measured.totalTimeMs).toBeGreaterThan(0);
    // The record's predictions are the ones made with the probe's figures: xbzrle's ratio is measured, no longer assumed.
    const compBefore = (t.updates[0].predictions as any[]).find((p) => p.strategy === 'compressed');
    const compAfter = (switched.predictions as any[]).find((p) => p.strategy === 'compressed');
    expect(compBefore.assumed).toBeDefined();
    expect(compAfter.assumed).toBeUndefined();
    const done = t.published.find((p) => p.kind === 'completed')!.body;
    const actual = t.updates.at(-1)!.actual!;
    expect(actual.probeMs).toBeGreaterThan(0);
    expect(actual.jobTimeMs).toBe(68_900);
    expect(done.totalTimeMs).toBe(actual.probeMs! + 68_900);
    expect(done.strategy).toBe('auto-converge');
    expect(done.predictedTotalTimeMs).toBe(actual.probeMs! + measured.totalTimeMs);
    expect(actual.totalTimeError).toBeCloseTo((done.totalTimeMs - done.predictedTotalTimeMs) / done.predictedTotalTimeMs, 6);
    expect(done.stages.map((x: any) => x.stage)).toEqual(['reservation', 'probe', 'pre-copy', 'stop-and-copy', 'commitment', 'activation']);
    expect(switched.strategyReason).toMatch(/; then Switch to auto-converge/);
  });

  it('a timeout abort is recorded as the timeout, not as the "End of file" virsh prints after domjobabort', async () => {
    const t = setup();
    t.deps.cfg = { ...t.deps.cfg, progressTimeoutS: 0.05 };
    t.pair.plan = { ok: true, ms: 0, hang: true };
    const ops = t.deps.ops;
    t.deps.ops = (h) => ({ ...ops(h), jobInfo: async () => ({ jobType: 'Unbounded', memoryProcessedBytes: 5, memoryRemainingBytes: 1, memoryTotalBytes: 10 }) });
    await t.run();
    const f = t.published.find((p) => p.kind === 'failed')!.body;
    expect(f.reason).toMatch(/^progress timeout \(abort\): no data moved for 0.05 s, the job was aborted; the source still runs the VM/);
    expect(f.reason).not.toMatch(/End of file/);
    expect(t.updates.at(-1)).toMatchObject({ state: 'failed' });
  });

  it("a user's cancel is recorded as cancelled with its reason, without virsh's \"End of file\"", async () => {
    let n = 0;
    const t = setup({}, () => (++n > 2 ? 'cancel' : null));
    t.pair.plan = { ok: true, ms: 0, hang: true };
    await t.run();
    const f = t.published.find((p) => p.kind === 'failed')!.body;
    expect(f).toMatchObject({ cancelled: true });
    expect(f.reason).toMatch(/^cancelled by a user \(the job was aborted\); the source still runs the VM/);
    expect(f.reason).not.toMatch(/End of file/);
    expect(t.updates.at(-1)).toMatchObject({ state: 'cancelled', error: f.reason });
    expect(t.pair.eventStops).toBe(1); // no event comes for an aborted job: the listener is ended
  });
});

describe('libvirtMessage', () => {
  it("drops virsh's progress and keeps libvirt's error", () => {
    expect(libvirtMessage('Migration: [  0 %]\rMigration: [ 98 %]\rMigration: [  2 %]error: internal error: qemu unexpectedly closed the monitor\n')).toBe(
      'error: internal error: qemu unexpectedly closed the monitor',
    );
  });
});
