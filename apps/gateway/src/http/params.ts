import { ParseUUIDPipe } from '@nestjs/common';
import { fieldError } from './exceptions';

/** `:id` must be a UUID: otherwise a 400 naming the field (not a 404 for something that can never exist). */
export function uuidParam(field = 'id'): ParseUUIDPipe {
  return new ParseUUIDPipe({ exceptionFactory: () => fieldError(field, `${field} must be a UUID`) });
}
