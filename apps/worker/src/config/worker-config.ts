import { ConfigError, type PdfRenderingSettings, SettingsReader } from '@aos/logs-domain';
import { type LedgerSettings, ledgerSettings } from '@aos/ledger';

/**
 * The worker's settings, read once from the environment and validated: a bad
 * setting stops the start with a message naming it (DESIGN.md 2).
 */
export interface WorkerConfig {
  /** Owner (or superuser) URL of the API's PostgreSQL; required with REDIS_URL. */
  databaseUrl?: string;
  /** The serving role's URL, when the operator manages roles (as for the API). */
  databaseAppUrl?: string;
  /** Unset: the API runs jobs in-process and the worker has nothing to do. */
  redisUrl?: string;
  /** BullMQ key prefix; the API must use the same (default `aos`). */
  queuePrefix: string;
  /** PDF jobs (and Chromium pages) at once, renders per Chromium, longest render (the API reads the same). */
  pdfRendering: PdfRenderingSettings;
  /** BullMQ job lock, ms: a job whose worker died is taken up again once its lock expires. */
  lockDurationMs: number;
  /** How often BullMQ looks for jobs whose worker died, ms. */
  stalledIntervalMs: number;
  /** How long to wait at start for the API to have migrated the database, ms. */
  databaseWaitMs: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** How often the retention purge runs (a BullMQ repeatable job), ms; 0: the worker does not schedule it. */
  retentionIntervalMs: number;
  /** How far the search indexes may trail a burst of writes before they index flat out, s; 0: they never yield. */
  searchIndexMaxLagSeconds: number;
  /** The ledger key that signs the evidence attached to PDFs (the API's settings: same key). */
  ledger: LedgerSettings;
  /** Test hook: each bundle load waits this long first (the kill-the-worker test). Never set it in production. */
  testRenderDelayMs: number;
  /**
   * Test hook: a job that stored its file waits this long before BullMQ records it done (the
   * kill-after-completion test). Never set it in production.
   */
  testCompleteDelayMs: number;
}

export { ConfigError };

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const read = new SettingsReader(env);
  const int = (name: string, fallback: number, min: number, max: number) => read.int(name, fallback, min, max);
  const url = (name: string, protocols: string[]) => read.url(name, protocols);

  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const databaseAppUrl = url('DATABASE_APP_URL', ['postgres:', 'postgresql:']);
  if (redisUrl && !databaseUrl) {
    throw new ConfigError(
      'DATABASE_URL is required with REDIS_URL: the worker stores rendered files in the API\'s PostgreSQL (the embedded database is private to the API process)',
    );
  }
  if (databaseAppUrl && !databaseUrl) throw new ConfigError('DATABASE_APP_URL needs DATABASE_URL (the owner URL)');
  return {
    databaseUrl,
    databaseAppUrl,
    redisUrl,
    queuePrefix: read.queuePrefix(),
    pdfRendering: read.pdfRendering(),
    lockDurationMs: int('AOS_QUEUE_LOCK_MS', 30_000, 1_000, 600_000),
    stalledIntervalMs: int('AOS_QUEUE_STALLED_INTERVAL_MS', 30_000, 500, 600_000),
    databaseWaitMs: int('AOS_WORKER_DATABASE_WAIT_MS', 60_000, 0, 3_600_000),
    logLevel: read.logLevel(),
    retentionIntervalMs: int('AOS_RETENTION_INTERVAL_MS', 3_600_000, 0, 7 * 24 * 3_600_000),
    testRenderDelayMs: int('AOS_WORKER_TEST_RENDER_DELAY_MS', 0, 0, 600_000),
    testCompleteDelayMs: int('AOS_WORKER_TEST_COMPLETE_DELAY_MS', 0, 0, 600_000),
    searchIndexMaxLagSeconds: read.searchIndexMaxLagSeconds(),
    ledger: ledgerSettings(env),
  };
}

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
