import { isIP } from 'node:net';
import { v7 as uuidv7 } from 'uuid';
import {
  ACTOR_TYPES,
  AUDIT_LEAF_TYPE,
  auditLogLeafData,
  type AuditLog,
  type AuditLogFilters,
  type AuditLogListQuery,
  AUDIT_LOG_SORT_FIELDS,
  checkNewAuditLog,
  hashLeaf,
  isUuid,
  type NewAuditLog,
  NotFoundError,
  type Page,
  ValidationError,
} from '@aos/logs-domain';
import type { Database } from './database/database';
import { listPage, mapRows, scopeClause, textQuery, timeRangeClauses, pageOf } from './log-list';
import { AUDIT_LOG_COLUMNS, toAuditLog } from './log-rows';
import { LedgerStore } from './ledger.store';
import { Params } from './pagination';

/**
 * The immutable audit trail (spec 3.3): one tenant's governance actions. The
 * time of an action is the database's clock (`timestamp` and `created_at` are
 * never taken from the writer), so no record can be backdated.
 */
export class AuditLogStore {
  constructor(
    private readonly db: Database,
    private readonly ledger = new LedgerStore(db),
  ) {}

  /** Records one action. Only the fields of NewAuditLog are read; the action catalog is the audit service's concern. */
  async insert(tenantId: string, log: NewAuditLog): Promise<AuditLog> {
    const errors = checkNewAuditLog(log);
    if (log.ip_address !== undefined && log.ip_address !== null && isIP(log.ip_address) === 0) {
      errors.push({ field: 'ip_address', message: 'must be an IPv4 or IPv6 address' });
    }
    if (errors.length > 0) throw new ValidationError(errors);
    return this.db.transaction({ tenantId }, async (sql) => {
      const [row] = await sql.query(
        `INSERT INTO audit_logs (log_id, tenant_id, actor_id, actor_type, action, resource_type, resource_id, details,
           ip_address, user_agent, success, failure_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8::jsonb, 'null'::jsonb), $9::inet, $10, $11, $12)
         RETURNING ${AUDIT_LOG_COLUMNS}`,
        [
          uuidv7(),
          tenantId,
          log.actor_id.toLowerCase(),
          log.actor_type,
          log.action,
          log.resource_type,
          log.resource_id?.toLowerCase() ?? null,
          log.details === undefined ? null : JSON.stringify(log.details),
          log.ip_address ?? null,
          log.user_agent ?? null,
          log.success ?? true,
          log.failure_reason ?? null,
        ],
      );
      const stored = toAuditLog(row);
      await this.ledger.append(sql, tenantId, [{ leaf_type: AUDIT_LEAF_TYPE, record_id: stored.log_id, leaf_hash: hashLeaf(auditLogLeafData(stored)) }]);
      return stored;
    });
  }

  /** The audit list: the filters of spec 4.5, full-text search over action and details, keyset or offset paging. */
  async list(tenantId: string, query: AuditLogListQuery): Promise<Page<AuditLog>> {
    const p = new Params();
    const where = filterClauses(p, tenantId, query);
    return this.db.transaction({ tenantId }, (sql) =>
      listPage(
        sql,
        {
          table: 'audit_logs',
          columns: AUDIT_LOG_COLUMNS,
          where,
          params: p,
          sortFields: AUDIT_LOG_SORT_FIELDS,
          ...pageOf(query),
        },
        toAuditLog,
      ),
    );
  }

  /**
   * Every record matching the filters, oldest first, streamed from a cursor in
   * one consistent snapshot (bulk export): memory stays flat however many rows.
   */
  stream(tenantId: string, filters: AuditLogFilters): AsyncIterable<AuditLog> {
    const p = new Params();
    const where = filterClauses(p, tenantId, filters);
    const rows = this.db.stream(
      { tenantId },
      `SELECT ${AUDIT_LOG_COLUMNS} FROM audit_logs WHERE ${where.join(' AND ')} ORDER BY "timestamp", log_id`,
      p.values,
    );
    return mapRows(rows, toAuditLog);
  }

  /** One audit log of the tenant; another tenant's is not found. */
  async get(tenantId: string, logId: string): Promise<AuditLog> {
    if (isUuid(logId)) {
      const [row] = await this.db.transaction({ tenantId }, (sql) =>
        sql.query(`SELECT ${AUDIT_LOG_COLUMNS} FROM audit_logs WHERE log_id = $1::uuid AND tenant_id = $2::uuid`, [logId, tenantId]),
      );
      if (row) return toAuditLog(row);
    }
    throw new NotFoundError(`audit log ${logId} not found`);
  }

  /**
   * Names of the tenant's API keys among `ids` (revoked keys too: the trail
   * outlives them), for showing `api_key` actors by name.
   */
  async apiKeyNames(tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    if (wanted.length === 0) return new Map();
    const rows = await this.db.transaction({ tenantId }, (sql) =>
      sql.query<{ id: string; name: string }>(`SELECT id, name FROM api_keys WHERE tenant_id = $1::uuid AND id = ANY($2::uuid[])`, [
        tenantId,
        wanted,
      ]),
    );
    return new Map(rows.map((r) => [r.id, r.name]));
  }
}

/** The predicates of the filters (validated: they reach SQL only as parameters). */
function filterClauses(p: Params, tenantId: string, filters: AuditLogFilters): string[] {
  const where = [scopeClause({ tenantId }, p)];
  if (filters.actor_id != null) where.push(`actor_id = ${uuidParam(p, 'actor_id', filters.actor_id)}`);
  if (filters.actor_type != null) {
    if (!(ACTOR_TYPES as readonly string[]).includes(filters.actor_type)) {
      throw ValidationError.field('actor_type', `must be one of ${ACTOR_TYPES.join(', ')}`);
    }
    where.push(`actor_type = ${p.add(filters.actor_type)}`);
  }
  if (filters.action != null) where.push(`action = ${p.add(filters.action)}`);
  if (filters.resource_type != null) where.push(`resource_type = ${p.add(filters.resource_type)}`);
  if (filters.resource_id != null) where.push(`resource_id = ${uuidParam(p, 'resource_id', filters.resource_id)}`);
  if (filters.success != null) where.push(`success = ${p.add(filters.success)}`);
  where.push(...timeRangeClauses(p, `"timestamp"`, filters));
  if (filters.search?.trim()) where.push(searchClause(p, filters.search));
  return where;
}

function uuidParam(p: Params, field: string, value: string): string {
  if (!isUuid(value)) throw ValidationError.field(field, 'must be a UUID');
  return `${p.add(value.toLowerCase())}::uuid`;
}

/** Full text over action and details (websearch syntax); an id-shaped term also matches log, actor and resource ids. */
function searchClause(p: Params, search: string): string {
  const text = `search_vector @@ ${textQuery(p, search)}`;
  const term = search.trim();
  if (!isUuid(term)) return text;
  const id = `${p.add(term.toLowerCase())}::uuid`;
  return `(log_id = ${id} OR actor_id = ${id} OR resource_id = ${id} OR ${text})`;
}
