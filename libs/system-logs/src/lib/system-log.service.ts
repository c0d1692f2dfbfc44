import { Inject, Injectable } from '@nestjs/common';
import {
  type NewSystemLog,
  type Page,
  type PageRequest,
  resolvePage,
  SYSTEM_LOG_SORT_FIELDS,
  type SystemLog,
  type SystemLogFilters,
  type SystemLogSortField,
  ValidationError,
} from '@aos/logs-domain';
import { type Scope, SystemLogStore } from '@aos/traces-store';

/** `search_logs` input: the filters, and paging fields that default as every list does (limit 50, newest first). */
export interface SystemLogSearch extends SystemLogFilters, Partial<PageRequest<SystemLogSortField>> {}

/**
 * Platform and tenant event logging (spec 5.2 SystemLogService). A scope is a
 * tenant (`{tenantId}`) or the platform (`{platform: true}`, tenant_id NULL).
 */
@Injectable()
export class SystemLogService {
  constructor(@Inject(SystemLogStore) private readonly store: SystemLogStore) {}

  /** Records one log (spec `log`); `timestamp` defaults to now. */
  async log(scope: Scope, entry: NewSystemLog): Promise<SystemLog> {
    const [stored] = await this.store.insertMany(scope, [entry]);
    return stored;
  }

  /** Records up to 1000 logs in one statement, all or none; answers them in the order given. */
  async logMany(scope: Scope, entries: readonly NewSystemLog[]): Promise<SystemLog[]> {
    if (entries.length === 0) throw ValidationError.field('logs', 'must contain at least one log');
    return this.store.insertMany(scope, entries);
  }

  /** Spec `search_logs`: filters, full-text `search`, keyset or offset paging. */
  async searchLogs(scope: Scope, search: SystemLogSearch = {}): Promise<Page<SystemLog>> {
    const { limit, offset, cursor, sort, order, ...filters } = search;
    return this.store.list(scope, { ...filters, ...resolvePage({ limit, offset, cursor, sort, order }, SYSTEM_LOG_SORT_FIELDS) });
  }

  /** One log of the scope, or NotFoundError. */
  get(scope: Scope, logId: string): Promise<SystemLog> {
    return this.store.get(scope, logId);
  }
}
