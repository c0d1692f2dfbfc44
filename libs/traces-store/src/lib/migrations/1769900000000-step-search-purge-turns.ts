import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The step-search indexer and the trace purge take turns, as the system-log
 * indexer and purge do (1769700000000-async-system-log-search).
 *
 * `aos_index_step_search()` deletes the queued batches it takes and inserts
 * their search rows, whose foreign key waits for the trace row; a trace purge
 * batch locks its traces first (FOR UPDATE), then deletes their search rows and
 * queued batches. A trace purged while its last batch was being indexed
 * deadlocked the two: the indexer waited for the trace, the purge for the
 * queued batch the indexer had deleted. PostgreSQL aborted one (40P01), and
 * when that was the purge, `POST /retention/purge` answered 409 (a scheduled
 * purge failed for the tenant).
 *
 * The indexer now holds a shared advisory lock (7369900000001) while
 * it works; a deleting trace purge batch takes it exclusive before it locks any
 * trace (RetentionStore.purgeBatch), so the purge waits for running indexers
 * (then sees their search rows and deletes them), and indexers that start
 * meanwhile wait for the purge (then no longer see its queued batches). The
 * function is otherwise unchanged.
 */
export class StepSearchPurgeTurns1769900000000 implements MigrationInterface {
  name = 'StepSearchPurgeTurns1769900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE OR REPLACE FUNCTION aos_index_step_search(p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  n integer;
BEGIN
  -- A deleting trace purge holds it exclusive (see the migration): the two take turns.
  PERFORM pg_advisory_xact_lock_shared(7369900000001);
  WITH picked AS (
    DELETE FROM aos_step_search_queue q
    WHERE (q.trace_id, q.first_step_index) IN (
      SELECT trace_id, first_step_index FROM aos_step_search_queue
      ORDER BY queued_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING q.tenant_id, q.trace_id, q.first_step_index, q.last_step_index
  ), docs AS (
    SELECT p.tenant_id, p.trace_id, p.first_step_index, p.last_step_index,
      aos_tsvector_agg(to_tsvector('english', coalesce(s.input_data, '{}'::jsonb))
                       || to_tsvector('english', coalesce(s.output_data, '{}'::jsonb)) ORDER BY s.step_index) AS v
    FROM picked p
    JOIN aos_trace_steps s ON s.trace_id = p.trace_id AND s.step_index BETWEEN p.first_step_index AND p.last_step_index
    GROUP BY p.tenant_id, p.trace_id, p.first_step_index, p.last_step_index
  )
  INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector)
  SELECT tenant_id, trace_id, first_step_index, last_step_index, v FROM docs
  ON CONFLICT (trace_id, first_step_index) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
`);
  }

  async down(): Promise<void> {
    throw new Error('Not reversible: restore from backup instead.');
  }
}
