import { Ctx, Handler, asPage, printJson } from '../context';
import { UsageError } from '../errors';
import { follow } from '../follow';
import type { HostNames, Migration } from '../migration-format';
import {
  HostDoc,
  maintenanceLine,
  maintenanceText,
  MaintenancePoll,
  MaintenanceView,
  observeMaintenance,
  plannerSettingsDetails,
  PlannerSettings,
  Recommendation,
  RECOMMENDATION_HEADERS,
  recommendationRow,
} from '../planner-format';
import { Progress } from '../progress';
import { formatDuration, formatTable } from '../table';
import { resolveHost } from './hosts';
import { hostNames } from './migrations';

/** `host maintenance --wait` polls the host (and the running migrations) this often. */
export const MAINTENANCE_POLL_MS = 1000;

const recommendationPath = (id: string) => `/v1/migrations/recommendations/${encodeURIComponent(id)}`;

const recommendations: Handler = async (ctx) => {
  const r = await ctx.api.get('/v1/migrations/recommendations', { state: ctx.options.state as string | undefined });
  if (ctx.json) return printJson(ctx, r.data);
  const page = asPage<Recommendation>(r.data);
  const names = page.items.length ? await hostNames(ctx) : new Map<string, string>();
  ctx.stdout.write(formatTable(RECOMMENDATION_HEADERS, page.items.map((x) => recommendationRow(x, names))));
};

const apply: Handler = async (ctx) => {
  const id = ctx.args.RECOMMENDATION!;
  const r = await ctx.api.post<Recommendation>(`${recommendationPath(id)}/apply`, {}, ctx.idempotencyKey());
  if (ctx.json) return printJson(ctx, r.data);
  const migrationId = r.data?.migrationId ?? /\/v1\/migrations\/([^/?#]+)/.exec(r.headers.location ?? '')?.[1];
  ctx.stdout.write(
    `recommendation ${id} ${r.data?.state ?? 'applied'}` +
      (migrationId ? `: migration ${migrationId} of VM ${r.data?.vmId ?? '?'}\nFollow it with: minicloud migration show ${migrationId}\n` : '\n'),
  );
};

const dismiss: Handler = async (ctx) => {
  const id = ctx.args.RECOMMENDATION!;
  const r = await ctx.api.post<Recommendation>(`${recommendationPath(id)}/dismiss`, {}, ctx.idempotencyKey());
  if (ctx.json) return printJson(ctx, r.data);
  ctx.stdout.write(`recommendation ${id} ${r.data?.state ?? 'dismissed'}\n`);
};

const plannerShow: Handler = async (ctx) => {
  const r = await ctx.api.get<PlannerSettings>('/v1/scheduler/planner');
  if (ctx.json) return printJson(ctx, r.data);
  ctx.stdout.write(plannerSettingsDetails(r.data));
};

const plannerSet: Handler = async (ctx) => {
  const o = ctx.options;
  const body: Record<string, unknown> = {};
  if (o.automation !== undefined) body.automation = o.automation;
  if (o.consolidation !== undefined) body.consolidation = o.consolidation === 'on';
  if (Object.keys(body).length === 0) throw new UsageError('give --automation and/or --consolidation', 'planner set');
  const r = await ctx.api.patch<PlannerSettings>('/v1/scheduler/planner', body);
  if (ctx.json) return printJson(ctx, r.data);
  ctx.stdout.write(plannerSettingsDetails(r.data));
};

/** The running migrations that involve the host; best effort (none shown when the list cannot be read). */
async function runningMigrations(ctx: Ctx, hostId: string): Promise<Migration[]> {
  try {
    const page = asPage<Migration>((await ctx.api.get('/v1/migrations', { state: 'running', limit: 500 })).data);
    return page.items.filter((m) => m.sourceHostId === hostId || m.targetHostId === hostId);
  } catch {
    return [];
  }
}

/**
 * Follows the host (GET /v1/hosts/:id, the read model's state) until it is `target`, writing one line on stderr
 * per change with the VMs left and the running migrations (GET /v1/migrations?state=running). Never re-posts.
 */
async function followMaintenance(ctx: Ctx, hostId: string, label: string, target: 'maintenance' | 'up', names: HostNames): Promise<HostDoc> {
  const progress = new Progress({ write: (s: string) => ctx.stderr.write(s) }, label, ctx.clock.now);
  try {
    const res = await follow<MaintenancePoll>({
      what: label,
      clock: ctx.clock,
      timeoutMs: ctx.waitTimeoutMs,
      intervalMs: MAINTENANCE_POLL_MS,
      maxIntervalMs: MAINTENANCE_POLL_MS,
      poll: async () => {
        const host = (await ctx.api.get<HostDoc>(`/v1/hosts/${encodeURIComponent(hostId)}`)).data;
        return { host, migrations: host.state === target ? [] : await runningMigrations(ctx, hostId) };
      },
      observe: observeMaintenance(target),
      onUpdate: (u) => progress.update(maintenanceLine(u.doc, target, names), u.elapsedMs),
      onPollError: (e, n, elapsedMs) => progress.update(`unreachable, retrying (${n}): ${(e as Error).message}`, elapsedMs),
    });
    progress.finish(`${label}: ${res.observation.state} (${formatDuration(res.elapsedMs)})`);
    return res.doc.host;
  } catch (e) {
    progress.finish(e instanceof Error ? e.message : String(e));
    throw e;
  }
}

const maintenance: Handler = async (ctx) => {
  const ref = ctx.args.HOST!;
  const hostId = await resolveHost(ctx, ref);
  const exit = ctx.options.exit === true;
  const r = await ctx.api.post<MaintenanceView>(`/v1/hosts/${encodeURIComponent(hostId)}/maintenance${exit ? '/exit' : ''}`, {}, ctx.idempotencyKey());
  if (!ctx.options.wait) {
    if (ctx.json) return printJson(ctx, r.data);
    ctx.stdout.write(maintenanceText(r.data, ref));
    if (!exit && r.data.state === 'draining') ctx.stdout.write(`Follow it with: minicloud hosts show ${ref} (state maintenance once drained) and minicloud migration list --state running\n`);
    return;
  }
  if (!ctx.json) ctx.stdout.write(maintenanceText(r.data, ref));
  const target = exit ? 'up' : 'maintenance';
  const names = exit ? new Map<string, string>() : await hostNames(ctx);
  try {
    const host = await followMaintenance(ctx, hostId, `host ${ref}`, target, names);
    if (ctx.json) return printJson(ctx, host);
    ctx.stdout.write(`Host ${host.name ?? ref} is ${exit ? 'up (out of maintenance)' : 'in maintenance (it takes no VM)'}\n`);
  } catch (e) {
    if (ctx.json && e && typeof e === 'object' && 'last' in e && (e as { last?: MaintenancePoll }).last) printJson(ctx, (e as { last: MaintenancePoll }).last.host);
    throw e;
  }
};

export const plannerHandlers: Record<string, Handler> = {
  'migration recommendations': recommendations,
  'migration apply': apply,
  'migration dismiss': dismiss,
  'planner show': plannerShow,
  'planner set': plannerSet,
  'hosts maintenance': maintenance,
};
