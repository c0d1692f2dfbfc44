import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import type { SearchIndexer } from './search-indexer';
import { StepSearchIndexer } from './step-search-indexer';
import { SystemLogSearchIndexer } from './system-log-search-indexer';
import { SystemLogStore } from './system-log.store';
import { TenantStore } from './tenant.store';
import { TraceStore } from './trace.store';

/**
 * The search indexers yield to a burst of writes (SearchIndexer): the backlog
 * functions of migration 1770600000000, as the serving role calls them, and the
 * pace and share of work they lead to.
 */
describe.each<TestDatabaseKind>(['postgres', 'embedded'])('search indexers pacing on %s', (kind) => {
  let t: TestDatabase;
  let traces: TraceStore;
  let logs: SystemLogStore;
  let tenantId: string;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    traces = new TraceStore(t.db);
    logs = new SystemLogStore(t.db);
    tenantId = (await new TenantStore(t.db).createTenant(`pacing-${randomUUID()}`, 'none')).tenant_id;
  }, 60_000);
  afterAll(() => t?.close());

  const stepBatch = async () => {
    const { trace } = await traces.createTrace(tenantId, { run_id: randomUUID(), agent_id: randomUUID(), started_at: '2026-01-20T10:00:00.000Z' });
    await traces.addSteps(tenantId, trace.trace_id, [
      { step_index: 0, step_type: 'input', timestamp: '2026-01-20T10:00:00.000Z', input_data: { prompt: 'where is my parcel' }, output_data: null },
    ]);
  };
  const logBatch = async () => {
    await logs.insertMany({ tenantId }, [{ level: 'info', source: 'svc', message: 'a parcel went missing', timestamp: '2026-01-20T10:00:00.000Z' }]);
  };
  const count = async (table: string) => Number((await t.asOwner<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);

  describe.each([
    { what: 'step search', queue: 'aos_step_search_queue', write: () => stepBatch(), indexer: (o = {}) => new StepSearchIndexer(t.db, o) },
    { what: 'system log search', queue: 'system_logs_search_queue', write: () => logBatch(), indexer: (o = {}) => new SystemLogSearchIndexer(t.db, o) },
  ])('$what', ({ queue, write, indexer }) => {
    // Moves every queued batch back in time: the writes as if they had stopped `ms` ago.
    const age = (ms: number) => t.asOwner(`UPDATE ${queue} SET queued_at = queued_at - make_interval(secs => $1::float8 / 1000)`, [ms]);
    let paced: SearchIndexer;
    beforeEach(async () => {
      paced = indexer({ maxLagMs: 60_000, batchLimit: 20, intervalMs: 250 });
      await paced.drain();
    });

    it('is idle with nothing queued, yields while writes arrive, runs flat out once they pause or the lag passes the bound', async () => {
      expect(await paced.pace()).toBe('idle');
      await write();
      expect(await paced.pace()).toBe('yield');
      await age(2_000);
      expect(await paced.pace()).toBe('full');
      await age(70_000);
      await write();
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        expect(await paced.pace()).toBe('full');
        expect(warn.mock.calls.map((c) => c[0])).toEqual([expect.stringMatching(/^[a-z ]+ index is \d+ s behind the writes \(allowed 60 s\): indexing flat out/)]);
      } finally {
        warn.mockRestore();
      }
      expect(await indexer({ maxLagMs: 0 }).pace()).toBe('full');
    });

    it('catches up with every batch queued before the call, flat out, or answers false after its time', async () => {
      for (let i = 0; i < 3; i++) await write();
      expect(await paced.catchUp(0)).toBe(false);
      expect(await count(queue)).toBe(3);
      expect(await paced.catchUp(10_000)).toBe(true);
      expect(await count(queue)).toBe(0);
      expect(await paced.catchUp(0)).toBe(true); // nothing queued
    });

    it('takes a tenth of its limit per call while it yields, and the whole limit once the writes pause', async () => {
      for (let i = 0; i < 3; i++) await write();
      expect(await paced.pace()).toBe('yield');
      expect(await paced.round()).toBeGreaterThanOrEqual(250); // at least its interval before the next
      expect(await count(queue)).toBe(1); // 2 of the 3 (a tenth of 20)
      await age(2_000);
      await paced.round();
      expect(await count(queue)).toBe(0);
    });
  });
});
