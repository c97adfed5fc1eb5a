/**
 * What can go wrong in a CLI run, and which exit code each maps to. Scripts rely on these codes:
 *   0 success · 1 the server refused (4xx) · 2 usage error · 3 server error or unreachable · 4 operation failed
 *   5 gave up waiting (--timeout) before the operation ended.
 */
export const ExitCode = {
  Ok: 0,
  Refused: 1,
  Usage: 2,
  ServerError: 3,
  OperationFailed: 4,
  WaitTimeout: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The gateway's one error body shape (apps/gateway/src/http/errors.ts). */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  message: string;
  errors?: { field: string; reason: string }[];
}

/** Bad command line: unknown command or option, missing or malformed argument. */
export class UsageError extends Error {
  constructor(message: string, readonly helpFor?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The server answered with an HTTP error status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
    readonly method: string,
    readonly url: string,
    /** The raw response data (what --json prints). */
    readonly raw: unknown,
  ) {
    super(body.message);
    this.name = 'ApiError';
  }
}

/** The server could not be reached, or the connection broke before an answer. */
export class NetworkError extends Error {
  constructor(
    readonly code: string,
    readonly method: string,
    readonly url: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'NetworkError';
  }
}

/** A followed operation (or VM) ended in failure. */
export class OperationFailedError extends Error {
  constructor(reason: string, readonly last: unknown) {
    super(reason);
    this.name = 'OperationFailedError';
  }
}

/** --wait gave up before the operation reached an end state. */
export class WaitTimeoutError extends Error {
  constructor(message: string, readonly last: unknown) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/** Something the client itself refuses (a name that matches nothing, a file that does not parse...): exit 1. */
export class RefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedError';
  }
}

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof UsageError) return ExitCode.Usage;
  if (err instanceof ApiError) return err.status >= 400 && err.status < 500 ? ExitCode.Refused : ExitCode.ServerError;
  if (err instanceof NetworkError) return ExitCode.ServerError;
  if (err instanceof OperationFailedError) return ExitCode.OperationFailed;
  if (err instanceof WaitTimeoutError) return ExitCode.WaitTimeout;
  if (err instanceof RefusedError) return ExitCode.Refused;
  return ExitCode.ServerError;
}

/** Turns any response data into the gateway's error body shape (HTML or text from a proxy included). */
export function toErrorBody(status: number, data: unknown): ApiErrorBody {
  const fallback = `HTTP ${status}`;
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const d = data as Record<string, unknown>;
    const message = Array.isArray(d.message) ? d.message.map(String).join('; ') : typeof d.message === 'string' && d.message ? d.message : fallback;
    const body: ApiErrorBody = { statusCode: typeof d.statusCode === 'number' ? d.statusCode : status, error: typeof d.error === 'string' ? d.error : fallback, message };
    if (Array.isArray(d.errors)) {
      body.errors = d.errors
        .filter((e): e is Record<string, unknown> => !!e && typeof e === 'object')
        .map((e) => ({ field: String(e.field ?? ''), reason: String(e.reason ?? '') }));
    }
    return body;
  }
  const text = typeof data === 'string' ? data.trim().slice(0, 500) : '';
  return { statusCode: status, error: fallback, message: text || fallback };
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function networkExplanation(err: NetworkError): string {
  const where = `${err.method} ${err.url}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `cannot reach the minicloud API at ${originOf(err.url)}: connection refused (tried ${where}). Is the gateway running? Set --api URL or MINICLOUD_API.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach the minicloud API: host not found for ${err.url} (${err.message}). Set --api URL or MINICLOUD_API.`;
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
      return `the minicloud API did not answer in time (${where}): ${err.message}`;
    default:
      return `the connection to the minicloud API failed (${where}): ${err.code ? err.code + ': ' : ''}${err.message}`;
  }
}

/** The lines to print on stderr for an error (without the "minicloud: " prefix). */
export function describeError(err: unknown): string[] {
  if (err instanceof ApiError) {
    const lines = [`error: ${err.body.message} (${err.status} ${err.body.error})`];
    for (const e of err.body.errors ?? []) lines.push(`  ${e.field}: ${e.reason}`);
    return lines;
  }
  if (err instanceof NetworkError) return [`error: ${networkExplanation(err)}`];
  if (err instanceof UsageError) return [`usage error: ${err.message}`, `Run "minicloud ${err.helpFor ? err.helpFor + ' ' : ''}--help" for usage.`];
  if (err instanceof OperationFailedError) return [`failed: ${err.message}`];
  if (err instanceof WaitTimeoutError) return [`gave up waiting: ${err.message}`];
  if (err instanceof RefusedError) return [`error: ${err.message}`];
  if (err instanceof Error) return [`error: ${err.message}`];
  return [`error: ${String(err)}`];
}
