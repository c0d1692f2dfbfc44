import { compareNumber, parse as parseLossless } from 'lossless-json';
import type { FieldError } from './errors';

/** JSON bodies nest at most this deep (DESIGN.md 8). */
export const MAX_JSON_DEPTH = 64;

/**
 * Finds the first thing in a parsed JSON value that PostgreSQL cannot store or
 * RFC 8785 cannot canonicalise: a NUL character or an unpaired surrogate in a
 * string or key, a non-finite number, or nesting deeper than `maxDepth`.
 * Returns the offending path (`$.a[3].b`) and why, or null when the value is safe.
 */
export function findUnstorableJson(value: unknown, maxDepth = MAX_JSON_DEPTH): FieldError | null {
  // Most values checked are single strings (a log's message, source, ids): no walk for them.
  if (typeof value === 'string') {
    const why = badString(value);
    return why ? { field: '$', message: why } : null;
  }
  return new JsonScan(maxDepth, null).run(value);
}

/**
 * findUnstorableJson and a check for keys in `forbiddenKeys` (anywhere, at any
 * depth) in one walk over the value. Something unstorable anywhere is reported
 * before a forbidden key; of several forbidden keys, the first met walking
 * depth-first, each object's keys checked before its children, is reported
 * with `forbiddenMessage(key)`.
 */
export function findUnsafeJson(
  value: unknown,
  forbiddenKeys: ReadonlySet<string>,
  forbiddenMessage: (key: string) => string,
  maxDepth = MAX_JSON_DEPTH,
): FieldError | null {
  const scan = new JsonScan(maxDepth, forbiddenKeys);
  const unstorable = scan.run(value);
  if (unstorable) return unstorable;
  return scan.forbidden ? { field: scan.forbidden.path, message: forbiddenMessage(scan.forbidden.key) } : null;
}

function badString(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (!s.isWellFormed()) return 'must not contain an unpaired UTF-16 surrogate';
  return null;
}

// eslint-disable-next-line no-control-regex -- control characters are what is masked here
const CONTROL_CHARACTERS = /[\u0000-\u001f]/g;

/**
 * One recursive walk (depth bounded by maxDepth) that keeps the path as a stack
 * of keys and indexes and spells it out only when something is found: no
 * string per node, which is most of the cost on large bodies.
 */
class JsonScan {
  private readonly path: Array<string | number> = [];
  forbidden: { path: string; key: string } | null = null;

  constructor(
    private readonly maxDepth: number,
    private readonly forbiddenKeys: ReadonlySet<string> | null,
  ) {}

  run(value: unknown): FieldError | null {
    return this.walk(value, 0);
  }

  private pathText(): string {
    return spellPath(this.path);
  }

  private walk(value: unknown, depth: number): FieldError | null {
    if (value === null || typeof value === 'boolean') return null;
    if (typeof value === 'string') {
      const why = badString(value);
      return why ? { field: this.pathText(), message: why } : null;
    }
    if (typeof value === 'number') {
      return Number.isFinite(value) ? null : { field: this.pathText(), message: 'must be a finite number' };
    }
    if (typeof value !== 'object') return { field: this.pathText(), message: 'is not a JSON value' };
    if (depth >= this.maxDepth) return { field: this.pathText(), message: `nests deeper than ${this.maxDepth} levels` };
    const path = this.path;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        const err = this.walk(value[i], depth + 1);
        path.pop();
        if (err) return err;
      }
      return null;
    }
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (this.forbiddenKeys !== null && this.forbidden === null) {
      for (const key of keys) {
        if (this.forbiddenKeys.has(key)) {
          path.push(key);
          this.forbidden = { path: this.pathText(), key };
          path.pop();
          break;
        }
      }
    }
    for (const key of keys) {
      path.push(key);
      const why = badString(key);
      const err = why ? { field: this.pathText(), message: `key ${why}` } : this.walk(object[key], depth + 1);
      path.pop();
      if (err) return err;
    }
    return null;
  }
}

/**
 * A number of a JSON text that JSON.parse would alter: one whose decimal value
 * differs from that of the 64-bit float it parses to (9007199254740993 becomes
 * ...992, a 30-digit id loses its last 14 digits). Stored, it would be another
 * number than the one sent, and the step's hash would cover that other number,
 * so the client's own hash of what it sent would not match. Returns its path
 * (`$.a[3].b`) or null. Call it on text whose depth is checked (findUnsafeJson).
 *
 * Cheap on the usual body: only a text with a number of 16 or more digits or
 * with an exponent after `:`, `[` or `,` is scanned, and only a number found
 * altered is located, by a lossless parse of the text.
 */
export function findInexactNumber(text: string): FieldError | null {
  if (!MAYBE_INEXACT.test(text)) return null;
  let inexact: string | null = null;
  NUMBER_OR_STRING.lastIndex = 0;
  for (let m = NUMBER_OR_STRING.exec(text); m !== null; m = NUMBER_OR_STRING.exec(text)) {
    const token = m[0];
    if (token.charCodeAt(0) !== 34 && !isExact(token)) {
      inexact = token;
      break;
    }
  }
  if (inexact === null) return null;
  const message = `is the number ${inexact.length > 40 ? `${inexact.slice(0, 40)}...` : inexact}, which a 64-bit float cannot hold exactly (it would be stored as ${Number(inexact)}); send it as a string`;
  const found = new InexactNumber();
  let located: unknown;
  try {
    located = parseLossless(text, null, (n) => (n === inexact ? found : 0));
  } catch {
    // Should lossless-json refuse a text JSON.parse took, the number is still refused.
    return { field: '$', message };
  }
  return { field: pathTo(located, found) ?? '$', message };
}

/** A number token with 16 or more digits or an exponent, after `:`, `[` or `,` (maybe in a string). */
const MAYBE_INEXACT = /[:[,]\s*-?\d(?:[\d.]{15}|[\d.]*[eE])/;
/** A JSON string (skipped) or number token. */
const NUMBER_OR_STRING = /"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*/g;

function isExact(token: string): boolean {
  // Fewer than 16 digits and no exponent: always exact (a float holds 15 decimal digits).
  if (token.length < 16 && !/[eE]/.test(token)) return true;
  const value = Number(token);
  return Number.isFinite(value) && compareNumber(token, String(value)) === 0;
}

class InexactNumber {}

/** The path (`$.a[3].b`) to `target` in `value`, or null. */
function pathTo(value: unknown, target: InexactNumber, path: Array<string | number> = []): string | null {
  if (value === target) return spellPath(path);
  if (value === null || typeof value !== 'object') return null;
  for (const [key, child] of Object.entries(value)) {
    path.push(Array.isArray(value) ? Number(key) : key);
    const found = pathTo(child, target, path);
    path.pop();
    if (found) return found;
  }
  return null;
}

/** `$`, then `[i]` for an index and `.key` for a key (control characters masked). */
function spellPath(path: ReadonlyArray<string | number>): string {
  let out = '$';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${part.replace(CONTROL_CHARACTERS, '?')}`;
  return out;
}
