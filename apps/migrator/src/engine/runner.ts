import type { ConcreteStrategy, EventBody, MigrationStage, Subjects } from '@minicloud/contracts';
import type { DomainState, MigrationJobInfo, VirshMigrateOptions } from '@minicloud/hypervisor';
import { afterProbe, chooseStrategy, CostInputs, learnedInputs, MigrationHistory, predict, StrategyChoice } from '@minicloud/migration';
import type { Prediction } from '@minicloud/migration';
import type { MigratorConfig } from '../config/config';
import type { MigrationRecord } from '../persistence/entities';
import type { HostOps, HostRef } from './host-ops';
import { completionTimeoutMs } from './limits';
import { actualFigures, completedJobFigures, endReason } from './outcome';
import { settle, Side } from './settle';

const MiB = 1024 * 1024;
/** Force-complete without post-copy: QEMU's largest downtime limit, so the next round stops the guest and sends the rest. */
const PAUSE_AND_COPY_DOWNTIME_MS = 2_000_000;
/** How long after a successful `virsh migrate` the source's job-completed event may still arrive. */
const COMPLETED_EVENT_GRACE_MS = 5_000;

export type Control = 'cancel' | 'force-complete' | null;

/** What the runner needs from the service around it (the database, the bus, the provisioner, the hosts). */
export interface RunnerDeps {
  cfg: MigratorConfig;
  host(id: string): Promise<HostRef | null>;
  ops(host: HostRef): HostOps;
  /** Asks the provisioner to put the VM's files on the target (throws with the reason). */
  prepare(vmId: string, targetHostId: string, storage: 'shared' | 'copy'): Promise<void>;
  /** What past migrations teach the cost model: the path's bandwidth and fixed costs, the VM's non-zero memory and disk. */
  history(sourceHostId: string, targetHostId: string, vmId: string): Promise<MigrationHistory | undefined>;
  update(id: string, patch: Partial<MigrationRecord>): Promise<void>;
  /** Writes this owner's heartbeat and returns the control a user asked for (if any). */
  heartbeat(id: string): Promise<Control>;
  publishStarted(e: EventBody<typeof Subjects.MigrationStarted>): Promise<void>;
  publishProgress(e: EventBody<typeof Subjects.MigrationProgress>): Promise<void>;
  publishCompleted(e: EventBody<typeof Subjects.MigrationCompleted>): Promise<void>;
  publishFailed(e: EventBody<typeof Subjects.MigrationFailed>): Promise<void>;
  log(level: 'log' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>): void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** How one `virsh migrate` run ended. */
interface JobOutcome {
  ok: boolean;
  error: string;
  control: Control;
  timedOut: 'completion' | 'progress' | null;
  /** The probe judged xbzrle useless: the job was aborted to restart with another strategy. */
  switchTo: ConcreteStrategy | null;
  switchReason: string;
  /** With switchTo: every strategy's prediction made with what the probe measured. */
  switchPredictions?: Prediction[];
  lastInfo: MigrationJobInfo | null;
  /** The completed job's statistics from the source's job-completed event (live jobs that succeeded). */
  completedEvent?: MigrationJobInfo | null;
  forced: boolean;
}

/** `p`'s value, or `fallback` when it takes longer than `ms`. */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** libvirt's message without virsh's `--verbose` progress (`Migration: [ 42 %]`, separated by carriage returns). */
export const libvirtMessage = (s: string) =>
  s
    .replace(/Migration: \[\s*\d+\s*%\]/g, ' ')
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
    .replace(/\s+/g, ' ')
    .slice(0, 1500);

/**
 * Runs one migration from `planned` to its end: prepare the target, measure, choose the strategy (cost model),
 * run `virsh migrate` on the source while publishing progress and honouring cancel/force-complete/timeouts, then
 * settle by asking BOTH hosts where the VM is, clean the other one, and publish completed or failed.
 */
export class MigrationRunner {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly stages: { stage: MigrationStage; at: string }[] = [];

  constructor(
    private readonly d: RunnerDeps,
    private readonly rec: MigrationRecord,
  ) {
    this.now = d.now ?? Date.now;
    this.sleep = d.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.stages.push(...((rec.stages ?? []) as { stage: MigrationStage; at: string }[]));
  }

  private mark(stage: MigrationStage, at = this.now()): void {
    if (!this.stages.some((s) => s.stage === stage)) this.stages.push({ stage, at: new Date(at).toISOString() });
  }

  async run(): Promise<void> {
    const r = this.rec;
    const src = await this.d.host(r.sourceHostId);
    const tgt = r.targetHostId ? await this.d.host(r.targetHostId) : null;
    if (!src || !tgt) {
      return this.fail(`${!src ? 'source' : 'target'} host ${!src ? r.sourceHostId : r.targetHostId} is not known to the migrator`, r.sourceHostId, false);
    }
    this.mark('reservation', r.createdAt.getTime());
    const so = this.d.ops(src);
    const to = this.d.ops(tgt);
    const before = await so.domainState(r.vmId).catch(() => 'nostate' as DomainState);
    // The planner and maintenance drains ask for `live`; a VM they find stopped moves cold (a user's request is taken
    // as asked, and refused when it does not fit the VM's state).
    const stopped = ['shutoff', 'shutdown', 'crashed'].includes(before);
    if (r.mode === 'live' && stopped && r.origin !== 'manual') await this.save({ mode: 'cold' });
    const live = r.mode === 'live';
    if (live && before !== 'running' && before !== 'blocked') {
      return this.fail(`live migration needs the VM running on ${src.name}; libvirt says ${before}`, r.sourceHostId, false);
    }
    if (!live && !stopped) {
      return this.fail(`cold migration needs the VM stopped on ${src.name}; libvirt says ${before}`, r.sourceHostId, false);
    }
    const control0 = await this.d.heartbeat(r.id);
    if (control0 === 'cancel') return this.fail('cancelled before it started', r.sourceHostId, true);
    try {
      await this.d.prepare(r.vmId, tgt.id, r.storage);
    } catch (err) {
      await this.cleanup(to, 'target');
      return this.fail(`preparing ${tgt.name} failed: ${(err as Error).message}`, r.sourceHostId, false);
    }
    return live ? this.runLive(src, tgt, so, to) : this.runCold(src, tgt, so, to);
  }

  /**
   * A migration this process did not start (its owner died mid-way): wait until no job runs on the source any
   * more, then settle it by asking both hosts, exactly as a failed run is settled.
   */
  async recover(): Promise<void> {
    const r = this.rec;
    const src = await this.d.host(r.sourceHostId);
    const tgt = r.targetHostId ? await this.d.host(r.targetHostId) : null;
    if (!src || !tgt) return this.fail('the migrator restarted and a host of this migration is no longer known', r.sourceHostId, false);
    const so = this.d.ops(src);
    const to = this.d.ops(tgt);
    const startedAt = r.startedAt?.getTime() ?? r.createdAt.getTime();
    const deadline = this.now() + completionTimeoutMs(r.memoryMiB, this.d.cfg.completionBaseS, this.d.cfg.completionPerGiBS);
    let last: MigrationJobInfo | null = null;
    for (;;) {
      const info = await so.jobInfo(r.vmId).catch(() => null);
      if (!info || !info.jobType || info.jobType === 'None') break;
      last = info;
      const control = await this.d.heartbeat(r.id).catch(() => null);
      if (control === 'cancel' || this.now() > deadline) {
        await so.abortJob(r.vmId).catch(() => undefined);
      }
      await this.sleep(this.d.cfg.pollMs);
    }
    const control = await this.d.heartbeat(r.id).catch(() => null);
    this.d.log('warn', 'settling a migration left running by a migrator that stopped', { migrationId: r.id, vmId: r.vmId });
    const out: JobOutcome = { ok: false, error: 'the migrator stopped while this migration ran', control, timedOut: null, switchTo: null, switchReason: '', lastInfo: last, forced: false };
    await this.finish(src, tgt, so, to, out, (r.strategy as ConcreteStrategy) ?? 'precopy', startedAt, r.mode === 'live');
  }

  private async runLive(src: HostRef, tgt: HostRef, so: HostOps, to: HostOps): Promise<void> {
    const r = this.rec;
    const maxDowntimeMs = r.maxDowntimeMs ?? this.d.cfg.defaultMaxDowntimeMs;
    const dirty = await so.dirtyRateMiBs(r.vmId, this.d.cfg.dirtyRateSampleS).catch(() => undefined);
    const hist = await this.d.history(src.id, tgt.id, r.vmId).catch(() => undefined);
    const histMiBs = hist?.bandwidthBytesPerSec ? Math.round((hist.bandwidthBytesPerSec / MiB) * 10) / 10 : undefined;
    const bandwidthMiBs = r.bandwidthMiBs ?? histMiBs ?? this.d.cfg.defaultBandwidthMiBs;
    const bwWhy = r.bandwidthMiBs ? 'the requested cap' : histMiBs ? `past migrations ${src.name} → ${tgt.name}` : 'the default (no history between these hosts)';
    const inputs: CostInputs = {
      memoryBytes: r.memoryMiB * MiB,
      dirtyRateBytesPerSec: (dirty ?? 0) * MiB,
      bandwidthBytesPerSec: bandwidthMiBs * MiB,
      maxDowntimeMs,
      // U, S, O, Z from past migrations (the model's defaults without), W from the dirty-rate sample
      ...learnedInputs(hist, { memoryBytes: r.memoryMiB * MiB, storage: r.storage, dirtyRateBytesPerSec: dirty === undefined ? undefined : dirty * MiB, sampleSeconds: this.d.cfg.dirtyRateSampleS }),
    };
    let choice: StrategyChoice;
    if (r.requestedStrategy === 'auto') {
      choice = chooseStrategy(inputs, { allowPostcopy: this.d.cfg.allowPostcopy });
    } else {
      const p = predict(r.requestedStrategy as ConcreteStrategy, inputs);
      choice = { strategy: r.requestedStrategy as ConcreteStrategy, reason: `requested by the client (${p.why})`, predictions: [p] };
    }
    const reason = `${choice.reason}; dirty rate ${dirty === undefined ? 'not measured' : `${dirty.toFixed(1)} MiB/s`}, bandwidth ${bandwidthMiBs} MiB/s from ${bwWhy}`;
    let strategy = choice.strategy;
    const chosen = choice.predictions.find((p) => p.strategy === strategy);
    const startedAt = this.now();
    // A probe (auto, xbzrle's ratio unknown) is a stage of its own: kept, the migration goes on as pre-copy.
    const firstStage: MigrationStage = choice.probe ? 'probe' : 'pre-copy';
    this.mark(firstStage, startedAt);
    await this.save({
      strategy,
      strategyReason: reason,
      predictions: choice.predictions as unknown[],
      dirtyRateMiBs: dirty ?? null,
      bandwidthAssumedMiBs: bandwidthMiBs,
      predictedTotalMs: chosen?.totalTimeMs ?? null,
      predictedDowntimeMs: chosen?.downtimeMs ?? null,
      stage: firstStage,
      stages: this.stages,
      startedAt: new Date(startedAt),
    });
    await this.d.publishStarted({
      migrationId: r.id,
      vmId: r.vmId,
      sourceHostId: src.id,
      targetHostId: tgt.id,
      mode: 'live',
      strategy,
      strategyReason: reason,
      dirtyRateMiBs: dirty,
      bandwidthMiBs,
      predictions: choice.predictions.map((p) => ({ strategy: p.strategy, converges: p.converges, totalTimeMs: p.totalTimeMs, downtimeMs: p.downtimeMs, iterations: p.iterations, dataBytes: p.dataBytes })),
    });
    this.d.log('log', 'migration started', { migrationId: r.id, vmId: r.vmId, from: src.name, to: tgt.name, strategy, reason });

    let out = await this.job(so, src, tgt, strategy, maxDowntimeMs, startedAt, choice.probe ? { seconds: choice.probe.seconds, inputs } : null);
    if (out.switchTo) {
      // The probe showed the first strategy will not converge: the job was aborted (the VM still runs on the
      // source); wait until the target is clean, then start again with the better strategy.
      const st = await to.domainState(r.vmId).catch(() => 'nostate' as DomainState);
      if (st !== 'absent') await to.removeDomain(r.vmId, false).catch(() => undefined);
      strategy = out.switchTo;
      // The client waits for the probe and the second job: the prediction is the probe's time so far plus the new
      // strategy's, predicted with what the probe measured (its xbzrle ratio and throttle effect).
      const secondAt = this.now();
      const probeMs = secondAt - startedAt;
      const predictions = out.switchPredictions ?? choice.predictions;
      const again = predictions.find((p) => p.strategy === strategy);
      this.mark('pre-copy', secondAt);
      await this.save({
        strategy,
        strategyReason: `${reason}; then ${out.switchReason}`,
        predictions: predictions as unknown[],
        predictedTotalMs: again?.totalTimeMs !== undefined ? probeMs + again.totalTimeMs : null,
        predictedDowntimeMs: again?.downtimeMs ?? null,
        stage: 'pre-copy',
        stages: this.stages,
      });
      this.d.log('log', 'probe: switching strategy', { migrationId: r.id, strategy, why: out.switchReason, probeMs });
      out = await this.job(so, src, tgt, strategy, maxDowntimeMs, startedAt, null);
      return this.finish(src, tgt, so, to, out, strategy, startedAt, true, probeMs);
    }
    await this.finish(src, tgt, so, to, out, strategy, startedAt, true);
  }

  /** One `virsh migrate` run with its polling loop. */
  private async job(
    so: HostOps,
    src: HostRef,
    tgt: HostRef,
    strategy: ConcreteStrategy,
    maxDowntimeMs: number,
    startedAt: number,
    probe: { seconds: number; inputs: CostInputs } | null,
  ): Promise<JobOutcome> {
    const r = this.rec;
    const cfg = this.d.cfg;
    const deadline = completionTimeoutMs(r.memoryMiB, cfg.completionBaseS, cfg.completionPerGiBS);
    const opts: VirshMigrateOptions = {
      targetAddress: tgt.address,
      live: true,
      storage: r.storage,
      // The provisioner put the disk's backing image and an overlay like the source's on the target: only the
      // overlay's blocks move.
      incremental: r.storage === 'copy',
      strategy,
      bandwidthMiBs: r.bandwidthMiBs ?? undefined,
      // xbzrle's page cache as large as the guest (the cost model assumes it; the default 64 MiB misses pages).
      xbzrleCacheBytes: strategy === 'compressed' ? r.memoryMiB * MiB : undefined,
      allowPostcopy: strategy === 'postcopy' || cfg.allowPostcopy,
    };
    let finished = false;
    let result: { code: number | null; stdout: string; stderr: string } = { code: null, stdout: '', stderr: '' };
    // Listen for the source's job-completed event before the job starts (libvirt does not replay events): after a
    // post-copy switch it is the only place the completed job's figures exist.
    const watch = so.watchJobCompleted(r.vmId, Math.ceil((deadline + 180_000) / 1000));
    // The downtime limit before the job starts (QEMU keeps it as a migration parameter): set at the first poll only,
    // a short migration (an idle guest moves in about a second) switches over under QEMU's default 300 ms or under
    // what a previous force-complete left. A failure here is retried once the job exists.
    let downtimeSet = await so
      .setMaxDowntime(r.vmId, maxDowntimeMs)
      .then(() => true)
      .catch(() => false);
    const exec = so
      .migrate(r.vmId, opts, deadline + 60_000)
      .then((x) => (result = x))
      .catch((err) => (result = { code: null, stdout: '', stderr: String((err as Error)?.message ?? err) }))
      .finally(() => (finished = true));
    const out: JobOutcome = { ok: false, error: '', control: null, timedOut: null, switchTo: null, switchReason: '', lastInfo: null, forced: false };
    let lastMoveAt = this.now();
    let lastProcessed = -1;
    let aborting = false;
    const jobStart = this.now();
    while (!finished) {
      await Promise.race([exec, this.sleep(cfg.pollMs)]);
      if (finished) break;
      const info = await so.jobInfo(r.vmId).catch(() => null);
      if (info && info.jobType && info.jobType !== 'None') {
        out.lastInfo = info;
        if (!downtimeSet) {
          downtimeSet = true;
          await so.setMaxDowntime(r.vmId, maxDowntimeMs).catch((err) => this.d.log('warn', 'could not set the downtime limit', { migrationId: r.id, err: String(err) }));
        }
        // Disks are mirrored first (memory stays at 0 meanwhile): progress is any data moving.
        const processed = (info.dataProcessedBytes ?? 0) + (info.memoryProcessedBytes ?? 0) + (info.diskProcessedBytes ?? 0);
        if (processed > lastProcessed) {
          lastProcessed = processed;
          lastMoveAt = this.now();
        }
        const stage: MigrationStage = probe ? 'probe' : 'pre-copy';
        await this.d
          .publishProgress({
            migrationId: r.id,
            vmId: r.vmId,
            stage,
            elapsedMs: this.now() - startedAt,
            memoryProcessedBytes: info.memoryProcessedBytes ?? 0,
            memoryRemainingBytes: info.memoryRemainingBytes ?? 0,
            memoryTotalBytes: info.memoryTotalBytes ?? r.memoryMiB * MiB,
            dataTransferredBytes: info.dataProcessedBytes,
            iteration: info.iteration,
            dirtyRatePagesPerSec: info.dirtyRatePagesPerSec,
            expectedDowntimeMs: info.expectedDowntimeMs,
          })
          .catch(() => undefined);
      }
      const control = await this.d.heartbeat(r.id).catch(() => null);
      if (aborting) continue;
      if (control === 'cancel') {
        out.control = 'cancel';
        aborting = true;
        this.d.log('log', 'cancelling migration', { migrationId: r.id });
        await so.abortJob(r.vmId).catch((err) => this.d.log('warn', 'domjobabort failed', { migrationId: r.id, err: String(err) }));
        continue;
      }
      if (control === 'force-complete' && !out.forced) {
        out.forced = true;
        out.control = 'force-complete';
        await this.forceComplete(so, opts.allowPostcopy === true);
        continue;
      }
      const now = this.now();
      const timedOut = now - jobStart > deadline ? 'completion' : now - lastMoveAt > cfg.progressTimeoutS * 1000 ? 'progress' : null;
      if (timedOut && !out.forced) {
        out.timedOut = timedOut;
        this.d.log('warn', 'migration timed out', { migrationId: r.id, timeout: timedOut, action: cfg.timeoutAction });
        if (cfg.timeoutAction === 'force-complete') {
          out.forced = true;
          await this.forceComplete(so, opts.allowPostcopy === true);
        } else {
          aborting = true;
          await so.abortJob(r.vmId).catch(() => undefined);
        }
        continue;
      }
      if (probe && out.lastInfo) {
        // Every poll's statistics go through afterProbe: it decides as soon as they are conclusive (xbzrle has
        // encoded pages), not only once the planned probe time passed; inconclusive, the probe goes on.
        const verdict = afterProbe(probe.inputs, out.lastInfo, { allowPostcopy: cfg.allowPostcopy });
        if (verdict.conclusive) {
          probe = null;
          this.d.log('log', 'probe: conclusive', { migrationId: r.id, afterMs: now - jobStart, keep: verdict.strategy === strategy, why: verdict.reason });
          if (verdict.strategy === strategy) {
            this.mark('pre-copy', now);
            await this.save({ stage: 'pre-copy', stages: this.stages });
          } else {
            out.switchTo = verdict.strategy;
            out.switchReason = verdict.reason;
            out.switchPredictions = verdict.predictions;
            aborting = true;
            await so.abortJob(r.vmId).catch(() => undefined);
          }
        }
      }
    }
    await exec;
    out.ok = result.code === 0;
    out.error = out.ok ? '' : libvirtMessage(`${result.stderr}\n${result.stdout}`) || `virsh migrate ended with code ${result.code}`;
    if (out.switchTo && out.ok) out.switchTo = null; // it finished before the abort landed
    if (out.ok) out.completedEvent = await within(watch.result, COMPLETED_EVENT_GRACE_MS, null);
    await watch.stop().catch(() => undefined);
    return out;
  }

  /** Ends the migration now: post-copy when the job allows it, else pause-and-copy (the largest downtime limit). */
  private async forceComplete(so: HostOps, postcopy: boolean): Promise<void> {
    const r = this.rec;
    this.d.log('log', 'forcing completion', { migrationId: r.id, how: postcopy ? 'post-copy' : 'pause-and-copy' });
    if (postcopy) {
      try {
        await so.switchToPostcopy(r.vmId);
        return;
      } catch (err) {
        this.d.log('warn', 'switch to post-copy failed; pausing and copying instead', { migrationId: r.id, err: String(err) });
      }
    }
    await so.setMaxDowntime(r.vmId, PAUSE_AND_COPY_DOWNTIME_MS).catch(() => undefined);
  }

  private async runCold(src: HostRef, tgt: HostRef, so: HostOps, to: HostOps): Promise<void> {
    const r = this.rec;
    const startedAt = this.now();
    const strategy: ConcreteStrategy = 'precopy';
    const reason = 'cold migration: the VM is stopped, its definition (and disk when copied) moves';
    this.mark('pre-copy', startedAt);
    await this.save({ strategy, strategyReason: reason, stage: 'pre-copy', stages: this.stages, startedAt: new Date(startedAt) });
    await this.d.publishStarted({ migrationId: r.id, vmId: r.vmId, sourceHostId: src.id, targetHostId: tgt.id, mode: 'cold', strategy, strategyReason: reason });
    const out: JobOutcome = { ok: false, error: '', control: null, timedOut: null, switchTo: null, switchReason: '', lastInfo: null, forced: false };
    const deadline = completionTimeoutMs(r.memoryMiB, this.d.cfg.completionBaseS, this.d.cfg.completionPerGiBS);
    try {
      if (r.storage === 'copy') await so.copyDiskTo(r.vmId, tgt, deadline);
      const res = await so.migrate(r.vmId, { targetAddress: tgt.address, live: false, storage: r.storage, strategy }, deadline);
      out.ok = res.code === 0;
      out.error = out.ok ? '' : libvirtMessage(`${res.stderr}\n${res.stdout}`) || `virsh migrate --offline ended with code ${res.code}`;
    } catch (err) {
      out.error = String((err as Error)?.message ?? err);
    }
    await this.finish(src, tgt, so, to, out, strategy, startedAt, false);
  }

  /** Settles by asking both hosts, cleans the other host, publishes the outcome. */
  private async finish(src: HostRef, tgt: HostRef, so: HostOps, to: HostOps, out: JobOutcome, strategy: ConcreteStrategy, startedAt: number, wasRunning: boolean, probeMs?: number): Promise<void> {
    const r = this.rec;
    const endedAt = this.now();
    const [s, t] = await Promise.all([so.domainState(r.vmId).catch(() => 'nostate' as DomainState), to.domainState(r.vmId).catch(() => 'nostate' as DomainState)]);
    const verdict = settle(s, t, out.ok, wasRunning);
    this.d.log(verdict.lost ? 'error' : 'log', 'migration settled', { migrationId: r.id, vmOn: verdict.vmOn, why: verdict.why, ok: out.ok });
    // The other host keeps nothing of the VM: a leftover domain and its VM directory (console log, seed ISO and, with
    // copied disks, its copy: the pre-created disk, or the source's disk after the move). A shared disk never goes.
    const loser: Side = verdict.vmOn === 'source' ? 'target' : 'source';
    if (!verdict.lost) await this.cleanup(loser === 'source' ? so : to, loser);
    const keep = verdict.vmOn === 'source' ? so : to;
    if (verdict.resume) await keep.resume(r.vmId).catch((err) => this.d.log('warn', 'resume failed', { migrationId: r.id, err: String(err) }));
    if (verdict.vmOn === 'target' && !verdict.lost) {
      // Commitment: the destination confirmed it runs the VM (or holds the stopped one); activation follows.
      // The destination's completed job; after a post-copy switch it has none (`Job type: None`): the source's
      // job-completed event has them.
      const figures = completedJobFigures(wasRunning ? await to.jobInfo(r.vmId, true).catch(() => null) : null, out.completedEvent ?? null, out.lastInfo);
      const actual = actualFigures(figures, endedAt - startedAt - (probeMs ?? 0), probeMs, r.predictedTotalMs);
      const { totalTimeMs, downtimeMs } = actual;
      if (downtimeMs !== undefined) this.mark('stop-and-copy', endedAt - downtimeMs);
      this.mark('commitment', endedAt);
      this.mark('activation', this.now());
      if (wasRunning && figures.from !== 'destination') this.d.log('log', 'completed job figures', { migrationId: r.id, from: figures.from });
      await this.save({ state: 'completed', stage: 'activation', stages: this.stages, actual, finishedAt: new Date(), vmHostId: tgt.id, error: out.forced ? 'force-completed' : null });
      await this.d.publishCompleted({
        migrationId: r.id,
        vmId: r.vmId,
        sourceHostId: src.id,
        targetHostId: tgt.id,
        strategy,
        totalTimeMs,
        downtimeMs,
        dataTransferredBytes: actual.dataTransferredBytes,
        iterations: actual.iterations,
        compressedBytes: actual.compressedBytes,
        compressionCacheMisses: actual.compressionCacheMisses,
        postcopyRequests: actual.postcopyRequests,
        probeMs: actual.probeMs,
        predictedTotalTimeMs: r.predictedTotalMs ?? undefined,
        predictedDowntimeMs: r.predictedDowntimeMs ?? undefined,
        stages: this.stages,
        forced: out.forced || undefined,
      });
      this.d.log('log', 'migration completed', { migrationId: r.id, vmId: r.vmId, to: tgt.name, ...actual });
      return;
    }
    const cfg = this.d.cfg;
    const why = endReason({
      control: out.control === 'cancel' ? 'cancel' : null,
      timedOut: out.timedOut,
      timeoutAction: cfg.timeoutAction,
      timeoutS: out.timedOut === 'progress' ? cfg.progressTimeoutS : out.timedOut === 'completion' ? completionTimeoutMs(r.memoryMiB, cfg.completionBaseS, cfg.completionPerGiBS) / 1000 : undefined,
      error: out.error,
      lost: verdict.lost,
      settled: verdict.why,
    });
    return this.fail(why, verdict.vmOn === 'source' ? src.id : tgt.id, out.control === 'cancel');
  }

  /** Updates the record here and in the database. */
  private async save(patch: Partial<MigrationRecord>): Promise<void> {
    Object.assign(this.rec, patch);
    await this.d.update(this.rec.id, patch);
  }

  private async cleanup(ops: HostOps, side: Side): Promise<void> {
    try {
      await ops.removeDomain(this.rec.vmId, true);
    } catch (err) {
      this.d.log('warn', 'cleaning the other host failed', { migrationId: this.rec.id, side, err: String((err as Error)?.message ?? err) });
    }
  }

  private async fail(reason: string, vmHostId: string, cancelled: boolean): Promise<void> {
    const r = this.rec;
    await this.save({ state: cancelled ? 'cancelled' : 'failed', error: reason, vmHostId, finishedAt: new Date(), stages: this.stages });
    await this.d.publishFailed({ migrationId: r.id, vmId: r.vmId, sourceHostId: r.sourceHostId, targetHostId: r.targetHostId ?? undefined, reason, vmHostId, cancelled });
    this.d.log('warn', cancelled ? 'migration cancelled' : 'migration failed', { migrationId: r.id, vmId: r.vmId, reason, vmHostId });
  }
}
