import type { MigrationView } from '@minicloud/contracts';
import type { MigrationRow } from '../db/migration.entities';

/** A migration as the REST API shows it (MigrationView in libs/contracts/src/rpc.ts). */
export function toMigrationView(row: MigrationRow): MigrationView {
  return {
    id: row.id,
    vmId: row.vmId,
    state: row.state,
    origin: row.origin,
    mode: row.mode,
    storage: row.storage,
    requestedStrategy: row.requestedStrategy,
    strategy: row.strategy,
    strategyReason: row.strategyReason,
    sourceHostId: row.sourceHostId,
    targetHostId: row.targetHostId,
    maxDowntimeMs: row.maxDowntimeMs,
    bandwidthMiBs: row.bandwidthMiBs,
    reason: row.reason,
    stage: row.stage,
    progress: row.progress && row.progressAt ? { ...row.progress, at: iso(row.progressAt) } : null,
    predictions: row.predictions,
    dirtyRateMiBs: row.dirtyRateMiBs,
    result: row.result,
    stages: row.stages ?? [],
    vmHostId: row.vmHostId,
    error: row.error,
    requestedAt: iso(row.requestedAt),
    updatedAt: iso(row.updatedAt),
  };
}

function iso(d: Date | string): string {
  return (d instanceof Date ? d : new Date(d)).toISOString();
}
