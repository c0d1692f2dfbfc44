import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { PurgeReport, RetentionService } from '@aos/audit';
import { loadWorkerConfig } from './config/worker-config';
import { RETENTION_QUEUE, RETENTION_SCHEDULER_ID, RetentionWorker, summarise } from './retention.worker';

const REDIS_URL = process.env['REDIS_TEST_URL'] ?? 'redis://127.0.0.1:6379';

const report = (removed: number): PurgeReport => ({
  dry_run: false,
  now: '2026-01-20T10:00:00.000Z',
  tenants: [
    { tenant_id: 'a', compliance: 'none', removed, removed_hash: 'h', targets: [], audit_log_id: null },
    { tenant_id: 'b', compliance: 'soc2', removed: 0, removed_hash: 'h', targets: [], audit_log_id: null, error: 'boom' },
    { tenant_id: null, compliance: 'none', removed: 1, removed_hash: 'h', targets: [], audit_log_id: null },
  ],
});

describe('RetentionWorker (BullMQ repeatable job)', () => {
  beforeAll(() => Logger.overrideLogger(['error']));

  it('summarises a purge for the job result', () => {
    expect(summarise(report(3))).toEqual({ now: '2026-01-20T10:00:00.000Z', removed: 4, tenants: 2, failed: 1 });
  });

  it('does nothing without Redis or with the interval at 0', async () => {
    const purge = jest.fn();
    for (const env of [{}, { REDIS_URL, DATABASE_URL: 'postgres://x@127.0.0.1/db', AOS_RETENTION_INTERVAL_MS: '0' }]) {
      const w = new RetentionWorker(loadWorkerConfig(env), { purge } as unknown as RetentionService);
      await w.onApplicationBootstrap();
      await w.onModuleDestroy();
    }
    expect(purge).not.toHaveBeenCalled();
  });

  it('schedules one repeatable purge job and runs it on the interval', async () => {
    const prefix = `aos-test-retention-${randomBytes(4).toString('hex')}`;
    const config = loadWorkerConfig({ REDIS_URL, DATABASE_URL: 'postgres://x@127.0.0.1/db', AOS_QUEUE_PREFIX: prefix, AOS_RETENTION_INTERVAL_MS: '300' });
    const purge = jest.fn(async () => report(2));
    const workers = [0, 1].map(() => new RetentionWorker(config, { purge } as unknown as RetentionService));
    const queue = new Queue(RETENTION_QUEUE, { connection: { url: REDIS_URL } as never, prefix });
    try {
      for (const w of workers) await w.onApplicationBootstrap();
      // Two workers upsert the same scheduler: one schedule.
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key)).toEqual([RETENTION_SCHEDULER_ID]);
      const deadline = Date.now() + 10_000;
      while (purge.mock.calls.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(purge.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(purge).toHaveBeenCalledWith();
    } finally {
      for (const w of workers) await w.onModuleDestroy();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
  }, 30_000);
});
