import type { VmState } from '@minicloud/contracts';
import { isAbsolute, resolve } from 'path';
import { parseTags } from '../args';
import { VmAction, VM_ACTIONS } from '../commands';
import { Ctx, Handler, listAll, asPage, printJson, resolveRef } from '../context';
import { ApiError, UsageError } from '../errors';
import { ACTION_TARGET, follow, observeOperation, observeVmCreate, observeVmTarget, Observation, operationIn } from '../follow';
import { Progress } from '../progress';
import { formatDetails, formatDuration, formatMiB, formatTable, formatTags } from '../table';
import { findFlavor } from './flavors';

export interface Vm {
  id: string;
  name: string;
  status: VmState | string;
  host: { id: string; name: string | null; address: string | null } | null;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  image: { id: string; name: string };
  /** Where the disk lives: local or shared (absent from servers before storage kinds). */
  storage?: string;
  reason: string | null;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  /** The VM's unfinished migration (GET /v1/vms/:id). */
  migration?: { id: string; state: string; stage: string | null; targetHostId: string | null } | null;
  /** What the scheduler says beyond the status: queued or preempted (absent from servers before it). */
  scheduling?: VmScheduling | null;
}

export type VmScheduling =
  | { state: 'queued'; since: string; reason: string; priority: number; deadline: string | null; waitedSeconds: number; position: number | null; effectivePriority: number | null }
  | { state: 'preempted'; at: string; hostId: string; action: string; targetHostId: string | null; migrationId?: string | null; preemptedByVmId: string | null; reservationId: string | null; reason: string };

/** The STATUS column: the status, and what the scheduler says beyond it ("requested (queued #3)", "stopped (preempted)", "running (preempted, moving)"). */
export function statusText(vm: Pick<Vm, 'status' | 'scheduling'>): string {
  const s = vm.scheduling;
  if (!s) return String(vm.status);
  if (s.state === 'queued') return `${vm.status} (queued${s.position ? ` #${s.position}` : ''})`;
  return s.action === 'migrate' && s.migrationId ? `${vm.status} (preempted, moving)` : `${vm.status} (preempted)`;
}

/** The detail lines of `vm show` for a queued or preempted VM. */
export function schedulingDetails(s: VmScheduling | null | undefined): [string, string][] {
  if (!s) return [];
  if (s.state === 'queued') {
    const place = s.position ? `#${s.position} in the scheduler queue` : 'in the scheduler queue';
    const prio = s.effectivePriority && s.effectivePriority !== s.priority ? `priority ${s.priority} (aged to ${s.effectivePriority})` : `priority ${s.priority}`;
    return [
      ['queued', `${place}, ${prio}, waiting ${formatDuration(s.waitedSeconds * 1000)}${s.deadline ? `, deadline ${s.deadline}` : ''}`],
      ['waiting for', s.reason],
    ];
  }
  const by = s.preemptedByVmId ? `by VM ${s.preemptedByVmId}` : s.reservationId ? `by reservation ${s.reservationId}` : 'by the scheduler';
  const what = s.action === 'migrate' && s.migrationId ? `being moved to ${s.targetHostId} by migration ${s.migrationId}` : s.action === 'migrate' && s.targetHostId ? `asked to move to ${s.targetHostId}, stopped` : 'stopped';
  return [
    ['preempted', `${s.at} ${by} (${what})`],
    ['preempted because', s.reason],
  ];
}

function hostText(h: Vm['host']): string | null {
  if (!h) return null;
  return h.name ?? h.address ?? h.id;
}

export function vmDetails(vm: Vm): string {
  return formatDetails([
    ['id', vm.id],
    ['name', vm.name],
    ['status', statusText(vm)],
    ...(vm.reason ? ([['reason', vm.reason]] as [string, string][]) : []),
    ...schedulingDetails(vm.scheduling),
    ['host', vm.host ? `${hostText(vm.host)}${vm.host.address && vm.host.name ? ` (${vm.host.address})` : ''}` : null],
    ['vcpus', vm.vcpus],
    ['memory', formatMiB(vm.memoryMiB)],
    ['disk', vm.diskGiB !== undefined ? `${vm.diskGiB} GiB${vm.storage ? ` (${vm.storage})` : ''}` : null],
    ['image', vm.image ? vm.image.name : null],
    ['tags', formatTags(vm.tags)],
    ...(vm.migration ? ([['migration', `${vm.migration.id} (${vm.migration.state}${vm.migration.stage ? ', ' + vm.migration.stage : ''})`]] as [string, string][]) : []),
    ['created', vm.createdAt],
    ['updated', vm.updatedAt],
  ]);
}

const VM_HEADERS = ['ID', 'NAME', 'STATUS', 'HOST', 'VCPUS', 'MEMORY', 'DISK', 'IMAGE', 'TAGS'];
function vmRow(vm: Vm) {
  return [vm.id, vm.name, statusText(vm), hostText(vm.host), vm.vcpus, formatMiB(vm.memoryMiB), vm.diskGiB !== undefined ? `${vm.diskGiB} GiB` : null, vm.image?.name, formatTags(vm.tags)];
}

export function hasTags(vm: Pick<Vm, 'tags'>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => vm.tags?.[k] === v);
}

/** The VM's id: a UUID as given, a name looked up (among VMs that are not deleted). */
export function resolveVm(ctx: Ctx, ref: string): Promise<string> {
  return resolveRef<Vm>(ctx.api, ref, '/v1/vms', 'VM', (vm, r) => vm.name === r);
}

/** Reads --ssh-key files: every OpenSSH public key line in each (comments and blank lines skipped). */
export function sshKeysFrom(files: string[], read: (p: string) => string): string[] {
  const keys: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = read(f);
    } catch (e) {
      throw new UsageError(`--ssh-key ${f}: ${(e as Error).message}`, 'vm create');
    }
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (lines.length === 0) throw new UsageError(`--ssh-key ${f}: no public key in the file`, 'vm create');
    if (lines.some((l) => /PRIVATE KEY/.test(l))) throw new UsageError(`--ssh-key ${f} is a private key: give the .pub file`, 'vm create');
    keys.push(...lines);
  }
  return keys;
}

function fileArg(ctx: Ctx, p: string): string {
  return isAbsolute(p) ? p : resolve(ctx.cwd, p);
}

/** Follows a VM's status, with the progress display on stderr. */
async function followVm(ctx: Ctx, id: string, label: string, observe: (vm: Vm) => Observation, treat404AsDeleted = false) {
  const progress = new Progress(ctx.stderr, label, ctx.clock.now);
  try {
    const res = await follow<Vm>({
      what: label,
      clock: ctx.clock,
      timeoutMs: ctx.waitTimeoutMs,
      intervalMs: ctx.pollIntervalMs,
      poll: async () => {
        try {
          return (await ctx.api.get<Vm>(`/v1/vms/${id}`)).data;
        } catch (e) {
          if (treat404AsDeleted && e instanceof ApiError && e.status === 404) return { id, status: 'deleted' } as Vm;
          throw e;
        }
      },
      observe,
      onUpdate: (u) => progress.update(u.state, u.elapsedMs),
      onPollError: (e, n, elapsedMs) => progress.update(`unreachable, retrying (${n}): ${(e as Error).message}`, elapsedMs),
    });
    progress.finish(`${label}: ${res.observation.state} (${formatDuration(res.elapsedMs)})`);
    return res.doc;
  } catch (e) {
    progress.finish(e instanceof Error ? e.message : String(e));
    throw e;
  }
}

async function followOperation(ctx: Ctx, opId: string, label: string, first?: unknown) {
  const progress = new Progress(ctx.stderr, label, ctx.clock.now);
  let firstDoc = first;
  try {
    const res = await follow<unknown>({
      what: label,
      clock: ctx.clock,
      timeoutMs: ctx.waitTimeoutMs,
      intervalMs: ctx.pollIntervalMs,
      poll: async () => {
        if (firstDoc !== undefined) {
          const d = firstDoc;
          firstDoc = undefined;
          return d;
        }
        return (await ctx.api.get(`/v1/operations/${encodeURIComponent(opId)}`)).data;
      },
      observe: observeOperation,
      onUpdate: (u) => progress.update(u.state, u.elapsedMs),
      onPollError: (e, n, elapsedMs) => progress.update(`unreachable, retrying (${n}): ${(e as Error).message}`, elapsedMs),
    });
    progress.finish(`${label}: ${res.observation.state} (${formatDuration(res.elapsedMs)})`);
    return res.doc;
  } catch (e) {
    progress.finish(e instanceof Error ? e.message : String(e));
    throw e;
  }
}

const create: Handler = async (ctx) => {
  const o = ctx.options;
  const sizes = ['vcpus', 'memory', 'disk'].filter((k) => o[k] !== undefined);
  if (o.image === undefined) throw new UsageError('--image is required', 'vm create');
  if (o.flavor !== undefined && sizes.length) throw new UsageError(`give --flavor or --vcpus/--memory/--disk, not both`, 'vm create');
  if (o.flavor === undefined && sizes.length < 3) {
    const missing = ['vcpus', 'memory', 'disk'].filter((k) => o[k] === undefined).map((k) => '--' + k);
    throw new UsageError(`give --flavor, or all of --vcpus, --memory and --disk (missing ${missing.join(', ')})`, 'vm create');
  }
  const tags = parseTags(o.tag as string[] | undefined);
  const sshKeys = o['ssh-key'] ? sshKeysFrom((o['ssh-key'] as string[]).map((f) => fileArg(ctx, f)), ctx.readFile) : undefined;
  let userData: string | undefined;
  if (o['user-data'] !== undefined) {
    try {
      userData = ctx.readFile(fileArg(ctx, o['user-data'] as string));
    } catch (e) {
      throw new UsageError(`--user-data ${o['user-data']}: ${(e as Error).message}`, 'vm create');
    }
  }
  let size: { vcpus: number; memoryMiB: number; diskGiB: number };
  if (o.flavor !== undefined) {
    const f = await findFlavor(ctx.api, o.flavor as string);
    size = { vcpus: f.vcpus, memoryMiB: f.memoryMiB, diskGiB: f.diskGiB };
  } else {
    size = { vcpus: o.vcpus as number, memoryMiB: o.memory as number, diskGiB: o.disk as number };
  }
  const body: Record<string, unknown> = { name: ctx.args.NAME!, ...size, image: o.image };
  if (o.host !== undefined) body.targetHost = o.host;
  if (sshKeys) body.sshKeys = sshKeys;
  if (userData !== undefined) body.userData = userData;
  if (tags) body.tags = tags;
  if (o.storage !== undefined) body.storage = o.storage;
  const r = await ctx.api.post<Vm>('/v1/vms', body, ctx.idempotencyKey());
  const vm = r.data;
  if (!o.wait) {
    if (ctx.json) return printJson(ctx, vm);
    ctx.stdout.write(`VM ${vm.name} ${vm.status} (${vm.id})\nFollow it with: minicloud vm show ${vm.id}\n`);
    return;
  }
  try {
    const last = await followVm(ctx, vm.id, `VM ${vm.name}`, observeVmCreate);
    if (ctx.json) return printJson(ctx, last);
    ctx.stdout.write(vmDetails(last));
  } catch (e) {
    if (ctx.json && e && typeof e === 'object' && 'last' in e && (e as { last: unknown }).last) printJson(ctx, (e as { last: unknown }).last);
    throw e;
  }
};

const list: Handler = async (ctx) => {
  const o = ctx.options;
  const query = { status: o.status as string | undefined, host: o.host as string | undefined };
  const tags = parseTags(o.tag as string[] | undefined);
  let page: { items: Vm[]; total: number };
  if (tags) {
    // The API has no tag filter: the client filters every VM, then pages.
    const all = (await listAll<Vm>(ctx.api, '/v1/vms', query)).filter((vm) => hasTags(vm, tags));
    const offset = (o.offset as number | undefined) ?? 0;
    const limit = (o.limit as number | undefined) ?? 50;
    page = { items: all.slice(offset, offset + limit), total: all.length };
  } else {
    const r = await ctx.api.get('/v1/vms', { ...query, limit: o.limit as number | undefined, offset: o.offset as number | undefined });
    if (ctx.json) return printJson(ctx, r.data);
    page = asPage<Vm>(r.data);
  }
  if (ctx.json) return printJson(ctx, page);
  ctx.stdout.write(formatTable(VM_HEADERS, page.items.map(vmRow)));
  if (page.total > page.items.length) ctx.stdout.write(`(${page.items.length} of ${page.total}; use --limit/--offset)\n`);
};

const show: Handler = async (ctx) => {
  const id = await resolveVm(ctx, ctx.args.VM!);
  const r = await ctx.api.get<Vm>(`/v1/vms/${id}`);
  if (ctx.json) return printJson(ctx, r.data);
  ctx.stdout.write(vmDetails(r.data));
};

const consoleLines: Handler = async (ctx) => {
  const id = await resolveVm(ctx, ctx.args.VM!);
  const r = await ctx.api.get<{ lines: string[] }>(`/v1/vms/${id}/console`, { lines: ctx.options.lines as number | undefined });
  if (ctx.json) return printJson(ctx, r.data);
  const lines = r.data?.lines ?? [];
  ctx.stdout.write(lines.length ? lines.join('\n') + '\n' : '');
};

/**
 * After an action or a delete was accepted: without --wait print the answer; with --wait follow the operation
 * it names (or, when it names none, the VM's status until the action's target state).
 */
async function afterAccepted(ctx: Ctx, verb: string, vmRef: string, vmId: string, res: { data: unknown; headers: Record<string, string | undefined> }) {
  const op = operationIn(res.data, res.headers['location'], vmId);
  const label = `${verb} ${vmRef}`;
  if (!ctx.options.wait) {
    if (ctx.json) return printJson(ctx, res.data);
    const state = op ? observeOperation(op.doc ?? {}).state : (res.data as Vm | undefined)?.status;
    ctx.stdout.write(`${label}: accepted${op ? ` (operation ${op.id}${state && state !== 'unknown' ? ', ' + state : ''})` : state ? ` (VM ${state})` : ''}\n`);
    return;
  }
  try {
    const last = op
      ? await followOperation(ctx, op.id, label, op.doc)
      : await followVm(ctx, vmId, label, observeVmTarget(ACTION_TARGET[verb]), verb === 'delete');
    if (ctx.json) return printJson(ctx, last);
    ctx.stdout.write(`${label}: done\n`);
  } catch (e) {
    if (ctx.json && e && typeof e === 'object' && 'last' in e && (e as { last: unknown }).last) printJson(ctx, (e as { last: unknown }).last);
    throw e;
  }
}

function actionHandler(action: VmAction): Handler {
  return async (ctx) => {
    const ref = ctx.args.VM!;
    const id = await resolveVm(ctx, ref);
    const r = await ctx.api.post(`/v1/vms/${id}/actions`, { action }, ctx.idempotencyKey());
    await afterAccepted(ctx, action, ref, id, r);
  };
}

const remove: Handler = async (ctx) => {
  const ref = ctx.args.VM!;
  const id = await resolveVm(ctx, ref);
  const r = await ctx.api.delete(`/v1/vms/${id}`);
  await afterAccepted(ctx, 'delete', ref, id, r);
};

export const vmHandlers: Record<string, Handler> = {
  'vm create': create,
  'vm list': list,
  'vm show': show,
  'vm console': consoleLines,
  'vm delete': remove,
  ...Object.fromEntries(VM_ACTIONS.map((a) => [`vm ${a}`, actionHandler(a)])),
};

