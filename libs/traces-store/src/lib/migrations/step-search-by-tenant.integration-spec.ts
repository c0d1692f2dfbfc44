import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { openDatabaseBefore } from '../../testing';
import { STEP_SEARCH_PARTITIONS, StepSearchByTenant1770300000000 } from './1770300000000-step-search-by-tenant';

/**
 * Migration 1770300000000 on a database that already holds search rows: the
 * table becomes hash-partitioned by tenant with every row kept (also a row an
 * indexer of a running instance is writing as the upgrade starts), the indexer
 * writes into it (and skips a batch indexed twice), row-level security and the
 * refusal to DROP cover the partitions.
 */
describe('migration 1770300000000 (step search rows partitioned by tenant)', () => {
  let url: string;
  let owner: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ url, owner, close } = await openDatabaseBefore(StepSearchByTenant1770300000000));
  }, 120_000);

  afterAll(() => close?.());

  it('keeps every row, partitions them by tenant, and the indexer and the guards work on the new table', async () => {
    const tenants = Array.from({ length: 6 }, () => randomUUID());
    for (const [i, tenant] of tenants.entries()) {
      await owner.query(`INSERT INTO tenants (tenant_id, name) VALUES ($1, $2)`, [tenant, `upgrade-${i}`]);
      await owner.query(
        `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, started_at)
         SELECT gen_random_uuid(), $1, gen_random_uuid(), gen_random_uuid(), timestamptz '2026-03-01T10:00:00Z' + g * interval '1 minute'
         FROM generate_series(1, 5) g`,
        [tenant],
      );
    }
    await owner.query(
      `INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector, indexed_at, started_at)
       SELECT tenant_id, trace_id, b * 5, b * 5 + 4, to_tsvector('english', 'an okapi number ' || b), now() - b * interval '1 hour', started_at
       FROM aos_traces, generate_series(0, 2) b`,
    );
    const rows = `SELECT tenant_id, trace_id, first_step_index, last_step_index, search_vector::text, indexed_at, started_at
                  FROM aos_step_search ORDER BY trace_id, first_step_index`;
    const stored = await owner.query(rows);
    expect(stored).toHaveLength(6 * 5 * 3);
    // An indexer of a running instance mid-transaction when the upgrade starts: it has written
    // a row into the old table. The migration waits for it, so the copy holds that row.
    const [{ trace_id: waiting, tenant_id: waitingTenant }] = await owner.query(`SELECT trace_id, tenant_id FROM aos_traces ORDER BY started_at LIMIT 1`);
    await owner.query(
      `INSERT INTO aos_trace_steps (step_id, trace_id, tenant_id, step_index, step_type, "timestamp", input_data, output_data, content_hash)
       VALUES (gen_random_uuid(), $1, $2, 20, 'llm_call', now(), '{"q":"a wombat"}', '{}', repeat('0', 64))`,
      [waiting, waitingTenant],
    );
    await owner.query(`INSERT INTO aos_step_search_queue (trace_id, tenant_id, first_step_index, last_step_index) VALUES ($1, $2, 20, 20)`, [waiting, waitingTenant]);
    const indexer = new Client({ connectionString: url });
    await indexer.connect();
    const runner = owner.createQueryRunner();
    try {
      await indexer.query('BEGIN');
      expect((await indexer.query(`SELECT aos_index_step_search(10) AS n`)).rows).toEqual([{ n: 1 }]);
      let done = false;
      const migrating = (async () => {
        await runner.startTransaction();
        await new StepSearchByTenant1770300000000().up(runner);
        await runner.commitTransaction();
        done = true;
      })();
      await sleep(300);
      expect(done).toBe(false);
      await indexer.query('COMMIT');
      await migrating;
    } finally {
      await runner.release();
      await indexer.end();
    }
    const wombat = await owner.query(`SELECT tableoid::regclass::text AS part FROM aos_step_search WHERE trace_id = $1 AND search_vector @@ 'wombat'::tsquery`, [waiting]);
    expect(wombat).toHaveLength(1);
    expect(wombat[0].part).toMatch(/^aos_step_search_p\d+$/);
    await owner.query(`DELETE FROM aos_step_search WHERE trace_id = $1 AND first_step_index = 20`, [waiting]);

    expect(await owner.query(rows)).toEqual(stored);
    const [table] = await owner.query(`SELECT relkind, relrowsecurity FROM pg_class WHERE oid = 'aos_step_search'::regclass`);
    expect(table).toEqual({ relkind: 'p', relrowsecurity: true });
    const partitions = await owner.query(
      `SELECT c.relname, c.relrowsecurity FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'aos_step_search'::regclass`,
    );
    expect(partitions).toHaveLength(STEP_SEARCH_PARTITIONS);
    expect(partitions.every((p: { relname: string; relrowsecurity: boolean }) => /^aos_step_search_p\d+$/.test(p.relname) && p.relrowsecurity)).toBe(true);
    // Each tenant's rows lie in one partition.
    const spread = await owner.query(`SELECT tenant_id, count(DISTINCT tableoid)::int AS n FROM aos_step_search GROUP BY tenant_id`);
    expect(spread.map((r: { n: number }) => r.n)).toEqual(tenants.map(() => 1));
    expect(await owner.query(`SELECT polname FROM pg_policy WHERE polrelid = 'aos_step_search'::regclass`)).toEqual([{ polname: 'tenant_isolation' }]);

    // The indexer writes into the new table, and a batch indexed already is skipped (its key).
    const [{ trace_id: trace, tenant_id: tenant }] = await owner.query(`SELECT trace_id, tenant_id FROM aos_traces ORDER BY started_at DESC LIMIT 1`);
    await owner.query(
      `INSERT INTO aos_trace_steps (step_id, trace_id, tenant_id, step_index, step_type, "timestamp", input_data, output_data, content_hash)
       SELECT gen_random_uuid(), $1, $2, g, 'llm_call', now(), '{"q":"a pangolin"}', '{}', repeat('0', 64) FROM generate_series(0, 19) g`,
      [trace, tenant],
    );
    await owner.query(
      `INSERT INTO aos_step_search_queue (trace_id, tenant_id, first_step_index, last_step_index) VALUES ($1, $2, 0, 4), ($1, $2, 15, 19)`,
      [trace, tenant],
    );
    expect(await owner.query(`SELECT aos_index_step_search(10) AS n`)).toEqual([{ n: 1 }]);
    const [indexed] = await owner.query(`SELECT started_at, search_vector @@ 'pangolin'::tsquery AS hit FROM aos_step_search WHERE trace_id = $1 AND first_step_index = 15`, [trace]);
    expect(indexed.hit).toBe(true);
    expect(await owner.query(`SELECT count(*)::int AS n FROM aos_step_search_queue`)).toEqual([{ n: 0 }]);

    // Dropping the table or one partition is refused like any table of the service.
    const [{ rolsuper }] = await owner.query(`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`);
    if (rolsuper) {
      await expect(owner.query(`DROP TABLE aos_step_search_p3`)).rejects.toThrow(/dropping table .* is refused/);
      await expect(owner.query(`DROP TABLE aos_step_search`)).rejects.toThrow(/dropping table .* is refused/);
    }
  }, 60_000);
});
