import { Logger } from '@nestjs/common';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hardening (issue 7 item 6): dropping a table or partition of the service outside
 * the retention path is refused, even by the owner or a superuser.
 *
 * An event trigger on `sql_drop` looks at `pg_event_trigger_dropped_objects()`
 * and raises SQLSTATE AOS01 when a table of the service goes: every table whose
 * name starts with `aos_` (traces, steps, search, ledger, ...), the other tables
 * of the migrations (`tenants`, `api_keys`, `policy_snapshots`, `system_logs`,
 * `audit_logs`, `incidents`, `export_jobs`, `export_files`, `retention_policies`,
 * `legal_holds`), any table named like one of those plus a `_suffix` (their
 * partitions), and TypeORM's `migrations`. `DROP SCHEMA public CASCADE` drops them
 * too, so it is refused as well (the trigger's function lives in its own schema,
 * `aos_guard`, so that cascade cannot take the trigger with it). Scratch tables (benchmarks' `bench_*`,
 * temporary tables) and `DROP DATABASE` (which fires no event trigger) are not
 * concerned. Records are removed only by the purge function, row by row.
 *
 * A migration's `down()` that really drops one of these tables first sets the
 * transaction-local `aos.allow_drop = on`
 * (`SELECT set_config('aos.allow_drop', 'on', true)`); TypeORM runs each
 * migration in its own transaction, so the setting ends with it. A superuser can
 * set it too, or disable the trigger: this stops accidents and careless tooling,
 * not a determined superuser (who could also edit rows with triggers off, which
 * `/verify` and the ledger then report).
 *
 * Event triggers need a superuser. When the migrating role is not one (managed
 * PostgreSQL), the trigger is skipped with a logged warning rather than failing
 * the migration: the serving role is not the tables' owner and cannot DROP them
 * anyway.
 */
export class RefuseDrop1769550000000 implements MigrationInterface {
  name = 'RefuseDrop1769550000000';

  async up(q: QueryRunner): Promise<void> {
    const [me] = (await q.query(`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`)) as Array<{ rolsuper: boolean }>;
    if (!me?.rolsuper) {
      new Logger('Migrations').warn(
        'RefuseDrop1769550000000: the migrating role is not a superuser, so the event trigger refusing DROP TABLE on the ' +
          "service's tables is not installed (the serving role cannot drop them anyway).",
      );
      return;
    }
    // The function lives in a schema of its own: in public, DROP SCHEMA public CASCADE
    // would drop it, and the event trigger with it, before the trigger could refuse.
    await q.query(`
CREATE SCHEMA aos_guard;
CREATE FUNCTION aos_guard.refuse_drop() RETURNS event_trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  o record;
BEGIN
  IF coalesce(current_setting('aos.allow_drop', true), '') = 'on' THEN
    RETURN;
  END IF;
  FOR o IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
    IF o.object_type = 'table' AND NOT o.is_temporary AND o.schema_name = 'public'
       AND (o.object_name LIKE 'aos\\_%'
            OR o.object_name = 'migrations'
            OR o.object_name ~ '^(tenants|api_keys|policy_snapshots|system_logs|audit_logs|incidents|export_jobs|export_files|retention_policies|legal_holds)(_.*)?$') THEN
      RAISE EXCEPTION 'Immutable record: dropping table % is refused (records leave only through the retention purge)', o.object_identity
        USING ERRCODE = 'AOS01',
              HINT = 'A migration''s down() that must drop it sets aos.allow_drop = on for its transaction.';
    END IF;
  END LOOP;
END $$;
CREATE EVENT TRIGGER aos_refuse_drop ON sql_drop EXECUTE FUNCTION aos_guard.refuse_drop();
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP EVENT TRIGGER IF EXISTS aos_refuse_drop; DROP SCHEMA IF EXISTS aos_guard CASCADE;`);
  }
}
