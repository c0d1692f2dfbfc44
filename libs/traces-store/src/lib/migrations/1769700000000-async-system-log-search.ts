import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * System-log full-text search moves off the ingestion path (issue 3), as step
 * search did in 1769200000000-async-step-search.
 *
 * - `system_logs.search_vector` (a generated `to_tsvector` of message and context)
 *   and its GIN index are gone from the hot table: they were most of PostgreSQL's
 *   cost per ingested log.
 * - `system_logs_search` holds one row per log: its id, tenant, event `timestamp`,
 *   level and source (copied, so a search and those filters run on this narrow
 *   table, and `system_logs` is read only for the page's rows) and the same
 *   document, `aos_system_log_document(message, context)`, plus one lexeme naming
 *   the log's tenant and UTC day (`aos_system_log_bucket`; no user text or query
 *   can produce it, it holds a space). A search with a time window ANDs the
 *   window's day lexemes into the GIN scan, so the index answers "term in this
 *   tenant in these days" without reading the other days' matches. GIN on the
 *   vector, btree on (tenant_id, timestamp, log_id).
 * - Every INSERT into `system_logs` (the store's batches, the platform logger, a
 *   COPY) queues its log ids as one row of `system_logs_search_queue`, from a
 *   statement trigger over the transition table (ENABLE ALWAYS, like the guards:
 *   no load path skips it). `aos_index_system_log_search(p_limit)` (SECURITY
 *   DEFINER; run by the service's `SystemLogSearchIndexer` every few hundred
 *   milliseconds) turns up to p_limit queued batches into search rows; concurrent
 *   indexers skip each other's batches. A log becomes searchable within about a
 *   second of its commit; lists without `search` see it at once.
 * - The retention purge removes a log's search row with it (an AFTER DELETE
 *   statement trigger, beside `system_logs_ledger_gaps`). The indexer holds a
 *   shared advisory lock while it reads logs and writes search rows, the purge
 *   trigger an exclusive one before it deletes them: so a search row written for a
 *   log that a concurrent purge removes is always deleted by that purge (it waits
 *   for the indexer to commit, then sees the row), and an indexer that waits for a
 *   purge no longer sees the purged logs. A queued id whose log is gone is skipped.
 * - Search rows are derived data: no immutability trigger, the serving role may
 *   only SELECT them (row-level security as on `system_logs`).
 * - `(tenant_id, source, level, timestamp, log_id)` serves a list filtered by
 *   source and level in a time window, ordered by time, and its capped count.
 *
 * Existing logs keep their documents: the stored vectors are copied before the
 * column goes. Not reversible.
 */
export class AsyncSystemLogSearch1769700000000 implements MigrationInterface {
  name = 'AsyncSystemLogSearch1769700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
-- The searchable text of a log: exactly the former generated column.
CREATE FUNCTION aos_system_log_document(p_message text, p_context jsonb) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_tsvector('english', p_message) || to_tsvector('english', coalesce(p_context, '{}'::jsonb))
$$;

-- The day bucket of a log: one more lexeme in its search row, '@ <tenant or platform> <yyyymmdd UTC>'.
-- The parser never makes a lexeme with a space, so no text or query of a user can match it.
CREATE FUNCTION aos_system_log_bucket(p_tenant uuid, p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT '@ ' || coalesce(p_tenant::text, 'platform') || ' ' || to_char(p_at AT TIME ZONE 'UTC', 'YYYYMMDD')
$$;
-- What the indexer stores: the document and the day bucket.
CREATE FUNCTION aos_system_log_search_vector(p_tenant uuid, p_at timestamptz, p_message text, p_context jsonb) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT aos_system_log_document(p_message, p_context) || array_to_tsvector(ARRAY[aos_system_log_bucket(p_tenant, p_at)])
$$;

CREATE TABLE system_logs_search (
  log_id         uuid PRIMARY KEY,
  tenant_id      uuid,
  "timestamp"    timestamptz(3) NOT NULL,
  level          text NOT NULL,
  source         text NOT NULL,
  search_vector  tsvector NOT NULL
);
INSERT INTO system_logs_search (log_id, tenant_id, "timestamp", level, source, search_vector)
SELECT log_id, tenant_id, "timestamp", level, source, search_vector || array_to_tsvector(ARRAY[aos_system_log_bucket(tenant_id, "timestamp")])
FROM system_logs;
CREATE INDEX system_logs_search_vector_idx ON system_logs_search USING gin (search_vector);
CREATE INDEX system_logs_search_time_idx ON system_logs_search (tenant_id, "timestamp", log_id);

DROP INDEX system_logs_search_idx;
ALTER TABLE system_logs DROP COLUMN search_vector;

ALTER TABLE system_logs_search ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON system_logs_search USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY platform_logs ON system_logs_search USING (tenant_id IS NULL AND aos_is_platform()) WITH CHECK (tenant_id IS NULL AND aos_is_platform());

-- Inserted batches waiting to be indexed: one row per INSERT statement. The serving role has no privilege on it.
CREATE TABLE system_logs_search_queue (
  batch_id   bigserial PRIMARY KEY,
  log_ids    uuid[] NOT NULL,
  queued_at  timestamptz(3) NOT NULL DEFAULT now()
);
ALTER TABLE system_logs_search_queue ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION aos_system_logs_search_enqueue() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO system_logs_search_queue (log_ids) SELECT array_agg(n.log_id) FROM inserted n HAVING count(*) > 0;
  RETURN NULL;
END $$;
CREATE TRIGGER system_logs_search_enqueue AFTER INSERT ON system_logs
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION aos_system_logs_search_enqueue();
ALTER TABLE system_logs ENABLE ALWAYS TRIGGER system_logs_search_enqueue;

-- Purged logs take their search rows with them (rows leave system_logs only through the purge).
CREATE FUNCTION aos_system_logs_search_purge() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  -- Waits for running indexers (shared holders) to commit, so their rows are seen and deleted here.
  PERFORM pg_advisory_xact_lock(7369700000001);
  DELETE FROM system_logs_search s USING purged p WHERE s.log_id = p.log_id;
  RETURN NULL;
END $$;
CREATE TRIGGER system_logs_search_purge AFTER DELETE ON system_logs
  REFERENCING OLD TABLE AS purged FOR EACH STATEMENT EXECUTE FUNCTION aos_system_logs_search_purge();
ALTER TABLE system_logs ENABLE ALWAYS TRIGGER system_logs_search_purge;

-- Indexes up to p_limit queued batches of any tenant (hence SECURITY DEFINER), oldest first;
-- concurrent indexers skip each other's batches. Answers the batches taken from the queue.
CREATE FUNCTION aos_index_system_log_search(p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  n integer;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7369700000001);
  WITH picked AS (
    DELETE FROM system_logs_search_queue q
    WHERE q.batch_id IN (SELECT batch_id FROM system_logs_search_queue ORDER BY batch_id LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING q.log_ids
  ), indexed AS (
    INSERT INTO system_logs_search (log_id, tenant_id, "timestamp", level, source, search_vector)
    SELECT l.log_id, l.tenant_id, l."timestamp", l.level, l.source, aos_system_log_search_vector(l.tenant_id, l."timestamp", l.message, l.context)
    FROM picked p CROSS JOIN LATERAL unnest(p.log_ids) AS u(id) JOIN system_logs l ON l.log_id = u.id
    ON CONFLICT (log_id) DO NOTHING
  )
  SELECT count(*)::int INTO n FROM picked;
  RETURN n;
END $$;

-- The console's level + source + time window list, in time order.
CREATE INDEX system_logs_source_level_idx ON system_logs (tenant_id, source, level, "timestamp", log_id);
`);
  }

  async down(): Promise<void> {
    throw new Error('Not reversible: restore from backup instead.');
  }
}
