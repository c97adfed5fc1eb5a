import type { ConcreteStrategy } from '@minicloud/contracts';

/**
 * The converged runs of the migration bench of 2026-11-28 (bench/migration/results-2026-11-28.txt; the jsonl files of
 * that run are gone): per case the inputs the bench gave the model (D = median dirty rate sampled over 1 s before the
 * runs, B = the cap or the mean `Memory bandwidth` of the case's runs, T = 300 ms, xbzrle ratio unknown) and per
 * strategy what libvirt measured, with the old model's prediction as printed then. Measurements, not results.
 */
export interface RecordedRun {
  strategy: ConcreteStrategy;
  totalS: number;
  downtimeMs: number;
  /** Data processed (memory + disk). */
  dataMiB: number;
  memoryMiB: number;
  /** The old model's total (s) as printed in the table; undefined: predicted not to converge. */
  oldPredictedS?: number;
}

export interface RecordedCase {
  name: string;
  /**
   * The guest's non-zero memory (U) for this workload, MiB: memory total − constant pages × page size of the completed
   * jobs of `bash bench/migration/run.sh --quick` run on 2026-11-28 at 04:18 (same image and writers; the 11-28 matrix
   * did not print constant pages): idle 87, word 136, random 140 (a writer's 64 MiB were zero pages before it ran).
   */
  usedMiB: number;
  dirtyMiBs: number;
  bandwidthMiBs: number;
  capped: boolean;
  storage: 'shared' | 'copy';
  runs: RecordedRun[];
}

const r = (strategy: ConcreteStrategy, totalS: number, downtimeMs: number, dataMiB: number, memoryMiB: number, oldPredictedS?: number): RecordedRun => ({
  strategy,
  totalS,
  downtimeMs,
  dataMiB,
  memoryMiB,
  oldPredictedS,
});

/** 256 MiB guest; every case 300 ms downtime limit. */
export const RECORDED_MEMORY_MIB = 256;
export const RECORDED_MAX_DOWNTIME_MS = 300;
/** The dirty-rate sample's window (virshDomdirtyrateCalc 1 s). */
export const RECORDED_SAMPLE_S = 1;

export const RECORDED_2026_11_28: RecordedCase[] = [
  {
    usedMiB: 87, name: 'idle/uncapped/shared', dirtyMiBs: 0, bandwidthMiBs: 150, capped: false, storage: 'shared',
    runs: [r('precopy', 1.7, 115, 88, 88, 1.7), r('compressed', 1.6, 101, 88, 88, 1.7), r('auto-converge', 1.8, 178, 88, 88, 1.7), r('postcopy', 2.1, 181, 88, 88, 1.8)],
  },
  {
    usedMiB: 136, name: 'word/uncapped/shared', dirtyMiBs: 67, bandwidthMiBs: 286, capped: false, storage: 'shared',
    runs: [r('precopy', 2.3, 53, 199, 199, 1.1), r('compressed', 1.7, 121, 199, 199, 1.0), r('auto-converge', 2.4, 36, 199, 199, 1.1), r('postcopy', 3.0, 61, 226, 226, 1.2)],
  },
  {
    usedMiB: 140, name: 'random/uncapped/shared', dirtyMiBs: 65, bandwidthMiBs: 223, capped: false, storage: 'shared',
    runs: [r('precopy', 2.7, 71, 201, 201, 1.6), r('compressed', 1.9, 51, 202, 202, 1.3), r('auto-converge', 1.8, 156, 199, 199, 1.6), r('postcopy', 1.8, 6, 201, 201, 1.5)],
  },
  {
    usedMiB: 87, name: 'idle/20MiBs/shared', dirtyMiBs: 0, bandwidthMiBs: 20, capped: true, storage: 'shared',
    runs: [r('precopy', 5.4, 43, 88, 88, 12.8), r('compressed', 5.4, 33, 88, 88, 12.8), r('auto-converge', 5.4, 37, 88, 88, 12.8), r('postcopy', 5.3, 41, 88, 88, 12.8)],
  },
  {
    usedMiB: 136, name: 'word/20MiBs/shared', dirtyMiBs: 65, bandwidthMiBs: 20, capped: true, storage: 'shared',
    runs: [r('compressed', 11.1, 39, 202, 202), r('postcopy', 8.2, 13, 199, 199, 25.6)],
  },
  {
    usedMiB: 140, name: 'random/20MiBs/shared', dirtyMiBs: 67, bandwidthMiBs: 20, capped: true, storage: 'shared',
    runs: [r('auto-converge', 68.9, 68, 1323, 1323, 115.2), r('postcopy', 8.7, 8, 207, 207, 25.6)],
  },
  {
    usedMiB: 87, name: 'idle/uncapped/copy', dirtyMiBs: 0, bandwidthMiBs: 156, capped: false, storage: 'copy',
    runs: [r('precopy', 2.4, 225, 88, 88, 1.6), r('compressed', 1.8, 153, 88, 88, 1.6), r('auto-converge', 1.8, 158, 88, 88, 1.6), r('postcopy', 1.8, 82, 88, 88, 1.7)],
  },
  {
    usedMiB: 136, name: 'word/uncapped/copy', dirtyMiBs: 72, bandwidthMiBs: 186, capped: false, storage: 'copy',
    runs: [r('precopy', 2.1, 94, 197, 197, 2.1), r('compressed', 2.7, 80, 198, 198, 1.6), r('auto-converge', 2.3, 52, 195, 195, 2.1), r('postcopy', 2.3, 53, 201, 197, 2.0)],
  },
  {
    usedMiB: 140, name: 'random/uncapped/copy', dirtyMiBs: 69, bandwidthMiBs: 210, capped: false, storage: 'copy',
    runs: [r('precopy', 2.2, 44, 202, 202, 1.8), r('compressed', 2.7, 74, 202, 202, 1.4), r('auto-converge', 2.6, 80, 199, 199, 1.8), r('postcopy', 2.5, 68, 206, 202, 1.7)],
  },
  {
    usedMiB: 87, name: 'idle/20MiBs/copy', dirtyMiBs: 0, bandwidthMiBs: 20, capped: true, storage: 'copy',
    runs: [r('precopy', 5.9, 56, 88, 88, 12.8), r('compressed', 5.6, 32, 88, 88, 12.8), r('auto-converge', 5.7, 35, 88, 88, 12.8), r('postcopy', 5.7, 36, 88, 88, 12.8)],
  },
  {
    usedMiB: 136, name: 'word/20MiBs/copy', dirtyMiBs: 64, bandwidthMiBs: 20, capped: true, storage: 'copy',
    runs: [r('compressed', 12.0, 51, 201, 201), r('postcopy', 8.3, 21, 203, 199, 25.6)],
  },
];
