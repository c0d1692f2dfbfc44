import { Transform } from 'class-transformer';
import { registerDecorator, type ValidationOptions } from 'class-validator';
import { isRfc3339 } from '@aos/logs-domain';

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
