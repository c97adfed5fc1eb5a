import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { describeValidationErrors } from '@minicloud/contracts';

export interface FieldError {
  field: string;
  reason: string;
}

export function fieldErrors(errors: ValidationError[]): FieldError[] {
  return describeValidationErrors(errors).map((line) => {
    const i = line.indexOf(': ');
    return { field: line.slice(0, i), reason: line.slice(i + 2) };
  });
}

/**
 * The REST edge's validation: unknown fields are refused, types converted only where declared, and a 400
 * lists every field with its reason: { statusCode: 400, error: "Bad Request", message, errors: [{field, reason}] }.
 */
export function restValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const list = fieldErrors(errors);
      return new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: list.map((e) => `${e.field}: ${e.reason}`).join('; '),
        errors: list,
      });
    },
  });
}
