import type { ConcreteStrategy } from '@minicloud/contracts';
import type { DomainJobInfo } from '@minicloud/hypervisor';
import { fmtDuration, fmtMiBs, fmtPercent } from './format';
import {
  dirtiedIn,
  MigrationInputs,
  Prediction,
  predictAll,
  predictAutoConverge,
  predictCompressed,
  predictPostcopy,
  resolvedTerms,
  throttleEffectFor,
  validateInputs,
} from './model';

export interface ChooseOptions {
  /** Post-copy finishes always but a network failure during it loses the VM: only when the caller allows it. */
  allowPostcopy?: boolean;
}

/** Start with xbzrle for at most `seconds`, read the job's statistics, and let afterProbe() decide. */
export interface ProbePlan {
  strategy: 'compressed';
  seconds: number;
}

export interface StrategyChoice {
  strategy: ConcreteStrategy;
  /** One sentence with the numbers (when nothing converges it says so). */
  reason: string;
  /** Every strategy's prediction (the chosen one's `converges` says whether it is expected to finish). */
  predictions: Prediction[];
  probe?: ProbePlan;
}

/** Seconds of xbzrle rounds the probe waits for once xbzrle is encoding pages. */
export const PROBE_EXTRA_SEC = 3;

/**
 * How long a probe runs at most: QEMU uses xbzrle only after the fixed set-up, the disk copy and the first pass
 * ((S + U)/B), and a page's first xbzrle round only fills the cache (sent raw: what the pass left dirty, at most W),
 * so encoded pages show up after all that, plus a few seconds of them.
 */
export function probeSeconds(i: MigrationInputs): number {
  validateInputs(i);
  const t = resolvedTerms(i);
  const firstPass = (t.disk + t.used) / i.bandwidthBytesPerSec;
  const warmUp = dirtiedIn(t, i.dirtyRateBytesPerSec, t.used / i.bandwidthBytesPerSec) / i.bandwidthBytesPerSec;
  return Math.ceil(t.setupMs / 1000 + firstPass + warmUp + PROBE_EXTRA_SEC);
}

function get(predictions: Prediction[], s: ConcreteStrategy): Prediction {
  return predictions.find((p) => p.strategy === s)!;
}

function summary(p: Prediction): string {
  return `${fmtDuration(p.totalTimeMs!)} with a ${fmtDuration(p.downtimeMs!)} pause`;
}

/**
 * The `auto` strategy: pre-copy when it converges within the downtime limit (fastest and simplest); else xbzrle when
 * its ratio is known and it converges; else, with the ratio unknown, a probe with xbzrle; else auto-converge when it
 * converges; else post-copy when allowed. When nothing converges it answers auto-converge (best effort) and says so.
 */
export function chooseStrategy(inputs: MigrationInputs, opts: ChooseOptions = {}): StrategyChoice {
  const predictions = predictAll(inputs);
  const pre = get(predictions, 'precopy');
  const comp = get(predictions, 'compressed');
  const auto = get(predictions, 'auto-converge');
  const post = get(predictions, 'postcopy');
  const rates = `${fmtMiBs(inputs.dirtyRateBytesPerSec)} dirtied against ${fmtMiBs(inputs.bandwidthBytesPerSec)}`;

  if (pre.converges === true) {
    return { strategy: 'precopy', predictions, reason: `Pre-copy converges (${rates}): ${summary(pre)} (limit ${fmtDuration(inputs.maxDowntimeMs)}), the fastest and simplest.` };
  }
  if (inputs.xbzrleRatio !== undefined && comp.converges === true) {
    return {
      strategy: 'compressed',
      predictions,
      reason: `Pre-copy does not converge (${rates}) but xbzrle does: ratio ${inputs.xbzrleRatio} leaves ${fmtMiBs(inputs.dirtyRateBytesPerSec * inputs.xbzrleRatio)} to send per second, ${summary(comp)}.`,
    };
  }
  if (inputs.xbzrleRatio === undefined) {
    const seconds = probeSeconds(inputs);
    return {
      strategy: 'compressed',
      predictions,
      probe: { strategy: 'compressed', seconds },
      reason: `Pre-copy does not converge (${rates}) and how well xbzrle compresses this guest's pages is unknown: start with xbzrle as a probe for up to ${seconds} s, then keep it or switch to auto-converge from the probe's statistics.`,
    };
  }
  if (auto.converges === true) {
    return {
      strategy: 'auto-converge',
      predictions,
      reason: `Neither pre-copy (${rates}) nor xbzrle (ratio ${inputs.xbzrleRatio}) converges; auto-converge does by throttling the guest up to ${auto.throttlePercent} %: ${summary(auto)}.`,
    };
  }
  if (opts.allowPostcopy) {
    return {
      strategy: 'postcopy',
      predictions,
      reason: `Nothing else converges (${rates}, xbzrle ratio ${inputs.xbzrleRatio}, auto-converge still ${fmtMiBs(inputs.dirtyRateBytesPerSec * (1 - (inputs.throttleEffect ?? throttleEffectFor(inputs.xbzrleRatio)) * 0.99))} at 99 %); post-copy (allowed) finishes in ${summary(post)}, but a network failure during it loses the VM.`,
    };
  }
  return {
    strategy: 'auto-converge',
    predictions,
    reason: `Nothing is predicted to converge without post-copy (${rates}, xbzrle ratio ${inputs.xbzrleRatio}): auto-converge is the best effort; allow post-copy, raise the bandwidth or migrate the VM stopped.`,
  };
}

/** What a probe's job statistics say about xbzrle on this guest. */
export interface ProbeEvidence {
  /** Wire bytes per dirty-page byte: xbzrle-encoded pages plus the pages that overflowed (sent raw). */
  xbzrleRatio: number;
  /** Encoded bytes per byte of the pages xbzrle did encode (how much of a page changes). */
  encodedRatio: number;
  encodedPages: number;
  overflowPages: number;
  /** Share of pages whose encoding overflowed a page (xbzrle did not help them). */
  overflowShare: number;
  /** Cache misses beyond the one every page has once (its first xbzrle round): the cache is too small. */
  capacityMisses: number;
  capacityMissShare: number;
}

export interface ProbeDecision {
  strategy: ConcreteStrategy;
  /** false: the statistics do not say yet (no encoded page): keep probing. */
  conclusive: boolean;
  /** true: abort the probe's job (domjobabort) and start again with `strategy`. */
  abortProbe: boolean;
  converges: boolean;
  reason: string;
  evidence?: ProbeEvidence;
  /** The inputs with what the probe measured (xbzrleRatio, throttleEffect): keep them for this VM's next migration. */
  inputs: MigrationInputs;
  predictions: Prediction[];
}

export function probeEvidence(inputs: MigrationInputs, stats: DomainJobInfo): ProbeEvidence | undefined {
  const P = stats.pageSizeBytes ?? 4096;
  const encoded = stats.compressedPages ?? 0;
  const overflows = stats.compressionOverflows ?? 0;
  if (encoded + overflows === 0) return undefined;
  const encodedBytes = stats.compressedBytes ?? 0;
  const memoryPages = Math.ceil((stats.memoryTotalBytes ?? inputs.memoryBytes) / P);
  const capacityMisses = Math.max(0, (stats.compressionCacheMisses ?? 0) - memoryPages);
  const sentPages = encoded + overflows;
  return {
    xbzrleRatio: (encodedBytes + overflows * P) / (sentPages * P),
    encodedRatio: encoded > 0 ? encodedBytes / (encoded * P) : 1,
    encodedPages: encoded,
    overflowPages: overflows,
    overflowShare: overflows / sentPages,
    capacityMisses,
    capacityMissShare: capacityMisses / (sentPages + capacityMisses),
  };
}

/**
 * After the probe (a migration started with xbzrle): keep xbzrle when, with the ratio it measured, it converges;
 * otherwise (pages overflow, or miss a too small cache) switch to auto-converge, with a throttle effect judged from
 * how much of each page changes (throttleEffectFor); post-copy when nothing else converges and it is allowed.
 */
export function afterProbe(inputs: MigrationInputs, stats: DomainJobInfo, opts: ChooseOptions = {}): ProbeDecision {
  validateInputs(inputs);
  if (stats.jobType === 'Completed') {
    return { strategy: 'compressed', conclusive: true, abortProbe: false, converges: true, inputs, predictions: predictAll(inputs), reason: 'The probe finished the migration with xbzrle.' };
  }
  const evidence = probeEvidence(inputs, stats);
  if (!evidence) {
    return {
      strategy: 'compressed',
      conclusive: false,
      abortProbe: false,
      converges: false,
      inputs,
      predictions: predictAll(inputs),
      reason: 'No page has been xbzrle-encoded yet (QEMU encodes from the third pass: the first sends all memory, the second fills the cache): keep probing.',
    };
  }
  // Capacity misses are sent raw: fold them into the wire ratio (the cache model then assumes a guest-sized cache).
  const pages = evidence.encodedPages + evidence.overflowPages;
  const wireRatio = (evidence.xbzrleRatio * pages + evidence.capacityMisses) / (pages + evidence.capacityMisses);
  const measured: MigrationInputs = {
    ...inputs,
    xbzrleRatio: Math.min(2, wireRatio),
    throttleEffect: inputs.throttleEffect ?? throttleEffectFor(Math.min(2, evidence.xbzrleRatio)),
    xbzrleCacheBytes: undefined,
  };
  const predictions = predictAll(measured);
  const comp = predictCompressed(measured);
  const seen = `the probe measured ${fmtPercent(evidence.xbzrleRatio)} of each dirty page on the wire (${Math.round(evidence.overflowShare * 100)} % of pages overflowed${evidence.capacityMisses > 0 ? `, ${Math.round(evidence.capacityMissShare * 100)} % missed the cache` : ''})`;
  if (comp.converges === true) {
    return { strategy: 'compressed', conclusive: true, abortProbe: false, converges: true, evidence, inputs: measured, predictions, reason: `Keep xbzrle: ${seen}; it converges in ${summary(comp)}.` };
  }
  const hurt =
    evidence.overflowShare > 0.5 ? 'most pages change too much to encode' : evidence.capacityMissShare > 0.5 ? 'most pages miss the xbzrle cache' : `${fmtMiBs(measured.dirtyRateBytesPerSec * measured.xbzrleRatio!)} still outruns the link`;
  const auto = predictAutoConverge(measured);
  if (auto.converges === true) {
    return {
      strategy: 'auto-converge',
      conclusive: true,
      abortProbe: true,
      converges: true,
      evidence,
      inputs: measured,
      predictions,
      reason: `Switch to auto-converge: ${seen}, so xbzrle does not help (${hurt}); throttling the guest up to ${auto.throttlePercent} % converges in ${summary(auto)}.`,
    };
  }
  if (opts.allowPostcopy) {
    const post = predictPostcopy(measured);
    return {
      strategy: 'postcopy',
      conclusive: true,
      abortProbe: true,
      converges: true,
      evidence,
      inputs: measured,
      predictions,
      reason: `Switch to post-copy: ${seen} (${hurt}) and throttling does not converge either; post-copy finishes in ${summary(post)}, but a network failure during it loses the VM.`,
    };
  }
  return {
    strategy: 'auto-converge',
    conclusive: true,
    abortProbe: true,
    converges: false,
    evidence,
    inputs: measured,
    predictions,
    reason: `Nothing is predicted to converge: ${seen} (${hurt}) and throttling does not bring the dirty rate under ${fmtMiBs(measured.bandwidthBytesPerSec)}; auto-converge is the best effort without post-copy.`,
  };
}
