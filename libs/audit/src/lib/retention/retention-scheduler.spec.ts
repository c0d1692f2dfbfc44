import { Logger } from '@nestjs/common';
import { RetentionScheduler } from './retention-scheduler';
import type { PurgeReport, RetentionService } from './retention.service';

const empty: PurgeReport = { dry_run: false, now: '2026-01-20T10:00:00.000Z', tenants: [] };

describe('RetentionScheduler (in-process, without Redis)', () => {
  beforeAll(() => Logger.overrideLogger(['error']));
  afterEach(() => jest.useRealTimers());

  it('runs the purge on its interval, never two at once, and stops on shutdown', async () => {
    jest.useFakeTimers();
    let release: (r: PurgeReport) => void = () => undefined;
    const purge = jest.fn(() => new Promise<PurgeReport>((r) => (release = r)));
    const s = new RetentionScheduler({ purge } as unknown as RetentionService, 1000);
    s.onApplicationBootstrap();
    expect(purge).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1000);
    expect(purge).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(1000);
    expect(purge).toHaveBeenCalledTimes(1); // the first run is still going
    release(empty);
    await Promise.resolve();
    await Promise.resolve();
    jest.advanceTimersByTime(1000);
    expect(purge).toHaveBeenCalledTimes(2);
    release(empty);
    await s.onApplicationShutdown();
    jest.advanceTimersByTime(5000);
    expect(purge).toHaveBeenCalledTimes(2);
  });

  it('is off at interval 0, and a failing purge is logged, not thrown', async () => {
    const purge = jest.fn(async () => {
      throw new Error('db down');
    });
    const s = new RetentionScheduler({ purge } as unknown as RetentionService, 0);
    s.onApplicationBootstrap();
    await expect(s.runOnce()).resolves.toBeNull();
    await s.onApplicationShutdown();
    expect(purge).toHaveBeenCalledTimes(1);
  });
});
