import type { RetentionStore } from '@aos/traces-store';
import { type PurgeTargetReport, RetentionService, type RetentionServiceOptions } from './retention.service';

/** The purge's batches against a fake store whose batches take the given times on a fake clock. */
async function purgeWith(durations: number[], options: RetentionServiceOptions = {}) {
  let now = 0;
  const sleeps: number[] = [];
  let call = 0;
  const store = {
    purgeBatch: async () => {
      now += durations[call] ?? 1;
      const full = call < durations.length - 1;
      call++;
      return { removed: full ? 10 : 3, steps_removed: 0, first_at: null, last_at: null, removed_hash: `h${call}` };
    },
  } as unknown as RetentionStore;
  const service = new RetentionService(store, {} as never, {} as never, {} as never, {
    batchSize: 10,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    ...options,
  });
  const report: PurgeTargetReport = {
    type: 'system_logs',
    level: 'debug',
    retention_days: 1,
    cutoff: new Date(0).toISOString(),
    removed: 0,
    steps_removed: 0,
    first_at: null,
    last_at: null,
    removed_hash: '',
    batch_hashes: [],
  };
  // The batch loop alone (policy, audit rows and tenants are the integration suite's).
  await (service as unknown as { runTarget: (t: string, r: PurgeTargetReport, dry: boolean, a: string) => Promise<void> }).runTarget('t', report, false, 'a');
  return { sleeps, removed: report.removed, batches: call };
}

describe('RetentionService purge pacing', () => {
  it('purges at full speed while batches take what the fastest took', async () => {
    expect(await purgeWith([10, 11, 12, 10, 14, 2])).toEqual({ sleeps: [], removed: 53, batches: 6 });
  });

  it('waits for the excess after a batch much slower than the fastest (a busy database), never after the last', async () => {
    const r = await purgeWith([10, 40, 10, 30, 90]);
    expect(r.sleeps).toEqual([30, 20]);
    expect(r.removed).toBe(43);
  });

  it('can be turned off', async () => {
    expect((await purgeWith([10, 40, 30, 2], { pace: false })).sleeps).toEqual([]);
  });
});
