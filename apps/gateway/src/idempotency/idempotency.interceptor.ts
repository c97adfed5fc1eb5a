import { CallHandler, ConflictException, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import { from, lastValueFrom, Observable } from 'rxjs';
import { fieldError } from '../http/exceptions';
import { decide, IDEMPOTENCY_HEADER, isRemembered, keyProblem, requestHash } from './idempotency';
import { IdempotencyRepository } from './idempotency.repository';

interface Req {
  method: string;
  originalUrl?: string;
  url: string;
  body?: unknown;
  headers: Record<string, string | string[] | undefined>;
}
interface Res {
  statusCode: number;
  status(code: number): Res;
  setHeader(name: string, value: string): void;
  getHeader(name: string): unknown;
}

/**
 * Idempotency-Key on POST and DELETE under /v1: the first request with a key runs and its successful answer is
 * stored (status, body, Location) for 24 h; a repeat with the same method, path and body gets that answer again
 * (with `Idempotent-Replayed: true`), a repeat with anything else a 422, a repeat while the first still runs a 409.
 * A request that fails frees its key, so a retry runs again.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly repo: IdempotencyRepository) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<Req>();
    const res = ctx.switchToHttp().getResponse<Res>();
    const method = req.method.toUpperCase();
    const path = (req.originalUrl ?? req.url).split('?')[0];
    const raw = req.headers[IDEMPOTENCY_HEADER];
    if ((method !== 'POST' && method !== 'DELETE') || !path.startsWith('/v1/') || raw === undefined) return next.handle();
    return from(this.run(Array.isArray(raw) ? raw[0] : raw, method, (req.originalUrl ?? req.url), req.body, res, next));
  }

  private async run(key: string, method: string, path: string, body: unknown, res: Res, next: CallHandler): Promise<unknown> {
    const problem = keyProblem(key);
    if (problem) throw fieldError('Idempotency-Key', problem);
    const hash = requestHash(method, path, body);
    if (!(await this.repo.claim(key, method, path, hash))) {
      const d = decide(await this.repo.find(key), hash, new Date());
      switch (d.kind) {
        case 'mismatch':
          throw new HttpException({ statusCode: 422, error: 'Unprocessable Entity', message: 'Idempotency-Key reused with a different request' }, 422);
        case 'in-progress':
          throw new ConflictException('a request with this Idempotency-Key is still being processed; retry shortly');
        case 'replay':
          res.status(d.status);
          if (d.location) res.setHeader('Location', d.location);
          res.setHeader('Idempotent-Replayed', 'true');
          return d.body ?? undefined;
        case 'proceed':
          // Expired between claim and find, or released by a failed first request: run it as new.
          if (!(await this.repo.claim(key, method, path, hash))) throw new ConflictException('a request with this Idempotency-Key is still being processed; retry shortly');
      }
    }
    let result: unknown;
    try {
      result = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (err) {
      await this.repo.release(key).catch(() => undefined);
      throw err;
    }
    const status = res.statusCode;
    if (isRemembered(status)) {
      const location = res.getHeader('location');
      await this.repo.complete(key, status, typeof location === 'string' ? location : null, result);
    } else {
      await this.repo.release(key).catch(() => undefined);
    }
    return result;
  }
}


