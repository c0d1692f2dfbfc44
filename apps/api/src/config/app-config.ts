import { resolve } from 'node:path';

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
}

export class ConfigError extends Error {}

const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(`${name} must be a URL (${protocols.join(' or ')}), got "${raw.replace(/:[^:@/]*@/, ':***@')}"`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
    }
    return raw;
  };
  const key = (name: string): string | undefined => {
    const raw = str(name);
    if (raw !== undefined && raw.length < 16) throw new ConfigError(`${name} must be at least 16 characters`);
    return raw;
  };
  const logLevel = (str('LOG_LEVEL') ?? 'log').toLowerCase();
  const level = logLevel === 'info' ? 'log' : logLevel === 'warning' ? 'warn' : logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const queuePrefix = str('AOS_QUEUE_PREFIX') ?? 'aos';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(queuePrefix)) {
    throw new ConfigError(`AOS_QUEUE_PREFIX must be 1-64 letters, digits, '-' or '_', got "${queuePrefix}"`);
  }
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
    queuePrefix,
    bootstrapApiKey: key('AOS_BOOTSTRAP_API_KEY'),
    platformApiKey: key('AOS_PLATFORM_API_KEY'),
    logLevel: level as AppConfig['logLevel'],
    bodyLimit: int('AOS_BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    retentionIntervalMs: int('AOS_RETENTION_INTERVAL_MS', 3_600_000, 0, 7 * 24 * 3_600_000),
    trustProxy: (str('AOS_TRUST_PROXY') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
