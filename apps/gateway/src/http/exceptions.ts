import { BadRequestException, HttpException } from '@nestjs/common';
import { RpcError } from '@minicloud/messaging';
import { fieldErrorBody, rpcErrorBody } from './errors';

export function fieldError(field: string, reason: string): BadRequestException {
  return new BadRequestException(fieldErrorBody(field, reason));
}

/** Turns a bus RPC failure into the HTTP error the client sees; rethrows anything else untouched. */
export function toHttpError(err: unknown, service?: string): unknown {
  if (err instanceof RpcError) {
    const body = rpcErrorBody(err.status, err.message, service);
    return new HttpException(body, body.statusCode);
  }
  return err;
}
