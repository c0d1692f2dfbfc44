import { StepSearchIndexer, SystemLogSearchIndexer } from '@aos/traces-store';
import { type E2eApp, startE2eApp } from '../testing/e2e-app';

describe('Health over HTTP', () => {
  const apps: E2eApp[] = [];
  afterAll(async () => {
    for (const a of apps) await a.close();
  }, 60_000);

  it('is live and ready without a key on the default (in-process jobs)', async () => {
    const e = await startE2eApp();
    apps.push(e);
    expect((await e.request('GET', '/health/live', { key: null })).status).toBe(200);
    const ready = await e.request('GET', '/health/ready', { key: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { database: 'up', queue: 'in-process' } });
  }, 60_000);

  it('hands AOS_SEARCH_INDEX_MAX_LAG_SECONDS to both search indexers (0: they never yield, nor look at the backlog)', async () => {
    const paced = apps[0];
    const never = await startE2eApp({ searchIndexMaxLagSeconds: 0 });
    apps.push(never);
    for (const indexer of [StepSearchIndexer, SystemLogSearchIndexer]) {
      await paced.app.get(indexer).drain();
      expect(await paced.app.get(indexer).pace()).toBe('idle');
      expect(await never.app.get(indexer).pace()).toBe('full');
    }
  }, 60_000);

  it('checks Redis when REDIS_URL is set, and answers 503 naming what is down', async () => {
    const up = await startE2eApp({ redisUrl: process.env['REDIS_TEST_URL'] ?? 'redis://127.0.0.1:6379', queuePrefix: `health-${process.pid}` });
    apps.push(up);
    expect(await (await up.request('GET', '/health/ready', { key: null })).json()).toEqual({ status: 'ok', checks: { database: 'up', redis: 'up' } });
    const down = await startE2eApp({ redisUrl: 'redis://127.0.0.1:1', queuePrefix: `health-${process.pid}` });
    apps.push(down);
    const res = await down.request('GET', '/health/ready', { key: null });
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).checks).toEqual({ database: 'up', redis: 'down' });
  }, 60_000);
});
