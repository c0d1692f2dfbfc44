import 'reflect-metadata';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { MIGRATIONS } from '@aos/traces-store';
import { ConfigError, loadWorkerConfig, type WorkerConfig } from './config/worker-config';
import { WorkerModule } from './worker.module';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * The background worker: `NestFactory.createApplicationContext` (no HTTP) with
 * the BullMQ Worker of the `evidence-pdf` queue. Without REDIS_URL the API runs
 * its jobs in-process and there is nothing to do here: the worker says so and
 * exits 0. SIGTERM/SIGINT stop it gracefully: running jobs finish, then the
 * BullMQ worker, Chromium and the database pool close.
 */
async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = new Logger('Worker');
  if (!config.redisUrl) {
    logger.log('REDIS_URL is not set: the API renders PDFs in-process, so this worker has nothing to do. Exiting.');
    return;
  }
  await waitForSchema(config, logger);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: LEVELS.slice(0, LEVELS.indexOf(config.logLevel) + 1),
    abortOnError: false,
  });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  logger.log(`AOS worker ${process.pid} started`);
}

/**
 * The API migrates (it owns the schema); a worker that starts first, or next to
 * an API that is still migrating, waits until every migration it knows is applied.
 */
async function waitForSchema(config: WorkerConfig, logger: Logger): Promise<void> {
  const expected = MIGRATIONS.map((M) => new (M as new () => { name: string })().name);
  const deadline = Date.now() + config.databaseWaitMs;
  let said = false;
  for (;;) {
    const client = new Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 5_000 });
    let missing: string[] = expected;
    try {
      await client.connect();
      const [{ ready }] = (await client.query<{ ready: boolean }>(`SELECT to_regclass('public.migrations') IS NOT NULL AS ready`)).rows;
      if (ready) {
        const applied = new Set((await client.query<{ name: string }>(`SELECT name FROM migrations`)).rows.map((r) => r.name));
        missing = expected.filter((n) => !applied.has(n));
      }
      if (missing.length === 0) return;
      if (!said) logger.log(`Waiting for the API to migrate the database (${missing.length} migration(s) pending; or run npm run migrate)`);
    } catch (err) {
      if (!said) logger.warn(`Waiting for the database: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await client.end().catch(() => undefined);
    }
    said = true;
    if (Date.now() >= deadline) {
      throw new Error(`the database is not migrated after ${config.databaseWaitMs} ms (pending: ${missing.join(', ')}): start the API or run \`npm run migrate\` first`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`Invalid configuration: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
