/**
 * How the migration planner and host maintenance are shown: rows of `migration recommendations`, the settings of
 * `planner show|set`, the drain of `host maintenance`, and the progress line of `host maintenance --wait`.
 * Pure functions over the API's views (libs/contracts/src/planner.ts).
 */
import type { HostMaintenanceView, PlannerSettingsView, RecommendationView } from '@minicloud/contracts';
import type { Observation } from './follow';
import { hostName, HostNames, Migration, percentProcessed } from './migration-format';
import { Cell, formatDetails } from './table';

export type Recommendation = RecommendationView;
export type PlannerSettings = PlannerSettingsView;
export type MaintenanceView = HostMaintenanceView;

export const RECOMMENDATION_HEADERS = ['ID', 'KIND', 'VM', 'FROM', 'TO', 'GAP', 'STATE', 'MIGRATION', 'CREATED', 'REASON'];

function gap(v: number | null | undefined): string {
  return v === null || v === undefined ? '?' : String(Math.round(v * 100) / 100);
}

export function recommendationRow(r: Recommendation, names: HostNames = new Map()): Cell[] {
  const gapText = r.gapBefore === null && r.gapAfter === null ? null : `${gap(r.gapBefore)} → ${gap(r.gapAfter)}`;
  return [r.id, r.kind, r.vmId, hostName(names, r.sourceHostId), hostName(names, r.targetHostId), gapText, r.state, r.migrationId, r.createdAt, r.reason];
}

export function plannerSettingsDetails(s: PlannerSettings): string {
  return formatDetails([
    ['automation', s.automation === 'automatic' ? 'automatic (the planner starts its migrations)' : `${s.automation} (recommendations are listed; apply them by id)`],
    ['consolidation', s.consolidation ? 'on' : 'off'],
    ['balance threshold', s.balanceThreshold],
    ['hot spot after', `${s.hotSpotRounds} round${s.hotSpotRounds === 1 ? '' : 's'} above a cap`],
    ['cooldown', `${s.cooldownSeconds}s`],
    ['interval', `${s.intervalSeconds}s`],
  ]);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What POST /v1/hosts/:id/maintenance(/exit) answered, in a few lines. */
export function maintenanceText(v: MaintenanceView, host: string): string {
  const lines = [`Host ${host}: ${v.state}${v.state === 'draining' ? `, ${plural(v.remainingVms, 'VM')} remaining, ${plural(v.migrationIds.length, 'migration')} planned` : ''}`];
  for (const m of v.migrationIds) lines.push(`  migration ${m}`);
  for (const b of v.blocked) lines.push(`  blocked: VM ${b.vmId}: ${b.reason}`);
  // Absent from a scheduler older than the migration timeout.
  for (const t of v.timedOut ?? []) lines.push(`  timed out: VM ${t.vmId} (migration ${t.migrationId}): ${t.reason}`);
  return lines.join('\n') + '\n';
}

/** A host as GET /v1/hosts/:id shows it (the fields --wait reads). */
export interface HostDoc {
  id: string;
  name?: string;
  state?: string;
  vmCount?: number;
}

/** One poll of `host maintenance --wait`: the host and the running migrations that move VMs off (or onto) it. */
export interface MaintenancePoll {
  host: HostDoc;
  migrations: Migration[];
}

/**
 * "draining (host up), 2 VMs on it, 1 migration running: <vm> → hv2 45%" while it goes; just the state once it is
 * `target` (the VM count is known when the host view carries it).
 */
export function maintenanceLine(p: MaintenancePoll, target: 'maintenance' | 'up', names: HostNames = new Map()): string {
  const state = p.host.state ?? 'unknown';
  if (state === target) return state;
  const head = target === 'maintenance' ? `draining (host ${state})` : state;
  const parts = [head];
  if (p.host.vmCount !== undefined) parts.push(`${plural(p.host.vmCount, 'VM')} on it`);
  const moving = p.migrations.map((m) => {
    const pct = m.progress ? percentProcessed(m.progress) : null;
    const where = m.sourceHostId === p.host.id ? `→ ${hostName(names, m.targetHostId) ?? '?'}` : `← ${hostName(names, m.sourceHostId) ?? '?'}`;
    return `${m.vmId} ${where}${pct !== null ? ` ${pct}%` : m.stage ? ` ${m.stage}` : ''}`;
  });
  parts.push(`${plural(p.migrations.length, 'migration')} running${moving.length ? ': ' + moving.join(', ') : ''}`);
  return parts.join(', ');
}

/** Following a host into (or out of) maintenance: done when its state (read model) is the target. */
export function observeMaintenance(target: 'maintenance' | 'up'): (p: MaintenancePoll) => Observation {
  return (p) => {
    const state = p.host.state ?? 'unknown';
    return { state, done: state === target, ok: state === target };
  };
}
