import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { openDatabaseBefore } from '../../testing';
import { SearchDocumentsInParts1770700000000 } from './1770700000000-search-documents-in-parts';

/**
 * Migration 1770700000000 on a database that already holds step-search rows and
 * a queue: the rows become part 0 under the new key, and the queued batch
 * (left by the old indexer) is indexed by the new one.
 */
describe('migration 1770700000000 (search documents in parts)', () => {
  let owner: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ owner, close } = await openDatabaseBefore(SearchDocumentsInParts1770700000000));
  }, 120_000);

  afterAll(() => close?.());

  it('keeps the rows as part 0 under a key with the part, and indexes what was queued', async () => {
    const tenant = randomUUID();
    const [a, b] = [randomUUID(), randomUUID()];
    await owner.query(`INSERT INTO tenants (tenant_id, name) VALUES ($1, 'upgrade')`, [tenant]);
    await owner.query(
      `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, started_at)
       VALUES ($1, $3, gen_random_uuid(), gen_random_uuid(), now()), ($2, $3, gen_random_uuid(), gen_random_uuid(), now())`,
      [a, b, tenant],
    );
    await owner.query(
      `INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector, started_at)
       VALUES ($2, $1, 0, 4, to_tsvector('english', 'an okapi'), now())`,
      [a, tenant],
    );
    await owner.query(
      `INSERT INTO aos_trace_steps (step_id, trace_id, tenant_id, step_index, step_type, "timestamp", input_data, output_data, content_hash)
       VALUES (gen_random_uuid(), $1, $2, 0, 'llm_call', now(), '{"q":"a pangolin"}', '{}', repeat('0', 64))`,
      [b, tenant],
    );
    await owner.query(`INSERT INTO aos_step_search_queue (trace_id, tenant_id, first_step_index, last_step_index) VALUES ($1, $2, 0, 0)`, [b, tenant]);

    const runner = owner.createQueryRunner();
    try {
      await new SearchDocumentsInParts1770700000000().up(runner);
    } finally {
      await runner.release();
    }

    expect(await owner.query(`SELECT part, search_vector @@ 'okapi'::tsquery AS hit FROM aos_step_search WHERE trace_id = $1`, [a])).toEqual([{ part: 0, hit: true }]);
    const [key] = await owner.query(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'aos_step_search'::regclass AND contype = 'p'`,
    );
    expect(key.def).toBe('PRIMARY KEY (trace_id, first_step_index, part, tenant_id)');
    expect(await owner.query(`SELECT aos_index_step_search(10) AS n`)).toEqual([{ n: 1 }]);
    expect(await owner.query(`SELECT part, search_vector @@ 'pangolin'::tsquery AS hit FROM aos_step_search WHERE trace_id = $1`, [b])).toEqual([
      { part: 0, hit: true },
    ]);
  }, 60_000);
});
