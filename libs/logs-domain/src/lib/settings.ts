/**
 * Reads settings from an environment object (pure: the caller passes
 * `process.env`). Every bad value throws a ConfigError naming the setting, so
 * a start with a bad setting stops with a clear message (DESIGN.md 2). Shared
 * by the API and the worker so both read the same names the same way.
 */
export class ConfigError extends Error {}

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelSetting = (typeof LOG_LEVELS)[number];

export class SettingsReader {
  constructor(private readonly env: Record<string, string | undefined>) {}

  /** The trimmed value; blank counts as unset. */
  str(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return n;
  }

  /** A URL of one of `protocols` (e.g. `postgres:`); a password is never echoed in the error. */
  url(name: string, protocols: string[]): string | undefined {
    const raw = this.str(name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(`${name} must be a URL (${protocols.join(' or ')}), got "${raw.replace(/:[^:@/]*@/, ':***@')}"`);
    }
    if (!protocols.includes(parsed.protocol)) throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
    return raw;
  }

  /** LOG_LEVEL, accepting `info` and `warning` as aliases. */
  logLevel(name = 'LOG_LEVEL'): LogLevelSetting {
    const given = (this.str(name) ?? 'log').toLowerCase();
    const level = given === 'info' ? 'log' : given === 'warning' ? 'warn' : given;
    if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ConfigError(`${name} must be one of ${LOG_LEVELS.join(', ')}, got "${given}"`);
    return level as LogLevelSetting;
  }

  /** AOS_QUEUE_PREFIX: the BullMQ key prefix the API and the workers must share. */
  queuePrefix(name = 'AOS_QUEUE_PREFIX'): string {
    const prefix = this.str(name) ?? 'aos';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) throw new ConfigError(`${name} must be 1-64 letters, digits, '-' or '_', got "${prefix}"`);
    return prefix;
  }

  /**
   * AOS_SEARCH_INDEX_MAX_LAG_SECONDS: how far the search indexers, which run in
   * the API and the worker alike, may trail a burst of writes before they index
   * flat out beside it (0: they never yield to the writes).
   */
  searchIndexMaxLagSeconds(name = 'AOS_SEARCH_INDEX_MAX_LAG_SECONDS'): number {
    return this.int(name, 60, 0, 86_400);
  }

  /**
   * AOS_PDF_CONCURRENCY, AOS_PDF_RECYCLE_AFTER, AOS_PDF_TIMEOUT_MS: PDF rendering
   * where the jobs run, the worker or (without REDIS_URL) the API alike.
   */
  pdfRendering(): PdfRenderingSettings {
    return {
      concurrency: this.int('AOS_PDF_CONCURRENCY', 2, 1, 32),
      recycleAfter: this.int('AOS_PDF_RECYCLE_AFTER', 100, 1, 100_000),
      timeoutMs: this.int('AOS_PDF_TIMEOUT_MS', 60_000, 1_000, 600_000),
    };
  }
}

export interface PdfRenderingSettings {
  /** PDF jobs (and Chromium pages) at once. */
  concurrency: number;
  /** Renders per Chromium before it is replaced. */
  recycleAfter: number;
  /** Longest one render may take, ms. */
  timeoutMs: number;
}
