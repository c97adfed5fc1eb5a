import { MigrationModes, MigrationStates, MigrationStorage, MigrationStrategies, VmStorageKinds } from '@minicloud/contracts';
import { MIGRATION_MODES, MIGRATION_STATES, MIGRATION_STORAGE, MIGRATION_STRATEGIES, VM_STORAGE } from './commands';
import { completedLine, Migration, migrationDetails, migrationRow, migrationStateLine, observeMigration, percentProcessed, resultText } from './migration-format';

const MiB = 1024 * 1024;
const HV1 = '11111111-1111-4111-8111-111111111111';
const HV2 = '22222222-2222-4222-8222-222222222222';
const names = new Map([[HV1, 'hv1'], [HV2, 'hv2']]);

const view = (over: Partial<Migration> = {}): Migration => ({
  id: 'm-1',
  vmId: 'vm-1',
  state: 'requested',
  origin: 'manual',
  mode: 'live',
  storage: 'copy',
  requestedStrategy: 'auto',
  strategy: null,
  strategyReason: null,
  sourceHostId: HV1,
  targetHostId: HV2,
  maxDowntimeMs: null,
  bandwidthMiBs: null,
  reason: 'requested by a client',
  stage: null,
  progress: null,
  predictions: null,
  dirtyRateMiBs: null,
  result: null,
  stages: [],
  vmHostId: null,
  error: null,
  requestedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

const progress = (processedMiB: number, remainingMiB: number, dirty: number | null = 1024) => ({
  memoryProcessedBytes: processedMiB * MiB,
  memoryRemainingBytes: remainingMiB * MiB,
  memoryTotalBytes: 512 * MiB,
  dataTransferredBytes: null,
  iteration: 1,
  dirtyRatePagesPerSec: dirty,
  expectedDowntimeMs: null,
  elapsedMs: 1000,
  at: '2026-01-01T00:00:01.000Z',
});

const result = { totalTimeMs: 5000, downtimeMs: 42, dataTransferredBytes: 610 * MiB, iterations: 3, compressedBytes: null, compressionCacheMisses: null, predictedTotalTimeMs: 4000, predictedDowntimeMs: 30, totalTimeError: 0.25 };

describe('migration formatting', () => {
  it('keeps the CLI choices equal to the contracts', () => {
    expect([...MIGRATION_MODES].sort()).toEqual([...MigrationModes].sort());
    expect([...MIGRATION_STORAGE].sort()).toEqual([...MigrationStorage].sort());
    expect([...MIGRATION_STRATEGIES]).toEqual([...MigrationStrategies]);
    expect([...MIGRATION_STATES]).toEqual([...MigrationStates]);
    expect([...VM_STORAGE]).toEqual([...VmStorageKinds]);
  });

  it('shows the stage, the share of memory processed, what remains and the dirty rate', () => {
    expect(migrationStateLine(view())).toBe('requested');
    expect(migrationStateLine(view({ state: 'planned' }), names)).toBe('planned → hv2');
    expect(migrationStateLine(view({ state: 'running', stage: 'pre-copy', strategy: 'precopy' }))).toBe('running pre-copy (precopy)');
    expect(migrationStateLine(view({ state: 'running', stage: 'pre-copy', strategy: 'precopy', progress: progress(256, 256) }))).toBe(
      'running pre-copy (precopy): 50% of memory processed, 256 MiB remaining, dirty rate 1024 pages/s, iteration 1',
    );
    // Without a dirty rate in the report, the one measured before the start.
    expect(migrationStateLine(view({ state: 'running', stage: 'pre-copy', dirtyRateMiBs: 4, progress: progress(100, 412, null) }))).toContain('19% of memory processed, 412 MiB remaining, dirty rate 4 MiB/s');
    expect(percentProcessed({ memoryProcessedBytes: 768 * MiB, memoryTotalBytes: 512 * MiB })).toBe(150);
  });

  it('ends well only when completed; failed and cancelled carry the error', () => {
    expect(observeMigration(view({ state: 'running' }))).toEqual({ state: 'running', done: false, ok: false });
    expect(observeMigration(view({ state: 'completed' }))).toEqual({ state: 'completed', done: true, ok: true });
    expect(observeMigration(view({ state: 'cancelled', error: 'cancelled by a user' }))).toEqual({ state: 'cancelled', done: true, ok: false, reason: 'cancelled by a user' });
    expect(observeMigration(view({ state: 'failed', error: 'virsh: timeout' })).reason).toBe('virsh: timeout');
  });

  it('prints the result beside the prediction', () => {
    expect(resultText(result)).toBe('5.0s (predicted 4.0s, +25%), downtime 42 ms (predicted 30 ms), 610 MiB transferred, 3 iterations');
    expect(completedLine(view({ state: 'completed', strategy: 'precopy', result }), names)).toBe(
      'migration m-1 completed (hv1 → hv2, precopy): 5.0s (predicted 4.0s, +25%), downtime 42 ms (predicted 30 ms), 610 MiB transferred, 3 iterations',
    );
    expect(resultText({ ...result, predictedTotalTimeMs: null, totalTimeError: null, downtimeMs: null, dataTransferredBytes: null, iterations: 1 })).toBe('5.0s, 1 iteration');
    expect(resultText({ ...result, predictedTotalTimeMs: null, totalTimeError: null, downtimeMs: null, dataTransferredBytes: null, iterations: 1, forced: true })).toBe('5.0s, 1 iteration, forced to complete');
    // auto's probe switch and a post-copy move say what the time was made of
    expect(resultText({ ...result, probeMs: 2000, postcopyRequests: 12 })).toBe(
      '5.0s (predicted 4.0s, +25%), of which 2.0s an aborted compressed probe, downtime 42 ms (predicted 30 ms), 610 MiB transferred, 3 iterations, 12 post-copy page requests',
    );
  });

  it('shows details and a table row with host names', () => {
    const m = view({
      state: 'cancelled',
      strategy: 'postcopy',
      strategyReason: 'dirty rate above the bandwidth',
      predictions: [{ strategy: 'precopy', converges: false }, { strategy: 'postcopy', converges: true, totalTimeMs: 6000, downtimeMs: 5 }],
      stages: [{ stage: 'reservation', at: '2026-01-01T00:00:01.000Z' }],
      vmHostId: HV1,
      error: 'cancelled by a user',
    });
    const d = migrationDetails(m, names);
    expect(d).toMatch(/^state: +cancelled$/m);
    expect(d).toMatch(/^strategy: +postcopy \(asked: auto\)$/m);
    expect(d).toMatch(/^from: +hv1$/m);
    expect(d).toMatch(/^predicted postcopy: +converges, 6.0s, downtime 5 ms$/m);
    expect(d).toMatch(/^predicted precopy: +does not converge$/m);
    expect(d).toMatch(/^vm host: +hv1$/m);
    expect(d).toMatch(/^error: +cancelled by a user$/m);
    expect(migrationRow(view({ state: 'running', stage: 'pre-copy', progress: progress(128, 384) }), names)).toEqual(['m-1', 'vm-1', 'running', 'live', 'auto', 'hv1', 'hv2', 'pre-copy', '25%', '2026-01-01T00:00:00.000Z']);
  });
});
