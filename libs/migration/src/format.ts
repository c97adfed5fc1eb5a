/** Numbers for the model's sentences: MiB, MiB/s, seconds, ms. */
const MiB = 2 ** 20;

function trim(n: number, digits: number): string {
  return String(Number(n.toFixed(digits)));
}

export function fmtMiB(bytes: number): string {
  const v = bytes / MiB;
  return `${trim(v, v >= 100 ? 0 : v >= 10 ? 1 : 2)} MiB`;
}

export function fmtMiBs(bytesPerSec: number): string {
  return `${fmtMiB(bytesPerSec)}/s`;
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${trim(ms, ms < 10 ? 1 : 0)} ms`;
  const s = ms / 1000;
  return `${trim(s, s >= 100 ? 0 : 1)} s`;
}

export function fmtPercent(fraction: number): string {
  return `${trim(fraction * 100, 1)} %`;
}
