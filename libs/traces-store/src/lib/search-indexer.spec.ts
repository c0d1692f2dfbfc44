import { Logger } from '@nestjs/common';
import type { Database } from './database/database';
import { SearchIndexer, type SearchIndexerOptions } from './search-indexer';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A database that answers the backlog given and takes `runMs` per indexing call, recording its limits. */
function fakeDatabase(backlog: { oldest_age_ms: number | null; newest_age_ms: number | null }, runMs: number, queued = 1_000) {
  const limits: number[] = [];
  const db = {
    async query(sql: string, params: unknown[] = []) {
      if (sql.includes('backlog')) return [backlog];
      const limit = Number(params[0]);
      limits.push(limit);
      await sleep(runMs);
      const n = Math.min(limit, queued);
      queued -= n;
      return [{ n }];
    },
  };
  return { db: db as unknown as Database, limits };
}

class TestIndexer extends SearchIndexer {
  constructor(db: Database, options: SearchIndexerOptions) {
    super(db, 'index_fn', 'backlog_fn', 'test', options, { intervalMs: 50, batchLimit: 100 });
  }
}

/** The pacing arithmetic of SearchIndexer (the backlog function itself: search-indexer.integration-spec.ts). */
describe(SearchIndexer.name, () => {
  it('while writes arrive and the lag is allowed, works a share of the time in calls of a tenth of the limit', async () => {
    const { db, limits } = fakeDatabase({ oldest_age_ms: 5_000, newest_age_ms: 100 }, 40);
    const indexer = new TestIndexer(db, { maxLagMs: 60_000, yieldShare: 0.25 });
    expect(await indexer.pace()).toBe('yield');
    const pause = await indexer.round();
    expect(limits).toEqual([10]);
    // 40 ms of work at a share of 1/4: three times that pause, at least.
    expect(pause).toBeGreaterThanOrEqual(3 * 40 * 0.9);
  });

  it('runs flat out once the writes pause, and once the lag passes the bound', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined); // the bound passed: tested below
    for (const backlog of [
      { oldest_age_ms: 5_000, newest_age_ms: 1_500 },
      { oldest_age_ms: 61_000, newest_age_ms: 10 },
    ]) {
      const { db, limits } = fakeDatabase(backlog, 5);
      const indexer = new TestIndexer(db, { maxLagMs: 60_000 });
      expect(await indexer.pace()).toBe('full');
      expect(await indexer.round()).toBe(0); // a full call: straight on
      expect(limits).toEqual([100]);
    }
    warn.mockRestore();
  });

  it('warns once when the lag passes the bound, and says when it has caught up', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    try {
      const backlog: { oldest_age_ms: number | null; newest_age_ms: number | null } = { oldest_age_ms: 75_000, newest_age_ms: 10 };
      const { db } = fakeDatabase(backlog, 1);
      const indexer = new TestIndexer(db, { maxLagMs: 60_000 });
      await indexer.round();
      await indexer.round();
      expect(warn.mock.calls.map((c) => c[0])).toEqual(['test index is 75 s behind the writes (allowed 60 s): indexing flat out, beside them']);
      Object.assign(backlog, { oldest_age_ms: null, newest_age_ms: null });
      await indexer.round();
      expect(log.mock.calls.map((c) => c[0])).toEqual(['test index caught up with the writes']);
    } finally {
      warn.mockRestore();
      log.mockRestore();
    }
  });

  it('never yields with a bound of 0, and does not call the indexer when nothing is queued', async () => {
    const never = fakeDatabase({ oldest_age_ms: 10, newest_age_ms: 10 }, 1);
    expect(await new TestIndexer(never.db, { maxLagMs: 0 }).round()).toBe(0);
    expect(never.limits).toEqual([100]);

    const empty = fakeDatabase({ oldest_age_ms: null, newest_age_ms: null }, 1);
    const idle = new TestIndexer(empty.db, {});
    expect(await idle.pace()).toBe('idle');
    expect(await idle.round()).toBe(50);
    expect(empty.limits).toEqual([]);
  });

  it('catchUp() answers false at its deadline even while one indexing call runs far longer', async () => {
    const { db } = fakeDatabase({ oldest_age_ms: 5_000, newest_age_ms: 5_000 }, 2_000);
    const indexer = new TestIndexer(db, { maxLagMs: 60_000 });
    const started = performance.now();
    expect(await indexer.catchUp(100)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('drain() empties the queue flat out whatever the pace; a share of 0 is refused', async () => {
    const { db, limits } = fakeDatabase({ oldest_age_ms: 100, newest_age_ms: 10 }, 1, 250);
    const indexer = new TestIndexer(db, {});
    expect(await indexer.drain()).toBe(250);
    expect(limits).toEqual([100, 100, 100, 100]);
    expect(() => new TestIndexer(db, { yieldShare: 0 })).toThrow(/yieldShare/);
  });
});
