import { SshCommandError, SshUnreachableError } from './errors';

export interface RetryOptions {
  /** Total attempts including the first (default 4). */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Which errors are worth another try (default: `isTransientError`). */
  isTransient?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** libvirt / qemu messages that mean "try again in a moment", not "this cannot work". */
const TRANSIENT_TEXT = [
  /cannot acquire state change lock/i,
  /resource temporarily unavailable/i,
  /device or resource busy/i,
  /\bbusy\b/i,
  /failed to connect socket to .*libvirt/i,
  /failed to connect to the hypervisor/i,
  /Timed out during operation/i,
];

/** Does a tool's error output mean "busy, try again"? */
export function isTransientText(stderr: string): boolean {
  return TRANSIENT_TEXT.some((re) => re.test(stderr));
}

export function isTransientError(err: unknown): boolean {
  if (err instanceof SshUnreachableError) return true;
  if (err instanceof SshCommandError) return isTransientText(err.stderr);
  return false;
}

export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
}

/** Runs fn; on a transient error waits (exponential backoff) and tries again, up to `attempts` in total. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, o.attempts ?? 4);
  const base = o.baseDelayMs ?? 500;
  const max = o.maxDelayMs ?? 8000;
  const transient = o.isTransient ?? isTransientError;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !transient(err)) throw err;
      const delay = backoffDelay(attempt, base, max);
      o.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
