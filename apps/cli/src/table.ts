/** Plain-text output: aligned tables and "key: value" blocks. Pure functions, no colour. */

export type Cell = string | number | boolean | null | undefined;

export function cellText(v: Cell): string {
  if (v === null || v === undefined || v === '') return '-';
  return String(v).replace(/[\r\n\t]+/g, ' ');
}

/**
 * Columns padded to their widest cell, two spaces apart, no trailing spaces. An empty table prints the headers
 * and `(none)` so a person sees the command worked.
 */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => headers.map((_, k) => cellText(r[k])));
  const widths = headers.map((h, k) => Math.max(h.length, ...text.map((r) => r[k].length)));
  const line = (cells: string[]) => cells.map((c, k) => (k === cells.length - 1 ? c : c.padEnd(widths[k]))).join('  ').trimEnd();
  const out = [line(headers), ...text.map(line)];
  if (rows.length === 0) out.push('(none)');
  return out.join('\n') + '\n';
}

/** "key: value" lines with the keys aligned. */
export function formatDetails(pairs: [string, Cell][]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(width + 1)} ${cellText(v)}`).join('\n') + '\n';
}

export function formatMiB(mib: number | null | undefined): string {
  if (mib === null || mib === undefined || !Number.isFinite(mib)) return '-';
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

export function formatTags(tags: Record<string, string> | null | undefined): string {
  if (!tags) return '';
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}
