import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { Database } from '../lib/database/database';
import { openDatabase } from '../lib/database/open-database';
import { MIGRATIONS } from '../lib/migrations';

export type TestDatabaseKind = 'postgres' | 'embedded';

/** The server the integration tests use; CI starts it (tools/scripts/ensure-services.sh). */
export const TEST_SERVER_URL = process.env['DATABASE_TEST_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  db: Database;
  kind: TestDatabaseKind;
  /** Owner connection URL (PostgreSQL only), for tests that act as the superuser. */
  ownerUrl: string | null;
  /** Runs SQL as the owner/superuser, bypassing the application (a tamperer's view). */
  asOwner<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Moves the clock of the retention floor (`aos_retention_floor`) to `at` (null:
   * back to the database's own). It is an owner-only table the serving role
   * cannot write; tests that move the application's Clock forward move this one
   * with it, so the purge may remove what the moved clock says has expired.
   */
  setDatabaseClock(at: Date | null): Promise<void>;
  close(): Promise<void>;
}

async function setDatabaseClock(asOwner: TestDatabase['asOwner'], at: Date | null): Promise<void> {
  if (at === null) {
    await asOwner(`DELETE FROM aos_retention_test_clock`);
    return;
  }
  await asOwner(
    `INSERT INTO aos_retention_test_clock (singleton, skew) VALUES (true, $1::timestamptz - clock_timestamp())
     ON CONFLICT (singleton) DO UPDATE SET skew = EXCLUDED.skew, set_at = now()`,
    [at.toISOString()],
  );
}

/**
 * A fresh, migrated database per test file: a new PostgreSQL database on the
 * test server, or an in-memory PGlite.
 */
export async function openTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
  if (kind === 'embedded') {
    const db = await openDatabase({});
    const t: TestDatabase = {
      db,
      kind,
      ownerUrl: null,
      setDatabaseClock: (at) => setDatabaseClock(t.asOwner, at),
      // PGlite has one session; the serving role is entered with SET ROLE, so
      // the owner is reached by leaving it for one statement.
      async asOwner<T>(sql: string, params: unknown[] = []): Promise<T[]> {
        const runner = db.dataSource.createQueryRunner();
        try {
          await runner.query('RESET ROLE');
          const r = await runner.query(sql, params, true);
          return r.records as T[];
        } finally {
          await runner.query(`SET ROLE aos_app`).catch(() => undefined);
          await runner.release();
        }
      },
      close: () => db.close(),
    };
    return t;
  }
  const ownerUrl = await createTestDatabaseUrl();
  const db = await openDatabase({ databaseUrl: ownerUrl, poolSize: 4 });
  const t: TestDatabase = {
    db,
    kind,
    ownerUrl,
    setDatabaseClock: (at) => setDatabaseClock(t.asOwner, at),
    async asOwner<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      const c = new Client({ connectionString: ownerUrl });
      await c.connect();
      try {
        return (await c.query(sql, params)).rows as T[];
      } finally {
        await c.end();
      }
    },
    async close() {
      await db.close();
      await dropTestDatabase(ownerUrl);
    },
  };
  return t;
}

/** Creates an empty database on the test server and answers its owner URL. */
export async function createTestDatabaseUrl(): Promise<string> {
  const name = `aos_test_${Date.now()}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: TEST_SERVER_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  if (!/^aos_test_\w+$/.test(name)) throw new Error(`refusing to drop ${name}`);
  const admin = new Client({ connectionString: TEST_SERVER_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * A database on the test server migrated up to `migration` (not included), with
 * its owner connection: where an upgrade test starts. `close` drops it.
 */
export async function openDatabaseBefore(migration: (typeof MIGRATIONS)[number]): Promise<{ url: string; owner: DataSource; close(): Promise<void> }> {
  const at = MIGRATIONS.indexOf(migration);
  if (at < 0) throw new Error(`${migration.name} is not a migration of MIGRATIONS`);
  const url = await createTestDatabaseUrl();
  const owner = new DataSource({ type: 'postgres', url, migrations: MIGRATIONS.slice(0, at), migrationsTransactionMode: 'each', extra: { max: 1 } });
  await owner.initialize();
  await owner.runMigrations({ transaction: 'each' });
  return {
    url,
    owner,
    close: async () => {
      if (owner.isInitialized) await owner.destroy();
      await dropTestDatabase(url);
    },
  };
}
