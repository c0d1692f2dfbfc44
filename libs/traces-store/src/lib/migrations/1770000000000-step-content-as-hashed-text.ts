import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A step's `input_data` and `output_data` are stored as `json`, not `jsonb`:
 * the exact RFC 8785 text the writer hashed, kept byte for byte (`jsonb` keeps
 * a parsed tree and prints it back in its own key order and number format).
 *
 * - Verify then hashes the stored bytes as they are (`TraceVerifier.addStoredText`
 *   in logs-domain): no JSON parse and no canonicalisation per step, and
 *   PostgreSQL sends the text without rebuilding it (its `jsonb` output was most
 *   of the cost of reading a 10,000-step trace). A stored text that does not hash
 *   to the stored hash (a row written before this migration, whose text is
 *   `jsonb`'s, or one altered behind the application's back) is parsed and
 *   re-canonicalised per the contract, so the answer is the contract's.
 * - Ingestion no longer builds a `jsonb` tree of each step's content.
 * - Readers get the same JSON values (node-pg parses `json` as it did `jsonb`).
 *   `json` has no equality operator; no query compares step content.
 * - The step search indexer reads the `json` values (the same lexemes).
 *
 * Existing rows keep their values (their text becomes `jsonb`'s print of them).
 * Not reversible in place: restore from backup instead.
 */
export class StepContentAsHashedText1770000000000 implements MigrationInterface {
  name = 'StepContentAsHashedText1770000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
ALTER TABLE aos_trace_steps
  ALTER COLUMN input_data TYPE json USING input_data::json,
  ALTER COLUMN output_data TYPE json USING output_data::json;

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
