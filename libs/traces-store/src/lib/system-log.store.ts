import { v7 as uuidv7 } from 'uuid';
import {
  checkNewSystemLog,
  hashLeaf,
  isUuid,
  MAX_SYSTEM_LOGS_PER_BATCH,
  type NewSystemLog,
  NotFoundError,
  type Page,
  SYSTEM_LOG_LEAF_TYPE,
  SYSTEM_LOG_LEVELS,
  SYSTEM_LOG_SORT_FIELDS,
  type SystemLog,
  type SystemLogFilters,
  type SystemLogListQuery,
  systemLogLeafData,
  toCanonicalTimestamp,
  ValidationError,
} from '@aos/logs-domain';
import type { Database, Scope } from './database/database';
import { isIdShaped, listPage, mapRows, scopeClause, textQuery, timeRangeClauses, pageOf } from './log-list';
import { SYSTEM_LOG_COLUMNS, toSystemLog } from './log-rows';
import { LedgerStore, ledgerLogId } from './ledger.store';
import { Params } from './pagination';

/**
 * Append-only system logs (spec 3.2): a tenant's logs, or the platform's own
 * (`tenant_id` NULL, visible only in the platform scope). Batches are written
 * in one set-based statement; nothing here updates or deletes.
 */
export class SystemLogStore {
  constructor(
    private readonly db: Database,
    private readonly ledger = new LedgerStore(db),
  ) {}

  /**
   * Records up to MAX_SYSTEM_LOGS_PER_BATCH logs in one INSERT ... SELECT; all
   * or none. Answers the stored logs in the order given. The event `timestamp`
   * is the writer's (now when absent); `created_at` is the database's clock.
   */
  async insertMany(scope: Scope, logs: readonly NewSystemLog[]): Promise<SystemLog[]> {
    if (logs.length === 0) return [];
    if (logs.length > MAX_SYSTEM_LOGS_PER_BATCH) {
      throw ValidationError.field('logs', `must contain at most ${MAX_SYSTEM_LOGS_PER_BATCH} logs`);
    }
    const errors = logs.flatMap((log, i) => checkNewSystemLog(log, logs.length > 1 ? `logs[${i}]` : ''));
    if (errors.length > 0) throw new ValidationError(errors.slice(0, 100));

    const rows = logs.map((log) => ({
      log_id: uuidv7(),
      level: log.level,
      source: log.source,
      message: log.message,
      timestamp: log.timestamp === undefined ? null : toCanonicalTimestamp(log.timestamp),
      context: log.context ?? null,
      trace_id: log.trace_id ?? null,
      request_id: log.request_id ?? null,
    }));
    const tenantId = 'tenantId' in scope ? scope.tenantId : null;
    // One statement for the whole batch: the rows travel as one JSON document.
    // What the database decides is one instant: created_at, and the event time of
    // a log sent without one, are the transaction's now() at the columns'
    // millisecond precision. So one row comes back, not one per log; the rest of
    // each stored log is what was sent, which the JSON round trip through jsonb
    // keeps value for value (the integration tests hold each answer, and its
    // ledger leaf, to the row read back).
    const stored = await this.db.transaction(scope, async (sql) => {
      const [{ now_ms, n }] = await sql.query<{ now_ms: number; n: number }>(
        `WITH inserted AS (
           INSERT INTO system_logs (log_id, tenant_id, level, source, message, "timestamp", context, trace_id, request_id)
           SELECT r.log_id, $1::uuid, r.level, r.source, r.message, coalesce(r."timestamp", now()),
             nullif(r.context, 'null'::jsonb), r.trace_id, r.request_id
           FROM jsonb_to_recordset($2::jsonb) AS r(log_id uuid, level text, source text, message text,
             "timestamp" timestamptz, context jsonb, trace_id text, request_id text)
           RETURNING 1)
         SELECT (extract(epoch FROM now()::timestamptz(3)) * 1000)::float8 AS now_ms, (SELECT count(*)::int FROM inserted) AS n`,
        [tenantId, JSON.stringify(rows)],
      );
      if (n !== rows.length) throw new Error(`system_logs took ${n} of ${rows.length} logs`);
      const now = new Date(Number(now_ms)).toISOString();
      // The rows become the stored logs (no copy of 1000 objects).
      const logs: SystemLog[] = rows.map((r) => Object.assign(r, { tenant_id: tenantId, timestamp: r.timestamp ?? now, created_at: now }));
      await this.ledger.append(
        sql,
        ledgerLogId(scope),
        logs.map((log) => ({ leaf_type: SYSTEM_LOG_LEAF_TYPE, record_id: log.log_id, leaf_hash: hashLeaf(systemLogLeafData(log)) })),
      );
      return logs;
    });
    return stored;
  }

  /** The system-log list: filters of spec 4.5, full-text search, keyset or offset paging, capped count. */
  async list(scope: Scope, query: SystemLogListQuery): Promise<Page<SystemLog>> {
    if (bySearchTable(query)) return this.listBySearchTable(scope, query);
    const p = new Params();
    const where = filterClauses(p, scope, query);
    return this.db.transaction(scope, (sql) =>
      listPage(
        sql,
        {
          table: 'system_logs',
          columns: SYSTEM_LOG_COLUMNS,
          where,
          params: p,
          sortFields: SYSTEM_LOG_SORT_FIELDS,
          ...pageOf(query),
        },
        toSystemLog,
      ),
    );
  }

  /**
   * A full-text search whose other filters (level, source, time window) the search
   * table holds too: the page, its capped count and its cursor are computed on
   * `system_logs_search` alone (narrow rows, the GIN index with the window's day
   * lexemes, or its time index), and `system_logs` is read only for the page's
   * rows. Same rows, order and cursors as the general path (a search row exists
   * exactly for each indexed log; the purge removes both together).
   */
  private async listBySearchTable(scope: Scope, query: SystemLogListQuery): Promise<Page<SystemLog>> {
    const p = new Params();
    const { where, countWhere } = searchTableClauses(p, scope, query, query.search!);
    return this.db.transaction(scope, async (sql) => {
      const page = await listPage(
        sql,
        {
          table: 'system_logs_search s',
          alias: 's',
          columns: 's.log_id, s."timestamp"',
          where,
          params: p,
          sortFields: SYSTEM_LOG_SORT_FIELDS,
          ...pageOf(query),
          unorderedCountWhere: countWhere,
        },
        (row) => ({ id: String(row['log_id']) }),
      );
      if (page.items.length === 0) return { ...page, items: [] };
      const ids = page.items.map((i) => i.id);
      const rows = await sql.query(`SELECT ${SYSTEM_LOG_COLUMNS} FROM system_logs WHERE log_id = ANY($1::uuid[])`, [ids]);
      const byId = new Map(rows.map((r) => [String(r['log_id']), toSystemLog(r)]));
      return { ...page, items: ids.map((id) => byId.get(id)).filter((l): l is SystemLog => l !== undefined) };
    });
  }

  /**
   * Every log matching the filters, oldest first, streamed from a cursor in one
   * consistent snapshot (bulk export): memory stays flat however many rows.
   */
  stream(scope: Scope, filters: SystemLogFilters): AsyncIterable<SystemLog> {
    const p = new Params();
    const where = filterClauses(p, scope, filters);
    const rows = this.db.stream(
      scope,
      `SELECT ${SYSTEM_LOG_COLUMNS} FROM system_logs WHERE ${where.join(' AND ')} ORDER BY "timestamp", log_id`,
      p.values,
    );
    return mapRows(rows, toSystemLog);
  }

  /** One log of the scope; another tenant's (or the platform's) is not found. */
  async get(scope: Scope, logId: string): Promise<SystemLog> {
    if (isUuid(logId)) {
      const p = new Params();
      const id = p.add(logId);
      const [row] = await this.db.transaction(scope, (sql) =>
        sql.query(`SELECT ${SYSTEM_LOG_COLUMNS} FROM system_logs WHERE log_id = ${id}::uuid AND ${scopeClause(scope, p)}`, p.values),
      );
      if (row) return toSystemLog(row);
    }
    throw new NotFoundError(`system log ${logId} not found`);
  }
}

/** The predicates of the filters (validated: they reach SQL only as parameters). */
export function filterClauses(p: Params, scope: Scope, filters: SystemLogFilters): string[] {
  const where = [scopeClause(scope, p)];
  if (filters.level != null) {
    if (!(SYSTEM_LOG_LEVELS as readonly string[]).includes(filters.level)) {
      throw ValidationError.field('level', `must be one of ${SYSTEM_LOG_LEVELS.join(', ')}`);
    }
    where.push(`level = ${p.add(filters.level)}`);
  }
  if (filters.source != null) where.push(`source = ${p.add(filters.source)}`);
  if (filters.trace_id != null) where.push(`trace_id = ${p.add(filters.trace_id)}`);
  if (filters.request_id != null) where.push(`request_id = ${p.add(filters.request_id)}`);
  where.push(...timeRangeClauses(p, `"timestamp"`, filters));
  if (filters.search?.trim()) where.push(searchClause(p, scope, filters, filters.search));
  return where;
}

/** A search list the search table can answer alone: a text term, filters it holds, the time order. */
function bySearchTable(q: SystemLogListQuery): boolean {
  const term = q.search?.trim();
  return !!term && !isIdShaped(term) && q.trace_id == null && q.request_id == null && q.sort === 'timestamp';
}

const DAY_MS = 86_400_000;
/** Longest window (days) whose day lexemes are ANDed into a search; a longer one reads the term's whole posting list. */
const MAX_BUCKET_DAYS = 62;

/**
 * The tsquery of the window's day lexemes (`aos_system_log_bucket` of migration
 * 1769700000000): one per UTC day from the start's to the end's, or null without
 * both bounds or beyond MAX_BUCKET_DAYS. The timestamp predicates stay exact; the
 * lexemes only let the GIN scan skip other days (and tenants).
 */
function dayBuckets(scope: Scope, range: SystemLogFilters): string | null {
  if (range.start_time == null || range.end_time == null) return null;
  const first = Math.floor(Date.parse(range.start_time) / DAY_MS);
  const last = Math.floor(Date.parse(range.end_time) / DAY_MS); // the end's own day too (sub-millisecond ends)
  if (!Number.isFinite(first) || !Number.isFinite(last) || last < first || last - first + 1 > MAX_BUCKET_DAYS) return null;
  const who = 'tenantId' in scope ? scope.tenantId.toLowerCase() : 'platform';
  const days: string[] = [];
  for (let d = first; d <= last; d++) {
    const at = new Date(d * DAY_MS);
    const ymd = `${String(at.getUTCFullYear()).padStart(4, '0')}${String(at.getUTCMonth() + 1).padStart(2, '0')}${String(at.getUTCDate()).padStart(2, '0')}`;
    days.push(`'@ ${who} ${ymd}'`);
  }
  return days.join(' | ');
}

const SEARCH_TIME = 's."timestamp"';
/** The same instant, but no index matches it: the time bound is checked on the rows the GIN scan found. */
const SEARCH_TIME_UNINDEXED = `(s."timestamp" + interval '0')`;

/**
 * Predicates on `system_logs_search s` (alias `s`): scope, level, source, time
 * window, the text, and the window's day lexemes. Validated like filterClauses.
 *
 * `countWhere` (only with day lexemes, else undefined: count as the page) is the
 * same filter for a count without order: the GIN scan of terms and day lexemes
 * drives it and the exact window is a filter on its rows. Left indexable, the
 * planner ANDs in a bitmap of the window's whole time-index range (1M entries for
 * 7 days at 5M logs, ~100 ms) or picks a sequential scan, though the day lexemes
 * already bound the window.
 */
function searchTableClauses(
  p: Params,
  scope: Scope,
  f: SystemLogFilters,
  search: string,
): { where: string[]; countWhere: string[] | undefined } {
  const where = ['tenantId' in scope ? `s.tenant_id = ${p.add(scope.tenantId)}::uuid` : 's.tenant_id IS NULL'];
  if (f.level != null) {
    if (!(SYSTEM_LOG_LEVELS as readonly string[]).includes(f.level)) {
      throw ValidationError.field('level', `must be one of ${SYSTEM_LOG_LEVELS.join(', ')}`);
    }
    where.push(`s.level = ${p.add(f.level)}`);
  }
  if (f.source != null) where.push(`s.source = ${p.add(f.source)}`);
  const common = [...where];
  const time = timeRangeClauses(p, SEARCH_TIME, f);
  const text = [`s.search_vector @@ ${textQuery(p, search)}`];
  const buckets = dayBuckets(scope, f);
  if (buckets) text.push(`s.search_vector @@ ${p.add(buckets)}::tsquery`);
  const countWhere = buckets
    ? [...common, ...time.map((c) => SEARCH_TIME_UNINDEXED + c.slice(SEARCH_TIME.length)), ...text]
    : undefined;
  return { where: [...common, ...time, ...text], countWhere };
}

/**
 * Full text over message and context (websearch syntax); an id-shaped term also
 * matches the ids exactly. Documents live in `system_logs_search` (written by
 * SystemLogSearchIndexer within about a second of a log's commit); the subquery
 * repeats the scope, filters and window on the search rows' own copies.
 */
function searchClause(p: Params, scope: Scope, range: SystemLogFilters, search: string): string {
  const { where: inner } = searchTableClauses(p, scope, range, search);
  const text = `log_id IN (SELECT s.log_id FROM system_logs_search s WHERE ${inner.join(' AND ')})`;
  const term = search.trim();
  if (!isIdShaped(term)) return text;
  const ids = p.add([...new Set([term, term.toLowerCase()])]);
  const byLogId = isUuid(term) ? `log_id = ${p.add(term.toLowerCase())}::uuid OR ` : '';
  return `(${byLogId}trace_id = ANY(${ids}::text[]) OR request_id = ANY(${ids}::text[]) OR ${text})`;
}
