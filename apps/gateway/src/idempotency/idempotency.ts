import { createHash } from 'crypto';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Keys are remembered this long; an older key counts as new. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** JSON with object keys sorted at every level, so {a,b} and {b,a} hash the same. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

/** What identifies a request: method, path and body (an empty body and no body are the same). */
export function requestHash(method: string, path: string, body: unknown): string {
  const b = body && typeof body === 'object' && Object.keys(body as object).length === 0 ? null : body ?? null;
  return createHash('sha256').update(`${method.toUpperCase()} ${path}\n${canonicalJson(b)}`).digest('hex');
}

/** Why a key is unusable, or null. */
export function keyProblem(key: string): string | null {
  return IDEMPOTENCY_KEY_PATTERN.test(key) ? null : 'Idempotency-Key must be 1-255 printable ASCII characters without spaces';
}

/** A remembered request: status is null while the first request is still being answered. */
export interface StoredRequest {
  requestHash: string;
  status: number | null;
  location: string | null;
  responseBody: unknown;
  createdAt: Date;
}

export type ReplayDecision =
  | { kind: 'proceed' }
  | { kind: 'replay'; status: number; location: string | null; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in-progress' };

/** What to do with a request whose key is already stored (`stored` null: the key is new). */
export function decide(stored: StoredRequest | null, hash: string, now: Date): ReplayDecision {
  if (!stored || now.getTime() - stored.createdAt.getTime() >= IDEMPOTENCY_TTL_MS) return { kind: 'proceed' };
  if (stored.requestHash !== hash) return { kind: 'mismatch' };
  if (stored.status === null) return { kind: 'in-progress' };
  return { kind: 'replay', status: stored.status, location: stored.location, body: stored.responseBody };
}

/** Only answers that completed the request are remembered; failures leave the key free for a retry. */
export function isRemembered(status: number): boolean {
  return status >= 200 && status < 300;
}
