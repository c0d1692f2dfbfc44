import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two cuts to the per-log cost of system-log search rows (issue 3's ingestion
 * target; the indexer shares PostgreSQL's two cores with ingestion):
 *
 * - `system_logs_search` loses its primary key on `log_id`: a unique probe and a
 *   btree insert per log, which no query needs. Searches join the rows to
 *   `system_logs` by its own key; the indexer writes each queued log once (it
 *   deletes the queue row in the transaction that inserts the search rows, so
 *   no `ON CONFLICT` is needed); the purge trigger now finds a purged log's
 *   search row through `(tenant_id, "timestamp", log_id)`, the index searches
 *   already use.
 * - `aos_system_log_bucket` formats the UTC day with date_part instead of
 *   to_char. to_char is STABLE, so the IMMUTABLE SQL function was never inlined
 *   and each call ran through the SQL-function executor (~2.7 us of ~4 per log);
 *   the text is the same (YYYYMMDD, zero-padded), so stored rows stay valid.
 */
export class CheaperSystemLogSearchRows1770100000000 implements MigrationInterface {
  name = 'CheaperSystemLogSearchRows1770100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE OR REPLACE FUNCTION aos_system_log_bucket(p_tenant uuid, p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT '@ ' || coalesce(p_tenant::text, 'platform') || ' ' || lpad((date_part('year', p_at AT TIME ZONE 'UTC')::int * 10000
    + date_part('month', p_at AT TIME ZONE 'UTC')::int * 100 + date_part('day', p_at AT TIME ZONE 'UTC')::int)::text, 8, '0')
$$;

CREATE OR REPLACE FUNCTION aos_system_logs_search_purge() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  -- Waits for running indexers (shared holders) to commit, so their rows are seen and deleted here.
  PERFORM pg_advisory_xact_lock(7369700000001);
  DELETE FROM system_logs_search s USING purged p
  WHERE s.tenant_id = p.tenant_id AND s."timestamp" = p."timestamp" AND s.log_id = p.log_id;
  DELETE FROM system_logs_search s USING purged p
  WHERE p.tenant_id IS NULL AND s.tenant_id IS NULL AND s."timestamp" = p."timestamp" AND s.log_id = p.log_id;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION aos_index_system_log_search(p_limit integer) RETURNS integer
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
  )
  SELECT count(*)::int INTO n FROM picked;
  RETURN n;
END $$;

ALTER TABLE system_logs_search DROP CONSTRAINT system_logs_search_pkey;
`);
  }

  async down(): Promise<void> {
    throw new Error('Not reversible: restore from backup instead.');
  }
}
