import type { HostView } from '@minicloud/contracts';
import { resolve as resolvePath } from 'path';
import { ApiError, RefusedError, UsageError } from '../errors';
import { Ctx, Handler, listAll, printJson, resolveRef } from '../context';
import { HostLine, parseHostEntry, parseHostFile } from '../host-file';
import { formatDetails, formatMiB, formatTable } from '../table';

type Host = Partial<HostView> & { id: string; disabled?: boolean; disabledReason?: string | null };

function hostRow(h: Host) {
  return [h.id, h.name, h.address ? `${h.address}:${h.sshPort ?? 22}` : null, h.state, h.facts?.cpus, formatMiB(h.facts?.memoryMiB), h.facts?.diskGiB !== undefined ? `${h.facts.diskGiB} GiB` : null, h.facts?.arch];
}
const HOST_HEADERS = ['ID', 'NAME', 'ADDRESS', 'STATE', 'CPUS', 'MEMORY', 'DISK', 'ARCH'];

export function hostDetails(h: Host): string {
  return formatDetails([
    ['id', h.id],
    ['name', h.name],
    ['address', h.address],
    ['ssh', `${h.sshUser ?? 'root'}@${h.address}:${h.sshPort ?? 22}`],
    ['state', h.state],
    ['reason', h.stateReason || (h as { disabledReason?: string }).disabledReason],
    ['cpus', h.facts ? `${h.facts.cpus} (${h.facts.cpuModel})` : null],
    ['memory', formatMiB(h.facts?.memoryMiB)],
    ['disk', h.facts?.diskGiB !== undefined ? `${h.facts.diskGiB} GiB` : null],
    ['arch', h.facts?.arch],
    ['hypervisor', h.facts?.hypervisorVersion],
    ['libvirt', h.facts?.libvirtVersion],
    ['registered', h.registeredAt],
  ]);
}

export function resolveHost(ctx: Ctx, ref: string): Promise<string> {
  return resolveRef<Host>(ctx.api, ref, '/v1/hosts', 'host', (h, r) => h.name === r || h.address === r);
}

const add: Handler = async (ctx) => {
  const address = ctx.args.ADDRESS!;
  let entry: ReturnType<typeof parseHostEntry>;
  try {
    entry = parseHostEntry(address);
  } catch (e) {
    throw new UsageError(`ADDRESS: ${(e as Error).message}`, 'hosts add');
  }
  // "user@address:port" is accepted too; --port and --user win.
  const body: Record<string, unknown> = { address: entry.address };
  const port = (ctx.options.port as number | undefined) ?? (entry.portGiven ? entry.sshPort : undefined);
  const user = (ctx.options.user as string | undefined) ?? (entry.userGiven ? entry.sshUser : undefined);
  if (port !== undefined) body.sshPort = port;
  if (user !== undefined) body.sshUser = user;
  if (ctx.options.name !== undefined) body.name = ctx.options.name;
  const r = await ctx.api.post<Host>('/v1/hosts', body, ctx.idempotencyKey());
  if (ctx.json) return printJson(ctx, r.data);
  ctx.stdout.write(`Host ${r.data.name} registered (${r.data.id})\n` + hostDetails(r.data));
};

export interface ImportResult {
  registered: Host[];
  failed: { address: string; error: string; line?: number }[];
}

export interface LineOutcome {
  line: number;
  text: string;
  ok: boolean;
  detail: string;
}

/**
 * Matches the bulk endpoint's answer to the file's lines: a failure by address, a registration by address (and
 * port when the server says it). A line the server did not mention counts as failed.
 */
export function importOutcomes(lines: HostLine[], result: ImportResult): LineOutcome[] {
  const usedReg = new Set<Host>();
  const usedFail = new Set<object>();
  return lines.map((l) => {
    const fail = result.failed.find((f) => !usedFail.has(f) && (f.line === l.line || (f.line === undefined && f.address === l.address)));
    if (fail) {
      usedFail.add(fail);
      return { line: l.line, text: l.text, ok: false, detail: fail.error };
    }
    const reg = result.registered.find((h) => !usedReg.has(h) && h.address === l.address && (h.sshPort === undefined || h.sshPort === l.sshPort));
    if (reg) {
      usedReg.add(reg);
      return { line: l.line, text: l.text, ok: true, detail: `registered as ${reg.name ?? '-'} (${reg.id})` };
    }
    return { line: l.line, text: l.text, ok: false, detail: 'the server did not report this host' };
  });
}

export function formatImport(outcomes: LineOutcome[]): string {
  const sorted = [...outcomes].sort((a, b) => a.line - b.line);
  const failed = sorted.filter((o) => !o.ok).length;
  return (
    sorted.map((o) => `line ${o.line}: ${o.text}: ${o.ok ? o.detail : 'FAILED: ' + o.detail}`).join('\n') +
    `\n${sorted.length - failed} registered, ${failed} failed\n`
  );
}

const importHosts: Handler = async (ctx) => {
  const file = ctx.args.FILE!;
  let text: string;
  try {
    text = ctx.readFile(file === '-' ? '-' : resolvePath(ctx.cwd, file));
  } catch (e) {
    throw new RefusedError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const parsed = parseHostFile(text);
  if (parsed.hosts.length === 0 && parsed.invalid.length === 0) throw new RefusedError(`${file} lists no hosts`);
  const result: ImportResult = { registered: [], failed: [] };
  let outcomes: LineOutcome[] = [];
  let bulk = false;
  if (parsed.hosts.length > 0) {
    const hosts = parsed.hosts.map((h) => ({ address: h.address, sshPort: h.sshPort, sshUser: h.sshUser }));
    try {
      const r = await ctx.api.post<ImportResult>('/v1/hosts/import', { hosts }, ctx.idempotencyKey());
      result.registered.push(...(r.data?.registered ?? []));
      result.failed.push(...(r.data?.failed ?? []));
      outcomes = importOutcomes(parsed.hosts, result);
      bulk = true;
    } catch (e) {
      // This gateway has no bulk endpoint: one POST /v1/hosts per line.
      if (!(e instanceof ApiError && (e.status === 404 || e.status === 405))) throw e;
    }
    if (!bulk) {
      for (const h of parsed.hosts) {
        try {
          const r = await ctx.api.post<Host>('/v1/hosts', { address: h.address, sshPort: h.sshPort, sshUser: h.sshUser }, ctx.idempotencyKey());
          result.registered.push(r.data);
          outcomes.push({ line: h.line, text: h.text, ok: true, detail: `registered as ${r.data?.name ?? '-'} (${r.data?.id})` });
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          const error = `${e.body.message} (${e.status} ${e.body.error})`;
          result.failed.push({ address: h.address, line: h.line, error });
          outcomes.push({ line: h.line, text: h.text, ok: false, detail: error });
        }
      }
    }
  }
  for (const b of parsed.invalid) {
    result.failed.push({ address: b.text, line: b.line, error: b.error });
    outcomes.push({ line: b.line, text: b.text, ok: false, detail: b.error });
  }
  if (ctx.json) printJson(ctx, result);
  else ctx.stdout.write(formatImport(outcomes));
  const failures = outcomes.filter((o) => !o.ok).length;
  if (failures > 0) throw new ImportFailed(failures);
};

/** Some lines of an import failed (each was already reported): exit 1. */
export class ImportFailed extends RefusedError {
  constructor(readonly failures: number) {
    super(`${failures} host${failures === 1 ? '' : 's'} failed to register`);
  }
}

const list: Handler = async (ctx) => {
  const hosts = await listAll<Host>(ctx.api, '/v1/hosts');
  if (ctx.json) return printJson(ctx, { items: hosts, total: hosts.length });
  ctx.stdout.write(formatTable(HOST_HEADERS, hosts.map(hostRow)));
};

const show: Handler = async (ctx) => {
  const id = await resolveHost(ctx, ctx.args.HOST!);
  const r = await ctx.api.get<Host>(`/v1/hosts/${encodeURIComponent(id)}`);
  if (ctx.json) return printJson(ctx, r.data);
  ctx.stdout.write(hostDetails(r.data));
};

function hostStateHandler(verb: 'disable' | 'enable'): Handler {
  return async (ctx) => {
    const id = await resolveHost(ctx, ctx.args.HOST!);
    const body = verb === 'disable' && ctx.options.reason !== undefined ? { reason: ctx.options.reason } : {};
    const r = await ctx.api.post<Host>(`/v1/hosts/${encodeURIComponent(id)}/${verb}`, body, ctx.idempotencyKey());
    if (ctx.json) return printJson(ctx, r.data ?? null);
    const h = r.data && typeof r.data === 'object' ? r.data : undefined;
    ctx.stdout.write(`Host ${h?.name ?? ctx.args.HOST} ${verb}d${h?.state ? ` (state ${h.state})` : ''}\n`);
  };
}

const remove: Handler = async (ctx) => {
  const id = await resolveHost(ctx, ctx.args.HOST!);
  const r = await ctx.api.delete(`/v1/hosts/${encodeURIComponent(id)}`);
  if (ctx.json) return printJson(ctx, r.data ?? null);
  ctx.stdout.write(`Host ${ctx.args.HOST} removed\n`);
};

export const hostHandlers: Record<string, Handler> = {
  'hosts add': add,
  'hosts import': importHosts,
  'hosts list': list,
  'hosts show': show,
  'hosts disable': hostStateHandler('disable'),
  'hosts enable': hostStateHandler('enable'),
  'hosts remove': remove,
};
