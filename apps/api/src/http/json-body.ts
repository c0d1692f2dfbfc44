import { findInexactNumber, findUnsafeJson, ValidationError } from '@aos/logs-domain';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a JSON request body, or throws a ValidationError naming `body`:
 * empty, not UTF-8, not JSON, or holding something the store cannot keep
 * (NUL, unpaired surrogate, nesting deeper than 64, a number a 64-bit float
 * would alter: `body.$.path`), or a
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
  // One walk: NUL, unpaired surrogates, depth, then prototype-poisoning keys; then the numbers, on the text.
  const unstorable = findUnsafeJson(value, POISONED_KEYS, poisonedKeyMessage) ?? findInexactNumber(text);
  if (unstorable) {
    throw ValidationError.field(`body.${unstorable.field}`, unstorable.message);
  }
  return value;
}

/**
 * Nest's ValidationPipe silently deletes these keys anywhere in a body; a
 * silently altered step would no longer match the client's own hash, so they
 * are refused instead.
 */
const POISONED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function poisonedKeyMessage(key: string): string {
  return `key ${key} is not allowed (it cannot be stored unaltered)`;
}
