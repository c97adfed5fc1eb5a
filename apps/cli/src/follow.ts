/**
 * Following something to its end: an operation (GET /v1/operations/:id) or a VM's status. The loop is pure
 * logic around an injected poller and clock, so it is unit-tested without a server or real time.
 */
import { ApiError, NetworkError, OperationFailedError, WaitTimeoutError } from './errors';
import { formatDuration } from './table';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** What one polled document says. */
export interface Observation {
  /** The state shown to the user (e.g. "running", "stopping"). */
  state: string;
  done: boolean;
  ok: boolean;
  /** Why it failed (when done && !ok). */
  reason?: string;
}

export interface FollowUpdate<T> {
  state: string;
  elapsedMs: number;
  doc: T;
  /** True when the state differs from the previous poll's. */
  changed: boolean;
}

export interface FollowOptions<T> {
  poll: () => Promise<T>;
  observe: (doc: T) => Observation;
  clock: Clock;
  timeoutMs: number;
  /** First delay between polls; grows by half up to maxIntervalMs. */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** How many failed polls in a row (unreachable, 5xx) are tolerated before giving up. */
  maxConsecutiveErrors?: number;
  /** What is being followed, for messages ("operation 1234", "VM web-1"). */
  what: string;
  onUpdate?: (u: FollowUpdate<T>) => void;
  onPollError?: (err: unknown, consecutive: number, elapsedMs: number) => void;
}

/** A poll error worth retrying: the gateway restarting or briefly failing. 4xx answers are final. */
export function isTransientPollError(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof ApiError) return err.status >= 500 || err.status === 429;
  return false;
}

/**
 * Polls until observe() says done. Resolves with the last document when it ended well; throws
 * OperationFailedError (with the reason) when it ended badly, WaitTimeoutError when timeoutMs passed first, and
 * the poll's own error when it is not transient or kept failing.
 */
export async function follow<T>(o: FollowOptions<T>): Promise<{ doc: T; observation: Observation; elapsedMs: number }> {
  const start = o.clock.now();
  const maxErrors = o.maxConsecutiveErrors ?? 5;
  let interval = o.intervalMs ?? 500;
  const maxInterval = o.maxIntervalMs ?? 2000;
  let errors = 0;
  let lastState: string | undefined;
  let last: T | undefined;
  for (;;) {
    let doc: T | undefined;
    try {
      doc = await o.poll();
      errors = 0;
    } catch (err) {
      if (!isTransientPollError(err)) throw err;
      errors++;
      o.onPollError?.(err, errors, o.clock.now() - start);
      if (errors >= maxErrors) throw err;
    }
    const elapsedMs = o.clock.now() - start;
    if (doc !== undefined) {
      last = doc;
      const obs = o.observe(doc);
      o.onUpdate?.({ state: obs.state, elapsedMs, doc, changed: obs.state !== lastState });
      lastState = obs.state;
      if (obs.done) {
        if (!obs.ok) throw new OperationFailedError(`${o.what} ${obs.state}: ${obs.reason ?? 'no reason given'}`, doc);
        return { doc, observation: obs, elapsedMs };
      }
    }
    if (elapsedMs >= o.timeoutMs) {
      throw new WaitTimeoutError(`${o.what} still ${lastState ?? 'unknown'} after ${formatDuration(elapsedMs)}`, last);
    }
    await o.clock.sleep(Math.min(interval, Math.max(0, o.timeoutMs - elapsedMs)));
    interval = Math.min(maxInterval, Math.round(interval * 1.5));
  }
}

const OP_SUCCESS = new Set(['succeeded', 'success', 'successful', 'completed', 'complete', 'done', 'finished', 'ok']);
const OP_FAILURE = new Set(['failed', 'failure', 'error', 'errored', 'cancelled', 'canceled', 'aborted', 'rejected', 'timed-out', 'timedout', 'timeout']);

function reasonText(v: unknown): string | undefined {
  if (typeof v === 'string' && v) return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return reasonText(o.message) ?? reasonText(o.reason) ?? reasonText(o.error);
  }
  return undefined;
}

/** Reads an operation body: {status|state, error|reason|message}. Unknown states count as still going. */
export function observeOperation(op: unknown): Observation {
  const o = (op && typeof op === 'object' ? op : {}) as Record<string, unknown>;
  const state = String(o.status ?? o.state ?? 'unknown');
  const key = state.toLowerCase();
  if (OP_SUCCESS.has(key)) return { state, done: true, ok: true };
  if (OP_FAILURE.has(key)) return { state, done: true, ok: false, reason: reasonText(o.error) ?? reasonText(o.reason) ?? reasonText(o.message) ?? reasonText(o.result) };
  return { state, done: false, ok: false };
}

interface VmLike {
  status?: string;
  reason?: string | null;
}

/** A VM being created: done when it runs, failed when it fails (or disappears). */
export function observeVmCreate(vm: VmLike): Observation {
  const state = vm.status ?? 'unknown';
  if (state === 'running') return { state, done: true, ok: true };
  if (state === 'failed') return { state, done: true, ok: false, reason: vm.reason ?? undefined };
  if (state === 'deleted' || state === 'deleting') return { state, done: true, ok: false, reason: 'the VM was deleted' };
  return { state, done: false, ok: false };
}

/** A VM expected to settle in `target` (used when the server gives no operation to follow). */
export function observeVmTarget(target: string): (vm: VmLike) => Observation {
  return (vm) => {
    const state = vm.status ?? 'unknown';
    if (state === target) return { state, done: true, ok: true };
    if (state === 'failed') return { state, done: true, ok: false, reason: vm.reason ?? undefined };
    if (target !== 'deleted' && (state === 'deleted' || state === 'deleting')) return { state, done: true, ok: false, reason: 'the VM was deleted' };
    return { state, done: false, ok: false };
  };
}

/** The state a VM settles in after each action, for following the VM when there is no operation. */
export const ACTION_TARGET: Record<string, string> = {
  start: 'running',
  stop: 'stopped',
  'force-stop': 'stopped',
  reboot: 'running',
  suspend: 'suspended',
  resume: 'running',
  delete: 'deleted',
};

/**
 * Finds the operation in an action/delete answer: `{operation: {id, ...}}`, an operation body itself
 * (`{id, status, action|type|kind}` or a Location under /v1/operations/), or nothing (the answer is the VM).
 */
export function operationIn(body: unknown, location: string | undefined, vmId: string): { id: string; doc: unknown } | undefined {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const nested = b.operation as Record<string, unknown> | undefined;
  if (nested && typeof nested === 'object' && typeof nested.id === 'string') return { id: nested.id, doc: nested };
  const fromLocation = location ? /\/v1\/operations\/([^/?#]+)/.exec(location)?.[1] : undefined;
  if (fromLocation) return { id: decodeURIComponent(fromLocation), doc: typeof b.id === 'string' && b.id === fromLocation ? b : undefined };
  if (typeof b.id === 'string' && b.id !== vmId && (b.status !== undefined || b.state !== undefined) && (b.action !== undefined || b.type !== undefined || b.kind !== undefined || b.vmId !== undefined)) {
    return { id: b.id, doc: b };
  }
  return undefined;
}
