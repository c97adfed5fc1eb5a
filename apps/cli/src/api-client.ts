/**
 * The thin REST client: axios, JSON in and out, errors turned into ApiError / NetworkError. Every POST carries
 * an Idempotency-Key, so retrying it after a dropped connection is safe; a broken connection (not a refused
 * one) is retried twice with the same key.
 */
import axios, { AxiosError, AxiosInstance } from 'axios';
import { randomUUID } from 'crypto';
import { ApiError, NetworkError, toErrorBody } from './errors';

export interface ApiResponse<T = any> {
  status: number;
  data: T;
  headers: Record<string, string | undefined>;
}

export type Query = Record<string, string | number | undefined>;

export interface Api {
  readonly baseUrl: string;
  get<T = any>(path: string, query?: Query): Promise<ApiResponse<T>>;
  post<T = any>(path: string, body: unknown, idempotencyKey?: string): Promise<ApiResponse<T>>;
  delete<T = any>(path: string): Promise<ApiResponse<T>>;
  /** A partial update (no Idempotency-Key: applying the same change twice leaves the same result). */
  patch<T = any>(path: string, body: unknown): Promise<ApiResponse<T>>;
}

export interface ApiClientOptions {
  baseUrl: string;
  timeoutMs?: number;
  retries?: number;
  retryDelayMs?: number;
  userAgent?: string;
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

/** Retry only when the connection broke mid-request (the request may or may not have arrived). */
export function isRetryableNetworkError(err: unknown): boolean {
  return err instanceof NetworkError && (RETRYABLE_CODES.has(err.code) || /socket hang up/i.test(err.message));
}

/** "http://h:8080/" + "/v1/x" + {a: 1} → "http://h:8080/v1/x?a=1" (undefined values dropped). */
export function buildUrl(baseUrl: string, path: string, query?: Query): string {
  const url = baseUrl.replace(/\/+$/, '') + path;
  const params = Object.entries(query ?? {}).filter(([, v]) => v !== undefined && v !== '');
  if (params.length === 0) return url;
  return url + '?' + params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
}

/** Checks --api / MINICLOUD_API: an http(s) URL without query. */
export function normalizeBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`"${raw}" must be an http:// or https:// URL`);
  if (u.search || u.hash) throw new Error(`"${raw}" must not have a query or fragment`);
  return u.toString().replace(/\/+$/, '');
}

export function createApiClient(o: ApiClientOptions): Api {
  const http: AxiosInstance = axios.create({
    timeout: o.timeoutMs ?? 120_000,
    proxy: false,
    validateStatus: () => true,
    headers: { accept: 'application/json', 'user-agent': o.userAgent ?? 'minicloud-cli' },
    // Keep the raw text when the body is not JSON (a proxy's HTML error page).
    transitional: { silentJSONParsing: true, forcedJSONParsing: true, clarifyTimeoutError: true },
  });
  const retries = o.retries ?? 2;
  const retryDelayMs = o.retryDelayMs ?? 300;

  async function send<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, query?: Query, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const url = buildUrl(o.baseUrl, path, query);
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await http.request({ method, url, data: body, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers } });
        const flat: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(r.headers ?? {})) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v === undefined || v === null ? undefined : String(v);
        if (r.status >= 400) throw new ApiError(r.status, toErrorBody(r.status, r.data), method, url, r.data);
        return { status: r.status, data: r.data as T, headers: flat };
      } catch (e) {
        if (e instanceof ApiError) throw e;
        const ax = e as AxiosError;
        const err = new NetworkError(ax.code ?? (ax.cause as NodeJS.ErrnoException | undefined)?.code ?? 'ERROR', method, url, ax.message || String(e));
        if (attempt < retries && isRetryableNetworkError(err)) {
          await new Promise((r) => setTimeout(r, retryDelayMs * (attempt + 1)));
          continue;
        }
        throw err;
      }
    }
  }

  return {
    baseUrl: o.baseUrl,
    get: (path, query) => send('GET', path, query),
    post: (path, body, key) => send('POST', path, undefined, body ?? {}, { 'Idempotency-Key': key ?? randomUUID() }),
    delete: (path) => send('DELETE', path),
    patch: (path, body) => send('PATCH', path, undefined, body ?? {}),
  };
}
