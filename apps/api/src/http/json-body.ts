import { findUnstorableJson, type FieldError, ValidationError } from '@aos/logs-domain';

// eslint-disable-next-line no-control-regex -- the characters a path must not echo raw
const CONTROL_CHARACTERS = /[\u0000-\u001f]/g;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a JSON request body, or throws a ValidationError naming `body`:
 * empty, not UTF-8, not JSON, or holding something the store cannot keep
 * (NUL, unpaired surrogate, nesting deeper than 64: `body.$.path`), or a
 * prototype-poisoning key (`__proto__`, `constructor.prototype`), which
 * Fastify's own parser rejects too.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) {
    throw ValidationError.field('body', 'must not be empty when Content-Type is JSON');
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw ValidationError.field('body', 'is not valid UTF-8');
  }
  let value: unknown;
  try {
    // V8 parses deep input without recursion; depth is checked below.
    value = JSON.parse(text);
  } catch {
    throw ValidationError.field('body', 'is not valid JSON');
  }
  const unstorable = findUnstorableJson(value) ?? findPoisonedKey(value);
  if (unstorable) {
    throw ValidationError.field(`body.${unstorable.field}`, unstorable.message);
  }
  return value;
}

/**
 * The first `__proto__`, `constructor` or `prototype` key in a parsed value
 * (whose depth findUnstorableJson has already bounded).
 */
export function findPoisonedKey(value: unknown): FieldError | null {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '$' }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop() as { value: unknown; path: string };
    if (current === null || typeof current !== 'object') continue;
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: `${path}[${i}]` });
      continue;
    }
    const entries = Object.entries(current as Record<string, unknown>);
    for (const [key] of entries) {
      // Nest's ValidationPipe silently deletes these keys anywhere in a body; a
      // silently altered step would no longer match the client's own hash, so
      // they are refused instead.
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
        return { field: `${path}.${key}`, message: `key ${key} is not allowed (it cannot be stored unaltered)` };
      }
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      stack.push({ value: entries[i][1], path: `${path}.${entries[i][0].replace(CONTROL_CHARACTERS, '?')}` });
    }
  }
  return null;
}
