import { hostname } from 'node:os';
import {
  type BeforeApplicationShutdown,
  ConsoleLogger,
  Inject,
  Injectable,
  type LoggerService,
  type LogLevel,
  Optional,
} from '@nestjs/common';
import {
  CORRELATION_ID_MAX_LENGTH,
  findUnstorableJson,
  type JsonValue,
  MAX_SYSTEM_LOGS_PER_BATCH,
  type NewSystemLog,
  SYSTEM_LOG_MESSAGE_MAX_LENGTH,
  SYSTEM_LOG_SOURCE_MAX_LENGTH,
  type SystemLogLevel,
} from '@aos/logs-domain';
import { type Scope, SystemLogStore } from '@aos/traces-store';
import { currentRequestContext } from './request-context';

/** Where platform logs go: the system-log store, or anything with its `insertMany`. */
export interface PlatformLogSink {
  insertMany(scope: Scope, logs: NewSystemLog[]): Promise<unknown>;
}

export interface PlatformLoggerOptions {
  /** Buffered logs are written at least this often (ms). Default 1000. */
  flushIntervalMs?: number;
  /** A buffer this long is written at once, without waiting for the interval. Default 100. */
  flushAt?: number;
  /** Most logs held while the database is slow or away; beyond it the oldest are dropped and counted. Default 10,000. */
  maxBuffered?: number;
  /** Nest contexts echoed but not stored (per-route and per-module start-up lines). */
  ignoreContexts?: readonly string[];
  /** Where every line is echoed: Nest's ConsoleLogger by default; false for none. */
  echo?: LoggerService | false;
  /** Levels printed and stored; default all of Nest's. */
  levels?: LogLevel[];
  /** `source` of a log written without a Nest context. Default `aos`. */
  defaultSource?: string;
}

export const PLATFORM_LOGGER_OPTIONS = Symbol('PLATFORM_LOGGER_OPTIONS');

/** Nest's start-up chatter: one line per module and route. */
export const NEST_STARTUP_CONTEXTS = ['InstanceLoader', 'RoutesResolver', 'RouterExplorer'] as const;

const LEVEL_OF: Record<LogLevel, SystemLogLevel> = {
  verbose: 'debug',
  debug: 'debug',
  log: 'info',
  warn: 'warning',
  error: 'error',
  fatal: 'critical',
};

const ALL_LEVELS: LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];
const STACK = /\n[ \t]+at .+:\d+:\d+/;

interface Buffered {
  log: NewSystemLog;
  attempts: number;
}

/**
 * A NestJS LoggerService for the service's own platform events (start-up, job
 * failures, purges). Every line is echoed to stdout/stderr through Nest's
 * ConsoleLogger and stored as a platform system log (tenant_id NULL, source =
 * the Nest context) with the request_id and trace_id of the request being
 * served. Storing is buffered and batched (every `flushIntervalMs`, or once
 * `flushAt` lines wait) and flushed before the application shuts down. A log
 * call never waits for the database and never throws.
 */
@Injectable()
export class PlatformLogger implements LoggerService, BeforeApplicationShutdown {
  private readonly echo: LoggerService | null;
  private readonly options: Required<Omit<PlatformLoggerOptions, 'echo' | 'levels'>>;
  private readonly ignored: Set<string>;
  private readonly meta = { pid: process.pid, hostname: hostname() };
  private levels: Set<LogLevel>;
  private buffer: Buffered[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushSoon = false;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private closed = false;

  constructor(
    @Inject(SystemLogStore) private readonly sink: PlatformLogSink,
    @Optional() @Inject(PLATFORM_LOGGER_OPTIONS) options: PlatformLoggerOptions = {},
  ) {
    this.options = {
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      flushAt: Math.min(options.flushAt ?? 100, MAX_SYSTEM_LOGS_PER_BATCH),
      maxBuffered: options.maxBuffered ?? 10_000,
      ignoreContexts: options.ignoreContexts ?? NEST_STARTUP_CONTEXTS,
      defaultSource: options.defaultSource ?? 'aos',
    };
    this.ignored = new Set(this.options.ignoreContexts);
    this.echo = options.echo === false ? null : (options.echo ?? new ConsoleLogger());
    this.levels = new Set(options.levels ?? ALL_LEVELS);
    if (options.levels) this.echo?.setLogLevels?.(options.levels);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  setLogLevels(levels: LogLevel[]): void {
    this.levels = new Set(levels);
    this.echo?.setLogLevels?.(levels);
  }

  /** Logs waiting to be stored. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Writes everything buffered now; resolves when done (never rejects). */
  flush(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.inFlight) {
      this.inFlight = this.drain().finally(() => {
        this.inFlight = null;
      });
      return this.inFlight;
    }
    // One write at a time: a flush asked for during a write runs right after it.
    this.queued = this.inFlight.then(() => {
      this.queued = null;
      return this.flush();
    });
    return this.queued;
  }

  /** Stops the timer and stores what is buffered; later lines are only echoed. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    // A line that failed once gets its second attempt now: there is no later flush.
    if (this.buffer.length > 0) await this.flush();
  }

  /** Nest calls this before any module's onApplicationShutdown (where the database closes). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private write(level: LogLevel, message: unknown, params: unknown[]): void {
    if (!this.levels.has(level)) return;
    try {
      this.echo?.[level]?.(message, ...params);
    } catch {
      // Echoing is best effort.
    }
    if (this.closed) return;
    try {
      const entry = this.toSystemLog(level, message, params);
      if (!entry) return;
      this.buffer.push({ log: entry, attempts: 0 });
      if (this.buffer.length > this.options.maxBuffered) {
        const excess = this.buffer.length - this.options.maxBuffered;
        this.buffer.splice(0, excess);
        this.dropped += excess;
      }
      this.ensureTimer();
      if (this.buffer.length >= this.options.flushAt && !this.flushSoon) {
        this.flushSoon = true;
        setImmediate(() => {
          this.flushSoon = false;
          void this.flush();
        });
      }
    } catch {
      // A log line must never break its caller.
    }
  }

  private toSystemLog(level: LogLevel, message: unknown, params: unknown[]): NewSystemLog | null {
    const rest = [...params];
    let source: string | undefined;
    const last = rest[rest.length - 1];
    if (typeof last === 'string' && !((level === 'error' || level === 'fatal') && STACK.test(last))) {
      source = last;
      rest.pop();
    }
    if (source !== undefined && this.ignored.has(source)) return null;
    let stack: string | undefined;
    if ((level === 'error' || level === 'fatal') && rest.length > 0) {
      const candidate = rest[rest.length - 1];
      if (candidate === undefined || typeof candidate === 'string') {
        stack = candidate;
        rest.pop();
      }
    }
    let text: string;
    if (message instanceof Error) {
      text = message.message || message.name;
      stack ??= message.stack;
    } else if (typeof message === 'string') {
      text = message;
    } else {
      text = safeJsonText(message);
    }
    const context: Record<string, JsonValue> = { ...this.meta };
    if (stack) context['stack'] = clean(stack, SYSTEM_LOG_MESSAGE_MAX_LENGTH);
    if (rest.length > 0) context['params'] = toJson(rest);
    const request = currentRequestContext();
    return {
      level: LEVEL_OF[level],
      source: clean(source ?? this.options.defaultSource, SYSTEM_LOG_SOURCE_MAX_LENGTH) || this.options.defaultSource,
      message: clean(text, SYSTEM_LOG_MESSAGE_MAX_LENGTH) || '(empty)',
      timestamp: new Date().toISOString(),
      context,
      trace_id: request?.trace_id ? clean(request.trace_id, CORRELATION_ID_MAX_LENGTH) : null,
      request_id: request?.request_id ? clean(request.request_id, CORRELATION_ID_MAX_LENGTH) : null,
    };
  }

  private ensureTimer(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, MAX_SYSTEM_LOGS_PER_BATCH);
      if (this.dropped > 0) {
        batch.push({
          log: {
            level: 'warning',
            source: 'PlatformLogger',
            message: `${this.dropped} platform log(s) were dropped: the buffer was full while the database was unavailable`,
            context: { ...this.meta, dropped: this.dropped },
          },
          attempts: 0,
        });
        this.dropped = 0;
      }
      try {
        await this.sink.insertMany({ platform: true }, batch.map((b) => b.log));
      } catch (err) {
        // Kept for one more attempt at the next flush, then given up (and said so on stderr).
        const retry = batch.filter((b) => ++b.attempts < 2);
        const lost = batch.length - retry.length;
        this.buffer.unshift(...retry);
        if (this.buffer.length > this.options.maxBuffered) {
          const excess = this.buffer.length - this.options.maxBuffered;
          this.buffer.splice(0, excess);
          this.dropped += excess;
        }
        this.report(`could not store ${batch.length} platform log(s) in system_logs${lost ? ` (${lost} given up)` : ''}: ${describe(err)}`);
        return;
      }
    }
  }

  private report(message: string): void {
    try {
      if (this.echo) this.echo.error(message, undefined, 'PlatformLogger');
      else process.stderr.write(`[PlatformLogger] ${message}\n`);
    } catch {
      // Nothing left to tell.
    }
  }
}

/** A string PostgreSQL can store: no NUL, no unpaired surrogate, at most `max` characters. */
function clean(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- NUL is what PostgreSQL text refuses
  const s = value.replace(/\u0000/g, '\ufffd').toWellFormed();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Any value as storable JSON: strings cleaned, bigints as strings, cycles and failures as text. */
function toJson(value: unknown): JsonValue {
  try {
    const seen = new WeakSet<object>();
    const text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'string') return clean(v, SYSTEM_LOG_MESSAGE_MAX_LENGTH);
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Error) return { name: v.name, message: v.message };
      if (v !== null && typeof v === 'object') {
        if (seen.has(v)) return '[circular]';
        seen.add(v);
      }
      return v;
    });
    if (text === undefined) return null;
    const parsed = JSON.parse(text) as JsonValue;
    return findUnstorableJson(parsed) ? clean(text, SYSTEM_LOG_MESSAGE_MAX_LENGTH) : parsed;
  } catch {
    return '[unserialisable]';
  }
}

function safeJsonText(value: unknown): string {
  const json = toJson(value);
  return typeof json === 'string' ? json : JSON.stringify(json);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
