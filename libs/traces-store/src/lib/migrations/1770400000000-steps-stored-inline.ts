import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A step row stays whole in its heap page up to 8 KB (`toast_tuple_target`
 * 8160, the most a page allows), where PostgreSQL's default of ~2 KB sent a
 * typical 2 KB step through the toaster: its JSON compressed with pglz and,
 * when still over, moved to the TOAST table (one more heap row and index entry,
 * written and later read back). The bench's 2 KB steps (docs/benchmarks.md
 * section 1, session 8): 41 MB of TOAST for 40,000 steps, and the insert 42 to
 * 51 us of PostgreSQL CPU per step against 28 to 44 inline. Rows over 8 KB are
 * still compressed and moved out as before. Existing rows keep their storage;
 * the value of a step is the same either way (its hash covers the JSON text).
 */
export class StepsStoredInline1770400000000 implements MigrationInterface {
  name = 'StepsStoredInline1770400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE aos_trace_steps SET (toast_tuple_target = 8160)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE aos_trace_steps RESET (toast_tuple_target)`);
  }
}
