import { Ctx, Handler, asPage, printJson } from '../context';
import { follow } from '../follow';
import { completedLine, HostNames, Migration, MIGRATION_HEADERS, migrationDetails, migrationRow, migrationStateLine, observeMigration } from '../migration-format';
import { Progress } from '../progress';
import { formatDuration, formatTable } from '../table';
import { resolveVm } from './vms';

/** `--wait` polls the migration this often (it reports progress about every second). */
export const MIGRATION_POLL_MS = 1000;

/** Host id → name from GET /v1/hosts; best effort (ids are shown when the hosts cannot be read). */
export async function hostNames(ctx: Ctx): Promise<HostNames> {
  try {
    const page = asPage<{ id: string; name: string }>((await ctx.api.get('/v1/hosts', { limit: 500 })).data);
    return new Map(page.items.map((h) => [h.id, h.name]));
  } catch {
    return new Map();
  }
}

const migrationPath = (id: string) => `/v1/migrations/${encodeURIComponent(id)}`;

/**
 * Follows a migration every second until it ends: one line on stderr whenever its state, stage or progress
 * changes; resolves with the completed migration, throws OperationFailedError (exit 4) when it failed or was
 * cancelled, WaitTimeoutError (exit 5) after --timeout.
 */
async function followMigration(ctx: Ctx, first: Migration, names: HostNames): Promise<Migration> {
  const label = `migration ${first.id}`;
  // Always one line per change (also on a terminal): the lines are the migration's history.
  const progress = new Progress({ write: (s: string) => ctx.stderr.write(s) }, label, ctx.clock.now);
  let pending: Migration | undefined = first;
  try {
    const res = await follow<Migration>({
      what: label,
      clock: ctx.clock,
      timeoutMs: ctx.waitTimeoutMs,
      intervalMs: MIGRATION_POLL_MS,
      maxIntervalMs: MIGRATION_POLL_MS,
      poll: async () => {
        if (pending) {
          const d = pending;
          pending = undefined;
          return d;
        }
        return (await ctx.api.get<Migration>(migrationPath(first.id))).data;
      },
      observe: observeMigration,
      onUpdate: (u) => progress.update(migrationStateLine(u.doc, names), u.elapsedMs),
      onPollError: (e, n, elapsedMs) => progress.update(`unreachable, retrying (${n}): ${(e as Error).message}`, elapsedMs),
    });
    progress.finish(`${label}: ${res.observation.state} (${formatDuration(res.elapsedMs)})`);
    return res.doc;
  } catch (e) {
    progress.finish(e instanceof Error ? e.message : String(e));
    throw e;
  }
}

const migrate: Handler = async (ctx) => {
  const ref = ctx.args.VM!;
  const vmId = await resolveVm(ctx, ref);
  const o = ctx.options;
  const body: Record<string, unknown> = {};
  if (o.to !== undefined) body.targetHost = o.to;
  if (o.mode !== undefined) body.mode = o.mode;
  if (o.storage !== undefined) body.storage = o.storage;
  if (o.strategy !== undefined) body.strategy = o.strategy;
  if (o['max-downtime'] !== undefined) body.maxDowntimeMs = o['max-downtime'];
  if (o.bandwidth !== undefined) body.bandwidthMiBs = o.bandwidth;
  const m = (await ctx.api.post<Migration>(`/v1/vms/${vmId}/migrate`, body, ctx.idempotencyKey())).data;
  if (!o.wait) {
    if (ctx.json) return printJson(ctx, m);
    ctx.stdout.write(`migration ${m.id} of VM ${ref} ${m.state}${o.to !== undefined ? ` (to ${o.to})` : ''}\nFollow it with: minicloud migration show ${m.id}\n`);
    return;
  }
  const names = await hostNames(ctx);
  try {
    const done = await followMigration(ctx, m, names);
    if (ctx.json) return printJson(ctx, done);
    ctx.stdout.write(completedLine(done, names) + '\n');
  } catch (e) {
    if (ctx.json && e && typeof e === 'object' && 'last' in e && (e as { last: unknown }).last) printJson(ctx, (e as { last: unknown }).last);
    throw e;
  }
};

const list: Handler = async (ctx) => {
  const o = ctx.options;
  const vm = o.vm !== undefined ? await resolveVm(ctx, o.vm as string) : undefined;
  const r = await ctx.api.get('/v1/migrations', { vm, state: o.state as string | undefined, limit: o.limit as number | undefined, offset: o.offset as number | undefined });
  if (ctx.json) return printJson(ctx, r.data);
  const page = asPage<Migration>(r.data);
  const names = page.items.length ? await hostNames(ctx) : new Map<string, string>();
  ctx.stdout.write(formatTable(MIGRATION_HEADERS, page.items.map((m) => migrationRow(m, names))));
  if (page.total > page.items.length) ctx.stdout.write(`(${page.items.length} of ${page.total}; use --limit/--offset)\n`);
};

const show: Handler = async (ctx) => {
  const r = await ctx.api.get<Migration>(migrationPath(ctx.args.ID!));
  if (ctx.json) return printJson(ctx, r.data);
  ctx.stdout.write(migrationDetails(r.data, await hostNames(ctx)));
};

function controlHandler(action: 'cancel' | 'force-complete'): Handler {
  return async (ctx) => {
    const id = ctx.args.ID!;
    const r = await ctx.api.post<Migration>(`${migrationPath(id)}/${action}`, {}, ctx.idempotencyKey());
    if (ctx.json) return printJson(ctx, r.data);
    ctx.stdout.write(`migration ${id}: ${action} requested (it is ${r.data?.state ?? 'unknown'}; follow it with: minicloud migration show ${id})\n`);
  };
}

export const migrationHandlers: Record<string, Handler> = {
  'vm migrate': migrate,
  'migration list': list,
  'migration show': show,
  'migration cancel': controlHandler('cancel'),
  'migration force-complete': controlHandler('force-complete'),
};
