import type { RecordedCase } from './recorded-2026-11-28.fixture';
import { median } from './history';
import { MigrationInputs, predict, predictionError } from './model';

/**
 * Re-predicts recorded bench runs from their recorded inputs, to measure the cost model against real migrations
 * (libs/migration/src/calibration.spec.ts runs it on the bench of 2026-11-28; docs/migration.md quotes the result).
 */

const MiB = 2 ** 20;

export interface GuestFacts {
  memoryMiB: number;
  maxDowntimeMs: number;
  /** The dirty-rate sample's window: W = D × window. */
  sampleS: number;
  /** Take U from the case (what the VM's previous migration tells); false: unknown, all memory. */
  knowUsed: boolean;
  /** S for copied storage (undefined: unknown, 0). */
  copiedDiskMiB?: number;
}

/**
 * The inputs the migrator would have had for a recorded case (xbzrle ratio unknown, as the bench predicted). Post-copy's
 * phase after the switch runs at the path's uncapped bandwidth: the mean B of the uncapped cases of the same storage.
 */
export function recordedInputs(c: RecordedCase, g: GuestFacts, all: readonly RecordedCase[] = [c]): MigrationInputs {
  const uncapped = all.filter((x) => !x.capped && x.storage === c.storage).map((x) => x.bandwidthMiBs);
  return {
    memoryBytes: g.memoryMiB * MiB,
    dirtyRateBytesPerSec: c.dirtyMiBs * MiB,
    bandwidthBytesPerSec: c.bandwidthMiBs * MiB,
    maxDowntimeMs: g.maxDowntimeMs,
    ...(g.knowUsed ? { usedMemoryBytes: c.usedMiB * MiB } : {}),
    ...(uncapped.length ? { postcopyBandwidthBytesPerSec: (uncapped.reduce((a, b) => a + b, 0) / uncapped.length) * MiB } : {}),
    workingSetBytes: Math.min(g.memoryMiB, c.dirtyMiBs * g.sampleS) * MiB,
    ...(c.storage === 'copy' && g.copiedDiskMiB !== undefined ? { diskBytes: g.copiedDiskMiB * MiB } : {}),
  };
}

export interface Recomputed {
  name: string;
  actualMs: number;
  /** The model then (as printed by the bench). */
  oldPredictedMs?: number;
  newPredictedMs?: number;
  newError?: number;
  oldError?: number;
}

/** Every recorded run the old model predicted to converge (the bench's error statistic counts those). */
export function recompute(cases: readonly RecordedCase[], g: GuestFacts): Recomputed[] {
  const out: Recomputed[] = [];
  for (const c of cases) {
    const inputs = recordedInputs(c, g, cases);
    for (const r of c.runs) {
      const p = predict(r.strategy, inputs);
      const actualMs = r.totalS * 1000;
      const row: Recomputed = { name: `${c.name} ${r.strategy}`, actualMs };
      if (r.oldPredictedS !== undefined) {
        row.oldPredictedMs = r.oldPredictedS * 1000;
        row.oldError = predictionError(row.oldPredictedMs, actualMs);
      }
      if (p.converges && p.totalTimeMs) {
        row.newPredictedMs = p.totalTimeMs;
        row.newError = predictionError(p.totalTimeMs, actualMs);
      }
      out.push(row);
    }
  }
  return out;
}

/** Median |error| over the given errors. */
export function medianAbsError(errors: readonly (number | undefined)[]): number | undefined {
  return median(errors.filter((e): e is number => e !== undefined).map(Math.abs));
}

/**
 * The fixed parts as the recorded runs show them: Z = the median pause of the idle guest's pre-copy-family runs
 * (nothing is left to copy: the pause is the switch-over), O = the median over all runs of what moving the data at
 * the case's bandwidth does not explain, total − data/B − Z.
 */
export function fixedPartsOf(cases: readonly RecordedCase[]): { setupMs: number; switchoverMs: number } {
  const idlePauses = cases.filter((c) => c.dirtyMiBs === 0).flatMap((c) => c.runs.filter((r) => r.strategy !== 'postcopy').map((r) => r.downtimeMs));
  const switchoverMs = median(idlePauses)!;
  const rest = cases.flatMap((c) => c.runs.map((r) => r.totalS * 1000 - (r.dataMiB / c.bandwidthMiBs) * 1000 - switchoverMs));
  return { setupMs: median(rest)!, switchoverMs };
}
