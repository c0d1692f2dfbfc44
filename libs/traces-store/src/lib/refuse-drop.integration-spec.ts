import { DataSource } from 'typeorm';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import { Incidents1769050000000 } from './migrations/1769050000000-incidents';
import { ExportJobs1769100000000 } from './migrations/1769100000000-export-jobs';
import { RefuseDrop1769550000000 } from './migrations/1769550000000-refuse-drop';

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('dropping the service\u2019s tables on %s', (kind) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
  }, 60_000);
  afterAll(() => t?.close());

  const exists = async (table: string) => (await t.asOwner<{ x: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS x`, [table]))[0].x;

  it('installs the event trigger (the tests migrate as a superuser)', async () => {
    expect(await t.asOwner(`SELECT evtname, evtevent, evtenabled FROM pg_event_trigger WHERE evtname = 'aos_refuse_drop'`)).toEqual([
      { evtname: 'aos_refuse_drop', evtevent: 'sql_drop', evtenabled: 'A' },
    ]);
  });

  it('refuses it in replica mode too (ENABLE ALWAYS: restore and replication tooling run in it)', async () => {
    await expect(t.asOwner(`DO $$ BEGIN SET LOCAL session_replication_role = replica; DROP TABLE incidents CASCADE; END $$`)).rejects.toThrow(
      /is refused/,
    );
    expect(await exists('incidents')).toBe(true);
  });

  it('refuses DROP TABLE of evidence and service tables even to the owner/superuser', async () => {
    for (const table of ['audit_logs', 'system_logs', 'aos_traces', 'aos_trace_steps', 'tenants', 'legal_holds', 'export_files', 'migrations']) {
      const err = await t.asOwner(`DROP TABLE ${table} CASCADE`).then(
        () => null,
        (e: { code?: string; message: string }) => e,
      );
      expect({ table, err }).toMatchObject({ table, err: { code: 'AOS01', message: expect.stringContaining('is refused') } });
      expect(await exists(table)).toBe(true);
    }
    // A schema dropped whole takes them with it: refused as well.
    await expect(t.asOwner(`DROP SCHEMA public CASCADE`)).rejects.toThrow(/is refused/);
    expect(await exists('audit_logs')).toBe(true);
  });

  it('refuses a partition of a protected table too, and lets scratch and temporary tables go', async () => {
    await t.asOwner(`CREATE TABLE system_logs_scratch (a int)`);
    await expect(t.asOwner(`DROP TABLE system_logs_scratch`)).rejects.toThrow(/is refused/);
    await t.asOwner(`CREATE TABLE bench_scratch (a int); DROP TABLE bench_scratch`);
    await t.asOwner(`CREATE TEMP TABLE aos_temp (a int); DROP TABLE aos_temp`);
    expect(await exists('bench_scratch')).toBe(false);
    // A migration's down() sets aos.allow_drop for its own transaction.
    await t.asOwner(`BEGIN; SELECT set_config('aos.allow_drop', 'on', true); DROP TABLE system_logs_scratch; COMMIT`);
    expect(await exists('system_logs_scratch')).toBe(false);
    await t.asOwner(`CREATE TABLE aos_scratch (a int)`);
    await expect(t.asOwner(`DROP TABLE aos_scratch`)).rejects.toThrow(/is refused/);
    await t.asOwner(`BEGIN; SELECT set_config('aos.allow_drop', 'on', true); DROP TABLE aos_scratch; COMMIT`);
    expect(await exists('aos_scratch')).toBe(false);
  });

  it('the serving role cannot drop them at all (not the owner)', async () => {
    await expect(t.db.query(`DROP TABLE audit_logs`)).rejects.toThrow(/must be owner/);
  });

  const withOwnerRunner = async (f: (q: import('typeorm').QueryRunner) => Promise<void>) => {
    const ds = new DataSource({ type: 'postgres', url: t.ownerUrl! });
    await ds.initialize();
    const q = ds.createQueryRunner();
    try {
      await f(q);
    } finally {
      await q.release();
      await ds.destroy();
    }
  };

  (kind === 'postgres' ? it : it.skip)('lets the migrations\u2019 down() drop their own tables (aos.allow_drop), and is itself reversible', async () => {
    await withOwnerRunner(async (q) => {
      for (const m of [new ExportJobs1769100000000(), new Incidents1769050000000()]) {
        await q.startTransaction();
        try {
          await m.down(q);
        } finally {
          await q.rollbackTransaction();
        }
      }
      expect(await exists('incidents')).toBe(true);
      const m = new RefuseDrop1769550000000();
      await m.down(q);
      await q.query(`CREATE TABLE aos_scratch2 (a int); DROP TABLE aos_scratch2`);
      await m.up(q);
      await q.query(`CREATE TABLE aos_scratch2 (a int)`);
      await expect(q.query(`DROP TABLE aos_scratch2`)).rejects.toThrow(/is refused/);
    });
  });

  (kind === 'postgres' ? it : it.skip)('is skipped, not failed, when the migrating role is not a superuser', async () => {
    await t.asOwner(`DO $$ BEGIN CREATE ROLE aos_migrator_plain NOSUPERUSER NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await withOwnerRunner(async (q) => {
      await q.query(`DROP EVENT TRIGGER aos_refuse_drop; DROP SCHEMA aos_guard CASCADE`);
      try {
        await q.query(`SET ROLE aos_migrator_plain`);
        await expect(new RefuseDrop1769550000000().up(q)).resolves.toBeUndefined();
        await q.query(`RESET ROLE`);
        expect(await q.query(`SELECT 1 FROM pg_event_trigger WHERE evtname = 'aos_refuse_drop'`)).toEqual([]);
      } finally {
        await q.query(`RESET ROLE`);
        await new RefuseDrop1769550000000().up(q);
      }
    });
  });
});
