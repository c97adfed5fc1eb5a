import { ArgumentsHost, Catch, ExceptionFilter, HttpException, LoggerService } from '@nestjs/common';
import { ApiErrorBody, normalizeErrorBody } from './errors';

/**
 * Every error leaves the API as { statusCode, error, message, errors? }. Unexpected errors are logged with their
 * stack and answered as a bare 500 (no internals leak to clients). Body-parser failures (bad JSON, too large)
 * carry a `status`/`statusCode` and are treated like HttpExceptions.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger?: LoggerService) {}

  catch(exception: unknown, host: ArgumentsHost) {
    const res = host.switchToHttp().getResponse<{ headersSent: boolean; status(code: number): { json(body: unknown): void } }>();
    let body: ApiErrorBody;
    if (exception instanceof HttpException) {
      body = normalizeErrorBody(exception.getStatus(), exception.getResponse());
    } else if (isClientHttpError(exception)) {
      const e = exception as { status: number; message?: string; type?: string };
      body = normalizeErrorBody(e.status, e.type === 'entity.parse.failed' ? 'request body is not valid JSON' : e.message);
    } else {
      this.logger?.error({ msg: 'unhandled error', err: String((exception as Error)?.message ?? exception) }, (exception as Error)?.stack, 'ApiExceptionFilter');
      body = normalizeErrorBody(500, 'internal error');
    }
    if (res.headersSent) return;
    res.status(body.statusCode).json(body);
  }
}

function isClientHttpError(e: unknown): boolean {
  const s = (e as { status?: unknown })?.status;
  return typeof s === 'number' && s >= 400 && s < 500 && (e as { expose?: boolean }).expose === true;
}
