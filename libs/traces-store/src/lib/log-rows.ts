import type { AuditLog, SystemLog } from '@aos/logs-domain';
import { iso } from './rows';

/** Row mapping of the system-log and audit-log tables to the wire records (spec 3.2, 3.3). */

export const SYSTEM_LOG_COLUMNS = `log_id, tenant_id, level, source, message, "timestamp", context, trace_id, request_id, created_at`;

export function toSystemLog(row: Record<string, any>): SystemLog {
  return {
    log_id: row.log_id,
    tenant_id: row.tenant_id,
    level: row.level,
    source: row.source,
    message: row.message,
    timestamp: iso(row.timestamp)!,
    context: row.context ?? null,
    trace_id: row.trace_id,
    request_id: row.request_id,
    created_at: iso(row.created_at)!,
  };
}

// host() drops the /32 or /128 netmask an inet value would otherwise print.
export const AUDIT_LOG_COLUMNS = `log_id, tenant_id, actor_id, actor_type, action, resource_type, resource_id, "timestamp",
  details, host(ip_address) AS ip_address, user_agent, success, failure_reason, created_at`;

export function toAuditLog(row: Record<string, any>): AuditLog {
  return {
    log_id: row.log_id,
    tenant_id: row.tenant_id,
    actor_id: row.actor_id,
    actor_type: row.actor_type,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    timestamp: iso(row.timestamp)!,
    details: row.details ?? null,
    ip_address: row.ip_address,
    user_agent: row.user_agent,
    success: row.success,
    failure_reason: row.failure_reason,
    created_at: iso(row.created_at)!,
  };
}
