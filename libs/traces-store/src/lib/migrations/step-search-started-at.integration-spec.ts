import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { openDatabaseBefore } from '../../testing';
import { StepSearchStartedAt1770200000000 } from './1770200000000-step-search-started-at';

/**
 * Migration 1770200000000 on a database that already holds search rows: each
 * gets its trace's started_at, the column is then required, and the indexer
 * writes it for rows indexed afterwards.
 */
describe('migration 1770200000000 (step search rows carry started_at)', () => {
  let owner: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ owner, close } = await openDatabaseBefore(StepSearchStartedAt1770200000000));
  }, 120_000);

  afterAll(() => close?.());

  it('fills started_at of existing rows from their traces, requires it, and the indexer writes it', async () => {
    const tenant = randomUUID();
    const [a, b] = [randomUUID(), randomUUID()];
    await owner.query(`INSERT INTO tenants (tenant_id, name) VALUES ($1, 'upgrade')`, [tenant]);
    await owner.query(
      `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, started_at)
       VALUES ($1, $3, gen_random_uuid(), gen_random_uuid(), '2026-03-01T10:00:00.123Z'),
              ($2, $3, gen_random_uuid(), gen_random_uuid(), '2026-03-02T11:00:00.456Z')`,
      [a, b, tenant],
    );
    await owner.query(
      `INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector)
       VALUES ($2, $1, 0, 4, to_tsvector('english', 'an okapi')), ($2, $1, 5, 9, to_tsvector('english', 'a giraffe'))`,
      [a, tenant],
    );

    const runner = owner.createQueryRunner();
    try {
      await new StepSearchStartedAt1770200000000().up(runner);
    } finally {
      await runner.release();
    }

    const rows = await owner.query(`SELECT first_step_index, started_at FROM aos_step_search WHERE trace_id = $1 ORDER BY 1`, [a]);
    expect(rows.map((r: { started_at: Date }) => r.started_at.toISOString())).toEqual(['2026-03-01T10:00:00.123Z', '2026-03-01T10:00:00.123Z']);
    await expect(
      owner.query(`INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector) VALUES ($1, $2, 0, 0, ''::tsvector)`, [tenant, b]),
    ).rejects.toThrow(/started_at/);

    // A batch queued for the indexer comes out with its trace's started_at.
    await owner.query(
      `INSERT INTO aos_trace_steps (step_id, trace_id, tenant_id, step_index, step_type, "timestamp", input_data, output_data, content_hash)
       VALUES (gen_random_uuid(), $1, $2, 0, 'llm_call', now(), '{"q":"a pangolin"}', '{}', repeat('0', 64))`,
      [b, tenant],
    );
    await owner.query(`INSERT INTO aos_step_search_queue (trace_id, tenant_id, first_step_index, last_step_index) VALUES ($1, $2, 0, 0)`, [b, tenant]);
    expect(await owner.query(`SELECT aos_index_step_search(10) AS n`)).toEqual([{ n: 1 }]);
    const [indexed] = await owner.query(`SELECT started_at, search_vector @@ 'pangolin'::tsquery AS hit FROM aos_step_search WHERE trace_id = $1`, [b]);
    expect([indexed.started_at.toISOString(), indexed.hit]).toEqual(['2026-03-02T11:00:00.456Z', true]);
  }, 60_000);
});
