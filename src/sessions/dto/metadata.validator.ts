import { ValidationOptions, registerDecorator } from 'class-validator';

/** At most `maxBytes` of UTF-8 (LiveKit metadata travels in every join/update message). */
export function MaxUtf8Bytes(maxBytes: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'maxUtf8Bytes',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `$property must be at most ${maxBytes} bytes`, ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= maxBytes },
    });
}
