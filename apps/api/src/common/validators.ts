import { Transform } from 'class-transformer';
import { registerDecorator, type ValidationOptions } from 'class-validator';
import { compareRfc3339, isRfc3339, searchTermProblem } from '@aos/logs-domain';

/** An RFC 3339 timestamp with an explicit offset (`Z` or `±hh:mm`). */
export function IsRfc3339(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isRfc3339',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: 'must be an RFC 3339 timestamp with an offset, e.g. 2026-01-20T10:15:30.123Z', ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && isRfc3339(value) },
    });
}

/** A full-text search term PostgreSQL can run (logs-domain searchTermProblem: its length, its negations). */
export function IsSearchTerm(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isSearchTerm',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: (args) => searchTermProblem(String(args.value)) ?? 'must be a search term', ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && searchTermProblem(value) === undefined },
    });
}

/**
 * An RFC 3339 timestamp not earlier than the one in `startProperty` (a time
 * range's end): a reversed range is a client's mistake, not an empty answer.
 * Equal instants pass (an empty half-open range), as do ranges this cannot
 * compare (either end invalid or absent: other checks name those).
 */
export function IsNotBefore(startProperty: string, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isNotBefore',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [startProperty],
      options: { message: `must not be earlier than ${startProperty}`, ...options },
      validator: {
        validate: (value: unknown, args) => {
          const start: unknown = (args?.object as Record<string, unknown> | undefined)?.[startProperty];
          if (typeof value !== 'string' || typeof start !== 'string' || !isRfc3339(value) || !isRfc3339(start)) return true;
          return compareRfc3339(value, start) >= 0;
        },
      },
    });
}

/** Query-string booleans: exactly `true` or `false`. */
export const ToBoolean = () =>
  Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value), { toClassOnly: true });

/** Query-string integers: digits only (so `1e3`, `0x10` and `` stay invalid). */
export const ToInteger = () =>
  Transform(({ value }) => (typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value), { toClassOnly: true });

export const INT32_MAX = 2_147_483_647;

/**
 * A JSON object as JSON.parse makes it. The single-pass body validators send
 * anything else (arrays, class instances, objects with a poisoned prototype)
 * to the DTOs.
 */
export function isPlainJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * The shared shape of the single-pass body validators: one item, or `{[key]:
 * [1..max items]}` with no other field; answers the items (the parsed objects
 * themselves) when `isValidItem` accepts each, else null (the caller then runs
 * its DTOs, which name the offending fields).
 */
export function fastValidBatch<T>(body: unknown, key: string, max: number, isValidItem: (item: unknown) => boolean): T[] | null {
  if (!isPlainJsonObject(body)) return null;
  if (!(key in body)) return isValidItem(body) ? [body as T] : null;
  for (const k in body) if (k !== key) return null;
  const items = body[key];
  if (!Array.isArray(items) || items.length < 1 || items.length > max) return null;
  for (let i = 0; i < items.length; i++) if (!isValidItem(items[i])) return null;
  return items as T[];
}

/**
 * The OpenAPI schema of a property that holds any JSON value: spread into
 * `@ApiProperty`. Without it the reflected type of `JsonValue` reads as
 * `type: object`, and a generated client would refuse a string or an array.
 */
export const ANY_JSON_SCHEMA = {
  oneOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }],
};
