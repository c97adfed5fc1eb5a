import { MigrationStages } from '@minicloud/contracts';
import type { MigrationPredictionFigures, MigrationProgressFigures, MigrationResultFigures, MigrationStage, MigrationState } from '@minicloud/contracts';
import type { StageMarkRow } from '../db/migration.entities';
import { isFinishedMigration } from './migration-rules';

/** What migration.* events can change on a migration of the read model. */
export interface MigrationProjection {
  state: MigrationState;
  /** As requested, then as the scheduler planned it (a planner/drain move of a shared-storage VM is planned `shared`). */
  storage: string;
  targetHostId: string | null;
  reason: string;
  strategy: string | null;
  strategyReason: string | null;
  predictions: MigrationPredictionFigures[] | null;
  dirtyRateMiBs: number | null;
  stage: MigrationStage | null;
  stages: StageMarkRow[];
  progress: MigrationProgressFigures | null;
  progressAt: Date | null;
  result: MigrationResultFigures | null;
  vmHostId: string | null;
  error: string | null;
  plannedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** The events, reduced to what the projection takes from them (`at` = the event's occurredAt). */
export type MigrationChange =
  | { kind: 'planned'; at: string; targetHostId: string; reason: string; storage?: string }
  | { kind: 'started'; at: string; targetHostId: string; strategy: string; strategyReason: string; predictions?: MigrationPredictionFigures[]; dirtyRateMiBs?: number }
  | { kind: 'progress'; at: string; stage?: MigrationStage; progress: MigrationProgressFigures }
  | { kind: 'completed'; at: string; targetHostId: string; strategy?: string; result: Omit<MigrationResultFigures, 'totalTimeError'>; stages?: StageMarkRow[] }
  | { kind: 'failed'; at: string; reason: string; vmHostId: string; targetHostId?: string; cancelled: boolean };

/** requested → planned → running → completed | failed | cancelled: a state applies only when it is further on. */
const RANK: Record<MigrationState, number> = { requested: 0, planned: 1, running: 2, completed: 3, failed: 3, cancelled: 3 };

/** The forward-only rule: nothing leaves a finished state, and no state goes back (or repeats). */
export function canMoveTo(from: MigrationState, to: MigrationState): boolean {
  return !isFinishedMigration(from) && RANK[to] > RANK[from];
}

/** (actual − predicted) ÷ predicted, when both exist (and the prediction is above 0); else null. */
export function totalTimeError(actualMs: number | null | undefined, predictedMs: number | null | undefined): number | null {
  if (actualMs === null || actualMs === undefined || predictedMs === null || predictedMs === undefined) return null;
  if (!Number.isFinite(actualMs) || !Number.isFinite(predictedMs) || predictedMs <= 0) return null;
  return (actualMs - predictedMs) / predictedMs;
}

/** Stage marks merged: one per stage (the earliest time wins), in the order of the stages. */
export function mergeStageMarks(current: StageMarkRow[], added: StageMarkRow[]): StageMarkRow[] {
  const byStage = new Map<MigrationStage, string>();
  for (const m of [...current, ...added]) {
    const prev = byStage.get(m.stage);
    if (prev === undefined || Date.parse(m.at) < Date.parse(prev)) byStage.set(m.stage, m.at);
  }
  return MigrationStages.filter((s) => byStage.has(s)).map((s) => ({ stage: s, at: byStage.get(s)! }));
}

/** The furthest stage among the marks (null when there is none). */
function lastStage(marks: StageMarkRow[]): MigrationStage | null {
  return marks.length ? marks[marks.length - 1].stage : null;
}

/**
 * Applies one event to a migration. Returns the fields to change, or null when the event changes nothing.
 * Events may arrive out of order (each subject has its own consumer): the state only moves forward, a finished
 * migration never changes state again, and the facts an event carries (the plan's target and reason, the
 * started strategy and predictions) are filled in once even when the event is late.
 */
export function applyMigrationChange(cur: MigrationProjection, change: MigrationChange): Partial<MigrationProjection> | null {
  const at = new Date(change.at);
  switch (change.kind) {
    case 'planned': {
      if (cur.plannedAt) return null;
      const patch: Partial<MigrationProjection> = { plannedAt: at, stages: mergeStageMarks(cur.stages, [{ stage: 'reservation', at: change.at }]) };
      // A late plan still says why this target; it never overrides what the started/finished events said.
      if (!cur.targetHostId) patch.targetHostId = change.targetHostId;
      patch.reason = change.reason;
      if (change.storage && change.storage !== cur.storage) patch.storage = change.storage;
      if (canMoveTo(cur.state, 'planned')) {
        patch.state = 'planned';
        patch.targetHostId = change.targetHostId;
        patch.stage = cur.stage ?? 'reservation';
      }
      return patch;
    }
    case 'started': {
      if (cur.startedAt) return null;
      const patch: Partial<MigrationProjection> = {
        startedAt: at,
        strategy: cur.strategy ?? change.strategy,
        strategyReason: change.strategyReason,
        predictions: change.predictions ?? cur.predictions,
        dirtyRateMiBs: change.dirtyRateMiBs ?? cur.dirtyRateMiBs,
        stages: mergeStageMarks(cur.stages, [
          { stage: 'reservation', at: cur.plannedAt ? cur.plannedAt.toISOString() : change.at },
          { stage: 'pre-copy', at: change.at },
        ]),
      };
      if (canMoveTo(cur.state, 'running')) {
        patch.state = 'running';
        patch.targetHostId = change.targetHostId;
        patch.strategy = change.strategy;
        patch.stage = cur.stage && cur.stage !== 'reservation' ? cur.stage : 'pre-copy';
      }
      return patch;
    }
    case 'progress': {
      if (isFinishedMigration(cur.state)) return null;
      if (cur.progressAt && at.getTime() <= cur.progressAt.getTime()) return null;
      const patch: Partial<MigrationProjection> = { progress: change.progress, progressAt: at };
      if (change.stage) {
        patch.stages = mergeStageMarks(cur.stages, [{ stage: change.stage, at: change.at }]);
        patch.stage = change.stage;
      }
      return patch;
    }
    case 'completed': {
      if (!canMoveTo(cur.state, 'completed')) return null;
      const stages = mergeStageMarks(cur.stages, change.stages ?? []);
      return {
        state: 'completed',
        targetHostId: change.targetHostId,
        strategy: change.strategy ?? cur.strategy,
        result: { ...change.result, totalTimeError: totalTimeError(change.result.totalTimeMs, change.result.predictedTotalTimeMs) },
        stages,
        stage: lastStage(stages) ?? cur.stage,
        error: null,
        finishedAt: at,
      };
    }
    case 'failed': {
      const to: MigrationState = change.cancelled ? 'cancelled' : 'failed';
      if (!canMoveTo(cur.state, to)) return null;
      return {
        state: to,
        error: change.reason,
        vmHostId: change.vmHostId,
        targetHostId: cur.targetHostId ?? change.targetHostId ?? null,
        finishedAt: at,
      };
    }
  }
}
