import { applyMigrationChange, canMoveTo, mergeStageMarks, MigrationProjection, totalTimeError } from './migration-projection';

const HV2 = '22222222-2222-4222-8222-222222222222';
const HV3 = '33333333-3333-4333-8333-333333333333';
const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

const fresh = (over: Partial<MigrationProjection> = {}): MigrationProjection => ({
  state: 'requested',
  storage: 'copy',
  targetHostId: null,
  reason: 'requested by a client',
  strategy: null,
  strategyReason: null,
  predictions: null,
  dirtyRateMiBs: null,
  stage: null,
  stages: [],
  progress: null,
  progressAt: null,
  result: null,
  vmHostId: null,
  error: null,
  plannedAt: null,
  startedAt: null,
  finishedAt: null,
  ...over,
});

/** Applies changes in order, as the projector does. */
function run(start: MigrationProjection, ...changes: Parameters<typeof applyMigrationChange>[1][]): MigrationProjection {
  return changes.reduce((cur, c) => ({ ...cur, ...(applyMigrationChange(cur, c) ?? {}) }), start);
}

const planned = { kind: 'planned' as const, at: T(1), targetHostId: HV2, reason: 'hv2: most free memory (3 of 4 hosts passed the filters)' };
const started = { kind: 'started' as const, at: T(2), targetHostId: HV2, strategy: 'precopy', strategyReason: 'converges: dirty rate 5 MiB/s ≪ bandwidth 100 MiB/s', predictions: [{ strategy: 'precopy', converges: true, totalTimeMs: 4000 }], dirtyRateMiBs: 5 };
const progress = (s: number, stage?: 'pre-copy' | 'stop-and-copy') => ({
  kind: 'progress' as const,
  at: T(s),
  ...(stage ? { stage } : {}),
  progress: { memoryProcessedBytes: s * 100, memoryRemainingBytes: 1000 - s * 100, memoryTotalBytes: 1000, dataTransferredBytes: null, iteration: 1, dirtyRatePagesPerSec: 300, expectedDowntimeMs: null, elapsedMs: s * 1000 },
});
const completed = {
  kind: 'completed' as const,
  at: T(9),
  targetHostId: HV2,
  result: { totalTimeMs: 5000, downtimeMs: 40, dataTransferredBytes: 1200, iterations: 3, compressedBytes: null, compressionCacheMisses: null, predictedTotalTimeMs: 4000, predictedDowntimeMs: 30 },
  stages: [{ stage: 'stop-and-copy' as const, at: T(7) }, { stage: 'commitment' as const, at: T(8) }, { stage: 'activation' as const, at: T(9) }],
};

describe('the forward-only state rule', () => {
  it('moves requested → planned → running → an end, never back, never out of an end', () => {
    expect(canMoveTo('requested', 'planned')).toBe(true);
    expect(canMoveTo('planned', 'running')).toBe(true);
    expect(canMoveTo('requested', 'completed')).toBe(true);
    expect(canMoveTo('planned', 'cancelled')).toBe(true);
    expect(canMoveTo('running', 'planned')).toBe(false);
    expect(canMoveTo('planned', 'planned')).toBe(false);
    expect(canMoveTo('completed', 'failed')).toBe(false);
    expect(canMoveTo('cancelled', 'running')).toBe(false);
  });
});

describe('totalTimeError', () => {
  it('is (actual − predicted) ÷ predicted when both exist', () => {
    expect(totalTimeError(5000, 4000)).toBe(0.25);
    expect(totalTimeError(3000, 4000)).toBe(-0.25);
    expect(totalTimeError(5000, null)).toBeNull();
    expect(totalTimeError(undefined, 4000)).toBeNull();
    expect(totalTimeError(5000, 0)).toBeNull();
  });
});

describe('mergeStageMarks', () => {
  it('keeps one mark per stage, the earliest, in stage order', () => {
    expect(mergeStageMarks([{ stage: 'pre-copy', at: T(3) }], [{ stage: 'reservation', at: T(1) }, { stage: 'pre-copy', at: T(2) }])).toEqual([
      { stage: 'reservation', at: T(1) },
      { stage: 'pre-copy', at: T(2) },
    ]);
  });
});

describe('applyMigrationChange', () => {
  it('follows a migration in order: planned, running with progress, completed with result and error of the prediction', () => {
    const p = run(fresh(), planned);
    expect(p).toMatchObject({ state: 'planned', targetHostId: HV2, reason: planned.reason, stage: 'reservation', stages: [{ stage: 'reservation', at: T(1) }] });
    const r = run(p, started, progress(3), progress(4, 'pre-copy'));
    expect(r).toMatchObject({ state: 'running', strategy: 'precopy', strategyReason: started.strategyReason, dirtyRateMiBs: 5, stage: 'pre-copy' });
    expect(r.predictions).toEqual(started.predictions);
    expect(r.stages).toEqual([{ stage: 'reservation', at: T(1) }, { stage: 'pre-copy', at: T(2) }]);
    expect(r.progress?.memoryProcessedBytes).toBe(400);
    const c = run(r, completed);
    expect(c).toMatchObject({ state: 'completed', stage: 'activation', error: null, finishedAt: new Date(T(9)) });
    expect(c.result).toEqual({ ...completed.result, totalTimeError: 0.25 });
    expect(c.stages.map((s) => s.stage)).toEqual(['reservation', 'pre-copy', 'stop-and-copy', 'commitment', 'activation']);
  });

  it('keeps only the latest progress and drops progress once finished', () => {
    const r = run(fresh(), planned, started, progress(5));
    expect(applyMigrationChange(r, progress(4))).toBeNull();
    expect(applyMigrationChange(r, progress(5))).toBeNull();
    expect(applyMigrationChange(r, progress(6))?.progress?.memoryProcessedBytes).toBe(600);
    const done = run(r, completed);
    expect(applyMigrationChange(done, progress(10))).toBeNull();
  });

  it('marks a stage first seen in progress', () => {
    const r = run(fresh(), planned, started, progress(6, 'stop-and-copy'));
    expect(r.stage).toBe('stop-and-copy');
    expect(r.stages.map((s) => s.stage)).toEqual(['reservation', 'pre-copy', 'stop-and-copy']);
  });

  it('takes the storage the scheduler planned (a drain asks for copy; a shared-storage VM is moved shared)', () => {
    expect(run(fresh(), { ...planned, storage: 'shared' }).storage).toBe('shared');
    expect(run(fresh(), planned).storage).toBe('copy');
  });

  it('applies a late plan or start without moving the state back, filling what they say once', () => {
    const early = run(fresh(), started);
    expect(early).toMatchObject({ state: 'running', targetHostId: HV2, stage: 'pre-copy' });
    const late = run(early, planned);
    expect(late).toMatchObject({ state: 'running', reason: planned.reason, stage: 'pre-copy' });
    expect(late.stages.map((s) => s.stage)).toEqual(['reservation', 'pre-copy']);

    // Completed before the start was seen: the start still tells which strategy ran, the state stays completed.
    const done = run(fresh(), planned, completed, started);
    expect(done).toMatchObject({ state: 'completed', strategy: 'precopy', strategyReason: started.strategyReason, dirtyRateMiBs: 5 });
    expect(applyMigrationChange(done, started)).toBeNull(); // a second start changes nothing
    expect(applyMigrationChange(done, planned)).toBeNull();
  });

  it('ends failed or cancelled with the reason and where the VM runs; the first end wins', () => {
    const r = run(fresh(), planned, started);
    const cancelled = run(r, { kind: 'failed', at: T(5), reason: 'cancelled by a user', vmHostId: HV3, cancelled: true });
    expect(cancelled).toMatchObject({ state: 'cancelled', error: 'cancelled by a user', vmHostId: HV3, targetHostId: HV2 });
    expect(applyMigrationChange(cancelled, completed)).toBeNull();
    const failed = run(fresh(), { kind: 'failed', at: T(1), reason: 'no valid target host', vmHostId: HV3, cancelled: false });
    expect(failed).toMatchObject({ state: 'failed', error: 'no valid target host', vmHostId: HV3 });
    expect(applyMigrationChange(run(fresh(), completed), { kind: 'failed', at: T(10), reason: 'late', vmHostId: HV3, cancelled: false })).toBeNull();
  });
});
