import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each step-search row carries its trace's `started_at` (immutable, so the copy
 * never goes stale), indexed (with the tenant). A search for a moderately common
 * term then reads the page's time window of the tenant's rows ANDed with the
 * term's GIN bitmap, instead of testing trace after trace in page order: for a
 * term in 1 of 500 steps, the tenant's newest 4,000 traces hold ~80 matches, and
 * finding them costs about one read of the term's posting list (see
 * TraceList.windowPage and docs/benchmarks.md section 2, session 7).
 *
 * The indexer copies the value from the trace; existing rows are filled here.
 */
export class StepSearchStartedAt1770200000000 implements MigrationInterface {
  name = 'StepSearchStartedAt1770200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
ALTER TABLE aos_step_search ADD COLUMN started_at timestamptz(3);
UPDATE aos_step_search x SET started_at = t.started_at FROM aos_traces t WHERE t.trace_id = x.trace_id;
ALTER TABLE aos_step_search ALTER COLUMN started_at SET NOT NULL;
-- Time first: an index led by the tenant would be the cheaper tenant bitmap for every other
-- search of the table, and with it the planner drops the plain GIN bitmap a LIMIT-ed probe
-- needs for a sequential scan (0.15 s where the bitmap takes 20 ms). The tenant is checked
-- in the index.
CREATE INDEX aos_step_search_started_idx ON aos_step_search (started_at, tenant_id);

CREATE OR REPLACE FUNCTION aos_index_step_search(p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  n integer;
BEGIN
  -- A deleting trace purge holds it exclusive (1769900000000): the two take turns.
  PERFORM pg_advisory_xact_lock_shared(7369900000001);
  WITH picked AS (
    DELETE FROM aos_step_search_queue q
    WHERE (q.trace_id, q.first_step_index) IN (
      SELECT trace_id, first_step_index FROM aos_step_search_queue
      ORDER BY queued_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING q.tenant_id, q.trace_id, q.first_step_index, q.last_step_index
  ), docs AS (
    SELECT p.tenant_id, p.trace_id, p.first_step_index, p.last_step_index,
      aos_tsvector_agg(to_tsvector('english', coalesce(s.input_data, '{}'::json))
                       || to_tsvector('english', coalesce(s.output_data, '{}'::json)) ORDER BY s.step_index) AS v
    FROM picked p
    JOIN aos_trace_steps s ON s.trace_id = p.trace_id AND s.step_index BETWEEN p.first_step_index AND p.last_step_index
    GROUP BY p.tenant_id, p.trace_id, p.first_step_index, p.last_step_index
  )
  INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector, started_at)
  SELECT d.tenant_id, d.trace_id, d.first_step_index, d.last_step_index, d.v, t.started_at
  FROM docs d JOIN aos_traces t ON t.trace_id = d.trace_id
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
