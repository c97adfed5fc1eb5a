import { CallHandler, ExecutionContext, HttpException } from '@nestjs/common';
import { lastValueFrom, of, throwError } from 'rxjs';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import type { IdempotencyRepository } from './idempotency.repository';
import type { StoredRequest } from './idempotency';

/** The repository's contract, in memory. */
function memoryRepo() {
  const rows = new Map<string, StoredRequest>();
  const repo = {
    rows,
    claim: async (key: string, _m: string, _p: string, hash: string) => {
      if (rows.has(key)) return false;
      rows.set(key, { requestHash: hash, status: null, location: null, responseBody: null, createdAt: new Date() });
      return true;
    },
    find: async (key: string) => rows.get(key) ?? null,
    complete: async (key: string, status: number, location: string | null, body: unknown) => {
      rows.set(key, { ...rows.get(key)!, status, location, responseBody: body ?? null });
    },
    release: async (key: string) => {
      if (rows.get(key)?.status === null) rows.delete(key);
    },
  };
  return repo;
}

function http(method: string, url: string, body: unknown, key?: string) {
  const headers: Record<string, string> = {};
  const res = {
    statusCode: 202,
    headers,
    status(code: number) {
      this.statusCode = code;
      return this;
    },
    setHeader(k: string, v: string) {
      headers[k.toLowerCase()] = v;
    },
    getHeader(k: string) {
      return headers[k.toLowerCase()];
    },
  };
  const req = { method, url, originalUrl: url, body, headers: key === undefined ? {} : { 'idempotency-key': key } };
  const ctx = { getType: () => 'http', switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }) } as unknown as ExecutionContext;
  return { ctx, res };
}

function handler(result: () => unknown, res?: { setHeader(k: string, v: string): void }) {
  let calls = 0;
  const h: CallHandler & { calls: () => number } = {
    handle: () => {
      calls++;
      res?.setHeader('Location', `/v1/vms/vm-${calls}`);
      try {
        return of(result());
      } catch (e) {
        return throwError(() => e);
      }
    },
    calls: () => calls,
  };
  return h;
}

describe('IdempotencyInterceptor', () => {
  it('runs the first request and replays its answer for the same key and body', async () => {
    const repo = memoryRepo();
    const i = new IdempotencyInterceptor(repo as unknown as IdempotencyRepository);
    const first = http('POST', '/v1/vms', { name: 'a', vcpus: 1 }, 'k1');
    const h1 = handler(() => ({ id: 'vm-1' }), first.res);
    expect(await lastValueFrom(i.intercept(first.ctx, h1))).toEqual({ id: 'vm-1' });
    expect(h1.calls()).toBe(1);

    const again = http('POST', '/v1/vms', { vcpus: 1, name: 'a' }, 'k1');
    again.res.statusCode = 200;
    const h2 = handler(() => ({ id: 'vm-2' }), undefined);
    expect(await lastValueFrom(i.intercept(again.ctx, h2))).toEqual({ id: 'vm-1' });
    expect(h2.calls()).toBe(0);
    expect(again.res.statusCode).toBe(202);
    expect(again.res.headers.location).toBe('/v1/vms/vm-1');
    expect(again.res.headers['idempotent-replayed']).toBe('true');
  });

  it('answers 422 for the same key with another body', async () => {
    const repo = memoryRepo();
    const i = new IdempotencyInterceptor(repo as unknown as IdempotencyRepository);
    const first = http('POST', '/v1/vms', { name: 'a' }, 'k2');
    await lastValueFrom(i.intercept(first.ctx, handler(() => ({ id: 'x' }), first.res)));
    const other = http('POST', '/v1/vms', { name: 'b' }, 'k2');
    const err: any = await lastValueFrom(i.intercept(other.ctx, handler(() => ({ id: 'y' })))).catch((e: any) => e);
    expect(err).toBeInstanceOf(HttpException);
    expect(err.getStatus()).toBe(422);
    expect(err.getResponse().message).toBe('Idempotency-Key reused with a different request');
  });

  it('frees the key when the request fails, so a retry runs', async () => {
    const repo = memoryRepo();
    const i = new IdempotencyInterceptor(repo as unknown as IdempotencyRepository);
    const first = http('POST', '/v1/vms', { name: 'a' }, 'k3');
    const boom = handler(() => {
      throw new HttpException('bus down', 503);
    });
    await expect(lastValueFrom(i.intercept(first.ctx, boom))).rejects.toBeInstanceOf(HttpException);
    expect(repo.rows.has('k3')).toBe(false);
    const retry = http('POST', '/v1/vms', { name: 'a' }, 'k3');
    const ok = handler(() => ({ id: 'vm-1' }), retry.res);
    expect(await lastValueFrom(i.intercept(retry.ctx, ok))).toEqual({ id: 'vm-1' });
    expect(ok.calls()).toBe(1);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    const repo = memoryRepo();
    await repo.claim('k4', 'POST', '/v1/vms', (await import('./idempotency')).requestHash('POST', '/v1/vms', { name: 'a' }));
    const i = new IdempotencyInterceptor(repo as unknown as IdempotencyRepository);
    const r = http('POST', '/v1/vms', { name: 'a' }, 'k4');
    const err: any = await lastValueFrom(i.intercept(r.ctx, handler(() => 1))).catch((e: any) => e);
    expect(err.getStatus()).toBe(409);
  });

  it('leaves GET, requests without a key and paths outside /v1 alone, and refuses a bad key', async () => {
    const repo = memoryRepo();
    const i = new IdempotencyInterceptor(repo as unknown as IdempotencyRepository);
    for (const [m, u, k] of [['GET', '/v1/vms', 'k5'], ['POST', '/v1/vms', undefined], ['POST', '/health/live', 'k5']] as const) {
      const r = http(m, u, {}, k);
      expect(await lastValueFrom(i.intercept(r.ctx, handler(() => 'ran')))).toBe('ran');
    }
    expect(repo.rows.size).toBe(0);
    const bad = http('POST', '/v1/vms', {}, 'has space');
    const err: any = await lastValueFrom(i.intercept(bad.ctx, handler(() => 'ran'))).catch((e: any) => e);
    expect(err.getStatus()).toBe(400);
    expect(err.getResponse().errors[0].field).toBe('Idempotency-Key');
  });
});
