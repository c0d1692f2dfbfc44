import type { AuditLog, LogEntry, NamedAuditLog, SystemLog } from '@aos/logs-domain';
import type { AuditLogDto, AuditLogItemDto, LogEntryDto, SystemLogDto } from './logs.dto';

/** Maps stored system and audit records to the API's shapes (spec 3.2, 3.3, 11.3). */

export function toSystemLogDto(l: SystemLog): SystemLogDto {
  return {
    log_id: l.log_id,
    tenant_id: l.tenant_id,
    level: l.level,
    source: l.source,
    message: l.message,
    timestamp: l.timestamp,
    context: l.context,
    trace_id: l.trace_id,
    request_id: l.request_id,
    created_at: l.created_at,
  };
}

export function toAuditLogDto(l: AuditLog): AuditLogDto {
  return {
    log_id: l.log_id,
    tenant_id: l.tenant_id,
    actor_id: l.actor_id,
    actor_type: l.actor_type,
    action: l.action,
    resource_type: l.resource_type,
    resource_id: l.resource_id,
    timestamp: l.timestamp,
    details: l.details,
    ip_address: l.ip_address,
    user_agent: l.user_agent,
    success: l.success,
    failure_reason: l.failure_reason,
    created_at: l.created_at,
  };
}

/** Spec 11.3 list item, with actor_id and actor_type beside the display name. */
export function toAuditLogItem(l: NamedAuditLog): AuditLogItemDto {
  return {
    log_id: l.log_id,
    actor_id: l.actor_id,
    actor_type: l.actor_type,
    actor_name: l.actor_name,
    action: l.action,
    resource_type: l.resource_type,
    resource_id: l.resource_id,
    timestamp: l.timestamp,
    success: l.success,
  };
}

/** An entry of any topic with its `topic` first; an audit entry carries its actor's name. */
export function toLogEntry(entry: LogEntry, actorName?: string): LogEntryDto {
  switch (entry.topic) {
    case 'system':
      return { topic: 'system', ...toSystemLogDto(entry) };
    case 'audit':
      return { topic: 'audit', ...toAuditLogDto(entry), actor_name: actorName ?? entry.actor_id };
    case 'llm_runs': {
      const { topic: _topic, ...trace } = entry;
      return { topic: 'llm_runs', ...trace };
    }
  }
}
