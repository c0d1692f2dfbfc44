import type { Database } from './database/database';
import { SearchIndexer, type SearchIndexerOptions } from './search-indexer';

export type SystemLogSearchIndexerOptions = SearchIndexerOptions;

/**
 * Keeps the full-text index of system logs (`system_logs_search`) up to date,
 * off the ingestion path: every INSERT into `system_logs` queues its ids (a
 * trigger), and this drains `system_logs_search_queue` through
 * `aos_index_system_log_search()`. A batch is one INSERT (up to 1000 logs from
 * the API), so the default limit indexes up to ~8,000 logs per call; it yields to
 * a burst of writes as SearchIndexer says. Any number of instances may run (they
 * skip each other's batches).
 */
export class SystemLogSearchIndexer extends SearchIndexer {
  constructor(db: Database, options: SystemLogSearchIndexerOptions = {}) {
    super(db, 'aos_index_system_log_search', 'aos_system_log_search_backlog', 'system log search', options, { intervalMs: 200, batchLimit: 8 });
  }
}
