import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Hash partitions of `aos_step_search` (by tenant). */
export const STEP_SEARCH_PARTITIONS = 16;

/**
 * The step-search rows are split by tenant: `aos_step_search` becomes a table
 * hash-partitioned on `tenant_id` in STEP_SEARCH_PARTITIONS partitions, each
 * with its own GIN and `started_at` indexes. Every search names its tenant, so
 * it reads one partition: a term's GIN bitmap holds that partition's matches
 * instead of every tenant's, and the probe fetches fewer other tenants' rows.
 * On the bench data (docs/benchmarks.md section 2, session 8) the probe of a 2%
 * term went from 9.0 to 5.2 ms for the tenant holding 55% of the rows, and from
 * 14.4 to 3.6 ms for one holding 15% (whose plan had ANDed in a bitmap of its
 * 300,000 rows); the 2 million rows (1.5 GB) took 28 s to move.
 *
 * The key gains the tenant (a partitioned table's unique keys hold the partition
 * key), after the trace so that a purge's delete by trace id still finds its
 * rows by index in each partition. The `(tenant_id, trace_id)` index goes: within
 * a tenant's partition the key's leading trace id serves the per-trace lookups.
 * The rows are derived data and copied as they are, with the indexers held off
 * (their batches wait in the queue); the indexer now names the new key in its
 * ON CONFLICT. Row-level security and the refusal to DROP cover
 * the partitions (`aos_step_search_p0` ...), which the serving role cannot
 * read directly (it is granted the parent only; StepSearchPartitionsReadable1770500000000
 * later gives the partitions the parent's policy, and openDatabase the grant).
 */
export class StepSearchByTenant1770300000000 implements MigrationInterface {
  name = 'StepSearchByTenant1770300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
-- The old table is dropped below (refuse-drop, 1769550000000): this transaction only.
SELECT set_config('aos.allow_drop', 'on', true);
-- No indexer of a running instance may write a row the copy would miss: they take this
-- lock shared (1769900000000) and wait, their batches staying queued; searches still read.
SELECT pg_advisory_xact_lock(7369900000001);
LOCK TABLE aos_step_search IN EXCLUSIVE MODE;

CREATE TABLE aos_step_search_by_tenant (
  tenant_id         uuid NOT NULL,
  trace_id          uuid NOT NULL,
  first_step_index  integer NOT NULL,
  last_step_index   integer NOT NULL,
  search_vector     tsvector NOT NULL,
  indexed_at        timestamptz(3) NOT NULL DEFAULT now(),
  started_at        timestamptz(3) NOT NULL,
  CONSTRAINT aos_step_search_key PRIMARY KEY (trace_id, first_step_index, tenant_id),
  CONSTRAINT aos_step_search_trace_fk FOREIGN KEY (tenant_id, trace_id) REFERENCES aos_traces (tenant_id, trace_id)
) PARTITION BY HASH (tenant_id);

DO $$
BEGIN
  FOR i IN 0..${STEP_SEARCH_PARTITIONS - 1} LOOP
    EXECUTE format('CREATE TABLE aos_step_search_p%s PARTITION OF aos_step_search_by_tenant
                    FOR VALUES WITH (MODULUS ${STEP_SEARCH_PARTITIONS}, REMAINDER %s)', i, i);
    EXECUTE format('ALTER TABLE aos_step_search_p%s ENABLE ROW LEVEL SECURITY', i);
  END LOOP;
END $$;

INSERT INTO aos_step_search_by_tenant (tenant_id, trace_id, first_step_index, last_step_index, search_vector, indexed_at, started_at)
SELECT tenant_id, trace_id, first_step_index, last_step_index, search_vector, indexed_at, started_at FROM aos_step_search;

DROP TABLE aos_step_search;
ALTER TABLE aos_step_search_by_tenant RENAME TO aos_step_search;

CREATE INDEX aos_step_search_idx ON aos_step_search USING gin (search_vector);
-- Time first, as in 1770200000000 (a tenant-led index made the probe's plan a sequential scan).
CREATE INDEX aos_step_search_started_idx ON aos_step_search (started_at, tenant_id);

ALTER TABLE aos_step_search ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON aos_step_search USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());

-- Statistics now, not at autovacuum's next visit: a search's form is chosen from them.
ANALYZE aos_step_search;

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
  ON CONFLICT (trace_id, first_step_index, tenant_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
`);
  }

  async down(): Promise<void> {
    throw new Error('Not reversible: restore from backup instead.');
  }
}
