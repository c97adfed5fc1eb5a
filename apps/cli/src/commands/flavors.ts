import { Handler, asPage, printJson } from '../context';
import { RefusedError, UsageError } from '../errors';
import type { Api } from '../api-client';
import { formatMiB, formatTable } from '../table';

export interface Flavor {
  id?: string;
  name: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

/** The flavor named (or with the id) `ref`, from GET /v1/flavors. */
export async function findFlavor(api: Api, ref: string): Promise<Flavor> {
  const flavors = asPage<Flavor>((await api.get('/v1/flavors', { limit: 500 })).data).items;
  const f = flavors.find((x) => x.name === ref) ?? flavors.find((x) => x.id === ref);
  if (!f) throw new RefusedError(`no flavor named "${ref}"${flavors.length ? ` (flavors: ${flavors.map((x) => x.name).join(', ')})` : ' (no flavors defined)'}`);
  return f;
}

const list: Handler = async (ctx) => {
  const r = await ctx.api.get('/v1/flavors', { limit: 500 });
  if (ctx.json) return printJson(ctx, r.data);
  const flavors = asPage<Flavor>(r.data).items;
  ctx.stdout.write(formatTable(['NAME', 'VCPUS', 'MEMORY', 'DISK'], flavors.map((f) => [f.name, f.vcpus, formatMiB(f.memoryMiB), `${f.diskGiB} GiB`])));
};

const create: Handler = async (ctx) => {
  const missing = ['vcpus', 'memory', 'disk'].filter((o) => ctx.options[o] === undefined);
  if (missing.length) throw new UsageError(`flavors create needs ${missing.map((m) => '--' + m).join(', ')}`, 'flavors create');
  const body = { name: ctx.args.NAME!, vcpus: ctx.options.vcpus, memoryMiB: ctx.options.memory, diskGiB: ctx.options.disk };
  const r = await ctx.api.post<Flavor>('/v1/flavors', body, ctx.idempotencyKey());
  if (ctx.json) return printJson(ctx, r.data);
  const f = r.data && typeof r.data === 'object' ? r.data : (body as Flavor);
  ctx.stdout.write(`Flavor ${f.name} created: ${f.vcpus} vCPU, ${formatMiB(f.memoryMiB)} memory, ${f.diskGiB} GiB disk\n`);
};

const remove: Handler = async (ctx) => {
  const r = await ctx.api.delete(`/v1/flavors/${encodeURIComponent(ctx.args.NAME!)}`);
  if (ctx.json) return printJson(ctx, r.data ?? null);
  ctx.stdout.write(`Flavor ${ctx.args.NAME} deleted\n`);
};

export const flavorHandlers: Record<string, Handler> = { 'flavors list': list, 'flavors create': create, 'flavors delete': remove };
