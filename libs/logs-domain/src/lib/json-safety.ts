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
    let out = '$';
    for (const part of this.path) out += typeof part === 'number' ? `[${part}]` : `.${part.replace(CONTROL_CHARACTERS, '?')}`;
    return out;
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
