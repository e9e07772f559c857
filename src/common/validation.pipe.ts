import { ValidationError, ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';
import { DomainError } from './domain-error';

function collect(
  errors: ValidationError[],
  prefix = '',
  into: Record<string, string[]> = {},
): Record<string, string[]> {
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const messages = Object.values(error.constraints ?? {});
    if (messages.length > 0) into[field] = messages;
    if (error.children?.length) collect(error.children, field, into);
  }
  return into;
}

/** Unknown fields are refused (the OpenAPI description closes request bodies because of it). */
export const VALIDATION_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  forbidUnknownValues: true,
} as const satisfies ValidationPipeOptions;

/** Unknown fields are rejected, every failing field is named in `details`. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    ...VALIDATION_OPTIONS,
    exceptionFactory: (errors) => {
      const details = collect(errors);
      const fields = Object.keys(details);
      return new DomainError(
        'validation-failed',
        `invalid ${fields.join(', ')}: ${fields.map((f) => (details[f] ?? []).join(', ')).join('; ')}`,
        details,
      );
    },
  });
}
