import { jobFacts, learnedInputs, median, pathFacts, PastMigration } from './history';

const MiB = 2 ** 20;

describe('jobFacts: what a completed job says about the VM', () => {
  it('non-zero memory = memory total − constant pages × page size', () => {
    // the lab guest: 256 MiB of which 168 MiB are zero pages
    const f = jobFacts({ jobType: 'Completed', memoryTotalBytes: 256 * MiB, pageSizeBytes: 4096, constantPages: (168 * MiB) / 4096, normalPages: 22528 });
    expect(f.usedMemoryBytes).toBe(88 * MiB);
    expect(f.diskBytes).toBeUndefined();
  });

  it('never below zero (zero pages counted again in later rounds), nothing without the figures', () => {
    expect(jobFacts({ jobType: 'Completed', memoryTotalBytes: 4 * MiB, pageSizeBytes: 4096, constantPages: 2000 }).usedMemoryBytes).toBe(0);
    expect(jobFacts({ jobType: 'Completed', memoryTotalBytes: 4 * MiB })).toEqual({});
    expect(jobFacts(null)).toEqual({});
  });

  it('the copied disk bytes, when libvirt reports a disk copy', () => {
    expect(jobFacts({ jobType: 'Completed', diskTotalBytes: 4 * MiB, diskProcessedBytes: 4 * MiB }).diskBytes).toBe(4 * MiB);
    expect(jobFacts({ jobType: 'Completed', diskProcessedBytes: 3 * MiB }).diskBytes).toBe(3 * MiB);
  });
});

describe('pathFacts: B, O and Z learned from past migrations between two hosts', () => {
  const run = (totalS: number, pauseMs: number, dataMiB: number, bwMiBs: number, capped = false, strategy = 'precopy'): PastMigration => ({
    totalTimeMs: totalS * 1000,
    downtimeMs: pauseMs,
    dataBytes: dataMiB * MiB,
    bandwidthBytesPerSec: bwMiBs * MiB,
    capped,
    strategy,
  });

  it('bandwidth from the uncapped jobs only; O = median of total − data/B − Z; Z = median pause without post-copy', () => {
    const f = pathFacts([run(1.7, 115, 88, 150), run(5.4, 43, 88, 20, true), run(2.3, 53, 199, 286), run(8.2, 13, 199, 30, true, 'postcopy')]);
    expect(f.samples).toBe(4);
    expect(f.bandwidthBytesPerSec! / MiB).toBeCloseTo((150 + 286) / 2, 6);
    expect(f.switchoverMs).toBe(53);
    // 1700 − 587 − 53, 5400 − 4400 − 53, 2300 − 696 − 53, 8200 − 6633 − 53: median of 1060, 947, 1551, 1514
    expect(f.setupMs!).toBeCloseTo((1060 + 1514) / 2, -1);
  });

  it('nothing known without history; never a negative fixed time', () => {
    expect(pathFacts([])).toEqual({ samples: 0 });
    expect(pathFacts([run(0.5, 10, 200, 100)]).setupMs).toBe(0);
    expect(pathFacts([run(5.4, 43, 88, 20, true)]).bandwidthBytesPerSec).toBeUndefined();
  });

  it('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});

describe('learnedInputs: history and the dirty-rate sample as model inputs', () => {
  const now = { memoryBytes: 256 * MiB, storage: 'shared' as const, dirtyRateBytesPerSec: 65 * MiB, sampleSeconds: 1 };

  it('takes U, O, Z from history, W from the sample, S only for copied storage', () => {
    const h = { usedMemoryBytes: 88 * MiB, diskBytes: 4 * MiB, setupMs: 1200, switchoverMs: 70, bandwidthBytesPerSec: 200 * MiB };
    expect(learnedInputs(h, now)).toEqual({ usedMemoryBytes: 88 * MiB, setupMs: 1200, switchoverMs: 70, workingSetBytes: 65 * MiB, postcopyBandwidthBytesPerSec: 200 * MiB });
    expect(learnedInputs(h, { ...now, storage: 'copy' }).diskBytes).toBe(4 * MiB);
  });

  it('never more than the VM has now; nothing from nothing', () => {
    expect(learnedInputs({ usedMemoryBytes: 512 * MiB }, now).usedMemoryBytes).toBe(256 * MiB);
    expect(learnedInputs(undefined, { ...now, dirtyRateBytesPerSec: undefined })).toEqual({});
    expect(learnedInputs(undefined, { ...now, sampleSeconds: 0 })).toEqual({});
  });
});
