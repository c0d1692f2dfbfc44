import { ACTOR_TYPES, type ActorType, SORT_ORDERS, SYSTEM_LOG_LEVELS, type SystemLogLevel } from './enums';
import { type FieldError, ValidationError } from './errors';
import { findUnstorableJson } from './json-safety';
import type { JsonValue, PageRequest, TimeRange, TraceSummary } from './model';
import { isRfc3339 } from './time';

/**
 * The system-log and audit-log pillars of spec 3.2 and 3.3: records, what a
 * writer sends, the list filters of spec 4.5, and the field limits every
 * layer (HTTP DTOs, services) checks against.
 */

/** Sortable system-log columns (each led by tenant_id in an index ending with log_id). */
export const SYSTEM_LOG_SORT_FIELDS = ['timestamp'] as const;
export type SystemLogSortField = (typeof SYSTEM_LOG_SORT_FIELDS)[number];

/** Sortable audit-log columns. An audit `timestamp` is the server's, so it is also the order of recording. */
export const AUDIT_LOG_SORT_FIELDS = ['timestamp'] as const;
export type AuditLogSortField = (typeof AUDIT_LOG_SORT_FIELDS)[number];

/** List paging of DESIGN.md 5: `limit` defaults to 50 and may not exceed 1000. */
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 1000;

/** Most system logs one call (or one HTTP request) may record. */
export const MAX_SYSTEM_LOGS_PER_BATCH = 1000;
export const SYSTEM_LOG_SOURCE_MAX_LENGTH = 200;
export const SYSTEM_LOG_MESSAGE_MAX_LENGTH = 32_768;
/** `trace_id` and `request_id` of a system log are free-form correlation ids. */
export const CORRELATION_ID_MAX_LENGTH = 200;
export const AUDIT_RESOURCE_TYPE_MAX_LENGTH = 100;
export const AUDIT_FAILURE_REASON_MAX_LENGTH = 2000;
/**
 * Most bytes of an audit log's `details`, as UTF-8 JSON. The row's full-text
 * vector is computed as it is written, and a vector holds at most 1 MB: 64 KiB
 * of any text stays far below it (a larger object made the write fail). A
 * larger payload belongs in the resource the entry names.
 */
export const AUDIT_DETAILS_MAX_BYTES = 65_536;
/** Longer user agents are cut to this length (the header is the client's, not evidence of intent). */
export const USER_AGENT_MAX_LENGTH = 1000;
/** Audited action names: lower snake case. */
export const AUDIT_ACTION_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** Spec 3.2 SystemLog (`system_logs`). `tenant_id` is null for the platform's own logs. */
export interface SystemLog {
  log_id: string;
  tenant_id: string | null;
  level: SystemLogLevel;
  source: string;
  message: string;
  /** The event's time as the writer reported it. */
  timestamp: string;
  context: JsonValue | null;
  trace_id: string | null;
  request_id: string | null;
  /** When the service recorded it (retention counts from here). */
  created_at: string;
}

/** What a writer sends to record a system log; `timestamp` defaults to now. */
export interface NewSystemLog {
  level: SystemLogLevel;
  source: string;
  message: string;
  timestamp?: string;
  context?: JsonValue | null;
  trace_id?: string | null;
  request_id?: string | null;
}

/** Spec 4.5 system-log filters plus the common ones. */
export interface SystemLogFilters extends TimeRange {
  level?: SystemLogLevel;
  source?: string;
  trace_id?: string;
  request_id?: string;
  search?: string;
}

export interface SystemLogListQuery extends SystemLogFilters, PageRequest<SystemLogSortField> {}

/** Spec 3.3 AuditLog (`audit_logs`). `timestamp` and `created_at` are the server's. */
export interface AuditLog {
  log_id: string;
  tenant_id: string;
  actor_id: string;
  actor_type: ActorType;
  action: string;
  resource_type: string;
  resource_id: string | null;
  timestamp: string;
  details: JsonValue | null;
  ip_address: string | null;
  user_agent: string | null;
  success: boolean;
  failure_reason: string | null;
  created_at: string;
}

/** What is recorded for an audited action. There is no timestamp: the server's clock sets it. */
export interface NewAuditLog {
  actor_id: string;
  actor_type: ActorType;
  action: string;
  resource_type: string;
  resource_id?: string | null;
  details?: JsonValue | null;
  ip_address?: string | null;
  user_agent?: string | null;
  /** Defaults to true. */
  success?: boolean;
  failure_reason?: string | null;
}

/** Spec 4.5 audit filters plus the common ones. */
export interface AuditLogFilters extends TimeRange {
  actor_id?: string;
  actor_type?: ActorType;
  action?: string;
  resource_type?: string;
  resource_id?: string;
  success?: boolean;
  search?: string;
}

export interface AuditLogListQuery extends AuditLogFilters, PageRequest<AuditLogSortField> {}

/** An audit log with its actor's display name (spec 11.3 `actor_name`). */
export interface NamedAuditLog extends AuditLog {
  actor_name: string;
}

/** One entry of any topic, as `GET /api/v1/logs/{log_id}` answers it. */
export type LogEntry =
  | ({ topic: 'system' } & SystemLog)
  | ({ topic: 'audit' } & AuditLog)
  | ({ topic: 'llm_runs' } & TraceSummary);

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

/**
 * The field errors of one system log to record (`prefix` names it inside a
 * batch, e.g. `logs[3]`); empty when it can be stored.
 */
export function checkNewSystemLog(log: NewSystemLog, prefix = ''): FieldError[] {
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  const errors: FieldError[] = [];
  if (log === null || typeof log !== 'object') return [{ field: prefix || 'log', message: 'must be an object' }];
  if (!(SYSTEM_LOG_LEVELS as readonly string[]).includes(log.level)) {
    errors.push({ field: at('level'), message: `must be one of ${SYSTEM_LOG_LEVELS.join(', ')}` });
  }
  checkText(errors, at('source'), log.source, SYSTEM_LOG_SOURCE_MAX_LENGTH, true);
  checkText(errors, at('message'), log.message, SYSTEM_LOG_MESSAGE_MAX_LENGTH, true);
  if (log.timestamp !== undefined && !(typeof log.timestamp === 'string' && isRfc3339(log.timestamp))) {
    errors.push({ field: at('timestamp'), message: 'must be an RFC 3339 timestamp with an offset, e.g. 2026-01-20T10:15:30.123Z' });
  }
  checkText(errors, at('trace_id'), log.trace_id, CORRELATION_ID_MAX_LENGTH, false);
  checkText(errors, at('request_id'), log.request_id, CORRELATION_ID_MAX_LENGTH, false);
  checkJson(errors, at('context'), log.context);
  return errors;
}

/** The field errors of an audit record (the action catalog is checked by the audit service). */
export function checkNewAuditLog(log: NewAuditLog): FieldError[] {
  const errors: FieldError[] = [];
  if (!isUuid(log.actor_id)) errors.push({ field: 'actor_id', message: 'must be a UUID' });
  if (!(ACTOR_TYPES as readonly string[]).includes(log.actor_type)) {
    errors.push({ field: 'actor_type', message: `must be one of ${ACTOR_TYPES.join(', ')}` });
  }
  if (typeof log.action !== 'string' || !AUDIT_ACTION_PATTERN.test(log.action)) {
    errors.push({ field: 'action', message: 'must be a lower snake case action name' });
  }
  checkText(errors, 'resource_type', log.resource_type, AUDIT_RESOURCE_TYPE_MAX_LENGTH, true);
  if (log.resource_id !== undefined && log.resource_id !== null && !isUuid(log.resource_id)) {
    errors.push({ field: 'resource_id', message: 'must be a UUID' });
  }
  if (log.success !== undefined && typeof log.success !== 'boolean') errors.push({ field: 'success', message: 'must be a boolean' });
  checkText(errors, 'failure_reason', log.failure_reason, AUDIT_FAILURE_REASON_MAX_LENGTH, false);
  if (log.success !== false && log.failure_reason !== undefined && log.failure_reason !== null) {
    errors.push({ field: 'failure_reason', message: 'is only recorded when success is false' });
  }
  checkText(errors, 'user_agent', log.user_agent, Number.MAX_SAFE_INTEGER, false);
  if (log.ip_address !== undefined && log.ip_address !== null && typeof log.ip_address !== 'string') {
    errors.push({ field: 'ip_address', message: 'must be a string' });
  }
  checkJson(errors, 'details', log.details);
  if (log.details !== undefined && log.details !== null && Buffer.byteLength(JSON.stringify(log.details) ?? '') > AUDIT_DETAILS_MAX_BYTES) {
    errors.push({ field: 'details', message: `must be at most ${AUDIT_DETAILS_MAX_BYTES} bytes as JSON` });
  }
  return errors;
}

function checkText(errors: FieldError[], field: string, value: unknown, max: number, required: boolean): void {
  if (value === undefined || value === null) {
    if (required) errors.push({ field, message: 'is required' });
    return;
  }
  if (typeof value !== 'string') {
    errors.push({ field, message: 'must be a string' });
    return;
  }
  if (required && value.length === 0) errors.push({ field, message: 'must not be empty' });
  else if (value.length > max) errors.push({ field, message: `must be at most ${max} characters` });
  else {
    const bad = findUnstorableJson(value);
    if (bad) errors.push({ field, message: bad.message });
  }
}

function checkJson(errors: FieldError[], field: string, value: unknown): void {
  if (value === undefined || value === null) return;
  const bad = findUnstorableJson(value);
  if (bad) errors.push({ field: `${field}${bad.field.slice(1)}`, message: bad.message });
}

/**
 * A complete PageRequest from optional paging fields: the defaults of
 * DESIGN.md 5 (limit 50, offset 0, order desc, the first sort field), or a
 * ValidationError naming the offending field.
 */
export function resolvePage<S extends string>(
  q: Partial<PageRequest<S>>,
  sortFields: readonly S[],
): PageRequest<S> {
  const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
  const offset = q.offset ?? 0;
  const sort = q.sort ?? sortFields[0];
  const order = q.order ?? 'desc';
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw ValidationError.field('limit', `must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw ValidationError.field('offset', 'must be a non-negative integer');
  if (!sortFields.includes(sort)) throw ValidationError.field('sort', `must be one of ${sortFields.join(', ')}`);
  if (!(SORT_ORDERS as readonly string[]).includes(order)) throw ValidationError.field('order', `must be one of ${SORT_ORDERS.join(', ')}`);
  return { limit, offset, sort, order, ...(q.cursor ? { cursor: q.cursor } : {}) };
}
