import { type ArgumentMetadata, Injectable, type PipeTransform, ValidationPipe } from '@nestjs/common';
import { isUUID, type ValidationError as ClassValidatorError } from 'class-validator';
import { type FieldError, findUnstorableJson, ValidationError } from '@aos/logs-domain';

/** At most this many field errors are listed in one response. */
export const MAX_FIELD_ERRORS = 100;

/**
 * Flattens class-validator's error tree into `{field, message}` pairs with
 * dotted/bracketed paths (`steps[2].step_index`). A message that starts with
 * the property name loses it, since `field` already names it.
 */
export function flattenValidationErrors(errors: readonly ClassValidatorError[]): FieldError[] {
  const out: FieldError[] = [];
  // Depth-first, in the order class-validator reports, without recursion.
  // parentIsArray is undefined when the parent's value is not on the error.
  type Item = { error: ClassValidatorError; parentPath: string; parentIsArray?: boolean };
  const stack: Item[] = [];
  const push = (list: readonly ClassValidatorError[], parentPath: string, parentIsArray?: boolean) => {
    for (let i = list.length - 1; i >= 0; i--) stack.push({ error: list[i], parentPath, parentIsArray });
  };
  push(errors, '', false);
  while (stack.length > 0) {
    const { error, parentPath, parentIsArray } = stack.pop() as Item;
    const property = String(error.property);
    const path = joinPath(parentPath, property, parentIsArray);
    for (const message of shownConstraints(error)) {
      out.push({ field: path, message: withoutPropertyName(message, property) });
    }
    if (error.children && error.children.length > 0) {
      push(error.children, path, 'value' in error ? Array.isArray(error.value) : undefined);
    }
  }
  return out;
}

/**
 * Range constraints and the type of value they speak of: `max` says nothing
 * true of a value that is not a number, `maxLength` of one that is not a string.
 */
const RANGE_OF: Readonly<Record<string, (value: unknown) => boolean>> = {
  min: (v) => typeof v === 'number',
  max: (v) => typeof v === 'number',
  isPositive: (v) => typeof v === 'number',
  isNegative: (v) => typeof v === 'number',
  minLength: (v) => typeof v === 'string',
  maxLength: (v) => typeof v === 'string',
};

/**
 * The messages of a field's failed constraints, less the ranges of a type the
 * value does not have when something else fails too: `limit=abc` is "must be
 * an integer number", not also "must not be greater than 1000".
 */
function shownConstraints(error: ClassValidatorError): string[] {
  const failed = Object.entries(error.constraints ?? {});
  if (!('value' in error)) return failed.map(([, message]) => message);
  const meaningful = failed.filter(([name]) => RANGE_OF[name]?.(error.value) ?? true);
  return (meaningful.length > 0 ? meaningful : failed).map(([, message]) => message);
}

function joinPath(parentPath: string, property: string, parentIsArray: boolean | undefined): string {
  // Without the parent's value, a numeric property below the top is taken for an index.
  const isIndex = parentIsArray ?? (parentPath !== '' && /^\d+$/.test(property));
  if (isIndex) return `${parentPath}[${property}]`;
  return parentPath === '' ? property : `${parentPath}.${property}`;
}

function withoutPropertyName(message: string, property: string): string {
  const prefix = `${property} `;
  return message.startsWith(prefix) && message.length > prefix.length ? message.slice(prefix.length) : message;
}

/** The domain ValidationError for a list of field errors, capped in length. */
export function toValidationError(errors: FieldError[]): ValidationError {
  if (errors.length <= MAX_FIELD_ERRORS) return new ValidationError(errors);
  const listed = errors.slice(0, MAX_FIELD_ERRORS);
  return new ValidationError(
    listed,
    `${listed.map((e) => `${e.field}: ${e.message}`).join('; ')}; and ${errors.length - MAX_FIELD_ERRORS} more`,
  );
}

/** The `exceptionFactory` of the global ValidationPipe. */
export function validationExceptionFactory(errors: ClassValidatorError[]): ValidationError {
  const flat = flattenValidationErrors(errors);
  return toValidationError(flat.length > 0 ? flat : [{ field: 'request', message: 'is invalid' }]);
}

/**
 * What is wrong with query parameters before class-transformer sees them:
 * repeated ones (DESIGN.md 8: single-valued; Fastify's parser turns `?a=1&a=2`
 * into an array, which class-transformer would coerce into something else),
 * a NUL character (PostgreSQL cannot take it, even to compare), and the keys
 * `__proto__`, `constructor` and `prototype`, which the transformation drops
 * silently where any other unknown parameter is refused.
 */
export function findBadQueryParameters(value: unknown, name?: string): FieldError[] {
  if (name) return badQueryValue(name, value);
  if (value === null || typeof value !== 'object') return [];
  const errors: FieldError[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (PROTOTYPE_KEYS.has(key)) errors.push({ field: key, message: `property ${key} should not exist` });
    else errors.push(...badQueryValue(key, v));
  }
  return errors;
}

const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function badQueryValue(field: string, value: unknown): FieldError[] {
  if (Array.isArray(value)) return [{ field, message: 'must be given once, not repeated' }];
  const unstorable = typeof value === 'string' ? findUnstorableJson(value) : null;
  return unstorable ? [{ field, message: unstorable.message }] : [];
}

/** The types ValidationPipe leaves alone: anything else is a DTO class. */
const NOT_DTO_TYPES: ReadonlyArray<unknown> = [String, Boolean, Number, Array, Object, Buffer, Date];

/**
 * ValidationPipe that also rejects bad query parameters (findBadQueryParameters), and a whole
 * body that is not a JSON object where a DTO is expected (rather than listing
 * every required field of the DTO as missing).
 */
export class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'query') {
      const bad = findBadQueryParameters(value, metadata.data);
      if (bad.length > 0) throw toValidationError(bad);
    }
    const wholeDtoBody =
      metadata.type === 'body' && !metadata.data && metadata.metatype && !NOT_DTO_TYPES.includes(metadata.metatype);
    if (wholeDtoBody && value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw ValidationError.field('body', 'must be a JSON object');
    }
    const result: unknown = await super.transform(value, metadata);
    // Untransformed (no DTO, or a route's own pipe follows) there is nothing to compare.
    if (metadata.type === 'body' && result !== value) {
      const coerced = findCoercedStrings(value, result);
      if (coerced.length > 0) throw toValidationError(coerced);
    }
    return result;
  }
}

/**
 * The fields of a JSON body that a query-string conversion (ToInteger,
 * ToBoolean: the list DTOs serve as query and as search body) turned from a
 * string into a number or boolean. JSON has those types, so `"limit": "5"` in a
 * body is a wrong type, as it is on the write routes. Nested DTOs are followed;
 * free-form payloads, which no conversion touches, are not walked.
 */
export function findCoercedStrings(plain: unknown, dto: unknown, parent = ''): FieldError[] {
  if (plain === null || typeof plain !== 'object' || dto === null || typeof dto !== 'object') return [];
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(plain)) {
    const field = parent === '' ? key : Array.isArray(plain) ? `${parent}[${key}]` : `${parent}.${key}`;
    const converted: unknown = (dto as Record<string, unknown>)[key];
    if (typeof value === 'string' && (typeof converted === 'number' || typeof converted === 'boolean')) {
      errors.push({ field, message: `must be a ${typeof converted}, not a string` });
    } else if (isNestedDto(converted)) {
      errors.push(...findCoercedStrings(value, converted, field));
    }
  }
  return errors;
}

function isNestedDto(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(isNestedDto);
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto !== Object.prototype && proto !== null;
}

/**
 * The global pipe: unknown fields are rejected, payloads become DTO
 * instances, and every failure is a domain ValidationError (400 with
 * `errors`).
 */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // Keep values on errors so the flattener can tell array items from keys.
    validationError: { target: false, value: true },
    exceptionFactory: validationExceptionFactory,
  });
}

/**
 * `@Param('trace_id', UuidParamPipe)`: a UUID path or query parameter, or a
 * 400 naming the parameter (Nest's ParseUUIDPipe cannot name it).
 */
@Injectable()
export class UuidParamPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (typeof value === 'string' && isUUID(value)) return value;
    throw ValidationError.field(metadata.data ?? metadata.type, 'must be a UUID');
  }
}
