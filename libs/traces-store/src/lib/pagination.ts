import { ValidationError } from '@aos/logs-domain';

/** Rows counted exactly before `total` becomes a lower bound (keeps counts cheap on big tenants). */
export const COUNT_CAP = 1_000;

/**
 * An opaque keyset cursor: the sort it belongs to, the last row's sort value and
 * id, and how many rows came before (so pages keep their numbers).
 */
export interface CursorState {
  sort: string;
  order: 'asc' | 'desc';
  value: string | number;
  id: string;
  position: number;
}

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify([state.sort, state.order, state.value, state.id, state.position])).toString('base64url');
}

export function decodeCursor(cursor: string, sort: string, order: 'asc' | 'desc'): CursorState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw ValidationError.field('cursor', 'is not a cursor issued by this API');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 5 ||
    typeof parsed[0] !== 'string' ||
    // Numeric sort columns hold integers: anything else would reach PostgreSQL as a cast error.
    (typeof parsed[2] !== 'string' && !Number.isSafeInteger(parsed[2])) ||
    typeof parsed[3] !== 'string' ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(parsed[3]) ||
    !Number.isSafeInteger(parsed[4]) ||
    parsed[4] < 0
  ) {
    throw ValidationError.field('cursor', 'is not a cursor issued by this API');
  }
  const [cSort, cOrder, value, id, position] = parsed as [string, string, string | number, string, number];
  if (cSort !== sort || cOrder !== order) {
    throw ValidationError.field('cursor', `belongs to sort=${cSort}&order=${cOrder}, not sort=${sort}&order=${order}`);
  }
  return { sort, order, value, id, position };
}

/** Collects SQL parameters and answers their `$n` placeholders. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
