import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  AUDIT_ACTIONS,
  AUDIT_LOG_SORT_FIELDS,
  type AuditLog,
  type AuditLogFilters,
  type AuditLogSortField,
  isUuid,
  type NamedAuditLog,
  type NewAuditLog,
  type Page,
  type PageRequest,
  resolvePage,
  USER_AGENT_MAX_LENGTH,
  ValidationError,
} from '@aos/logs-domain';
import { AuditLogStore } from '@aos/traces-store';
import { ActorDirectory } from './actor-directory';

/** Spec `log_action`: what happened, who did it, in which tenant. The time is the server's. */
export interface LogActionInput extends NewAuditLog {
  tenantId: string;
}

/** `search_logs` input: the audit filters, and paging fields that default as every list does (limit 50, newest first). */
export interface AuditLogSearch extends AuditLogFilters, Partial<PageRequest<AuditLogSortField>> {}

export interface AuditServiceOptions {
  /** Actions a service audits beyond the catalog of logs-domain. */
  extraActions?: readonly string[];
}

export const AUDIT_SERVICE_OPTIONS = Symbol('AUDIT_SERVICE_OPTIONS');

/**
 * Records governance actions for compliance (spec 5.2 AuditLogService). An
 * action must be in the catalog (AUDIT_ACTIONS) or registered by the service
 * (`AuditModule.forRoot({ extraActions })`); records are immutable.
 */
@Injectable()
export class AuditLogService {
  /** Every action this service accepts: the catalog, then the registered extras. */
  readonly actions: readonly string[];
  private readonly known: ReadonlySet<string>;

  constructor(
    @Inject(AuditLogStore) private readonly store: AuditLogStore,
    @Inject(ActorDirectory) private readonly directory: ActorDirectory,
    @Optional() @Inject(AUDIT_SERVICE_OPTIONS) options: AuditServiceOptions = {},
  ) {
    this.actions = [...new Set<string>([...AUDIT_ACTIONS, ...(options.extraActions ?? [])])];
    this.known = new Set(this.actions);
  }

  isKnownAction(action: string): boolean {
    return this.known.has(action);
  }

  /**
   * Spec `log_action`: records one action (success defaults to true). An
   * unknown action is a ValidationError on `action` listing the valid ones.
   */
  async logAction(input: LogActionInput): Promise<AuditLog> {
    if (!isUuid(input.tenantId)) throw ValidationError.field('tenant_id', 'must be a UUID');
    if (typeof input.action !== 'string' || !this.known.has(input.action)) {
      throw ValidationError.field('action', `is not an audited action; valid actions: ${this.actions.join(', ')}`);
    }
    const userAgent = typeof input.user_agent === 'string' ? input.user_agent.slice(0, USER_AGENT_MAX_LENGTH) : input.user_agent;
    // Only the record's own fields are passed on: a `timestamp` from the caller is never read.
    return this.store.insert(input.tenantId, {
      actor_id: input.actor_id,
      actor_type: input.actor_type,
      action: input.action,
      resource_type: input.resource_type,
      resource_id: input.resource_id,
      details: input.details,
      ip_address: input.ip_address,
      user_agent: userAgent,
      success: input.success,
      failure_reason: input.failure_reason,
    });
  }

  /** Spec `search_logs`: the audit filters, full-text `search`, keyset or offset paging; items carry `actor_name`. */
  async searchLogs(tenantId: string, search: AuditLogSearch = {}): Promise<Page<NamedAuditLog>> {
    const { limit, offset, cursor, sort, order, ...filters } = search;
    const page = await this.store.list(tenantId, { ...filters, ...resolvePage({ limit, offset, cursor, sort, order }, AUDIT_LOG_SORT_FIELDS) });
    return { ...page, items: await this.withActorNames(tenantId, page.items) };
  }

  /** One audit log of the tenant with its actor's name, or NotFoundError. */
  async get(tenantId: string, logId: string): Promise<NamedAuditLog> {
    const [named] = await this.withActorNames(tenantId, [await this.store.get(tenantId, logId)]);
    return named;
  }

  /** Adds `actor_name`; an actor the directory does not know (or a directory failure) shows the id. */
  async withActorNames(tenantId: string, logs: readonly AuditLog[]): Promise<NamedAuditLog[]> {
    let names = new Map<string, string>();
    if (logs.length > 0) {
      try {
        names = await this.directory.resolveNames(tenantId, logs);
      } catch {
        // Names are for display: the trail is still answered, by id.
      }
    }
    return logs.map((log) => ({ ...log, actor_name: names.get(log.actor_id) ?? log.actor_id }));
  }
}
