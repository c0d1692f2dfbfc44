import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Database } from '../lib/database/database';
import { openDatabase } from '../lib/database/open-database';

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
  close(): Promise<void>;
}

/**
 * A fresh, migrated database per test file: a new PostgreSQL database on the
 * test server, or an in-memory PGlite.
 */
export async function openTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
  if (kind === 'embedded') {
    const db = await openDatabase({});
    return {
      db,
      kind,
      ownerUrl: null,
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
  }
  const ownerUrl = await createTestDatabaseUrl();
  const db = await openDatabase({ databaseUrl: ownerUrl, poolSize: 4 });
  return {
    db,
    kind,
    ownerUrl,
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
