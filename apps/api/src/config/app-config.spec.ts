import { ConfigError, loadConfig } from './app-config';

describe(loadConfig.name, () => {
  it('defaults to the embedded database on port 3000', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toMatch(/data$/);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL/],
    [{ REDIS_URL: 'http://x' }, /REDIS_URL/],
    [{ AOS_BOOTSTRAP_API_KEY: 'short' }, /AOS_BOOTSTRAP_API_KEY/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ AOS_QUEUE_PREFIX: 'a:b' }, /AOS_QUEUE_PREFIX/],
    [{ DATABASE_APP_URL: 'postgres://a@b/c' }, /DATABASE_APP_URL/],
    [{ AOS_RETENTION_INTERVAL_MS: '-1' }, /AOS_RETENTION_INTERVAL_MS/],
    [{ AOS_PDF_CONCURRENCY: '0' }, /AOS_PDF_CONCURRENCY/],
    [{ AOS_PDF_TIMEOUT_MS: '10' }, /AOS_PDF_TIMEOUT_MS/],
  ])('stops on %j with a message naming the setting', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('runs the retention purge hourly by default; 0 turns it off', () => {
    expect(loadConfig({}).retentionIntervalMs).toBe(3_600_000);
    expect(loadConfig({ AOS_RETENTION_INTERVAL_MS: '0' }).retentionIntervalMs).toBe(0);
  });

  it('lets search trail a burst of writes by 60 s unless AOS_SEARCH_INDEX_MAX_LAG_SECONDS says otherwise', () => {
    expect(loadConfig({}).searchIndexMaxLagSeconds).toBe(60);
    expect(loadConfig({ AOS_SEARCH_INDEX_MAX_LAG_SECONDS: '300' }).searchIndexMaxLagSeconds).toBe(300);
    expect(() => loadConfig({ AOS_SEARCH_INDEX_MAX_LAG_SECONDS: 'soon' })).toThrow(/AOS_SEARCH_INDEX_MAX_LAG_SECONDS/);
  });

  it('renders PDFs in-process (without REDIS_URL) with the settings the worker reads', () => {
    expect(loadConfig({}).pdfRendering).toEqual({ concurrency: 2, recycleAfter: 100, timeoutMs: 60_000 });
    expect(loadConfig({ AOS_PDF_CONCURRENCY: '4', AOS_PDF_RECYCLE_AFTER: '10', AOS_PDF_TIMEOUT_MS: '5000' }).pdfRendering).toEqual({
      concurrency: 4,
      recycleAfter: 10,
      timeoutMs: 5000,
    });
  });

  it('never echoes a password from a bad URL', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u:secret@' })).not.toThrow(/secret/);
  });
});
