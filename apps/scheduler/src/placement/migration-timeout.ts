/**
 * How long the scheduler keeps a migration's hold open without hearing migration.completed or migration.failed.
 * Scaled like the migrator's completion timeout (a base plus seconds per GiB of guest memory), with a larger base
 * by default: it must also cover the time a planned migration waits for the migrator's per-host/cluster limits,
 * so that normally the migrator's own timeouts end a stuck migration first.
 */
export interface MigrationTimeoutConfig {
  baseS: number;
  perGiBS: number;
}

export interface OpenHoldAge {
  memoryMiB: number;
  createdAt: Date;
}

export function holdTimeoutMs(memoryMiB: number, cfg: MigrationTimeoutConfig): number {
  if (!Number.isFinite(memoryMiB) || memoryMiB < 0) throw new Error(`memoryMiB must be a number >= 0, got ${memoryMiB}`);
  return Math.round((cfg.baseS + (cfg.perGiBS * memoryMiB) / 1024) * 1000);
}

/** true once the hold has been open longer than its timeout at `now` (ms since the epoch, the database's clock). */
export function isOverdue(h: OpenHoldAge, now: number, cfg: MigrationTimeoutConfig): boolean {
  return now - h.createdAt.getTime() > holdTimeoutMs(h.memoryMiB, cfg);
}

/** The sentence recorded with a timed-out hold (the drain's status shows it). */
export function timeoutReason(h: OpenHoldAge & { migrationId: string }, now: number, cfg: MigrationTimeoutConfig): string {
  const waited = Math.round((now - h.createdAt.getTime()) / 1000);
  const limit = Math.round(holdTimeoutMs(h.memoryMiB, cfg) / 1000);
  return (
    `migration ${h.migrationId} did not end within ${limit} s (${cfg.baseS} s + ${cfg.perGiBS} s/GiB × ${(h.memoryMiB / 1024).toFixed(2)} GiB; ` +
    `open for ${waited} s, no migration.completed/failed): the scheduler released the target's hold and asked the migrator to cancel it`
  );
}
