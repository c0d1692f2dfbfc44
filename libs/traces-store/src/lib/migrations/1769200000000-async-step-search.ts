import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Full-text search over step content moves off the ingestion path. Parsing 2 KB
 * of text into a tsvector costs about 0.2 ms of PostgreSQL CPU per step: as a
 * generated column it capped ingestion at ~2,500 steps/s on two cores. Now each
 * appended batch queues one entry; `aos_index_step_search()` (run by the
 * service's indexer every few hundred milliseconds) turns queued batches into
 * one search row per batch. Steps become searchable within about a second.
 */
export class AsyncStepSearch1769200000000 implements MigrationInterface {
  name = 'AsyncStepSearch1769200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
DROP INDEX aos_trace_steps_search_idx;
ALTER TABLE aos_trace_steps DROP COLUMN search_vector;

CREATE AGGREGATE aos_tsvector_agg(tsvector) (SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '');

-- One row per appended batch of steps: derived data, rebuilt from the steps at will.
CREATE TABLE aos_step_search (
  tenant_id         uuid NOT NULL,
  trace_id          uuid NOT NULL,
  first_step_index  integer NOT NULL,
  last_step_index   integer NOT NULL,
  search_vector     tsvector NOT NULL,
  indexed_at        timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (trace_id, first_step_index),
  FOREIGN KEY (tenant_id, trace_id) REFERENCES aos_traces (tenant_id, trace_id)
);
CREATE INDEX aos_step_search_idx ON aos_step_search USING gin (search_vector);
CREATE INDEX aos_step_search_tenant_idx ON aos_step_search (tenant_id, trace_id);

-- Batches waiting to be indexed.
CREATE TABLE aos_step_search_queue (
  trace_id          uuid NOT NULL,
  tenant_id         uuid NOT NULL,
  first_step_index  integer NOT NULL,
  last_step_index   integer NOT NULL,
  queued_at         timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (trace_id, first_step_index)
);
CREATE INDEX aos_step_search_queue_order_idx ON aos_step_search_queue (queued_at);

ALTER TABLE aos_step_search ENABLE ROW LEVEL SECURITY;
ALTER TABLE aos_step_search_queue ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON aos_step_search USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY tenant_isolation ON aos_step_search_queue USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());

-- Indexes up to p_limit queued batches of any tenant (hence SECURITY DEFINER);
-- concurrent indexers skip each other's batches. Answers the batches indexed.
CREATE FUNCTION aos_index_step_search(p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  n integer;
BEGIN
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

-- Steps already recorded are queued once, batch by trace.
INSERT INTO aos_step_search_queue (trace_id, tenant_id, first_step_index, last_step_index)
SELECT trace_id, tenant_id, 0, max(step_index) FROM aos_trace_steps GROUP BY trace_id, tenant_id;
`);
  }

  async down(): Promise<void> {
    throw new Error('Not reversible: restore from backup instead.');
  }
}
