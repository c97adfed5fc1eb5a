import type { ImageView } from '@minicloud/contracts';
import { basename, extname, isAbsolute, resolve } from 'path';
import { Ctx, Handler, listAll, printJson } from '../context';
import { formatBytes, formatDetails, formatTable } from '../table';

type Image = Partial<ImageView> & { id: string; path?: string | null };

/** "/x/minicloud-lab.qcow2" → "minicloud-lab"; "/x/disk.img.qcow2" → "disk.img". */
export function defaultImageName(path: string): string {
  const base = basename(path);
  const ext = extname(base);
  return ext && ext !== base ? base.slice(0, -ext.length) : base;
}

function absolute(ctx: Ctx, p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  return isAbsolute(p) ? p : resolve(ctx.cwd, p);
}

export function imageDetails(i: Image): string {
  return formatDetails([
    ['id', i.id],
    ['name', i.name],
    ['path', i.path],
    ['format', i.format],
    ['size', formatBytes(i.sizeBytes)],
    ['virtual size', formatBytes(i.virtualSizeBytes)],
    ['arch', i.arch],
    ['checksum', i.checksum],
    ...(i.kernelPath ? ([['kernel', i.kernelPath], ['initrd', i.initrdPath], ['cmdline', i.cmdline]] as [string, string | undefined][]) : []),
    ['registered', i.registeredAt],
  ]);
}

const add: Handler = async (ctx) => {
  const path = absolute(ctx, ctx.args.PATH!)!;
  const body: Record<string, unknown> = { name: (ctx.options.name as string | undefined) ?? defaultImageName(path), path };
  const kernel = absolute(ctx, ctx.options.kernel as string | undefined);
  const initrd = absolute(ctx, ctx.options.initrd as string | undefined);
  if (kernel) body.kernelPath = kernel;
  if (initrd) body.initrdPath = initrd;
  if (ctx.options.cmdline !== undefined) body.cmdline = ctx.options.cmdline;
  const r = await ctx.api.post<Image>('/v1/images', body, ctx.idempotencyKey());
  if (ctx.json) return printJson(ctx, r.data);
  ctx.stdout.write(`Image ${r.data.name} registered (${r.data.id})\n` + imageDetails(r.data));
};

const list: Handler = async (ctx) => {
  const images = await listAll<Image>(ctx.api, '/v1/images');
  if (ctx.json) return printJson(ctx, { items: images, total: images.length });
  ctx.stdout.write(
    formatTable(
      ['ID', 'NAME', 'FORMAT', 'SIZE', 'VIRTUAL', 'ARCH', 'BOOT'],
      images.map((i) => [i.id, i.name, i.format, formatBytes(i.sizeBytes), formatBytes(i.virtualSizeBytes), i.arch, i.kernelPath ? 'kernel' : 'disk']),
    ),
  );
};

export const imageHandlers: Record<string, Handler> = { 'images add': add, 'images list': list };
