import type { Database } from './database/database';
import { SearchIndexer, type SearchIndexerOptions } from './search-indexer';

export type StepSearchIndexerOptions = SearchIndexerOptions;

/**
 * Keeps the full-text index of step content up to date, off the ingestion
 * path: it drains `aos_step_search_queue` through `aos_index_step_search()`,
 * yielding to a burst of writes as SearchIndexer says.
 * Any number of instances may run (they skip each other's batches).
 */
export class StepSearchIndexer extends SearchIndexer {
  constructor(db: Database, options: StepSearchIndexerOptions = {}) {
    super(db, 'aos_index_step_search', 'aos_step_search_backlog', 'step search', options, { intervalMs: 250, batchLimit: 200 });
  }
}
