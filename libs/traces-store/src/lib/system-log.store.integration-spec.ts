import { randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import { hashLeaf, NotFoundError, type NewSystemLog, systemLogLeafData, type SystemLogListQuery, ValidationError } from '@aos/logs-domain';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import type { Scope, Sql } from './database/database';
import { LedgerStore } from './ledger.store';
import { SystemLogStore } from './system-log.store';
import { SystemLogSearchIndexer } from './system-log-search-indexer';
import { TenantStore } from './tenant.store';

const at = (minute: number, second = 0) => new Date(Date.UTC(2026, 0, 20, 10, minute, second)).toISOString();
const log = (extra: Partial<NewSystemLog> = {}): NewSystemLog => ({
  level: 'info',
  source: 'billing-worker',
  message: 'invoice batch processed',
  timestamp: at(0),
  ...extra,
});
const page = (extra: Partial<SystemLogListQuery> = {}): SystemLogListQuery => ({
  limit: 50,
  offset: 0,
  sort: 'timestamp',
  order: 'asc',
  ...extra,
});

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('SystemLogStore on %s', (kind) => {
  let t: TestDatabase;
  let store: SystemLogStore;
  let indexer: SystemLogSearchIndexer;
  let tenants: TenantStore;
  let tenantA: Scope;
  let tenantB: Scope;
  const platform: Scope = { platform: true };

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    store = new SystemLogStore(t.db);
    indexer = new SystemLogSearchIndexer(t.db);
    tenants = new TenantStore(t.db);
    tenantA = { tenantId: (await tenants.createTenant('a', 'none')).tenant_id };
    tenantB = { tenantId: (await tenants.createTenant('b', 'none')).tenant_id };
  }, 60_000);
  afterAll(() => t?.close());

  const newTenant = async (): Promise<Scope> => ({ tenantId: (await tenants.createTenant(`t-${randomUUID()}`, 'none')).tenant_id });

  /** Counts the statements a store call sends through Database.transaction. */
  const countStatements = () => {
    const original = t.db.transaction.bind(t.db);
    const statements: string[] = [];
    const spy = jest.spyOn(t.db, 'transaction').mockImplementation((scope, work) =>
      original(scope, (sql: Sql) =>
        work({
          query: (text: string, params?: unknown[]) => {
            statements.push(text);
            return sql.query(text, params);
          },
        } as Sql),
      ),
    );
    return { statements, restore: () => spy.mockRestore() };
  };

  it('records 1,000 logs in one INSERT statement (plus two for the ledger) and answers them in the order given', async () => {
    const scope = await newTenant();
    const batch = Array.from({ length: 1000 }, (_, i) =>
      log({ message: `event ${i}`, timestamp: at(i % 60, i % 59), level: i % 2 ? 'warning' : 'info', context: { i } }),
    );
    const counter = countStatements();
    let stored;
    try {
      stored = await store.insertMany(scope, batch);
    } finally {
      counter.restore();
    }
    // The batch is one INSERT; its ledger entries are two more (lock the head, append), whatever the batch size.
    expect(counter.statements).toHaveLength(3);
    expect(counter.statements[0]).toMatch(/INSERT INTO system_logs[\s\S]*jsonb_to_recordset/);
    expect(counter.statements[1]).toMatch(/INSERT INTO aos_ledger_heads/);
    expect(counter.statements[2]).toMatch(/INSERT INTO aos_ledger_leaves[\s\S]*unnest/);
    expect(stored).toHaveLength(1000);
    expect(stored.map((s) => s.message)).toEqual(batch.map((b) => b.message));
    expect(stored[7]).toMatchObject({ tenant_id: 'tenantId' in scope && scope.tenantId, level: 'warning', context: { i: 7 }, trace_id: null });
    expect(new Set(stored.map((s) => s.log_id)).size).toBe(1000);
    expect((await store.list(scope, page({ limit: 1 }))).total).toBe(1000);
  });

  it("keeps the writer's event time at millisecond precision and sets created_at from the database clock", async () => {
    const scope = await newTenant();
    const [a, b] = await store.insertMany(scope, [
      log({ timestamp: '2026-01-20T12:15:30.123456+02:00' }),
      { level: 'error', source: 's', message: 'no time given' },
    ]);
    expect(a.timestamp).toBe('2026-01-20T10:15:30.123Z');
    expect(Date.parse(a.created_at)).toBeGreaterThan(Date.parse('2026-01-21T00:00:00Z'));
    expect(Math.abs(Date.parse(b.timestamp) - Date.parse(b.created_at))).toBeLessThan(5_000);
    expect(b.context).toBeNull();
  });

  it('answers each log exactly as it reads back, and ledgers the leaf of the stored row', async () => {
    // The answer is built from what was sent plus what the database decided; jsonb
    // must keep every value of the context as JavaScript parses it back.
    const scope = await newTenant();
    const ledger = new LedgerStore(t.db);
    const contexts = [
      { n: [0, -0, 1.5, 1e21, 1e-7, 0.1 + 0.2, 2 ** 70 + 2 ** 20, -1e300, 5e-324], s: 'é "q" \\ \u2028 😀 \u007f' },
      { nested: { b: [true, false, null, {}, []], a: { '': 'empty key', 'z y': 1 } }, order: { b: 1, a: 2, aa: 3, '10': 4, '9': 5 } },
      { date: new Date('2026-01-20T10:00:00.123Z') } as unknown as NewSystemLog['context'],
      {},
      null,
      undefined,
    ];
    const stored = await store.insertMany(
      scope,
      // The fourth log has no event time: the database's clock gives it, and created_at to all.
      contexts.map((context, i) => ({ ...log({ message: `m${i}`, trace_id: i % 2 ? `t${i}` : undefined }), context, ...(i === 3 ? { timestamp: undefined } : {}) })),
    );
    const leaves = await ledger.entries(scope, 0, 100);
    expect(stored[3].timestamp).toBe(stored[3].created_at);
    for (const [i, answered] of stored.entries()) {
      const readBack = await store.get(scope, answered.log_id);
      expect(JSON.parse(JSON.stringify(answered))).toEqual(readBack);
      expect(canonicalize(answered)).toBe(canonicalize(readBack));
      expect(leaves[i].leaf_hash.equals(hashLeaf(systemLogLeafData(readBack)))).toBe(true);
    }
  });

  it('refuses an invalid batch naming the item and field, and stores none of it', async () => {
    const scope = await newTenant();
    const bad = [log(), log({ level: 'loud' as never }), log({ timestamp: '2026-01-20T10:00:00' })];
    const err = await store.insertMany(scope, bad).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors.map((e) => e.field)).toEqual(['logs[1].level', 'logs[2].timestamp']);
    await expect(store.insertMany(scope, [log({ context: { a: 'x\u0000' } })])).rejects.toThrow(/context\.a/);
    await expect(store.insertMany(scope, Array.from({ length: 1001 }, () => log()))).rejects.toThrow(/at most 1000/);
    expect((await store.list(scope, page())).total).toBe(0);
  });

  it('filters by level, source, trace_id, request_id and a half-open time range', async () => {
    const scope = await newTenant();
    const trace = randomUUID();
    const stored = await store.insertMany(scope, [
      log({ timestamp: at(1), level: 'debug', source: 'api', request_id: 'req-1' }),
      log({ timestamp: at(2), level: 'error', source: 'api', trace_id: trace }),
      log({ timestamp: at(3), level: 'error', source: 'worker', trace_id: trace, request_id: 'req-2' }),
      log({ timestamp: at(4), level: 'critical', source: 'worker' }),
    ]);
    const ids = (q: Partial<SystemLogListQuery>) => store.list(scope, page(q)).then((r) => r.items.map((i) => i.log_id));
    const id = (n: number) => stored[n].log_id;
    expect(await ids({ level: 'error' })).toEqual([id(1), id(2)]);
    expect(await ids({ source: 'worker' })).toEqual([id(2), id(3)]);
    expect(await ids({ trace_id: trace })).toEqual([id(1), id(2)]);
    expect(await ids({ request_id: 'req-1' })).toEqual([id(0)]);
    expect(await ids({ start_time: at(2), end_time: at(4) })).toEqual([id(1), id(2)]);
    expect(await ids({ start_time: '2026-01-20T12:02:00+02:00' })).toEqual([id(1), id(2), id(3)]);
    expect(await ids({ level: 'error', source: 'api' })).toEqual([id(1)]);
    expect(await ids({ order: 'desc' })).toEqual([id(3), id(2), id(1), id(0)]);
    await expect(store.list(scope, page({ level: 'loud' as never }))).rejects.toBeInstanceOf(ValidationError);
    await expect(store.list(scope, page({ start_time: '2026-01-20T10:00:00' }))).rejects.toThrow(/start_time/);
  });

  it('searches message and context as full text, and ids exactly', async () => {
    const scope = await newTenant();
    const trace = randomUUID();
    const stored = await store.insertMany(scope, [
      log({ message: 'Payment gateway timed out after 30s', timestamp: at(1) }),
      log({ message: 'retrying', context: { reason: 'connection refused by upstream' }, timestamp: at(2) }),
      log({ message: 'done', trace_id: trace, request_id: 'req-7f3a9c12', timestamp: at(3) }),
    ]);
    await indexer.drain();
    const search = (s: string) => store.list(scope, page({ search: s })).then((r) => r.items.map((i) => i.message));
    expect(await search('timeouts gateway')).toEqual([]); // websearch: every word must match ("timeouts" is not "timed")
    expect(await search('gateway TIMED')).toEqual(['Payment gateway timed out after 30s']);
    expect(await search('"connection refused"')).toEqual(['retrying']);
    expect(await search('payment OR upstream')).toEqual(['Payment gateway timed out after 30s', 'retrying']);
    expect(await search('payment -gateway')).toEqual([]);
    expect(await search(trace.toUpperCase())).toEqual(['done']);
    expect(await search('req-7f3a9c12')).toEqual(['done']);
    expect(await search(stored[0].log_id)).toEqual(['Payment gateway timed out after 30s']);
    expect(await search("'; DROP TABLE system_logs; --")).toEqual([]);
    expect(await search('   ')).toHaveLength(3);
  });

  it('pages with a keyset cursor that belongs to its sort and order, and with offset', async () => {
    const scope = await newTenant();
    // Equal timestamps: the order falls back to log_id, and no row is skipped or repeated.
    const stored = await store.insertMany(scope, Array.from({ length: 7 }, (_, i) => log({ message: `m${i}`, timestamp: at(i < 4 ? 3 : i) })));
    const all = [...stored].sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.log_id.localeCompare(b.log_id)).map((s) => s.log_id);
    const p1 = await store.list(scope, page({ limit: 3 }));
    expect(p1.items.map((i) => i.log_id)).toEqual(all.slice(0, 3));
    expect(p1).toMatchObject({ total: 7, total_exact: true, position: 0 });
    const p2 = await store.list(scope, page({ limit: 3, cursor: p1.next_cursor!, offset: 999 }));
    expect(p2.items.map((i) => i.log_id)).toEqual(all.slice(3, 6));
    expect(p2.position).toBe(3);
    const p3 = await store.list(scope, page({ limit: 3, cursor: p2.next_cursor! }));
    expect(p3.items.map((i) => i.log_id)).toEqual(all.slice(6));
    expect(p3.next_cursor).toBeNull();
    const desc1 = await store.list(scope, page({ limit: 4, order: 'desc' }));
    const desc2 = await store.list(scope, page({ limit: 4, order: 'desc', cursor: desc1.next_cursor! }));
    expect([...desc1.items, ...desc2.items].map((i) => i.log_id)).toEqual([...all].reverse());
    expect((await store.list(scope, page({ limit: 2, offset: 5 }))).items.map((i) => i.log_id)).toEqual(all.slice(5, 7));
    await expect(store.list(scope, page({ order: 'desc', cursor: p1.next_cursor! }))).rejects.toThrow(/cursor/);
    await expect(store.list(scope, page({ cursor: 'not-a-cursor' }))).rejects.toThrow(/cursor/);
    await expect(store.list(scope, page({ sort: 'message; DROP TABLE x' as never }))).rejects.toThrow(/sort/);
  });

  it('streams every matching log oldest first, within its scope only', async () => {
    const scope = await newTenant();
    await store.insertMany(scope, [
      log({ timestamp: at(3), message: 'third' }),
      log({ timestamp: at(1), message: 'first', level: 'error' }),
      log({ timestamp: at(2), message: 'second' }),
    ]);
    await indexer.drain();
    const collect = async (s: Scope, f = {}) => {
      const out: string[] = [];
      for await (const l of store.stream(s, f)) out.push(l.message);
      return out;
    };
    expect(await collect(scope)).toEqual(['first', 'second', 'third']);
    expect(await collect(scope, { level: 'error' })).toEqual(['first']);
    expect(await collect(scope, { search: 'second' })).toEqual(['second']);
    expect(await collect(await newTenant())).toEqual([]);
  });

  it("keeps tenants' and the platform's logs apart in every read", async () => {
    const [mine] = await store.insertMany(tenantA, [log({ message: 'tenant secret zanzibar', request_id: 'req-shared-1' })]);
    const [ops] = await store.insertMany(platform, [log({ message: 'platform startup zanzibar', source: 'Bootstrap', request_id: 'req-shared-1' })]);
    expect(ops.tenant_id).toBeNull();
    await indexer.drain();

    await expect(store.get(tenantB, mine.log_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.get(platform, mine.log_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.get(tenantA, ops.log_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.get(tenantA, 'not-a-uuid')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.get(tenantA, mine.log_id)).resolves.toEqual(mine);
    await expect(store.get(platform, ops.log_id)).resolves.toEqual(ops);

    for (const q of [{ search: 'zanzibar' }, { request_id: 'req-shared-1' }, { search: mine.log_id }, {}]) {
      expect((await store.list(tenantB, page(q))).items).toEqual([]);
      expect((await store.list(tenantA, page(q))).items.map((i) => i.log_id)).not.toContain(ops.log_id);
      expect((await store.list(platform, page(q))).items.map((i) => i.log_id)).not.toContain(mine.log_id);
    }
    expect((await store.list(platform, page({ search: 'zanzibar' }))).items.map((i) => i.log_id)).toEqual([ops.log_id]);
  });

  it('lets row-level security hide every row when no tenant is set, and refuse a write for another tenant', async () => {
    await store.insertMany(tenantA, [log()]);
    expect(await t.db.query(`SELECT count(*)::int AS n FROM system_logs`)).toEqual([{ n: 0 }]);
    const { tenantId: other } = tenantB as { tenantId: string };
    await expect(
      t.db.transaction(tenantA, (sql) =>
        sql.query(`INSERT INTO system_logs (log_id, tenant_id, level, source, message, "timestamp") VALUES ($1, $2, 'info', 's', 'm', now())`, [
          randomUUID(),
          other,
        ]),
      ),
    ).rejects.toThrow(/row-level security|another record/);
    await expect(
      t.db.transaction(tenantA, (sql) =>
        sql.query(`INSERT INTO system_logs (log_id, tenant_id, level, source, message, "timestamp") VALUES ($1, NULL, 'info', 's', 'm', now())`, [
          randomUUID(),
        ]),
      ),
    ).rejects.toThrow(/row-level security|another record/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE, even by the owner', async () => {
    const [row] = await store.insertMany(tenantA, [log()]);
    await expect(t.asOwner(`UPDATE system_logs SET message = 'x' WHERE log_id = $1`, [row.log_id])).rejects.toThrow(/Immutable record/);
    await expect(t.asOwner(`DELETE FROM system_logs WHERE log_id = $1`, [row.log_id])).rejects.toThrow(/Immutable record/);
    await expect(t.asOwner(`TRUNCATE system_logs`)).rejects.toThrow(/Immutable record/);
    await expect(
      t.db.transaction(tenantA, (sql) => sql.query(`DELETE FROM system_logs WHERE log_id = $1`, [row.log_id])),
    ).rejects.toThrow(/permission denied/);
    await expect(store.get(tenantA, row.log_id)).resolves.toEqual(row);
  });
});
