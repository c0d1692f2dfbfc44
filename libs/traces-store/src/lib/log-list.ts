import { isRfc3339, type Page, type PageRequest, searchTermProblem, SORT_ORDERS, type SortOrder, toUtcRfc3339, ValidationError } from '@aos/logs-domain';
import type { Scope, Sql } from './database/database';
import { COUNT_CAP, decodeCursor, encodeCursor, type Params } from './pagination';

/**
 * The list machinery shared by the trace, system-log and audit-log stores:
 * scope and time filters, keyset or offset paging on (sort column, id), and
 * the capped count of DESIGN.md 5.
 */

/** `tenant_id = $n` for a tenant, `tenant_id IS NULL` for the platform (RLS enforces the same). */
export function scopeClause(scope: Scope, p: Params): string {
  return 'tenantId' in scope ? `tenant_id = ${p.add(scope.tenantId)}::uuid` : 'tenant_id IS NULL';
}

/** A search term as a full-text query: websearch syntax, English stemming (what every search index holds). */
export function textQuery(p: Params, search: string): string {
  const problem = searchTermProblem(search);
  if (problem) throw ValidationError.field('search', problem);
  return `websearch_to_tsquery('english', ${p.add(search)})`;
}

/** Half-open `[start_time, end_time)` on a timestamp column. */
export function timeRangeClauses(p: Params, column: string, range: { start_time?: string; end_time?: string }): string[] {
  const out: string[] = [];
  if (range.start_time != null) {
    if (!isRfc3339(range.start_time)) throw ValidationError.field('start_time', 'must be an RFC 3339 timestamp with an offset');
    out.push(`${column} >= ${p.add(toUtcRfc3339(range.start_time))}::timestamptz`);
  }
  if (range.end_time != null) {
    if (!isRfc3339(range.end_time)) throw ValidationError.field('end_time', 'must be an RFC 3339 timestamp with an offset');
    out.push(`${column} < ${p.add(toUtcRfc3339(range.end_time))}::timestamptz`);
  }
  return out;
}

export interface ListSpec<S extends string> {
  /** Table, with an alias if the filters use one (`aos_traces t`). */
  table: string;
  columns: string;
  /** Filter predicates (already parameterised in `params`). */
  where: string[];
  params: Params;
  /** Sortable columns, each ordered with `idColumn` (keyset pages need a unique tie-breaker). */
  sortFields: readonly S[];
  /** Sort columns holding timestamps (the cursor carries an RFC 3339 value); the others are numbers. */
  timestampFields?: readonly S[];
  sort: S;
  order: SortOrder;
  limit: number;
  offset: number;
  cursor?: string;
  /** The row id column (default `log_id`), qualified by `alias` when given. */
  idColumn?: string;
  alias?: string;
  /**
   * The capped count's own predicates (same params, none added after `where`),
   * counted without the page's order: for a filter whose index (not the sort's)
   * bounds the matches, the scan then stops at COUNT_CAP + 1 rows. Default: `where`,
   * counted in the page's order.
   */
  unorderedCountWhere?: string[];
  /**
   * A count the caller has already made in this transaction (then no count
   * statement runs): min(total, COUNT_CAP + 1), or `atLeast`, a lower bound,
   * when counting exactly would have cost more than the page (the total is then
   * inexact, and at least what the page itself shows).
   */
  knownCount?: PageCount;
}

/** The paging fields of a list query, as ListSpec takes them. */
export function pageOf<S extends string>(q: PageRequest<S>): PageRequest<S> {
  return { sort: q.sort, order: q.order, limit: q.limit, offset: q.offset, cursor: q.cursor };
}

/** Sort and order are written into SQL text: only the listed names pass. */
export function checkSort<S extends string>(sortFields: readonly S[], sort: S, order: SortOrder): void {
  if (!sortFields.includes(sort)) throw ValidationError.field('sort', `must be one of ${sortFields.join(', ')}`);
  if (!SORT_ORDERS.includes(order)) throw ValidationError.field('order', `must be one of ${SORT_ORDERS.join(', ')}`);
}

/** A capped count: min(total, COUNT_CAP + 1), or `atLeast`, a lower bound (the total is then inexact). */
export type PageCount = number | { atLeast: number };

/** What a page statement read, before its count: the rows, up to `limit + 1` in page order. */
export interface PageRead {
  rows: Record<string, any>[];
  limit: number;
  /** Rows that precede the page (the offset, or the cursor's position). */
  position: number;
  /** Whether a cursor placed the page (its position is then the one the cursor carries). */
  keyset: boolean;
  /** The count statement's parameters: the filters' own, without the page's. */
  countParams: unknown[];
}

/**
 * One page of a list and its capped count, in `sql` (one transaction): keyset
 * paging on (sort column, id) with a cursor, else offset paging (DESIGN.md 5).
 */
export async function listPage<S extends string, T extends object>(
  sql: Sql,
  spec: ListSpec<S>,
  map: (row: Record<string, any>) => T,
): Promise<Page<T>> {
  return finishPage(sql, spec, await readPage(sql, spec), map);
}

/** The page statement of listPage alone (a caller that counts from what the page read finishes it with finishPage). */
export async function readPage<S extends string>(sql: Sql, spec: ListSpec<S>): Promise<PageRead> {
  const { params: p, sort, order, limit, offset } = spec;
  checkSort(spec.sortFields, sort, order);
  if (!Number.isInteger(limit) || limit < 1) throw ValidationError.field('limit', 'must be a positive integer');
  if (!Number.isInteger(offset) || offset < 0) throw ValidationError.field('offset', 'must be a non-negative integer');
  const id = idColumn(spec);
  const countParams = [...p.values];
  const keyset = [...spec.where];
  let position = offset;
  if (spec.cursor) {
    const c = decodeCursor(spec.cursor, sort, order);
    const valid = isTimestampSort(spec) ? typeof c.value === 'string' && isRfc3339(c.value) : typeof c.value === 'number';
    if (!valid) throw ValidationError.field('cursor', 'is not a cursor issued by this API');
    // bigint holds any safe integer; compared with an integer column it still uses its index.
    const value = isTimestampSort(spec) ? `${p.add(toUtcRfc3339(c.value as string))}::timestamptz` : `${p.add(c.value)}::bigint`;
    keyset.push(`(${column(spec, sort)}, ${id}) ${order === 'asc' ? '>' : '<'} (${value}, ${p.add(c.id)}::uuid)`);
    position = c.position;
  }
  // With a cursor, `offset` is ignored (DESIGN.md 8).
  const offsetSql = spec.cursor ? '' : `OFFSET ${p.add(offset)}`;
  const rows = await sql.query(
    `SELECT ${spec.columns} FROM ${spec.table} WHERE ${keyset.join(' AND ')}
     ORDER BY ${column(spec, sort)} ${order}, ${id} ${order} LIMIT ${p.add(limit + 1)} ${offsetSql}`,
    p.values,
  );
  return { rows, limit, position, keyset: !!spec.cursor, countParams };
}

/**
 * A page from what readPage read and its count: `count` when the caller made
 * one, else `spec.knownCount`, else the capped count statement.
 */
export async function finishPage<S extends string, T extends object>(
  sql: Sql,
  spec: ListSpec<S>,
  read: PageRead,
  map: (row: Record<string, any>) => T,
  count?: PageCount,
): Promise<Page<T>> {
  const { sort, order } = spec;
  const { rows, limit, position } = read;
  const id = idColumn(spec);
  // The count only needs min(total, COUNT_CAP + 1). By default it walks the page's own
  // order: without it the planner may pick a sequential scan that meets the 1,001
  // matches only after millions of rows. `unorderedCountWhere` opts out (see ListSpec).
  const countSql = spec.unorderedCountWhere
    ? `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${spec.table} WHERE ${spec.unorderedCountWhere.join(' AND ')}
       LIMIT ${COUNT_CAP + 1}) x`
    : `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${spec.table} WHERE ${spec.where.join(' AND ')}
       ORDER BY ${column(spec, sort)} ${order}, ${id} ${order} LIMIT ${COUNT_CAP + 1}) x`;
  const n = count ?? spec.knownCount ?? (await sql.query<{ n: number }>(countSql, read.countParams))[0].n;
  const items = rows.slice(0, limit).map(map);
  const last = rows[Math.min(rows.length, limit) - 1] as Record<string, any> | undefined;
  // A lower bound is at least the rows up to this page's end, and one more if a next page exists.
  const counted =
    typeof n === 'number'
      ? { total: n, exact: n <= COUNT_CAP }
      : { total: Math.max(n.atLeast, position + items.length + (rows.length > limit ? 1 : 0)), exact: false };
  const idName = spec.idColumn ?? 'log_id';
  return {
    items,
    total: Math.min(counted.total, COUNT_CAP),
    total_exact: counted.exact,
    position,
    next_cursor:
      rows.length > limit && last
        ? encodeCursor({
            sort,
            order,
            value: isTimestampSort(spec) ? new Date(last[sort]).toISOString() : Number(last[sort]),
            id: last[idName],
            position: position + items.length,
          })
        : null,
  };
}

function idColumn<S extends string>(spec: ListSpec<S>): string {
  return column(spec, spec.idColumn ?? 'log_id');
}

function column<S extends string>(spec: ListSpec<S>, name: string): string {
  return spec.alias ? `${spec.alias}."${name}"` : `"${name}"`;
}

function isTimestampSort<S extends string>(spec: ListSpec<S>): boolean {
  return (spec.timestampFields ?? spec.sortFields).includes(spec.sort);
}

/** A single-token term that looks like an id (a UUID, or e.g. `req-7f3a9c12`): matched exactly against id columns too. */
const ID_LIKE = /^(?=[^\s]*\d)[A-Za-z0-9][A-Za-z0-9._:-]{5,199}$/;

export function isIdShaped(term: string): boolean {
  return ID_LIKE.test(term);
}

/** Maps each row of an async stream. */
export async function* mapRows<T>(source: AsyncIterable<Record<string, any>>, map: (row: Record<string, any>) => T): AsyncIterable<T> {
  for await (const row of source) yield map(row);
}
