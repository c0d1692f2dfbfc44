import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far behind each full-text index is, for its indexer's pacing
 * (SearchIndexer): the age of the oldest and of the newest batch in its queue,
 * in milliseconds (NULL when the queue is empty). While batches keep arriving
 * and the oldest is younger than the allowed lag, the indexer yields the CPU to
 * the writes. SECURITY DEFINER: the serving role cannot read the queues, which
 * hold every tenant's batches; these answer two ages and nothing else. Each is
 * two index probes (the queue's `queued_at` index, the log queue's key).
 */
export class SearchIndexBacklog1770600000000 implements MigrationInterface {
  name = 'SearchIndexBacklog1770600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE FUNCTION aos_step_search_backlog() RETURNS TABLE (oldest_age_ms double precision, newest_age_ms double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT 1000 * extract(epoch FROM clock_timestamp() - (SELECT queued_at FROM aos_step_search_queue ORDER BY queued_at LIMIT 1)),
         1000 * extract(epoch FROM clock_timestamp() - (SELECT queued_at FROM aos_step_search_queue ORDER BY queued_at DESC LIMIT 1))
$$;

CREATE FUNCTION aos_system_log_search_backlog() RETURNS TABLE (oldest_age_ms double precision, newest_age_ms double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT 1000 * extract(epoch FROM clock_timestamp() - (SELECT queued_at FROM system_logs_search_queue ORDER BY batch_id LIMIT 1)),
         1000 * extract(epoch FROM clock_timestamp() - (SELECT queued_at FROM system_logs_search_queue ORDER BY batch_id DESC LIMIT 1))
$$;
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION aos_step_search_backlog(); DROP FUNCTION aos_system_log_search_backlog();`);
  }
}
