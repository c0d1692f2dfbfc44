import { isUuid, type LogEntry, NotFoundError } from '@aos/logs-domain';
import type { Database, Scope, Sql } from './database/database';
import { AUDIT_LOG_COLUMNS, SYSTEM_LOG_COLUMNS, toAuditLog, toSystemLog } from './log-rows';
import { toTrace, TRACE_COLUMNS } from './rows';

/**
 * `GET /api/v1/logs/{log_id}` across the three pillars: a system log, an audit
 * log or an LLM-run trace (by trace_id), answered with its `topic`. The
 * platform scope sees platform system logs only.
 */
export class LogLookup {
  constructor(private readonly db: Database) {}

  async findLogById(scope: Scope, id: string): Promise<LogEntry> {
    const entry = isUuid(id) ? await this.db.transaction(scope, (sql) => this.find(sql, scope, id.toLowerCase())) : null;
    if (!entry) throw new NotFoundError(`log ${id} not found`);
    return entry;
  }

  private async find(sql: Sql, scope: Scope, id: string): Promise<LogEntry | null> {
    if (!('tenantId' in scope)) {
      const [row] = await sql.query(`SELECT ${SYSTEM_LOG_COLUMNS} FROM system_logs WHERE log_id = $1::uuid AND tenant_id IS NULL`, [id]);
      return row ? { topic: 'system', ...toSystemLog(row) } : null;
    }
    const params = [id, scope.tenantId];
    const [system] = await sql.query(`SELECT ${SYSTEM_LOG_COLUMNS} FROM system_logs WHERE log_id = $1::uuid AND tenant_id = $2::uuid`, params);
    if (system) return { topic: 'system', ...toSystemLog(system) };
    const [audit] = await sql.query(`SELECT ${AUDIT_LOG_COLUMNS} FROM audit_logs WHERE log_id = $1::uuid AND tenant_id = $2::uuid`, params);
    if (audit) return { topic: 'audit', ...toAuditLog(audit) };
    const [trace] = await sql.query(`SELECT ${TRACE_COLUMNS} FROM aos_traces WHERE trace_id = $1::uuid AND tenant_id = $2::uuid`, params);
    if (trace) return { topic: 'llm_runs', ...toTrace(trace) };
    return null;
  }
}
