import type { Readable } from 'node:stream';
import type { SystemLogFilters } from '@aos/logs-domain';
import type { Database, Scope } from './database/database';
import { Params } from './pagination';
import { filterClauses } from './system-log.store';

/**
 * Placeholders that read transaction settings instead of bind parameters, for
 * statements that take none (COPY). `add` answers `(SELECT current_setting('aos.copy_pN'))`
 * (a one-time InitPlan, so an index can still use it); `settings()` answers the
 * values to set, in order. The values never enter the SQL text.
 */
export class SettingParams extends Params {
  override add(value: unknown): string {
    super.add(value);
    return `(SELECT current_setting('aos.copy_p${this.values.length}'))`;
  }

  settings(): Array<[string, string]> {
    return this.values.map((v, i) => [`aos.copy_p${i + 1}`, settingText(v)]);
  }
}

/** A parameter as the text PostgreSQL's input function reads (what node-pg would send). */
export function settingText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    // An array literal: every element double-quoted, backslash and quote escaped.
    return `{${value
      .map((v) => (v === null || v === undefined ? 'NULL' : `"${settingText(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`))
      .join(',')}}`;
  }
  throw new Error(`unsupported COPY parameter: ${typeof value}`);
}

/**
 * A text column as the CSV export writes it: an empty value as an unquoted
 * empty field (as NULL, which COPY writes so), and the formula guard of
 * `neutraliseFormula` (libs/export): text starting with = + - @ tab or CR gets a
 * leading quote.
 */
function guarded(expr: string): string {
  // ascii(): the first character's code (= + - @ tab CR), without building a one-character text as left() does.
  return `CASE WHEN ascii(${expr}) IN (61, 43, 45, 64, 9, 13) THEN '''' || ${expr} ELSE nullif(${expr}, '') END`;
}

/**
 * A timestamp for the framer (libs/export CopyCsvFramer, `timestampColumns`): its UTC
 * text, `YYYY-MM-DD HH:MI:SS[.ffffff]` (DateStyle ISO), which the framer writes as
 * `Date.prototype.toISOString` does. A fifth of `to_char`'s cost for PostgreSQL.
 */
function utcText(expr: string): string {
  return `(${expr} AT TIME ZONE 'UTC')::text`;
}

/**
 * A jsonb value for the framer (libs/export CopyCsvFramer, `jsonColumns`): its
 * text behind a \x01 mark, NULL as NULL. The framer writes it as the JavaScript
 * path does (JSON.parse, then `cellText` and the formula guard), so key order
 * and number forms come out as node-pg's JSON.parse gives them.
 */
function markedJson(expr: string): string {
  return `E'\\x01' || ${expr}::text`;
}

/** The export's columns, in the order of EXPORT_COLUMNS.system (libs/export). */
export const SYSTEM_LOG_CSV_COLUMNS = ['log_id', 'tenant_id', 'level', 'source', 'message', 'timestamp', 'context', 'trace_id', 'request_id', 'created_at'] as const;
/** Indexes of the marked JSON columns of the statement (`context`). */
export const SYSTEM_LOG_CSV_JSON_COLUMNS: readonly number[] = [6];
/** Indexes of the UTC timestamp text columns of the statement (`timestamp`, `created_at`). */
export const SYSTEM_LOG_CSV_TIMESTAMP_COLUMNS: readonly number[] = [5, 9];

/**
 * The `COPY ... TO STDOUT WITH (FORMAT csv)` statement of a system-log export:
 * the rows and order of `SystemLogStore.stream` (same filters, same predicates),
 * every cell but `context` (index 6, marked JSON) and the timestamps (5 and 9, UTC
 * text) already rendered as the JavaScript CSV encoder renders it. No header, `\n` after each record (the
 * framer adds the BOM and header, writes `\r\n` and renders the JSON cells).
 */
export function systemLogCsvCopy(scope: Scope, filters: SystemLogFilters): { sql: string; settings: Array<[string, string]> } {
  const p = new SettingParams();
  const where = filterClauses(p, scope, filters);
  const select = `SELECT log_id, tenant_id, ${guarded('level')}, ${guarded('source')}, ${guarded('message')}, ${utcText('"timestamp"')},
      ${markedJson('context')}, ${guarded('trace_id')}, ${guarded('request_id')}, ${utcText('created_at')}
    FROM system_logs WHERE ${where.join(' AND ')} ORDER BY "timestamp", log_id`;
  return { sql: `COPY (${select}) TO STDOUT WITH (FORMAT csv)`, settings: p.settings() };
}

/**
 * Every system log matching the filters, oldest first, as CSV records written by
 * PostgreSQL (one consistent snapshot, row-level security applied): see
 * `systemLogCsvCopy`. PostgreSQL only: the caller falls back to `SystemLogStore.stream`
 * on the embedded database.
 */
export function copySystemLogsCsv(db: Database, scope: Scope, filters: SystemLogFilters): Readable {
  const { sql, settings } = systemLogCsvCopy(scope, filters);
  return db.copyOut(scope, sql, settings);
}
