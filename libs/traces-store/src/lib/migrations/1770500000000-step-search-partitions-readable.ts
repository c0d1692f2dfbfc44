import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The partitions of `aos_step_search` get the parent's tenant policy, so the
 * serving role can be granted them (openDatabase does) and a search can read
 * its tenant's partition by name. Through the partitioned parent, PostgreSQL 15
 * plans the pruned partition's scan for all of its rows (an Append takes each
 * child's cheapest total path) and ignores a LIMIT: the probe's first 1,100
 * matches of a term in ~19% of a 300,000-row partition came from a GIN bitmap
 * of all 57,000 (9 ms) where a sequential scan stops after ~5,800 rows (~3 ms);
 * named, the partition is planned as a table is, LIMIT included
 * (docs/benchmarks.md section 2, session 9). Until now the partitions had row
 * security on and no policy: they showed no row to anyone but their owner.
 */
export class StepSearchPartitionsReadable1770500000000 implements MigrationInterface {
  name = 'StepSearchPartitionsReadable1770500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(onEachPartition(`CREATE POLICY tenant_isolation ON %s USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant())`));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(onEachPartition(`DROP POLICY tenant_isolation ON %s`));
  }
}

/** Runs `statement` (a format() string; %s is the partition) on each partition of aos_step_search. */
function onEachPartition(statement: string): string {
  return `
DO $$
DECLARE
  part regclass;
BEGIN
  FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'aos_step_search'::regclass LOOP
    EXECUTE format('${statement}', part);
  END LOOP;
END $$;`;
}
