import { randomUUID } from 'node:crypto';
import type { NewSystemLog, SystemLogListQuery } from '@aos/logs-domain';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import type { Scope } from './database/database';
import { AuditLogStore } from './audit-log.store';
import { RetentionStore } from './retention.store';
import { SystemLogSearchIndexer } from './system-log-search-indexer';
import { SystemLogStore } from './system-log.store';
import { TenantStore } from './tenant.store';

const DAY = 86_400_000;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 20, 10, minute)).toISOString();
const hours = (h: number) => new Date(Date.UTC(2026, 0, 18) + h * 3_600_000).toISOString();
const log = (extra: Partial<NewSystemLog> = {}): NewSystemLog => ({ level: 'info', source: 'svc', message: 'nothing to see', timestamp: at(0), ...extra });
const page = (extra: Partial<SystemLogListQuery> = {}): SystemLogListQuery => ({ limit: 1000, offset: 0, sort: 'timestamp', order: 'asc', ...extra });

/**
 * System-log full-text search off the ingestion path (migration
 * 1769700000000-async-system-log-search): the insert trigger queues, the indexer
 * writes `system_logs_search`, the search reads it, the purge removes it.
 */
describe.each<TestDatabaseKind>(['postgres', 'embedded'])('system-log search index on %s', (kind) => {
  let t: TestDatabase;
  let store: SystemLogStore;
  let indexer: SystemLogSearchIndexer;
  let tenants: TenantStore;
  const platform: Scope = { platform: true };

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    store = new SystemLogStore(t.db);
    indexer = new SystemLogSearchIndexer(t.db);
    tenants = new TenantStore(t.db);
  }, 60_000);
  afterAll(() => t?.close());

  const newTenant = async (): Promise<Scope> => ({ tenantId: (await tenants.createTenant(`t-${randomUUID()}`, 'none')).tenant_id });
  const count = async (sql: string, params: unknown[] = []) => Number((await t.asOwner<{ n: string }>(sql, params))[0].n);
  const found = async (scope: Scope, search: string, extra: Partial<SystemLogListQuery> = {}) =>
    (await store.list(scope, page({ search, ...extra }))).items.map((i) => i.log_id);

  it('finds a log once it is indexed; lists without search see it at once', async () => {
    const scope = await newTenant();
    const [a] = await store.insertMany(scope, [log({ message: 'quokka sighted near the gateway' })]);
    expect(await count(`SELECT count(*) AS n FROM system_logs_search WHERE log_id = $1`, [a.log_id])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM system_logs_search_queue WHERE $1 = ANY (log_ids)`, [a.log_id])).toBe(1);
    expect((await store.list(scope, page())).items.map((i) => i.log_id)).toEqual([a.log_id]);
    expect(await found(scope, 'quokka')).toEqual([]);

    expect(await indexer.drain()).toBeGreaterThanOrEqual(1);
    expect(await found(scope, 'quokka')).toEqual([a.log_id]);
    expect(await found(scope, 'quokkas gateway')).toEqual([a.log_id]); // stemmed, every word
    expect(await count(`SELECT count(*) AS n FROM system_logs_search_queue WHERE $1 = ANY (log_ids)`, [a.log_id])).toBe(0);
    const [row] = await t.asOwner<Record<string, unknown>>(
      `SELECT s.tenant_id, s."timestamp" = l."timestamp" AND s.level = l.level AND s.source = l.source AS same_columns,
         s.search_vector = aos_system_log_document(l.message, l.context) || array_to_tsvector(ARRAY['@ ' || l.tenant_id || ' 20260120']) AS same_doc
       FROM system_logs_search s JOIN system_logs l USING (log_id) WHERE s.log_id = $1`,
      [a.log_id],
    );
    expect(row).toEqual({ tenant_id: (scope as { tenantId: string }).tenantId, same_columns: true, same_doc: true });
  });

  it('answers what a full-text match over every log would, with time windows and other filters', async () => {
    const scope = await newTenant();
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    const logs = Array.from({ length: 60 }, (_, i) =>
      log({
        message: `${words[i % 5]} ${words[(i * 3) % 5]} event ${i}`,
        context: i % 4 === 0 ? { note: `zebra ${words[(i + 2) % 5]}`, n: i } : undefined,
        level: i % 3 === 0 ? 'error' : 'info',
        source: i % 2 === 0 ? 'even' : 'odd',
        request_id: `req-${i % 2}`,
        // Every 2.5 hours from 2026-01-18T00:00Z: six days, with logs exactly at midnight.
        timestamp: hours(i * 2.5),
      }),
    );
    await store.insertMany(scope, logs);
    await indexer.drain();
    const queries: Array<[string, Partial<SystemLogListQuery>]> = [
      ['alpha', {}],
      ['bravo delta', {}],
      ['charlie OR echo', {}],
      ['alpha -bravo', {}],
      ['"charlie bravo"', {}],
      ['delta', { start_time: hours(10), end_time: hours(40) }],
      ['delta', { start_time: hours(23.5), end_time: hours(48) }], // ends exactly at midnight
      ['delta', { start_time: '2026-01-19T01:30:00+02:00', end_time: '2026-01-20T00:00:00.0005Z' }], // offsets, sub-millisecond end
      ['alpha OR delta', { start_time: '2025-11-01T00:00:00Z', end_time: '2026-03-01T00:00:00Z' }], // beyond the day lexemes
      ['echo', { level: 'error', end_time: hours(90) }],
      ['echo OR alpha', { level: 'error', source: 'even', start_time: hours(5), end_time: hours(100) }],
      ['bravo', { request_id: 'req-1', start_time: hours(0), end_time: hours(120) }], // the general path (joins system_logs)
      ['zebra alpha', {}],
    ];
    for (const [search, extra] of queries) {
      const filters: unknown[] = [(scope as { tenantId: string }).tenantId, search, extra.start_time ?? null, extra.end_time ?? null, extra.level ?? null];
      filters.push(extra.source ?? null, extra.request_id ?? null);
      const expected = (
        await t.asOwner<{ log_id: string }>(
          `SELECT log_id FROM system_logs WHERE tenant_id = $1
             AND aos_system_log_document(message, context) @@ websearch_to_tsquery('english', $2)
             AND ($3::timestamptz IS NULL OR "timestamp" >= $3) AND ($4::timestamptz IS NULL OR "timestamp" < $4) AND ($5::text IS NULL OR level = $5)
             AND ($6::text IS NULL OR source = $6) AND ($7::text IS NULL OR request_id = $7)
           ORDER BY "timestamp", log_id`,
          filters,
        )
      ).map((r) => r.log_id);
      expect({ search, extra, got: await found(scope, search, extra) }).toEqual({ search, extra, got: expected });
      // Paged by cursor (3 a page), the same rows in the same order, and the same capped count.
      const walked: string[] = [];
      let cursor: string | undefined;
      do {
        const r = await store.list(scope, page({ search, ...extra, limit: 3, cursor }));
        expect(r.total).toBe(expected.length);
        walked.push(...r.items.map((i) => i.log_id));
        cursor = r.next_cursor ?? undefined;
      } while (cursor);
      expect(walked).toEqual(expected);
      expect({ search, n: expected.length }).not.toEqual({ search, n: 0 });
    }
  });

  it('counts a windowed search exactly up to the cap, and at the cap says so (the count is unordered, the window a filter)', async () => {
    const scope = await newTenant();
    // 1,000 matches inside [10 h, 40 h), 6 more on the same UTC days outside it, 500 non-matches inside.
    const inside = Array.from({ length: 1000 }, (_, i) => log({ message: `lynx ${i}`, timestamp: hours(10 + (i * 30) / 1000) }));
    const outside = [0, 2, 9.99, 40, 44, 47.9].map((h) => log({ message: 'lynx outside', timestamp: hours(h) }));
    const other = Array.from({ length: 500 }, (_, i) => log({ message: `lemur ${i}`, timestamp: hours(10 + i / 20) }));
    await store.insertMany(scope, inside.slice(0, 500));
    await store.insertMany(scope, [...inside.slice(500), ...outside]);
    await store.insertMany(scope, other);
    await indexer.drain();
    const window = { start_time: hours(10), end_time: hours(40) };
    const at1000 = await store.list(scope, page({ search: 'lynx', ...window, limit: 10, order: 'desc' }));
    expect({ total: at1000.total, exact: at1000.total_exact }).toEqual({ total: 1000, exact: true });
    const below = await store.list(scope, page({ search: 'lynx', start_time: hours(25), end_time: hours(40), limit: 10 }));
    expect({ total: below.total, exact: below.total_exact }).toEqual({ total: 500, exact: true });
    const wider = await store.list(scope, page({ search: 'lynx', start_time: hours(2), end_time: hours(40.5), limit: 10 }));
    expect({ total: wider.total, exact: wider.total_exact }).toEqual({ total: 1000, exact: false }); // 1,003 matches
    await store.insertMany(scope, [log({ message: 'lynx one more', timestamp: hours(20) })]);
    await indexer.drain();
    const over = await store.list(scope, page({ search: 'lynx', ...window, limit: 10 }));
    expect({ total: over.total, exact: over.total_exact }).toEqual({ total: 1000, exact: false });
    expect(over.items).toHaveLength(10);
  });

  it("keeps tenants' and the platform's search rows apart, also under row-level security", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const marker = `wombat${Date.now()}`;
    const [mine] = await store.insertMany(a, [log({ message: `tenant ${marker}` })]);
    const [ops] = await store.insertMany(platform, [log({ message: `platform ${marker}` })]);
    await indexer.drain();
    expect(await found(a, marker)).toEqual([mine.log_id]);
    expect(await found(b, marker)).toEqual([]);
    expect(await found(platform, marker)).toEqual([ops.log_id]);
    // The search rows themselves, read as the serving role: only the scope's own.
    const rows = (scope: Scope) => t.db.transaction(scope, (sql) => sql.query(`SELECT log_id FROM system_logs_search WHERE log_id = ANY ($1::uuid[])`, [[mine.log_id, ops.log_id]]));
    expect((await rows(a)).map((r) => r['log_id'])).toEqual([mine.log_id]);
    expect(await rows(b)).toEqual([]);
    expect((await rows(platform)).map((r) => r['log_id'])).toEqual([ops.log_id]);
    expect(await t.db.query(`SELECT log_id FROM system_logs_search WHERE log_id = $1`, [mine.log_id])).toEqual([]);
  });

  it('lets the serving role neither write search rows nor touch the queue', async () => {
    const scope = await newTenant();
    const [row] = await store.insertMany(scope, [log({ message: 'platypus' })]);
    const tenantId = (scope as { tenantId: string }).tenantId;
    const attempts = [
      `INSERT INTO system_logs_search (log_id, tenant_id, "timestamp", search_vector) VALUES ('${randomUUID()}', '${tenantId}', now(), to_tsvector('english', 'forged'))`,
      `DELETE FROM system_logs_search WHERE tenant_id = '${tenantId}'`,
      `UPDATE system_logs_search SET search_vector = to_tsvector('english', 'forged') WHERE log_id = '${row.log_id}'`,
      `DELETE FROM system_logs_search_queue`,
      `SELECT * FROM system_logs_search_queue`,
      `INSERT INTO system_logs_search_queue (log_ids) VALUES (ARRAY['${row.log_id}'::uuid])`,
    ];
    for (const sql of attempts) {
      await expect(t.db.transaction(scope, (s) => s.query(sql))).rejects.toThrow(/permission denied/);
    }
    await indexer.drain();
    expect(await found(scope, 'platypus')).toEqual([row.log_id]);
    expect(await found(scope, 'forged')).toEqual([]);
  });

  it('queues every INSERT path, also a bare multi-row INSERT by the owner, once per statement', async () => {
    const scope = await newTenant();
    const tenantId = (scope as { tenantId: string }).tenantId;
    const before = await count(`SELECT count(*) AS n FROM system_logs_search_queue`);
    await t.asOwner(
      `INSERT INTO system_logs (log_id, tenant_id, level, source, message, "timestamp")
       SELECT gen_random_uuid(), $1, 'info', 'bulk', 'narwhal number ' || i, now() FROM generate_series(1, 25) i`,
      [tenantId],
    );
    expect(await count(`SELECT count(*) AS n FROM system_logs_search_queue`)).toBe(before + 1);
    await indexer.drain();
    expect(await found(scope, 'narwhal')).toHaveLength(25);
  });

  it('drains under concurrency: concurrent writers and indexers index every log exactly once', async () => {
    const scope = await newTenant();
    const tenantId = (scope as { tenantId: string }).tenantId;
    const indexers = Array.from({ length: 3 }, () => new SystemLogSearchIndexer(t.db, { batchLimit: 2 }));
    let writing = true;
    const loops = indexers.map(async (ix) => {
      let n = 0;
      while (writing) {
        n += await ix.runOnce();
        await new Promise((r) => setTimeout(r, 1));
      }
      return n;
    });
    const writers = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        for (let b = 0; b < 5; b++) {
          await store.insertMany(scope, Array.from({ length: 40 }, (_, i) => log({ message: `ocelot w${w} b${b} i${i}`, timestamp: at(b) })));
        }
      })(),
    );
    await Promise.all(writers);
    writing = false;
    const taken = (await Promise.all(loops)).reduce((x, y) => x + y, 0) + (await indexer.drain());
    expect(taken).toBeGreaterThanOrEqual(20);
    expect(await count(`SELECT count(*) AS n FROM system_logs_search WHERE tenant_id = $1`, [tenantId])).toBe(800);
    expect(await count(`SELECT count(*) AS n FROM system_logs_search_queue`)).toBe(0);
    expect((await store.list(scope, page({ search: 'ocelot', limit: 1 }))).total).toBe(800);
  });

  describe('retention purge', () => {
    beforeAll(() => t.setDatabaseClock(new Date(Date.now() + 400 * DAY)));
    afterAll(() => t.setDatabaseClock(null));

    const purge = async (tenantId: string | null) => {
      const auditLogId =
        tenantId === null
          ? null
          : (await new AuditLogStore(t.db).insert(tenantId, { actor_id: randomUUID(), actor_type: 'system', action: 'retention_purge_started', resource_type: 'tenant', resource_id: tenantId })).log_id;
      return new RetentionStore(t.db).purgeBatch({ tenantId, type: 'system_logs', level: 'debug', before: new Date(Date.now() + 3_600_000), limit: 1000, dryRun: false, auditLogId });
    };

    it('removes the purged logs’ search rows (and records ledger gaps), keeps the others', async () => {
      const scope = await newTenant();
      const tenantId = (scope as { tenantId: string }).tenantId;
      const gone = await store.insertMany(scope, [log({ level: 'debug', message: 'gecko one' }), log({ level: 'debug', message: 'gecko two' })]);
      const [kept] = await store.insertMany(scope, [log({ level: 'error', message: 'gecko kept' })]);
      await indexer.drain();
      expect(await found(scope, 'gecko')).toHaveLength(3);

      expect((await purge(tenantId)).removed).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM system_logs_search WHERE log_id = ANY ($1::uuid[])`, [gone.map((g) => g.log_id)])).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM system_logs_search WHERE tenant_id = $1`, [tenantId])).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM aos_ledger_gaps WHERE record_id = ANY ($1::uuid[])`, [gone.map((g) => g.log_id)])).toBe(2);
      expect(await found(scope, 'gecko')).toEqual([kept.log_id]);
    });

    it('removes an indexed platform log’s search row (no tenant), keeps the platform’s others', async () => {
      const [gone] = await store.insertMany(platform, [log({ level: 'debug', message: 'narwhal gone' })]);
      const [kept] = await store.insertMany(platform, [log({ level: 'error', message: 'narwhal kept' })]);
      await indexer.drain();
      expect(await count(`SELECT count(*) AS n FROM system_logs_search WHERE log_id = ANY ($1::uuid[])`, [[gone.log_id, kept.log_id]])).toBe(2);
      expect((await purge(null)).removed).toBeGreaterThanOrEqual(1);
      expect(await count(`SELECT count(*) AS n FROM system_logs_search WHERE log_id = $1`, [gone.log_id])).toBe(0);
      expect(await found(platform, 'narwhal')).toEqual([kept.log_id]);
    });

    it('skips queued logs that were purged before the indexer reached them (platform logs too)', async () => {
      const [queued] = await store.insertMany(platform, [log({ level: 'debug', message: 'axolotl queued' })]);
      expect((await purge(null)).removed).toBeGreaterThanOrEqual(1);
      await indexer.drain();
      expect(await count(`SELECT count(*) AS n FROM system_logs_search WHERE log_id = $1`, [queued.log_id])).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM system_logs_search_queue`)).toBe(0);
      expect(await found(platform, 'axolotl')).toEqual([]);
    });
  });
});
