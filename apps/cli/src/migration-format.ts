/**
 * How migrations are shown: the progress line of `vm migrate --wait`, the result line, the details of
 * `migration show`, the rows of `migration list`, and when following ends. Pure functions over the API's
 * MigrationView (libs/contracts/src/rpc.ts).
 */
import type { MigrationView } from '@minicloud/contracts';
import type { Observation } from './follow';
import { Cell, formatBytes, formatDetails, formatDuration } from './table';

export type Migration = MigrationView;
/** Host id → name, for showing hosts by name (an unknown id is shown as is). */
export type HostNames = Map<string, string>;

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

export function hostName(names: HostNames, id: string | null | undefined): string | null {
  if (!id) return null;
  return names.get(id) ?? id;
}

/** Memory processed as a whole percentage of the guest's memory (above 100 when pages were sent again). */
export function percentProcessed(p: Pick<NonNullable<Migration['progress']>, 'memoryProcessedBytes' | 'memoryTotalBytes'>): number | null {
  if (!p.memoryTotalBytes) return null;
  return Math.floor((p.memoryProcessedBytes / p.memoryTotalBytes) * 100);
}

function ms(n: number): string {
  return n >= 1000 ? formatDuration(n) : `${Math.round(n)} ms`;
}

/** "50% of memory processed, 256.0 MiB remaining, dirty rate 1024 pages/s" (the parts that are known). */
export function progressText(m: Pick<Migration, 'progress' | 'dirtyRateMiBs'>): string | null {
  const p = m.progress;
  if (!p) return null;
  const parts: string[] = [];
  const pct = percentProcessed(p);
  if (pct !== null) parts.push(`${pct}% of memory processed`);
  parts.push(`${formatBytes(p.memoryRemainingBytes)} remaining`);
  if (p.dirtyRatePagesPerSec !== null && p.dirtyRatePagesPerSec !== undefined) parts.push(`dirty rate ${Math.round(p.dirtyRatePagesPerSec)} pages/s`);
  else if (m.dirtyRateMiBs !== null && m.dirtyRateMiBs !== undefined) parts.push(`dirty rate ${m.dirtyRateMiBs} MiB/s`);
  if (p.iteration !== null && p.iteration !== undefined) parts.push(`iteration ${p.iteration}`);
  return parts.join(', ');
}

/**
 * The state of a followed migration in one line; it changes when the state, stage or progress does:
 * "requested", "planned → hv2", "running pre-copy: 50% of memory processed, …", "completed".
 */
export function migrationStateLine(m: Migration, names: HostNames = new Map()): string {
  switch (m.state) {
    case 'planned':
      return `planned → ${hostName(names, m.targetHostId) ?? '?'}`;
    case 'running': {
      const head = `running${m.stage ? ' ' + m.stage : ''}${m.strategy ? ` (${m.strategy})` : ''}`;
      const p = progressText(m);
      return p ? `${head}: ${p}` : head;
    }
    default:
      return m.state;
  }
}

function signedPercent(x: number): string {
  const v = Math.round(x * 1000) / 10;
  return `${v >= 0 ? '+' : ''}${v}%`;
}

/** "5.0s (predicted 4.0s, +25%), downtime 42 ms (predicted 30 ms), 610.0 MiB transferred, 3 iterations". */
export function resultText(r: NonNullable<Migration['result']>): string {
  const time = `${ms(r.totalTimeMs)}${r.predictedTotalTimeMs !== null ? ` (predicted ${ms(r.predictedTotalTimeMs)}${r.totalTimeError !== null ? ', ' + signedPercent(r.totalTimeError) : ''})` : ''}`;
  const parts = [time];
  if (r.probeMs != null) parts.push(`of which ${ms(r.probeMs)} an aborted compressed probe`);
  if (r.downtimeMs !== null) parts.push(`downtime ${ms(r.downtimeMs)}${r.predictedDowntimeMs !== null ? ` (predicted ${ms(r.predictedDowntimeMs)})` : ''}`);
  if (r.dataTransferredBytes !== null) parts.push(`${formatBytes(r.dataTransferredBytes)} transferred`);
  if (r.iterations !== null) parts.push(`${r.iterations} iteration${r.iterations === 1 ? '' : 's'}`);
  if (r.compressedBytes !== null) parts.push(`${formatBytes(r.compressedBytes)} compressed`);
  if (r.postcopyRequests != null) parts.push(`${r.postcopyRequests} post-copy page request${r.postcopyRequests === 1 ? '' : 's'}`);
  if (r.forced) parts.push('forced to complete');
  return parts.join(', ');
}

/** The last line of `vm migrate --wait` when it completed. */
export function completedLine(m: Migration, names: HostNames = new Map()): string {
  const route = `${hostName(names, m.sourceHostId)} → ${hostName(names, m.targetHostId) ?? '?'}`;
  return `migration ${m.id} completed (${route}${m.strategy ? ', ' + m.strategy : ''})${m.result ? ': ' + resultText(m.result) : ''}`;
}

/** Following a migration: done when it ended; only `completed` is a success (failed/cancelled carry the error). */
export function observeMigration(m: Migration): Observation {
  const state = m.state ?? 'unknown';
  if (state === 'completed') return { state, done: true, ok: true };
  if (FINISHED.has(state)) return { state, done: true, ok: false, reason: m.error ?? undefined };
  return { state, done: false, ok: false };
}

export function migrationDetails(m: Migration, names: HostNames = new Map()): string {
  const strategy = m.strategy ? `${m.strategy}${m.requestedStrategy !== m.strategy ? ` (asked: ${m.requestedStrategy})` : ''}` : `${m.requestedStrategy} (not started)`;
  const pairs: [string, Cell][] = [
    ['id', m.id],
    ['vm', m.vmId],
    ['state', m.state],
    ['origin', m.origin],
    ['mode', `${m.mode}, storage ${m.storage}`],
    ['strategy', strategy],
    ...(m.strategyReason ? ([['why', m.strategyReason]] as [string, Cell][]) : []),
    ['from', hostName(names, m.sourceHostId)],
    ['to', hostName(names, m.targetHostId)],
    ['reason', m.reason],
    ['max downtime', m.maxDowntimeMs !== null ? `${m.maxDowntimeMs} ms` : null],
    ['bandwidth', m.bandwidthMiBs !== null ? `${m.bandwidthMiBs} MiB/s` : null],
    ['stage', m.stage],
    ['progress', progressText({ progress: m.progress, dirtyRateMiBs: null })],
    ['dirty rate', m.dirtyRateMiBs !== null ? `${m.dirtyRateMiBs} MiB/s (measured before the start)` : null],
    ...(m.predictions ?? []).map((p): [string, Cell] => [
      `predicted ${p.strategy}`,
      [p.converges ? 'converges' : 'does not converge', p.totalTimeMs !== undefined ? ms(p.totalTimeMs) : null, p.downtimeMs !== undefined ? `downtime ${ms(p.downtimeMs)}` : null, p.iterations !== undefined ? `${p.iterations} iterations` : null]
        .filter(Boolean)
        .join(', '),
    ]),
    ['result', m.result ? resultText(m.result) : null],
    ['stages', m.stages.length ? m.stages.map((s) => `${s.stage} ${s.at}`).join(', ') : null],
    ...(m.vmHostId ? ([['vm host', hostName(names, m.vmHostId)]] as [string, Cell][]) : []),
    ...(m.error ? ([['error', m.error]] as [string, Cell][]) : []),
    ['requested', m.requestedAt],
    ['updated', m.updatedAt],
  ];
  return formatDetails(pairs);
}

export const MIGRATION_HEADERS = ['ID', 'VM', 'STATE', 'MODE', 'STRATEGY', 'FROM', 'TO', 'STAGE', 'PROGRESS', 'REQUESTED'];

export function migrationRow(m: Migration, names: HostNames = new Map()): Cell[] {
  const pct = m.state === 'running' && m.progress ? percentProcessed(m.progress) : null;
  return [
    m.id,
    m.vmId,
    m.state,
    m.mode,
    m.strategy ?? m.requestedStrategy,
    hostName(names, m.sourceHostId),
    hostName(names, m.targetHostId),
    m.stage,
    pct !== null ? `${pct}%` : m.state === 'completed' ? 'done' : null,
    m.requestedAt,
  ];
}
