import { ConfigError, loadWorkerConfig } from './worker-config';

describe(loadWorkerConfig.name, () => {
  it('has defaults, and nothing to do without REDIS_URL', () => {
    expect(loadWorkerConfig({})).toMatchObject({
      redisUrl: undefined,
      databaseUrl: undefined,
      queuePrefix: 'aos',
      pdfRendering: { concurrency: 2, recycleAfter: 100, timeoutMs: 60_000 },
      lockDurationMs: 30_000,
      logLevel: 'log',
      testRenderDelayMs: 0,
      testCompleteDelayMs: 0,
      retentionIntervalMs: 3_600_000,
      searchIndexMaxLagSeconds: 60,
    });
    expect(loadWorkerConfig({ AOS_RETENTION_INTERVAL_MS: '60000' }).retentionIntervalMs).toBe(60_000);
    expect(loadWorkerConfig({ AOS_SEARCH_INDEX_MAX_LAG_SECONDS: '0' }).searchIndexMaxLagSeconds).toBe(0);
    expect(() => loadWorkerConfig({ AOS_RETENTION_INTERVAL_MS: 'hourly' })).toThrow(/AOS_RETENTION_INTERVAL_MS/);
  });

  it('reads the queue, database and rendering settings', () => {
    const c = loadWorkerConfig({
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://postgres@127.0.0.1/aos',
      AOS_QUEUE_PREFIX: 'run-42',
      AOS_PDF_CONCURRENCY: '4',
      AOS_PDF_RECYCLE_AFTER: '10',
      AOS_QUEUE_LOCK_MS: '2000',
      LOG_LEVEL: 'warning',
    });
    expect(c).toMatchObject({ queuePrefix: 'run-42', pdfRendering: { concurrency: 4, recycleAfter: 10 }, lockDurationMs: 2000, logLevel: 'warn' });
  });

  it('requires DATABASE_URL with REDIS_URL: the worker must reach the API\'s database', () => {
    expect(() => loadWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/DATABASE_URL is required with REDIS_URL/);
  });

  it.each([
    [{ REDIS_URL: 'http://x' }, /REDIS_URL must use redis: or rediss:/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL must be a URL/],
    [{ AOS_PDF_CONCURRENCY: '0' }, /AOS_PDF_CONCURRENCY must be an integer from 1 to 32/],
    [{ AOS_PDF_CONCURRENCY: '2.5' }, /AOS_PDF_CONCURRENCY/],
    [{ AOS_QUEUE_PREFIX: 'a:b' }, /AOS_QUEUE_PREFIX/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ])('names the bad setting: %j', (env, message) => {
    expect(() => loadWorkerConfig(env)).toThrow(ConfigError);
    expect(() => loadWorkerConfig(env)).toThrow(message);
  });

  it('never prints a password from a bad URL', () => {
    const attempt = () => loadWorkerConfig({ DATABASE_URL: 'x://user:secret@ho st' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).not.toThrow(/secret/);
  });
});
