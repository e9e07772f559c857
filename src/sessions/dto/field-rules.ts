// Field rules the DTOs share, each one a JSON Schema keyword states exactly, so the OpenAPI description
// and the validation pipe agree on every value.
import { ValidateIf, ValidationOptions, registerDecorator } from 'class-validator';

/**
 * May be left out; when present it is validated, null included. (class-validator's IsOptional also lets
 * null through, which the contract types and the schema do not admit.)
 */
export const Omittable = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);

/**
 * min..max code points: JSON Schema's minLength/maxLength. (class-validator's Length and MaxLength count
 * UTF-16 units less variation selectors, which no schema keyword states.)
 */
export function CodePoints(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'codePoints',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `$property must be ${min}-${max} characters`, ...options },
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return false;
          const length = [...value].length;
          return length >= min && length <= max;
        },
      },
    });
}

/** At most `maxBytes` of UTF-8 (LiveKit metadata travels in every join/update message). */
export function MaxUtf8Bytes(maxBytes: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'maxUtf8Bytes',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `$property must be at most ${maxBytes} bytes`, ...options },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= maxBytes,
      },
    });
}
