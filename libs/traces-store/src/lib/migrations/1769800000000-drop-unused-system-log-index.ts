import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `system_logs_created_idx` (created_at alone, from the initial schema) serves
 * no query: lists sort and page by the event `timestamp` (their own indexes),
 * and the retention purge selects by tenant, level and created_at
 * (`system_logs_retention_idx`). Each of the table's indexes costs every
 * ingested log a btree insert (issue 3's ingestion target), so it goes.
 */
export class DropUnusedSystemLogIndex1769800000000 implements MigrationInterface {
  name = 'DropUnusedSystemLogIndex1769800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS system_logs_created_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS system_logs_created_idx ON system_logs (created_at)`);
  }
}
