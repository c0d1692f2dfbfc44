import { resolve } from 'node:path';
import { ConfigError, type PdfRenderingSettings, SettingsReader } from '@aos/logs-domain';
import { type LedgerSettings, ledgerSettings } from '@aos/ledger';

/**
 * The API's settings, read once from the environment and validated: a bad
 * setting stops the start with a message naming it (DESIGN.md 2).
 */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  databaseAppUrl?: string;
  redisUrl?: string;
  /** BullMQ key prefix; the worker must use the same (default `aos`). */
  queuePrefix: string;
  bootstrapApiKey?: string;
  platformApiKey?: string;
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** Proxy addresses/CIDRs whose X-Forwarded-For is trusted; none by default. */
  trustProxy: string[];
  /** How often the retention purge runs in-process (without REDIS_URL; with it the worker runs it), ms; 0: never. */
  retentionIntervalMs: number;
  /** How far the search indexes may trail a burst of writes before they index flat out, s; 0: they never yield. */
  searchIndexMaxLagSeconds: number;
  /** PDF rendering when the jobs run in this process (without REDIS_URL); the worker reads the same settings. */
  pdfRendering: PdfRenderingSettings;
  /** The tamper-evident ledger: signing key, checkpoint interval and where checkpoints are published. */
  ledger: LedgerSettings;
}

export { ConfigError };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const read = new SettingsReader(env);
  const str = (name: string) => read.str(name);
  const int = (name: string, fallback: number, min: number, max: number) => read.int(name, fallback, min, max);
  const url = (name: string, protocols: string[]) => read.url(name, protocols);
  const key = (name: string): string | undefined => {
    const raw = str(name);
    if (raw !== undefined && raw.length < 16) throw new ConfigError(`${name} must be at least 16 characters`);
    return raw;
  };
  const databaseAppUrl = url('DATABASE_APP_URL', ['postgres:', 'postgresql:']);
  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  if (databaseAppUrl && !databaseUrl) throw new ConfigError('DATABASE_APP_URL needs DATABASE_URL (the owner URL that migrates)');
  return {
    port: int('PORT', 3000, 0, 65535),
    host: str('HOST') ?? '0.0.0.0',
    dataDir: resolve(str('AOS_DATA_DIR') ?? './data'),
    databaseUrl,
    databaseAppUrl,
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    queuePrefix: read.queuePrefix(),
    bootstrapApiKey: key('AOS_BOOTSTRAP_API_KEY'),
    platformApiKey: key('AOS_PLATFORM_API_KEY'),
    logLevel: read.logLevel(),
    bodyLimit: int('AOS_BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    retentionIntervalMs: int('AOS_RETENTION_INTERVAL_MS', 3_600_000, 0, 7 * 24 * 3_600_000),
    searchIndexMaxLagSeconds: read.searchIndexMaxLagSeconds(),
    pdfRendering: read.pdfRendering(),
    ledger: ledgerSettings(env),
    trustProxy: (str('AOS_TRUST_PROXY') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
