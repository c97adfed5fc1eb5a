import { HttpStatus } from '@nestjs/common';

/** The one error body shape of the REST API. */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  message: string;
  errors?: { field: string; reason: string }[];
  /** Extra facts a client can act on (e.g. a 409's `state` or `vms`), passed through from our own bodies. */
  [extra: string]: unknown;
}

/** Keys of an error body that are not extras. */
const BASE_KEYS = new Set(['statusCode', 'error', 'message', 'errors']);

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return REASON[status] ?? (status >= 500 ? 'Server Error' : 'Error');
}

/**
 * Which HTTP status a client sees for a provisioner RPC failure. The provisioner's own 4xx answers
 * (not found, conflict, unprocessable) and the bus's 503 (nobody answering) / 504 (no answer in time) pass
 * through; a 400 from the provisioner means the gateway sent something its own validation should have caught,
 * and a 5xx there is the upstream's failure: both are 502 for the client.
 */
export function httpStatusForRpc(rpcStatus: number): number {
  if ([404, 409, 422, 503, 504].includes(rpcStatus)) return rpcStatus;
  if (rpcStatus === 400) return HttpStatus.BAD_GATEWAY;
  if (rpcStatus >= 400 && rpcStatus < 500) return rpcStatus;
  return HttpStatus.BAD_GATEWAY;
}

/** `service` names the upstream in a 502's message (the provisioner unless told otherwise). */
export function rpcErrorBody(rpcStatus: number, message: string, service = 'provisioner'): ApiErrorBody {
  const statusCode = httpStatusForRpc(rpcStatus);
  const text = statusCode === HttpStatus.BAD_GATEWAY ? `${service} failed (${rpcStatus}): ${message}` : message;
  return { statusCode, error: reasonPhrase(statusCode), message: text };
}

/**
 * Normalises whatever an HttpException carries (Nest's defaults use `message` arrays, plain strings, or our
 * own bodies) into { statusCode, error, message, errors? }.
 */
export function normalizeErrorBody(status: number, response: unknown): ApiErrorBody {
  const body: ApiErrorBody = { statusCode: status, error: reasonPhrase(status), message: reasonPhrase(status) };
  if (typeof response === 'string') {
    body.message = response;
    return body;
  }
  if (response && typeof response === 'object') {
    const r = response as Record<string, unknown>;
    if (typeof r.error === 'string' && r.error) body.error = r.error;
    if (Array.isArray(r.message)) body.message = r.message.map(String).join('; ');
    else if (typeof r.message === 'string' && r.message) body.message = r.message;
    if (Array.isArray(r.errors)) {
      body.errors = r.errors
        .filter((e): e is { field: unknown; reason: unknown } => !!e && typeof e === 'object')
        .map((e) => ({ field: String(e.field), reason: String(e.reason) }));
    }
    for (const [k, v] of Object.entries(r)) if (!BASE_KEYS.has(k) && v !== undefined) body[k] = v;
  }
  return body;
}

/** A 400 that names one field, shaped like the validation pipe's. */
export function fieldErrorBody(field: string, reason: string): ApiErrorBody {
  return { statusCode: 400, error: 'Bad Request', message: `${field}: ${reason}`, errors: [{ field, reason }] };
}
