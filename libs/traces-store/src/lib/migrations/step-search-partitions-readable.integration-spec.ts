import type { DataSource, QueryRunner } from 'typeorm';
import { openDatabaseBefore } from '../../testing';
import { STEP_SEARCH_PARTITIONS } from './1770300000000-step-search-by-tenant';
import { StepSearchPartitionsReadable1770500000000 } from './1770500000000-step-search-partitions-readable';

/**
 * Migration 1770500000000: every partition of `aos_step_search` gets the
 * parent's tenant policy (up), and loses it again (down).
 */
describe('migration 1770500000000 (step-search partitions readable by tenant)', () => {
  let owner: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ owner, close } = await openDatabaseBefore(StepSearchPartitionsReadable1770500000000));
  }, 120_000);

  afterAll(() => close?.());

  // The owner's pool holds one connection: the runner's, once it has run a statement.
  const policies = async (q: Pick<QueryRunner, 'query'>): Promise<Array<Record<string, string>>> =>
    q.query(
      `SELECT c.relname, p.polname, pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS check
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_policy p ON p.polrelid = c.oid
       WHERE i.inhparent = 'aos_step_search'::regclass ORDER BY c.relname`,
    );

  it('gives each partition the tenant policy, and down takes it away', async () => {
    const runner = owner.createQueryRunner();
    try {
      expect(await policies(runner)).toEqual([]);
      await new StepSearchPartitionsReadable1770500000000().up(runner);
      const up = await policies(runner);
      expect(up).toHaveLength(STEP_SEARCH_PARTITIONS);
      for (const p of up) {
        expect(p.polname).toBe('tenant_isolation');
        expect(p.qual).toBe('(tenant_id = aos_current_tenant())');
        expect(p.check).toBe('(tenant_id = aos_current_tenant())');
      }
      await new StepSearchPartitionsReadable1770500000000().down(runner);
      expect(await policies(runner)).toEqual([]);
    } finally {
      await runner.release();
    }
  }, 60_000);
});
