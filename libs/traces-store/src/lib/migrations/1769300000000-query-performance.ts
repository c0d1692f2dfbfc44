import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Query plans under row-level security (found by tools/bench/list-queries.mjs):
 *
 * - The serving role is subject to RLS, and PostgreSQL only pushes LEAKPROOF
 *   functions below a policy: the full-text operator `tsvector @@ tsquery`
 *   (ts_match_vq) is not marked so, hence no GIN index was ever used for
 *   `aos_app` and every text search scanned the table. ts_match_vq raises no
 *   error that depends on the row it reads (it answers true or false), so it
 *   cannot leak another tenant's data; it is marked LEAKPROOF. That needs a
 *   superuser: where the migrating role is not one, the step is skipped with a
 *   notice and searches stay correct but slow (an operator can run the ALTER).
 * - The console's usual combination (agent, status, time) gets its own index.
 */
export class QueryPerformance1769300000000 implements MigrationInterface {
  name = 'QueryPerformance1769300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
DO $$ BEGIN
  ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'not a superuser: ts_match_vq stays non-LEAKPROOF, full-text search under RLS will not use GIN indexes';
END $$;
CREATE INDEX aos_traces_agent_status_idx ON aos_traces (tenant_id, agent_id, status, started_at, trace_id);
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX aos_traces_agent_status_idx`);
  }
}
