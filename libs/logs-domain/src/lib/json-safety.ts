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
  return walk(value, '$', 0, maxDepth);
}

function badString(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (!s.isWellFormed()) return 'must not contain an unpaired UTF-16 surrogate';
  return null;
}

function walk(value: unknown, path: string, depth: number, maxDepth: number): FieldError | null {
  if (value === null || typeof value === 'boolean') return null;
  if (typeof value === 'string') {
    const why = badString(value);
    return why ? { field: path, message: why } : null;
  }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? null : { field: path, message: 'must be a finite number' };
  }
  if (typeof value !== 'object') return { field: path, message: 'is not a JSON value' };
  if (depth >= maxDepth) return { field: path, message: `nests deeper than ${maxDepth} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const err = walk(value[i], `${path}[${i}]`, depth + 1, maxDepth);
      if (err) return err;
    }
    return null;
  }
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const why = badString(key);
    // eslint-disable-next-line no-control-regex -- control characters are what is masked here
    const childPath = `${path}.${key.replace(/[\u0000-\u001f]/g, '?')}`;
    if (why) return { field: childPath, message: `key ${why}` };
    const err = walk(child, childPath, depth + 1, maxDepth);
    if (err) return err;
  }
  return null;
}
