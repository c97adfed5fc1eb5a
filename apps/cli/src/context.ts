/** What a command handler gets: the API, output streams, options, and helpers shared by all commands. */
import type { Api, Query } from './api-client';
import type { Options } from './args';
import type { Clock } from './follow';
import type { ProgressStream } from './progress';
import { RefusedError } from './errors';

export interface Output extends ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface Ctx {
  api: Api;
  args: Record<string, string | undefined>;
  options: Options;
  json: boolean;
  /** --timeout for --wait, in ms. */
  waitTimeoutMs: number;
  stdout: Output;
  stderr: Output;
  clock: Clock;
  cwd: string;
  readFile(path: string): string;
  /** The Idempotency-Key for the n-th POST of this run (--idempotency-key K gives K, then K-2, K-3, ...). */
  idempotencyKey(): string;
  /** Poll interval of --wait loops (ms). */
  pollIntervalMs: number;
}

export type Handler = (ctx: Ctx) => Promise<void>;

export function printJson(ctx: Ctx, doc: unknown): void {
  ctx.stdout.write(JSON.stringify(doc === undefined || doc === '' ? null : doc, null, 2) + '\n');
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Page<T> {
  items: T[];
  total: number;
}

/** A list answer as {items, total}, whether the server sent that or a bare array. */
export function asPage<T>(data: unknown): Page<T> {
  if (Array.isArray(data)) return { items: data as T[], total: data.length };
  const d = (data ?? {}) as Partial<Page<T>>;
  const items = Array.isArray(d.items) ? d.items : [];
  return { items, total: typeof d.total === 'number' ? d.total : items.length };
}

/** Every item of a paginated list (at most `cap`). */
export async function listAll<T>(api: Api, path: string, query: Query = {}, cap = 10_000): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; out.length < cap; ) {
    const page = asPage<T>((await api.get(path, { ...query, limit: 500, offset })).data);
    out.push(...page.items);
    offset += page.items.length;
    if (page.items.length === 0 || offset >= page.total) break;
  }
  return out;
}

/** A name (or address) → the one matching item's id; a UUID is taken as is. */
export async function resolveRef<T extends { id: string }>(
  api: Api,
  ref: string,
  path: string,
  kind: string,
  matches: (item: T, ref: string) => boolean,
): Promise<string> {
  if (UUID_RE.test(ref)) return ref;
  const found = (await listAll<T>(api, path)).filter((x) => matches(x, ref));
  if (found.length === 0) throw new RefusedError(`no ${kind} named "${ref}"`);
  if (found.length > 1) throw new RefusedError(`${found.length} ${kind}s match "${ref}" (${found.map((f) => f.id).join(', ')}): use the id`);
  return found[0].id;
}
