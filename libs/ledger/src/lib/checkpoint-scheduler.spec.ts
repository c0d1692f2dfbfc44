import { CheckpointScheduler } from './checkpoint-scheduler';
import type { LedgerService } from './ledger.service';

const fakeLedger = (enabled = true) => {
  let release: () => void = () => undefined;
  const ledger = {
    enabled,
    calls: 0,
    signPending: jest.fn(() => {
      ledger.calls++;
      return new Promise<number>((r) => (release = () => r(1)));
    }),
  };
  return { ledger, release: () => release() };
};

describe('CheckpointScheduler', () => {
  afterEach(() => jest.useRealTimers());

  it('signs on its interval, never two runs at once', async () => {
    jest.useFakeTimers();
    const { ledger, release } = fakeLedger();
    const s = new CheckpointScheduler(ledger as unknown as LedgerService, 1000);
    s.onApplicationBootstrap();
    jest.advanceTimersByTime(1000);
    expect(ledger.calls).toBe(1);
    jest.advanceTimersByTime(3000); // still running: skipped
    expect(ledger.calls).toBe(1);
    release();
    await Promise.resolve();
    await Promise.resolve();
    jest.advanceTimersByTime(1000);
    expect(ledger.calls).toBe(2);
    jest.useRealTimers();
    release();
    const done = s.beforeApplicationShutdown();
    await new Promise((r) => setTimeout(r, 10));
    release(); // the final round
    await done;
    expect(ledger.calls).toBe(3);
  });

  it('signs once more before shutdown, so the last writes are covered', async () => {
    const { ledger, release } = fakeLedger();
    const s = new CheckpointScheduler(ledger as unknown as LedgerService, 60_000);
    s.onApplicationBootstrap();
    const done = s.beforeApplicationShutdown();
    await Promise.resolve();
    release();
    await done;
    expect(ledger.calls).toBe(1);
  });

  it('does nothing with interval 0 or the ledger off', async () => {
    for (const [interval, enabled] of [[0, true], [1000, false]] as const) {
      jest.useFakeTimers();
      const { ledger } = fakeLedger(enabled);
      const s = new CheckpointScheduler(ledger as unknown as LedgerService, interval);
      s.onApplicationBootstrap();
      jest.advanceTimersByTime(5000);
      await s.beforeApplicationShutdown();
      expect(ledger.calls).toBe(0);
      jest.useRealTimers();
    }
  });

  it('keeps running after a failed round', async () => {
    const ledger = { enabled: true, signPending: jest.fn().mockRejectedValueOnce(new Error('db down')).mockResolvedValue(2) };
    const s = new CheckpointScheduler(ledger as unknown as LedgerService, 1000);
    expect(await s.runOnce()).toBe(0);
    expect(await s.runOnce()).toBe(2);
  });
});
