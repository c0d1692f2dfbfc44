import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The last three guards that `session_replication_role = replica` switched off,
 * now ENABLE ALWAYS like every other (InitialSchema1769000000000): the event
 * trigger refusing DROP TABLE of the service's tables (RefuseDrop1769550000000,
 * installed only where the migrating role is a superuser), an export job's
 * fixed identity and a rendered file's immutability (ExportJobs1769100000000).
 * Replica mode is what restore and replication tooling run in: a superuser's
 * `SET session_replication_role = replica; DROP TABLE incidents CASCADE` went
 * through.
 */
export class GuardsAlways1770800000000 implements MigrationInterface {
  name = 'GuardsAlways1770800000000';

  async up(q: QueryRunner): Promise<void> {
    await this.set(q, 'ENABLE ALWAYS');
  }

  async down(q: QueryRunner): Promise<void> {
    await this.set(q, 'ENABLE');
  }

  private async set(q: QueryRunner, mode: 'ENABLE ALWAYS' | 'ENABLE'): Promise<void> {
    await q.query(`
ALTER TABLE export_jobs ${mode} TRIGGER export_jobs_identity;
ALTER TABLE export_files ${mode} TRIGGER export_files_immutable;
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'aos_refuse_drop') THEN
    ALTER EVENT TRIGGER aos_refuse_drop ${mode};
  END IF;
END $$;`);
  }
}
