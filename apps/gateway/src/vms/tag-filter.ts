import { TAG_KEY_PATTERN } from './dto';

/** `tag=k=v` (key with that value) or `tag=k` (key present). */
export interface TagFilter {
  key: string;
  value?: string;
}

/** Parses the `tag` query values (one or many). Returns the filters, or the reason the first bad one is bad. */
export function parseTagFilters(raw: string | string[] | undefined): { filters: TagFilter[] } | { error: string } {
  if (raw === undefined) return { filters: [] };
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length > 20) return { error: 'tag may be given at most 20 times' };
  const filters: TagFilter[] = [];
  for (const item of list) {
    if (typeof item !== 'string') return { error: 'tag must be "key" or "key=value"' };
    const i = item.indexOf('=');
    const key = i < 0 ? item : item.slice(0, i);
    if (!TAG_KEY_PATTERN.test(key)) return { error: `tag key "${key.slice(0, 64)}" must be 1-63 characters: letters, digits, ".", "_", "/" or "-"` };
    if (i < 0) filters.push({ key });
    else {
      const value = item.slice(i + 1);
      if (value.length > 256) return { error: `tag "${key}" value must be at most 256 characters` };
      filters.push({ key, value });
    }
  }
  return { filters };
}
