import type { LoggerService } from '@nestjs/common';
import type { NewSystemLog } from '@aos/logs-domain';
import type { Scope } from '@aos/traces-store';
import { PlatformLogger, type PlatformLoggerOptions, type PlatformLogSink } from './platform-logger';
import { runWithRequestContext } from './request-context';

class FakeSink implements PlatformLogSink {
  batches: Array<{ scope: Scope; logs: NewSystemLog[] }> = [];
  failures = 0;
  insertMany = jest.fn(async (scope: Scope, logs: NewSystemLog[]) => {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('database unavailable');
    }
    this.batches.push({ scope, logs });
    return logs;
  });
  get stored(): NewSystemLog[] {
    return this.batches.flatMap((b) => b.logs);
  }
}

const echo = (): jest.Mocked<LoggerService> =>
  ({ log: jest.fn(), error: jest.fn(), warn: jest.fn(), debug: jest.fn(), verbose: jest.fn(), fatal: jest.fn(), setLogLevels: jest.fn() }) as never;

describe(PlatformLogger.name, () => {
  let sink: FakeSink;
  let out: jest.Mocked<LoggerService>;
  const make = (options: PlatformLoggerOptions = {}) => new PlatformLogger(sink, { echo: out, ...options });

  beforeEach(() => {
    jest.useFakeTimers();
    sink = new FakeSink();
    out = echo();
  });
  afterEach(() => jest.useRealTimers());

  it('buffers lines and writes them as one platform batch when the interval passes', async () => {
    const logger = make();
    logger.log('application started', 'NestApplication');
    logger.warn('queue is slow', 'Jobs');
    expect(sink.insertMany).not.toHaveBeenCalled();
    expect(logger.pending).toBe(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(sink.insertMany).toHaveBeenCalledTimes(1);
    expect(sink.batches[0].scope).toEqual({ platform: true });
    expect(sink.stored).toEqual([
      expect.objectContaining({ level: 'info', source: 'NestApplication', message: 'application started', trace_id: null, request_id: null }),
      expect.objectContaining({ level: 'warning', source: 'Jobs', message: 'queue is slow' }),
    ]);
    expect(sink.stored[0].context).toMatchObject({ pid: process.pid });
    expect(logger.pending).toBe(0);
    await logger.close();
  });

  it('writes at once, without waiting for the interval, when flushAt lines are waiting', async () => {
    const logger = make({ flushAt: 3, flushIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) logger.log(`line ${i}`, 'Jobs');
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.insertMany).toHaveBeenCalledTimes(1);
    expect(sink.stored.map((l) => l.message)).toEqual(['line 0', 'line 1', 'line 2']);
    await logger.close();
  });

  it('flushes what is buffered on shutdown, then only echoes', async () => {
    const logger = make({ flushIntervalMs: 60_000 });
    logger.error('retention purge failed', 'Error: boom\n    at purge (purge.ts:10:5)', 'RetentionPurge');
    await logger.beforeApplicationShutdown();
    expect(sink.stored).toEqual([
      expect.objectContaining({
        level: 'error',
        source: 'RetentionPurge',
        message: 'retention purge failed',
        context: expect.objectContaining({ stack: 'Error: boom\n    at purge (purge.ts:10:5)' }),
      }),
    ]);
    logger.log('after shutdown', 'Late');
    await jest.advanceTimersByTimeAsync(120_000);
    expect(sink.insertMany).toHaveBeenCalledTimes(1);
    expect(out.log).toHaveBeenCalledWith('after shutdown', 'Late');
  });

  it('echoes every line to the console logger with its original arguments', async () => {
    const logger = make();
    const err = new Error('kaput');
    logger.error('failed', undefined, 'Ctx');
    logger.fatal(err);
    logger.debug('details', { a: 1 }, 'Ctx');
    expect(out.error).toHaveBeenCalledWith('failed', undefined, 'Ctx');
    expect(out.fatal).toHaveBeenCalledWith(err);
    expect(out.debug).toHaveBeenCalledWith('details', { a: 1 }, 'Ctx');
    await logger.close();
    expect(sink.stored).toEqual([
      expect.objectContaining({ level: 'error', source: 'Ctx', message: 'failed' }),
      expect.objectContaining({ level: 'critical', source: 'aos', message: 'kaput', context: expect.objectContaining({ stack: err.stack }) }),
      expect.objectContaining({ level: 'debug', source: 'Ctx', message: 'details', context: expect.objectContaining({ params: [{ a: 1 }] }) }),
    ]);
  });

  it('carries the request_id and trace_id of the request being served', async () => {
    const logger = make();
    await runWithRequestContext({ request_id: 'req-42', trace_id: 'trace-7' }, async () => {
      await Promise.resolve();
      logger.warn('slow query', 'TraceStore');
    });
    logger.log('outside any request', 'Jobs');
    await logger.close();
    expect(sink.stored.map((l) => [l.request_id, l.trace_id])).toEqual([
      ['req-42', 'trace-7'],
      [null, null],
    ]);
  });

  it('stores only the enabled levels, and skips Nest start-up chatter', async () => {
    const logger = make({ levels: ['log', 'warn', 'error', 'fatal'] });
    expect(out.setLogLevels).toHaveBeenCalledWith(['log', 'warn', 'error', 'fatal']);
    logger.debug('noise', 'Ctx');
    logger.verbose('more noise', 'Ctx');
    logger.log('Mapped {/api/v1/logs, GET} route', 'RouterExplorer');
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('kept', 'NestApplication');
    await logger.close();
    expect(sink.stored.map((l) => l.message)).toEqual(['kept']);
    expect(out.debug).not.toHaveBeenCalled();
  });

  it('makes any message storable: NUL, lone surrogates, objects, cycles, overlong text', async () => {
    const logger = make();
    const cyclic: Record<string, unknown> = { name: 'x' };
    cyclic['self'] = cyclic;
    logger.log('a\u0000b\ud800', 'C\u0000tx');
    logger.log({ event: 'job', n: 1n }, 'Jobs');
    logger.log('with params', cyclic, 'Jobs');
    logger.log('x'.repeat(40_000), 'Jobs');
    await logger.close();
    const [a, b, c, d] = sink.stored;
    expect(a).toMatchObject({ message: 'a\ufffdb\ufffd', source: 'C\ufffdtx' });
    expect(b.message).toBe('{"event":"job","n":"1"}');
    expect(c.context).toMatchObject({ params: [{ name: 'x', self: '[circular]' }] });
    expect(d.message.length).toBe(32_768);
  });

  it('never throws into the caller, keeps a failed batch for one more attempt, and reports on the console', async () => {
    const logger = make();
    sink.failures = 1;
    logger.log('first', 'Jobs');
    await expect(logger.flush()).resolves.toBeUndefined();
    expect(out.error).toHaveBeenCalledWith(expect.stringContaining('could not store 1 platform log(s)'), undefined, 'PlatformLogger');
    expect(logger.pending).toBe(1);
    await logger.flush();
    expect(sink.stored.map((l) => l.message)).toEqual(['first']);

    sink.failures = 2;
    logger.log('doomed', 'Jobs');
    await logger.flush();
    await logger.flush();
    expect(out.error).toHaveBeenLastCalledWith(expect.stringContaining('(1 given up)'), undefined, 'PlatformLogger');
    expect(logger.pending).toBe(0);

    sink.insertMany.mockImplementationOnce(() => {
      throw new Error('synchronous failure');
    });
    expect(() => logger.log('still fine', 'Jobs')).not.toThrow();
    await logger.close();
  });

  it('drops the oldest lines beyond maxBuffered and records how many were dropped', async () => {
    const logger = make({ maxBuffered: 3, flushAt: 1000 });
    for (let i = 0; i < 5; i++) logger.log(`line ${i}`, 'Jobs');
    expect(logger.pending).toBe(3);
    await logger.close();
    expect(sink.stored.map((l) => l.message)).toEqual([
      'line 2',
      'line 3',
      'line 4',
      expect.stringContaining('2 platform log(s) were dropped'),
    ]);
    expect(sink.stored[3]).toMatchObject({ level: 'warning', source: 'PlatformLogger' });
  });

  it('runs one write at a time: a flush asked for during a write follows it', async () => {
    const logger = make();
    let release!: () => void;
    sink.insertMany.mockImplementationOnce(
      (scope, logs) =>
        new Promise((resolve) => {
          release = () => {
            sink.batches.push({ scope, logs });
            resolve(logs);
          };
        }),
    );
    logger.log('one', 'Jobs');
    const first = logger.flush();
    logger.log('two', 'Jobs');
    const second = logger.flush();
    const third = logger.flush();
    expect(third).toBe(second);
    expect(sink.insertMany).toHaveBeenCalledTimes(1);
    release();
    await Promise.all([first, second]);
    expect(sink.batches.map((b) => b.logs.map((l) => l.message))).toEqual([['one'], ['two']]);
    await logger.close();
  });
});
