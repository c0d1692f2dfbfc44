import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { Database } from './database';
import { MIGRATIONS } from '../migrations';
import { ENTITIES } from '../entities';

export interface DatabaseOptions {
  /** Owner or superuser URL of a PostgreSQL (15+). Unset: the embedded PGlite under `dataDir`. */
  databaseUrl?: string;
  /** URL of a serving role managed by the operator; unset: the service provisions `appRole`. */
  databaseAppUrl?: string;
  /** Where the embedded database keeps its files; unset with no URL: in memory (tests). */
  dataDir?: string;
  /** Name of the restricted serving role the service creates and grants. */
  appRole?: string;
  /** Serving pool size (PostgreSQL). The embedded database serves one connection. */
  poolSize?: number;
  /** Skip migrations (a replica or a second instance that must not migrate). */
  migrate?: boolean;
}

export const DEFAULT_APP_ROLE = 'aos_app';

/** Tables the serving role may read and append to, never change or delete. */
const EVIDENCE_TABLES = ['aos_trace_steps', 'policy_snapshots', 'system_logs', 'audit_logs'];

/**
 * Opens the database for serving: migrates with the owner connection, provisions
 * the restricted application role, then answers a pool that logs in (PostgreSQL)
 * or switches (PGlite) to that role, so the serving path can neither change
 * evidence nor switch a trigger off.
 */
export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options, appRole);
  return openEmbedded(options, appRole);
}

function baseOptions(): Partial<DataSourceOptions> {
  return { type: 'postgres', entities: ENTITIES, migrations: MIGRATIONS, migrationsTransactionMode: 'each', parseInt8: true, logging: false } as Partial<DataSourceOptions>;
}

async function migrateAndProvision(owner: DataSource, appRole: string, appPassword: string | null, migrate: boolean): Promise<void> {
  if (migrate) await owner.runMigrations({ transaction: 'each' });
  await provisionAppRole(owner, appRole, appPassword);
}

/** Creates (if missing) and grants the serving role. Idempotent; safe to run concurrently. */
export async function provisionAppRole(owner: DataSource, role: string, password: string | null): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new Error(`invalid role name: ${role}`);
  await owner.query(`
    DO $$ BEGIN
      CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`);
  if (password !== null) await retryCatalogRace(() => owner.query(`ALTER ROLE ${role} PASSWORD '${password}'`));
  // Short OLTP queries: JIT compilation costs more than it saves (~200 ms on counts).
  await retryCatalogRace(() => owner.query(`ALTER ROLE ${role} SET jit = off`));
  await grantAppRole(owner, role);
}

/**
 * Roles are cluster-wide: instances (or databases of one server) starting at
 * once alter the same catalog row, and PostgreSQL answers the loser "tuple
 * concurrently updated". The statements are idempotent, so it tries again.
 */
async function retryCatalogRace<T>(statement: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (err) {
      const message = (err as { message?: string }).message ?? '';
      if (attempt >= attempts || !message.includes('tuple concurrently updated')) throw err;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
    }
  }
}

async function grantAppRole(owner: DataSource, role: string): Promise<void> {
  await owner.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT ON ${EVIDENCE_TABLES.join(', ')} TO ${role}`);
  // Open traces grow and get sealed; the trigger freezes them once sealed.
  await owner.query(`GRANT SELECT, INSERT, UPDATE ON aos_traces TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT ON tenants TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT, UPDATE ON incidents TO ${role}`);
  // The search index is derived data: the indexer function (definer) maintains it.
  await owner.query(`GRANT SELECT ON aos_step_search TO ${role}`);
  // Its partitions too (a search reads its tenant's by name), under the same tenant policy.
  const partitions = await owner.query(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'aos_step_search'::regclass`);
  if (partitions.length > 0) await owner.query(`GRANT SELECT ON ${partitions.map((p: { name: string }) => p.name).join(', ')} TO ${role}`);
  await owner.query(`GRANT INSERT ON aos_step_search_queue TO ${role}`);
  // System-log search rows: written by the indexer function (definer) from a queue the trigger fills.
  await owner.query(`GRANT SELECT ON system_logs_search TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT ON api_keys TO ${role}`);
  await owner.query(`GRANT UPDATE (revoked_at) ON api_keys TO ${role}`);
  // Export job status moves (bookkeeping, not evidence); files are written once and
  // deleted by the serving role only once expired (a restrictive RLS policy).
  await owner.query(`GRANT SELECT, INSERT, UPDATE ON export_jobs TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT, DELETE ON export_files TO ${role}`);
  // Retention: policies change; holds are placed and released (a trigger freezes the rest).
  // Records are deleted only by the definer function aos_retention_purge().
  await owner.query(`GRANT SELECT, INSERT, UPDATE ON retention_policies TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT ON legal_holds TO ${role}`);
  await owner.query(`GRANT UPDATE (released_at, released_by) ON legal_holds TO ${role}`);
  // The ledger: entries, nodes and checkpoints are appended, never changed; the head moves.
  await owner.query(`GRANT SELECT, INSERT ON aos_ledger_leaves, aos_ledger_nodes, aos_ledger_checkpoints TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT, UPDATE ON aos_ledger_heads TO ${role}`);
  await owner.query(`GRANT SELECT ON aos_ledger_gaps TO ${role}`);
  await owner.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${role}`);
}

/** The serving role's password, derived from the owner URL so every instance agrees. */
function derivedPassword(ownerUrl: string, role: string): string {
  return createHmac('sha256', `aos-app-role:${ownerUrl}`).update(role).digest('hex');
}

async function openPostgres(url: string, options: DatabaseOptions, appRole: string): Promise<Database> {
  const owner = new DataSource({ ...baseOptions(), url, extra: { max: 2 } } as DataSourceOptions);
  await owner.initialize();
  let appUrl = options.databaseAppUrl;
  try {
    if (appUrl) {
      if (options.migrate !== false) await owner.runMigrations({ transaction: 'each' });
      const role = new URL(appUrl).username;
      if (role && role !== new URL(url).username) await grantAppRole(owner, role);
    } else {
      const password = derivedPassword(url, appRole);
      await migrateAndProvision(owner, appRole, password, options.migrate !== false);
      const u = new URL(url);
      u.username = appRole;
      u.password = password;
      appUrl = u.toString();
    }
  } finally {
    await owner.destroy();
  }
  const app = new DataSource({ ...baseOptions(), url: appUrl, extra: { max: options.poolSize ?? 10 } } as DataSourceOptions);
  await app.initialize();
  return new Database(app, 'postgres');
}

async function openEmbedded(options: DatabaseOptions, appRole: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  let dataDir: string | undefined;
  if (options.dataDir) {
    dataDir = join(options.dataDir, 'pgdata');
    mkdirSync(dataDir, { recursive: true });
  }
  const db = await PGlite.create(dataDir);
  // PGlite is one backend: connections share its session, so one pooled
  // connection serves everything and a reconnect re-enters the role.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  const stop = async () => {
    await server.stop();
    await db.close();
  };
  try {
    const owner = new DataSource({ ...baseOptions(), url, extra: { max: 1 } } as DataSourceOptions);
    await owner.initialize();
    try {
      await migrateAndProvision(owner, appRole, null, options.migrate !== false);
    } finally {
      await owner.destroy();
    }
    const app = new DataSource({ ...baseOptions(), url, extra: { max: 1 } } as DataSourceOptions);
    await app.initialize();
    const pool = (app.driver as unknown as { master: { on(e: 'connect', f: (c: { query(s: string): Promise<unknown> }) => void): void } }).master;
    pool.on('connect', (client) => void client.query(`SET ROLE ${appRole}`));
    // The pool's first connection was opened by initialize(): switch it too.
    await app.query(`SET ROLE ${appRole}`);
    return new Database(app, 'embedded', stop);
  } catch (err) {
    await stop();
    throw err;
  }
}
