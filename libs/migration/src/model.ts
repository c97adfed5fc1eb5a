import type { ConcreteStrategy } from '@minicloud/contracts';
import { fmtDuration, fmtMiB, fmtMiBs } from './format';

/**
 * The migration cost model: how long a live migration takes, how long the guest pauses, and whether it converges at
 * all, for each strategy. Pure arithmetic on a few measured figures; docs/migration.md explains it.
 */

export const MIGRATION_STRATEGIES: readonly ConcreteStrategy[] = ['precopy', 'compressed', 'auto-converge', 'postcopy'];

export interface MigrationInputs {
  /** The guest's memory (M). */
  memoryBytes: number;
  /** Measured (domdirtyrate-calc): bytes of pages the guest dirties per second (D). */
  dirtyRateBytesPerSec: number;
  /** The migration stream's bandwidth (B): the cap, past migrations between the hosts, or a default. */
  bandwidthBytesPerSec: number;
  /** The longest pause accepted at the switch-over (T). */
  maxDowntimeMs: number;
  /**
   * Bytes xbzrle puts on the wire per byte of dirty page (r, 0..1+; >1 when pages overflow), from a probe or a past
   * migration of this VM. Undefined: unknown.
   */
  xbzrleRatio?: number;
  /**
   * How much a CPU throttle lowers the dirty rate (e, 0..1): throttled at p the guest dirties D·(1 − e·p).
   * Undefined: derived from a known xbzrleRatio (throttleEffectFor), else MODEL.maxThrottleEffect (a whole-page writer).
   */
  throttleEffect?: number;
  /** The xbzrle page cache (--comp-xbzrle-cache). Undefined: as large as the guest (what the migrator asks for). */
  xbzrleCacheBytes?: number;
  /**
   * The guest's non-zero memory (U ≤ M): what the first pass puts on the wire (QEMU sends a zero page as a few-byte
   * marker). From the VM's last migration: memory total − constant pages × page size (`jobFacts`). Undefined: M.
   */
  usedMemoryBytes?: number;
  /**
   * The most the guest dirties in one round however long the round lasts (W). From the dirty-rate sample: the
   * distinct pages dirtied in its window (D × window). Undefined: M (a round dirties D·t, at most all memory).
   */
  workingSetBytes?: number;
  /** Disk bytes copied before the memory (S): the allocated blocks of a copied overlay; 0 (undefined) for shared storage. */
  diskBytes?: number;
  /**
   * The rate of post-copy's phase after the switch (Bp): QEMU does not apply --bandwidth to it
   * (max-postcopy-bandwidth 0). From the path's uncapped history. Undefined: B.
   */
  postcopyBandwidthBytesPerSec?: number;
  /** Fixed time of a migration besides moving bytes (O): set-up, connection, switch-over hand-shakes. Undefined: MODEL.setupMs. */
  setupMs?: number;
  /** Fixed part of the pause (Z): stopping the vCPUs, device state, resuming on the target. Undefined: MODEL.switchoverMs. */
  switchoverMs?: number;
}

/** The name the migrator uses. */
export type CostInputs = MigrationInputs;

export interface Prediction {
  strategy: ConcreteStrategy;
  /** Under the inputs given; when `assumed` is set the answer hangs on an assumed input (unknown until measured). */
  converges: boolean;
  /** Start to finish (absent when it does not converge). */
  totalTimeMs?: number;
  /** The guest's pause at the switch-over (absent when it does not converge). */
  downtimeMs?: number;
  /** Rounds of copying, the first full pass and the final stop-and-copy included. */
  iterations: number;
  /** Bytes put on the wire (up to the point the model stopped, when it does not converge). */
  dataBytes: number;
  /** The CPU throttle reached (auto-converge). */
  throttlePercent?: number;
  /** What the model assumed for lack of evidence. */
  assumed?: string;
  /** What can go wrong beyond the figures (post-copy). */
  risk?: string;
  /** One sentence with the numbers. */
  why: string;
}

/** The model's constants: QEMU 7.2's defaults where they are QEMU's. */
export const MODEL = {
  /** The model gives up after this many rounds (QEMU itself would iterate until the migrator's timeout). */
  maxRounds: 30,
  /** QEMU cpu-throttle-initial / cpu-throttle-increment / max-cpu-throttle. */
  throttleInitialPercent: 20,
  throttleIncrementPercent: 10,
  throttleMaxPercent: 99,
  /** QEMU throttle-trigger-threshold: throttle harder when a round dirtied more than this share of what it sent. */
  throttleTrigger: 0.5,
  /** QEMU raises the throttle after this many rounds that dirtied too much (ram.c: dirty_rate_high_cnt >= 2). */
  throttleRoundsPerRaise: 2,
  /** The pause while post-copy hands the guest over (device state, then the guest runs on the target). */
  postcopySwitchoverMs: 15,
  /** Default fixed time per migration (O) when the path has no history: calibrated on the 2026-11-28 bench. */
  setupMs: 1150,
  /** Default fixed part of the pause (Z) when the path has no history: calibrated on the 2026-11-28 bench. */
  switchoverMs: 80,
  /** xbzrle ratio assumed when nothing is known (the figures are then flagged as assumed). */
  assumedXbzrleRatio: 0.5,
  /** The least a throttle does (a guest that changes a few bytes per page still slows a little). */
  minThrottleEffect: 0.05,
  /**
   * The most a throttle does: even a whole-page writer keeps part of its dirty rate (calibrated on the lab's random
   * writer, which needed the 99 % throttle and 25 rounds to converge at 20 MiB/s: 0.85 gives 99 %, 22 rounds).
   */
  maxThrottleEffect: 0.85,
} as const;

function check(what: string, n: number | undefined, min: number, max: number, minExclusive = false): void {
  if (n === undefined) return;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || (minExclusive && n === min) || n > max) {
    throw new Error(`${what} must be a number in ${minExclusive ? '(' : '['}${min}, ${max}], got ${n}`);
  }
}

export function validateInputs(i: MigrationInputs): void {
  check('memoryBytes', i.memoryBytes, 0, Number.MAX_SAFE_INTEGER, true);
  check('dirtyRateBytesPerSec', i.dirtyRateBytesPerSec, 0, Number.MAX_SAFE_INTEGER);
  check('bandwidthBytesPerSec', i.bandwidthBytesPerSec, 0, Number.MAX_SAFE_INTEGER, true);
  check('maxDowntimeMs', i.maxDowntimeMs, 0, 3_600_000, true);
  check('xbzrleRatio', i.xbzrleRatio, 0, 2);
  check('throttleEffect', i.throttleEffect, 0, 1);
  check('xbzrleCacheBytes', i.xbzrleCacheBytes, 0, Number.MAX_SAFE_INTEGER, true);
  check('usedMemoryBytes', i.usedMemoryBytes, 0, i.memoryBytes);
  check('workingSetBytes', i.workingSetBytes, 0, Number.MAX_SAFE_INTEGER);
  check('diskBytes', i.diskBytes, 0, Number.MAX_SAFE_INTEGER);
  check('setupMs', i.setupMs, 0, 3_600_000);
  check('switchoverMs', i.switchoverMs, 0, 3_600_000);
  check('postcopyBandwidthBytesPerSec', i.postcopyBandwidthBytesPerSec, 0, Number.MAX_SAFE_INTEGER, true);
}

/** The inputs with every optional size and fixed cost resolved (U, W, S, O, Z). */
export interface ResolvedTerms {
  used: number;
  workingSet: number;
  disk: number;
  setupMs: number;
  switchoverMs: number;
}

export function resolvedTerms(i: MigrationInputs): ResolvedTerms {
  return {
    used: i.usedMemoryBytes ?? i.memoryBytes,
    workingSet: Math.min(i.memoryBytes, i.workingSetBytes ?? i.memoryBytes),
    disk: i.diskBytes ?? 0,
    setupMs: i.setupMs ?? MODEL.setupMs,
    switchoverMs: i.switchoverMs ?? MODEL.switchoverMs,
  };
}

/** What a round of t seconds leaves dirty at a dirty rate d: d·t, at most the working set W (itself at most M). */
export function dirtiedIn(t: ResolvedTerms, rate: number, seconds: number): number {
  return Math.min(t.workingSet, rate * seconds);
}

/**
 * How much a throttle slows a guest, judged by how much of each dirty page changes: a guest that rewrites whole pages
 * spends CPU on every byte and slows with the throttle (e = MODEL.maxThrottleEffect); one that changes a few bytes per page needs almost no
 * CPU per dirty page, so even at 99 % it keeps dirtying pages (e ≈ its xbzrle ratio, at least MODEL.minThrottleEffect).
 */
export function throttleEffectFor(xbzrleRatio: number): number {
  check('xbzrleRatio', xbzrleRatio, 0, 2);
  return Math.min(MODEL.maxThrottleEffect, Math.max(MODEL.minThrottleEffect, xbzrleRatio));
}

export function resolvedThrottleEffect(i: MigrationInputs): { effect: number; source: 'given' | 'xbzrle ratio' | 'default' } {
  if (i.throttleEffect !== undefined) return { effect: i.throttleEffect, source: 'given' };
  if (i.xbzrleRatio !== undefined) return { effect: throttleEffectFor(i.xbzrleRatio), source: 'xbzrle ratio' };
  return { effect: MODEL.maxThrottleEffect, source: 'default' };
}

interface Simulation {
  stop: 'converged' | 'diverges' | 'max-rounds';
  rounds: number;
  /** Every round, the disk copy and the fixed time (O, and Z when converged) included. */
  timeSec: number;
  /** The disk copy before the memory (S/B). */
  diskSec: number;
  downtimeSec?: number;
  dataBytes: number;
  throttlePercent: number;
  /** The last round's bytes (the stop-and-copy when converged). */
  lastWireBytes: number;
}

/**
 * Iterative pre-copy: the disk copy first (S/B, copied storage), then round 0 sends the non-zero memory U; round i
 * sends what was dirtied during round i−1 (D·t, at most the working set W), put on the wire as `wire(i, dirty)` bytes
 * at B; it stops when a round fits in the downtime limit (that round is the stop-and-copy, and the pause is it plus
 * the fixed switch-over Z). The fixed time O comes on top. With auto-converge, every second round that dirtied more
 * than half of what it sent raises the throttle (QEMU's rule).
 */
function simulate(i: MigrationInputs, wire: (round: number, dirtyBytes: number) => number, dirtyRate: (throttlePercent: number) => number, autoConverge: boolean): Simulation {
  const B = i.bandwidthBytesPerSec;
  const terms = resolvedTerms(i);
  const fits = B * (i.maxDowntimeMs / 1000);
  const diskSec = terms.disk / B;
  let dirty = terms.used;
  let throttle = 0;
  let highRounds = 0;
  let timeSec = terms.setupMs / 1000 + diskSec;
  let dataBytes = terms.disk;
  for (let round = 0; round < MODEL.maxRounds; round++) {
    const sent = round === 0 ? dirty : wire(round, dirty);
    const t = sent / B;
    timeSec += t;
    dataBytes += sent;
    if (sent <= fits) {
      const pause = t + terms.switchoverMs / 1000;
      return { stop: 'converged', rounds: round + 1, timeSec: timeSec + terms.switchoverMs / 1000, diskSec, downtimeSec: pause, dataBytes, throttlePercent: throttle, lastWireBytes: sent };
    }
    const next = dirtiedIn(terms, dirtyRate(throttle), t);
    if (autoConverge && next > MODEL.throttleTrigger * sent && ++highRounds >= MODEL.throttleRoundsPerRaise) {
      highRounds = 0;
      throttle = throttle === 0 ? MODEL.throttleInitialPercent : Math.min(MODEL.throttleMaxPercent, throttle + MODEL.throttleIncrementPercent);
    }
    // A round that does not shrink never will (the next is a growing function of this one) unless the throttle can rise.
    if (round > 0 && wire(round + 1, next) >= sent && (!autoConverge || throttle === MODEL.throttleMaxPercent)) {
      return { stop: 'diverges', rounds: round + 1, timeSec, diskSec, dataBytes, throttlePercent: throttle, lastWireBytes: sent };
    }
    dirty = next;
  }
  return { stop: 'max-rounds', rounds: MODEL.maxRounds, timeSec, diskSec, dataBytes, throttlePercent: throttle, lastWireBytes: dirty };
}

function result(strategy: ConcreteStrategy, s: Simulation, why: string, extra: Partial<Prediction> = {}): Prediction {
  const converged = s.stop === 'converged';
  return {
    strategy,
    converges: converged,
    ...(converged ? { totalTimeMs: s.timeSec * 1000, downtimeMs: s.downtimeSec! * 1000 } : {}),
    iterations: s.rounds,
    dataBytes: s.dataBytes,
    ...extra,
    why,
  };
}

function outcome(i: MigrationInputs, s: Simulation): string {
  if (s.stop === 'converged') {
    const t = resolvedTerms(i);
    const first = t.used < i.memoryBytes ? ` (the first: the ${fmtMiB(t.used)} of non-zero memory)` : '';
    const disk = t.disk > 0 ? `, ${fmtDuration(s.diskSec * 1000)} disk copy` : '';
    return `after ${s.rounds} round${s.rounds > 1 ? 's' : ''}${first} the last ${fmtMiB(s.lastWireBytes)} are copied in a ${fmtDuration(s.downtimeSec! * 1000)} pause (${fmtDuration(t.switchoverMs)} of it the fixed switch-over; limit ${fmtDuration(i.maxDowntimeMs)}), ${fmtDuration(s.timeSec * 1000)} in all (${fmtDuration(t.setupMs)} fixed cost${disk})`;
  }
  if (s.stop === 'max-rounds') return `after ${MODEL.maxRounds} rounds ${fmtMiB(s.lastWireBytes)} are still dirty, more than the ${fmtMiB(i.bandwidthBytesPerSec * i.maxDowntimeMs / 1000)} a ${fmtDuration(i.maxDowntimeMs)} pause can copy`;
  return `rounds stop shrinking at ${fmtMiB(s.lastWireBytes)}, more than the ${fmtMiB(i.bandwidthBytesPerSec * i.maxDowntimeMs / 1000)} a ${fmtDuration(i.maxDowntimeMs)} pause can copy`;
}

export function predictPrecopy(i: MigrationInputs): Prediction {
  validateInputs(i);
  const D = i.dirtyRateBytesPerSec;
  const s = simulate(i, (_r, dirty) => dirty, () => D, false);
  const rates = `${fmtMiBs(D)} dirtied against ${fmtMiBs(i.bandwidthBytesPerSec)}`;
  const why =
    s.stop === 'diverges' && s.rounds <= 2
      ? `pre-copy cannot converge: ${rates}, every round is as big as the one before (${fmtMiB(s.lastWireBytes)})`
      : `pre-copy ${s.stop === 'converged' ? 'converges' : 'does not converge'}: ${rates}, ${outcome(i, s)}`;
  return result('precopy', s, why);
}

/** The share of a round's dirty pages found in the xbzrle cache (a cache as large as the guest holds every page). */
function cacheHit(i: MigrationInputs, dirtyBytes: number): number {
  const cache = i.xbzrleCacheBytes ?? i.memoryBytes;
  return dirtyBytes <= cache ? 1 : cache / dirtyBytes;
}

export function predictCompressed(i: MigrationInputs): Prediction {
  validateInputs(i);
  const known = i.xbzrleRatio !== undefined;
  const r = i.xbzrleRatio ?? MODEL.assumedXbzrleRatio;
  const D = i.dirtyRateBytesPerSec;
  const s = simulate(
    i,
    (round, dirty) => {
      // QEMU turns xbzrle on after the first pass: round 1 misses the (empty) cache and goes raw, filling it.
      if (round === 1) return dirty;
      const hit = cacheHit(i, dirty);
      return dirty * (hit * r + (1 - hit)); // misses go raw
    },
    () => D,
    false,
  );
  const ratio = `${known ? '' : 'an assumed '}xbzrle ratio ${r} makes ${fmtMiBs(D)} of dirty pages ${fmtMiBs(D * r)} on the wire against ${fmtMiBs(i.bandwidthBytesPerSec)}`;
  const why = `xbzrle ${s.stop === 'converged' ? 'converges' : 'does not converge'}${known ? '' : ' (ratio unknown)'}: ${ratio}; ${outcome(i, s)}`;
  const p = result('compressed', s, why, known ? {} : { assumed: `xbzrle ratio unknown: assumed ${MODEL.assumedXbzrleRatio} (probe to measure it)` });
  return p;
}

export function predictAutoConverge(i: MigrationInputs): Prediction {
  validateInputs(i);
  const D = i.dirtyRateBytesPerSec;
  const { effect, source } = resolvedThrottleEffect(i);
  const s = simulate(i, (_r, dirty) => dirty, (p) => D * (1 - effect * (p / 100)), true);
  const at = `at ${s.throttlePercent} % throttle the guest still dirties ${fmtMiBs(D * (1 - effect * (s.throttlePercent / 100)))}`;
  const light = source === 'xbzrle ratio' && effect < 0.5 ? ', from the xbzrle ratio: a light writer' : source === 'xbzrle ratio' ? ', from the xbzrle ratio' : '';
  const effectText = source === 'default' ? '' : ` (throttle effect ${Number(effect.toFixed(2))}${light})`;
  const why =
    s.stop === 'converged' && s.throttlePercent === 0
      ? `auto-converge converges without throttling: ${fmtMiBs(D)} dirtied against ${fmtMiBs(i.bandwidthBytesPerSec)}; ${outcome(i, s)}`
      : s.stop === 'converged'
      ? `auto-converge converges: throttling the guest up to ${s.throttlePercent} %${effectText} brings ${fmtMiBs(D)} below ${fmtMiBs(i.bandwidthBytesPerSec)}; ${outcome(i, s)}`
      : `auto-converge does not converge: ${at}${effectText} against ${fmtMiBs(i.bandwidthBytesPerSec)}; ${outcome(i, s)}`;
  return result('auto-converge', s, why, { throttlePercent: s.throttlePercent });
}

/**
 * Post-copy as the migrator runs it (--postcopy --postcopy-after-precopy): the disk copy (S/B), one pre-copy pass of
 * the non-zero memory (U/B), a short switch-over, then the guest runs on the target while the pages dirtied during
 * the pass follow: D·U/B, at most the working set W, at Bp (QEMU does not cap that phase by --bandwidth:
 * max-postcopy-bandwidth 0). Plus the fixed time O.
 */
export function predictPostcopy(i: MigrationInputs): Prediction {
  validateInputs(i);
  const B = i.bandwidthBytesPerSec;
  const terms = resolvedTerms(i);
  const diskSec = terms.disk / B;
  const firstPass = terms.used / B;
  const left = dirtiedIn(terms, i.dirtyRateBytesPerSec, firstPass);
  const Bp = i.postcopyBandwidthBytesPerSec ?? B;
  const totalMs = terms.setupMs + (diskSec + firstPass + left / Bp) * 1000 + MODEL.postcopySwitchoverMs;
  const disk = terms.disk > 0 ? `${fmtDuration(diskSec * 1000)} of disk copy, ` : '';
  return {
    strategy: 'postcopy',
    converges: true,
    totalTimeMs: totalMs,
    downtimeMs: MODEL.postcopySwitchoverMs,
    iterations: 1,
    dataBytes: terms.disk + terms.used + left,
    risk: 'a network failure during post-copy loses the VM: neither host has all of its memory',
    why: `post-copy always finishes: ${disk}one ${fmtDuration(firstPass * 1000)} pass of ${fmtMiB(terms.used)}, a ~${MODEL.postcopySwitchoverMs} ms switch-over, then ${fmtMiB(left)} fetched by the target at ${fmtMiBs(Bp)}, ${fmtDuration(totalMs)} in all with ${fmtDuration(terms.setupMs)} of fixed cost; risky: a network failure in post-copy loses the VM`,
  };
}

export function predict(strategy: ConcreteStrategy, inputs: MigrationInputs): Prediction {
  switch (strategy) {
    case 'precopy':
      return predictPrecopy(inputs);
    case 'compressed':
      return predictCompressed(inputs);
    case 'auto-converge':
      return predictAutoConverge(inputs);
    case 'postcopy':
      return predictPostcopy(inputs);
    default:
      throw new Error(`unknown migration strategy ${JSON.stringify(strategy)}`);
  }
}

export function predictAll(inputs: MigrationInputs): Prediction[] {
  return MIGRATION_STRATEGIES.map((s) => predict(s, inputs));
}

/** (actual − predicted) / predicted: +0.25 means it took 25 % longer than predicted. */
export function predictionError(predicted: number, actual: number): number {
  if (!Number.isFinite(predicted) || predicted <= 0) throw new Error(`predicted value must be a positive number, got ${predicted}`);
  if (!Number.isFinite(actual) || actual < 0) throw new Error(`actual value must be a non-negative number, got ${actual}`);
  return (actual - predicted) / predicted;
}
