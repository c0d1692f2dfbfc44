import { Injectable } from '@nestjs/common';
import { ForbiddenError, type NewSystemLog, ValidationError } from '@aos/logs-domain';
import { AuditLogService } from '@aos/audit';
import { SystemLogService } from '@aos/system-logs';
import { LogLookup, TraceStore } from '@aos/traces-store';
import { type Principal, scopeOf, type TenantPrincipal } from '../auth/principal';
import type { RequestActor } from '../auth/request-actor';
import type { LlmRunsListDto, TraceFiltersDto } from '../llm-runs/llm-runs.dto';
import { filtersApplied, pagination, toLlmRunItem } from '../llm-runs/llm-runs.presenter';
import type {
  AuditLogDto,
  AuditLogFiltersDto,
  AuditLogInputDto,
  AuditLogListDto,
  LogEntryDto,
  RecordedLogsDto,
  SystemLogFiltersDto,
  SystemLogListDto,
  TopicFiltersDto,
} from './logs.dto';
import { toAuditLogDto, toAuditLogItem, toLogEntry, toSystemLogDto } from './logs.presenter';

/**
 * The three pillars behind the logs routes (spec section 4): it picks the
 * scope from the principal (a tenant key, or the platform key, which reads and
 * writes platform system logs only) and answers the panel shapes of section 11.
 */
@Injectable()
export class LogsService {
  constructor(
    private readonly traces: TraceStore,
    private readonly systemLogs: SystemLogService,
    private readonly audit: AuditLogService,
    private readonly lookup: LogLookup,
  ) {}

  /** `GET /api/v1/logs/?topic=` and `POST /api/v1/logs/search`: the topic's own list. */
  listTopic(who: Principal, q: TopicFiltersDto): Promise<LlmRunsListDto | SystemLogListDto | AuditLogListDto> {
    switch (q.topic) {
      case 'llm_runs':
        return this.listLlmRuns(tenantOf(who), q);
      case 'system':
        return this.listSystem(who, q);
      case 'audit':
        return this.listAudit(tenantOf(who), q);
    }
  }

  async listSystem(who: Principal, q: SystemLogFiltersDto): Promise<SystemLogListDto> {
    const limit = q.limit ?? 50;
    const sort = q.sort ?? 'timestamp';
    const order = q.order ?? 'desc';
    const page = await this.systemLogs.searchLogs(scopeOf(who), { ...q, limit, sort, order });
    return { items: page.items.map(toSystemLogDto), pagination: pagination(page, limit), filters_applied: filtersApplied({ ...q, sort, order }) };
  }

  async listAudit(who: TenantPrincipal, q: AuditLogFiltersDto): Promise<AuditLogListDto> {
    const limit = q.limit ?? 50;
    const sort = q.sort ?? 'timestamp';
    const order = q.order ?? 'desc';
    const page = await this.audit.searchLogs(who.tenantId, { ...q, limit, sort, order });
    return { items: page.items.map(toAuditLogItem), pagination: pagination(page, limit), filters_applied: filtersApplied({ ...q, sort, order }) };
  }

  async listLlmRuns(who: TenantPrincipal, q: TraceFiltersDto): Promise<LlmRunsListDto> {
    const limit = q.limit ?? 50;
    const sort = q.sort ?? 'started_at';
    const order = q.order ?? 'desc';
    const page = await this.traces.listTraces(who.tenantId, { ...q, limit, offset: q.offset ?? 0, sort, order });
    return { items: page.items.map(toLlmRunItem), pagination: pagination(page, limit), filters_applied: filtersApplied({ ...q, sort, order }) };
  }

  /** One log or a batch, all or none; the platform key writes platform logs (tenant_id NULL). */
  async recordSystemLogs(who: Principal, logs: readonly NewSystemLog[]): Promise<RecordedLogsDto> {
    const stored = await this.systemLogs.logMany(scopeOf(who), logs);
    return { logs: stored.map((l) => ({ log_id: l.log_id })) };
  }

  /** An audited action: the actor defaults to the calling key; address and agent come from the request. */
  async recordAuditLog(caller: RequestActor, body: AuditLogInputDto): Promise<AuditLogDto> {
    if (body.actor_id != null && body.actor_type == null) {
      throw ValidationError.field('actor_type', 'is required when actor_id is given');
    }
    const row = await this.audit.logAction({
      tenantId: caller.tenantId,
      actor_id: body.actor_id ?? caller.actorId,
      actor_type: body.actor_type ?? caller.actorType,
      action: body.action,
      resource_type: body.resource_type,
      resource_id: body.resource_id ?? null,
      details: body.details ?? null,
      success: body.success,
      failure_reason: body.failure_reason ?? null,
      ip_address: caller.ipAddress,
      user_agent: caller.userAgent,
    });
    return toAuditLogDto(row);
  }

  /** `GET /api/v1/logs/{log_id}`: an entry of any topic the caller may see, with `topic`. */
  async findById(who: Principal, logId: string): Promise<LogEntryDto> {
    const entry = await this.lookup.findLogById(scopeOf(who), logId);
    if (entry.topic !== 'audit') return toLogEntry(entry);
    const [named] = await this.audit.withActorNames(entry.tenant_id, [entry]);
    return toLogEntry(entry, named.actor_name);
  }
}

/** The tenant of a tenant key; the platform key reads platform system logs only (DESIGN.md 8). */
function tenantOf(who: Principal): TenantPrincipal {
  if (who.kind !== 'key') throw new ForbiddenError('the platform key reads platform system logs only');
  return who;
}
