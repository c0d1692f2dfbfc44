import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, canonicalJson, computeStepHash, hashStepContent, computeTraceHash, type NewStep, type TraceListQuery } from '@aos/logs-domain';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import { TenantStore } from './tenant.store';
import { StepSearchIndexer } from './step-search-indexer';
import { STEP_HASH_AS_STORED, TraceStore } from './trace.store';
import { STEP_SEARCH_PARTITIONS } from './migrations/1770300000000-step-search-by-tenant';

const step = (i: number, extra: Partial<NewStep> = {}): NewStep => ({
  step_index: i,
  step_type: i === 0 ? 'input' : 'llm_call',
  timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(),
  tokens: 10 * (i + 1),
  cost_cents: i + 1,
  duration_ms: 100,
  input_data: { prompt: `question ${i}`, n: i },
  output_data: { text: `answer ${i} about refunds` },
  ...extra,
});

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('TraceStore on %s', (kind) => {
  let t: TestDatabase;
  let store: TraceStore;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    store = new TraceStore(t.db);
    const tenants = new TenantStore(t.db);
    tenantA = (await tenants.createTenant('a', 'none')).tenant_id;
    tenantB = (await tenants.createTenant('b', 'soc2')).tenant_id;
  }, 60_000);
  afterAll(() => t?.close());

  const newTrace = async (tenant = tenantA) =>
    (await store.createTrace(tenant, { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'support-bot', started_at: '2026-01-20T10:00:00.000Z' })).trace;

  /** A new tenant whose search rows share `tenant`'s partition of aos_step_search (STEP_SEARCH_PARTITIONS). */
  const tenantSharingPartition = async (tenant: string, name: string): Promise<string> => {
    const [{ other }] = await t.asOwner<{ other: string }>(
      `SELECT u AS other FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, 2000)) c
       WHERE satisfies_hash_partition('aos_step_search'::regclass, $2::int,
               (SELECT r FROM generate_series(0, $2::int - 1) r WHERE satisfies_hash_partition('aos_step_search'::regclass, $2::int, r, $1::uuid)), u)
       LIMIT 1`,
      [tenant, STEP_SEARCH_PARTITIONS],
    );
    await t.asOwner(`INSERT INTO tenants (tenant_id, name) VALUES ($1, $2)`, [other, name]);
    return other;
  };

  // Records every statement listTraces runs, and which search form its page used.
  const recorder = () => {
    const statements: string[] = [];
    const db = {
      transaction: (scope: { tenantId: string }, work: (sql: any) => Promise<unknown>) =>
        t.db.transaction(scope, (sql) =>
          work({
            query: (text: string, params?: unknown[]) => {
              statements.push(text);
              return sql.query(text, params);
            },
          }),
        ),
    } as unknown as typeof t.db;
    const pageForms = () =>
      statements
        .filter((x) => /^SELECT t\./.test(x.trim()) && /ORDER BY/.test(x))
        .map((x) =>
          /EXISTS \(SELECT 1 FROM aos_step_search/.test(x)
            ? 'exists'
            : /FROM \(SELECT w\.\* FROM aos_traces w/.test(x)
              ? 'reasons'
              : /x\.started_at [<>]=/.test(x)
                ? 'window'
                : 'union',
        );
    // The list's count, or a search's bounded walk of the traces (TraceList.countFromPage, walkHits).
    const counts = () =>
      statements.filter((x) => /^SELECT (count\(\*\)::int AS (n FROM \(SELECT 1 FROM aos_traces t|walked,)|d\.n, count\(w\.hit\))/.test(x.trim()));
    return { db, statements, pageForms, counts };
  };

  it('records a trace, steps in a batch, a violation, and seals it with the contract hashes', async () => {
    const trace = await newTrace();
    expect(trace.status).toBe('active');
    expect(trace.content_hash).toBeNull();

    const res = await store.addSteps(tenantA, trace.trace_id, [step(0), step(1), step(2)]);
    expect(res.created).toBe(true);
    expect(res.steps.map((s) => s.step_index)).toEqual([0, 1, 2]);
    expect(res.steps[1].content_hash).toBe(computeStepHash(step(1)));

    const open = await store.getTrace(tenantA, trace.trace_id);
    expect(open).toMatchObject({ step_count: 3, total_tokens: 60, total_cost_cents: 6, content_hash: null });

    const violated = await store.markViolation(tenantA, trace.trace_id, { step_index: 2, policy_id: randomUUID(), reason: 'PII leaked in output' });
    expect(violated.violation_step_index).toBe(2);
    expect(violated.violation_timestamp).toBe(step(2).timestamp);

    const sealed = await store.completeTrace(tenantA, trace.trace_id, { status: 'failed' });
    expect(sealed.status).toBe('failed');
    expect(sealed.completed_at).not.toBeNull();
    expect(sealed.content_hash).toBe(computeTraceHash(res.steps));
    expect((await store.verifyTrace(tenantA, trace.trace_id)).verified).toBe(true);
  });

  it('answers an identical re-send of a trace as stored, and one that differs in any field it sends with 409 naming it', async () => {
    const incident = randomUUID();
    const scenario = randomUUID();
    const base = { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'support-bot', started_at: '2026-01-20T10:00:00.000Z' };
    const first = await store.createTrace(tenantA, { ...base, is_synthetic: true, synthetic_scenario_id: scenario, policy_snapshot: { max_tokens: 100, rules: ['a'] } });
    const traceId = first.trace.trace_id;
    const again = await store.createTrace(tenantA, { ...base, trace_id: traceId, is_synthetic: true, synthetic_scenario_id: scenario, policy_snapshot: { rules: ['a'], max_tokens: 100 } });
    expect(again).toEqual({ trace: first.trace, created: false });
    // Fields left out of a re-send are not compared.
    expect((await store.createTrace(tenantA, { run_id: base.run_id, agent_id: base.agent_id, trace_id: traceId })).created).toBe(false);
    for (const [field, value] of [
      ['agent_name', 'other-bot'],
      ['started_at', '2026-01-20T10:00:01.000Z'],
      ['is_synthetic', false],
      ['synthetic_scenario_id', randomUUID()],
      ['incident_id', incident],
      ['policy_snapshot', { max_tokens: 101, rules: ['a'] }],
    ] as const) {
      const err = await store.createTrace(tenantA, { ...base, trace_id: traceId, [field]: value }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ message: expect.stringContaining(field), extensions: { field } });
    }
    const other = await store.createTrace(tenantA, { ...base, run_id: randomUUID(), trace_id: traceId }).catch((e: unknown) => e);
    expect(other).toMatchObject({ extensions: { field: 'trace_id' } });
    // Nothing was changed or added by the refused sends.
    expect(await store.getTrace(tenantA, traceId)).toEqual(first.trace);
    const [{ n }] = await t.asOwner<{ n: string }>(`SELECT count(*) AS n FROM policy_snapshots WHERE trace_id = $1`, [traceId]);
    expect(Number(n)).toBe(1);
  });

  it('answers an identical re-send with the stored step, even once sealed', async () => {
    const trace = await newTrace();
    const first = await store.addSteps(tenantA, trace.trace_id, [step(0)]);
    const again = await store.addSteps(tenantA, trace.trace_id, [step(0)]);
    expect(again.created).toBe(false);
    expect(again.steps).toEqual(first.steps);
    await store.completeTrace(tenantA, trace.trace_id, { status: 'completed' });
    expect((await store.addSteps(tenantA, trace.trace_id, [step(0)])).steps).toEqual(first.steps);
    expect((await store.getTrace(tenantA, trace.trace_id)).step_count).toBe(1);
  });

  it('answers sends of one new trace that race each other with one creation and the stored trace', async () => {
    // Two sends that both pass the insert's conflict check used to fail on the second unique
    // constraint, (tenant_id, trace_id), which the insert did not arbitrate: POST /traces answered 500.
    const rounds = kind === 'postgres' ? 200 : 2;
    for (let round = 0; round < rounds; round++) {
      const inputs = Array.from({ length: 5 }, () => ({ trace_id: randomUUID(), run_id: randomUUID(), agent_id: randomUUID() }));
      const results = await Promise.all(inputs.flatMap((input) => [store.createTrace(tenantA, input), store.createTrace(tenantA, input)]));
      expect(results.filter((r) => r.created)).toHaveLength(inputs.length);
    }
    // 2,000 creates: ~2 s alone, over 5 s on a CI machine running other suites beside it.
  }, 60_000);

  it('rejects a step whose index is taken with other content', async () => {
    const trace = await newTrace();
    await store.addSteps(tenantA, trace.trace_id, [step(0)]);
    await expect(store.addSteps(tenantA, trace.trace_id, [step(0, { output_data: { text: 'changed' } })])).rejects.toBeInstanceOf(ConflictError);
    await expect(store.addSteps(tenantA, trace.trace_id, [step(0, { tokens: 999 })])).rejects.toBeInstanceOf(ConflictError);
  });

  it('rejects a gap in step_index and stores nothing of the batch', async () => {
    const trace = await newTrace();
    await expect(store.addSteps(tenantA, trace.trace_id, [step(0), step(2)])).rejects.toThrow(/gap/);
    expect((await store.getTrace(tenantA, trace.trace_id)).step_count).toBe(0);
  });

  it('rejects a new step on a sealed trace', async () => {
    const trace = await newTrace();
    await store.addSteps(tenantA, trace.trace_id, [step(0)]);
    await store.completeTrace(tenantA, trace.trace_id, { status: 'completed' });
    await expect(store.addSteps(tenantA, trace.trace_id, [step(1)])).rejects.toThrow(/sealed/);
  });

  it('rejects a violation on a step not yet recorded, and a second different violation', async () => {
    const trace = await newTrace();
    await store.addSteps(tenantA, trace.trace_id, [step(0)]);
    const v = { step_index: 0, policy_id: randomUUID(), reason: 'r' };
    await expect(store.markViolation(tenantA, trace.trace_id, { ...v, step_index: 1 })).rejects.toBeInstanceOf(ConflictError);
    await store.markViolation(tenantA, trace.trace_id, v);
    await expect(store.markViolation(tenantA, trace.trace_id, v)).resolves.toMatchObject({ violation_reason: 'r' });
    await expect(store.markViolation(tenantA, trace.trace_id, { ...v, reason: 'other' })).rejects.toBeInstanceOf(ConflictError);
  });

  it('completes idempotently with the same status and refuses another', async () => {
    const trace = await newTrace();
    const sealed = await store.completeTrace(tenantA, trace.trace_id, { status: 'aborted' });
    expect(sealed.content_hash).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    await expect(store.completeTrace(tenantA, trace.trace_id, { status: 'aborted' })).resolves.toEqual(sealed);
    await expect(store.completeTrace(tenantA, trace.trace_id, { status: 'completed' })).rejects.toBeInstanceOf(ConflictError);
  });

  it("hides one tenant's traces from another everywhere", async () => {
    const trace = await newTrace(tenantA);
    await store.addSteps(tenantA, trace.trace_id, [step(0)]);
    await expect(store.getTrace(tenantB, trace.trace_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.addSteps(tenantB, trace.trace_id, [step(1)])).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.verifyTrace(tenantB, trace.trace_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.listSteps(tenantB, trace.trace_id, { limit: 10, offset: 0, order: 'asc' })).rejects.toBeInstanceOf(NotFoundError);
    const list = await store.listTraces(tenantB, { limit: 50, offset: 0, sort: 'started_at', order: 'desc', search: 'refunds' });
    expect(list.items.find((x) => x.trace_id === trace.trace_id)).toBeUndefined();
  });

  it('lets row-level security hide every row when no tenant is set', async () => {
    await newTrace();
    const rows = await t.db.query(`SELECT count(*)::int AS n FROM aos_traces`);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('filters, searches and pages the list with a keyset cursor', async () => {
    const tenant = (await new TenantStore(t.db).createTenant('lists', 'none')).tenant_id;
    const agent = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const tr = await store.createTrace(tenant, {
        run_id: randomUUID(),
        agent_id: i % 2 ? agent : randomUUID(),
        started_at: new Date(Date.UTC(2026, 1, 1, 0, i)).toISOString(),
      });
      ids.push(tr.trace.trace_id);
      await store.addSteps(tenant, tr.trace.trace_id, [step(0, { output_data: { text: i === 3 ? 'the zebra escaped' : 'nothing' } })]);
    }
    const base = { limit: 3, offset: 0, sort: 'started_at' as const, order: 'asc' as const };
    const p1 = await store.listTraces(tenant, base);
    expect(p1.items.map((x) => x.trace_id)).toEqual(ids.slice(0, 3));
    expect(p1.total).toBe(7);
    const p2 = await store.listTraces(tenant, { ...base, cursor: p1.next_cursor! });
    expect(p2.items.map((x) => x.trace_id)).toEqual(ids.slice(3, 6));
    expect(p2.position).toBe(3);
    const p3 = await store.listTraces(tenant, { ...base, cursor: p2.next_cursor! });
    expect(p3.items.map((x) => x.trace_id)).toEqual(ids.slice(6));
    expect(p3.next_cursor).toBeNull();

    expect((await store.listTraces(tenant, { ...base, limit: 50, agent_id: agent })).total).toBe(3);
    // Step content becomes searchable once the indexer has run.
    expect((await store.listTraces(tenant, { ...base, search: 'Zebras' })).items).toEqual([]);
    expect(await new StepSearchIndexer(t.db).drain()).toBeGreaterThanOrEqual(7);
    const found = await store.listTraces(tenant, { ...base, search: 'Zebras' });
    expect(found.items.map((x) => x.trace_id)).toEqual([ids[3]]);
    expect((await store.listTraces(tenant, { ...base, search: ids[5] })).items.map((x) => x.trace_id)).toEqual([ids[5]]);
    const range = await store.listTraces(tenant, {
      ...base,
      limit: 50,
      start_time: '2026-02-01T00:01:00.000Z',
      end_time: '2026-02-01T00:03:00.000Z',
    });
    expect(range.items.map((x) => x.trace_id)).toEqual(ids.slice(1, 3));
    await expect(store.listTraces(tenant, { ...base, sort: 'total_tokens', cursor: p1.next_cursor! })).rejects.toThrow(/cursor/);
    expect((await store.listTraces(tenant, { ...base, search: "'; DROP TABLE aos_traces; --" })).items).toEqual([]);
  });

  it('finds the same traces whether a search term is rare or common (both clause forms), tenant-scoped', async () => {
    const tenants = new TenantStore(t.db);
    const tenant = (await tenants.createTenant('probe', 'none')).tenant_id;
    const other = (await tenants.createTenant('probe-other', 'none')).tenant_id;
    const r = recorder();
    // A low threshold: 3 matching step-search rows make a term "common".
    const low = new TraceStore(r.db, undefined, { searchProbeLimit: 3 });
    const agent = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const tr = await store.createTrace(tenant, {
        run_id: randomUUID(),
        agent_id: i === 6 ? agent : randomUUID(),
        started_at: new Date(Date.UTC(2026, 2, 1, 0, i)).toISOString(),
      });
      ids.push(tr.trace.trace_id);
      const text = [i % 2 === 0 ? 'the walrus ate' : 'quiet', i === 5 ? 'a narwhal' : '', i === 1 ? `agent ${agent}` : ''].join(' ');
      await store.addSteps(tenant, tr.trace.trace_id, [step(0, { output_data: { text } }), step(1, { output_data: { text: i === 4 ? 'walrus again' : 'x' } })]);
      if (i === 7) await store.markViolation(tenant, tr.trace.trace_id, { step_index: 1, policy_id: randomUUID(), reason: 'walrus and narwhal leaked' });
    }
    // The other tenant has many matches of both terms: they neither appear nor make the term common here.
    const foreign: string[] = [];
    for (let i = 0; i < 5; i++) {
      const tr = await store.createTrace(other, { run_id: randomUUID(), agent_id: agent, started_at: new Date(Date.UTC(2026, 2, 1, 0, i)).toISOString() });
      foreign.push(tr.trace.trace_id);
      await store.addSteps(other, tr.trace.trace_id, [step(0, { output_data: { text: `walrus narwhal ${agent}` } })]);
    }
    await new StepSearchIndexer(t.db).drain();

    const base = { limit: 2, offset: 0, sort: 'started_at' as const, order: 'desc' as const };
    const all = async (s: TraceStore, search: string, sort: 'started_at' | 'total_tokens' = 'started_at') => {
      const pages: Awaited<ReturnType<TraceStore['listTraces']>>[] = [];
      let cursor: string | undefined;
      do {
        const page = await s.listTraces(tenant, { ...base, sort, search, ...(cursor ? { cursor } : {}) });
        pages.push(page);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return pages;
    };
    const cases: Array<[string, string[], string]> = [
      // walrus: 4 steps of even traces + trace 4's second batch... (one row per batch) and trace 7's reason.
      ['walrus', [ids[7], ids[6], ids[4], ids[2], ids[0]], 'exists'],
      ['narwhal', [ids[7], ids[5]], 'union'],
      // An id-shaped term: trace 6's agent id, also in trace 1's step content (1 row: union with the default store).
      [agent, [ids[6], ids[1]], 'union'],
    ];
    for (const [term, expected, form] of cases) {
      for (const sort of ['started_at', 'total_tokens'] as const) {
        r.statements.length = 0;
        const viaLow = await all(low, term, sort);
        expect(r.pageForms().length).toBeGreaterThan(0);
        expect(r.pageForms().every((f) => f === form)).toBe(true);
        const viaDefault = await all(store, term, sort);
        expect(viaLow).toEqual(viaDefault);
        const found = viaLow.flatMap((p) => p.items.map((x) => x.trace_id));
        if (sort === 'started_at') expect(found).toEqual(expected);
        else expect([...found].sort()).toEqual([...expected].sort());
        expect(viaLow[0].total).toBe(expected.length);
        expect(found.some((id) => foreign.includes(id))).toBe(false);
      }
    }
    // The id-shaped branch in the EXISTS form: with a threshold of 1, the agent id is "common".
    const one = new TraceStore(r.db, undefined, { searchProbeLimit: 1 });
    r.statements.length = 0;
    expect(await all(one, agent)).toEqual(await all(store, agent));
    expect(r.pageForms()[0]).toBe('exists');
    expect((await one.listTraces(tenant, { ...base, limit: 50, search: ids[3] })).items.map((x) => x.trace_id)).toEqual([ids[3]]);
    // Another tenant, even with the term common for it, sees only its own traces.
    const theirs = await low.listTraces(other, { ...base, limit: 50, search: 'walrus' });
    expect(theirs.items.map((x) => x.trace_id).sort()).toEqual([...foreign].sort());
    expect(() => new TraceStore(t.db, undefined, { searchProbeLimit: 0 })).toThrow(/searchProbeLimit/);
  });

  describe('search counts from the probe', () => {
    // Traces and their search rows written as the owner (derived rows, as the indexer would).
    // `agent` runs trace g (1..n) when g % of[1] < of[0] (the others: an agent each).
    const seed = async (tenant: string, n: number, text: string, agent?: { id: string; of: [number, number] }) => {
      await t.asOwner(
        `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, started_at)
         SELECT gen_random_uuid(), $1, gen_random_uuid(), CASE WHEN g % $5::int < $4::int AND $3::uuid IS NOT NULL THEN $3::uuid ELSE gen_random_uuid() END,
                timestamptz '2026-04-01T00:00:00Z' + g * interval '1 second'
         FROM generate_series(1, $2::int) g`,
        [tenant, n, agent?.id ?? null, agent?.of[0] ?? 0, agent?.of[1] ?? 1],
      );
      await t.asOwner(
        `INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector, started_at)
         SELECT tenant_id, trace_id, 0, 4, to_tsvector('english', $2), started_at FROM aos_traces WHERE tenant_id = $1`,
        [tenant, text],
      );
    };

    it('answers a term in more traces than the count cap with the capped total from the probe alone', async () => {
      const tenants = new TenantStore(t.db);
      const tenant = (await tenants.createTenant('many', 'none')).tenant_id;
      const agent = randomUUID();
      await seed(tenant, 1_200, 'the okapi grazed', { id: agent, of: [1, 500] });
      const r = recorder();
      const withRecorder = new TraceStore(r.db);
      const page = await withRecorder.listTraces(tenant, { limit: 5, offset: 0, sort: 'started_at', order: 'desc', search: 'okapi' });
      expect(page.total).toBe(1_000);
      expect(page.total_exact).toBe(false);
      expect(page.items).toHaveLength(5);
      expect(page.items[0].started_at).toBe('2026-04-01T00:20:00.000Z');
      expect(r.pageForms()).toEqual(['exists']);
      expect(r.counts()).toEqual([]);
      // With a filter that few of the probe's traces pass, the probe cannot tell; a first page
      // short of its limit read every match, which is the count.
      r.statements.length = 0;
      const filtered = await withRecorder.listTraces(tenant, { limit: 5, offset: 0, sort: 'started_at', order: 'desc', search: 'okapi', agent_id: agent });
      expect(filtered.total).toBe(2);
      expect(filtered.total_exact).toBe(true);
      expect(filtered.items.map((x) => x.agent_id)).toEqual([agent, agent]);
      expect(r.counts()).toEqual([]);
      // Full, the page is where the count's walk starts: one statement, and the same total.
      r.statements.length = 0;
      const one = await withRecorder.listTraces(tenant, { limit: 1, offset: 0, sort: 'started_at', order: 'desc', search: 'okapi', agent_id: agent });
      expect(one).toMatchObject({ total: 2, total_exact: true, items: [filtered.items[0]] });
      expect(r.counts()).toHaveLength(1);
    }, 60_000);

    it('counts a common term under a filter most of its traces pass from the step matches, up to the cap', async () => {
      const tenants = new TenantStore(t.db);
      const tenant = (await tenants.createTenant('filtered', 'none')).tenant_id;
      const half = (await tenants.createTenant('filtered-half', 'none')).tenant_id;
      const agent = randomUUID();
      // 2,100 matches, two in three by the agent: so are two thirds of the probe's 1,100.
      await seed(tenant, 2_100, 'a tapir', { id: agent, of: [2, 3] });
      // 1,203 matches, 802 by the agent: the count from the step matches stops short of the cap.
      await seed(half, 1_203, 'a tapir', { id: agent, of: [2, 3] });
      const r = recorder();
      const withRecorder = new TraceStore(r.db);
      const query = { limit: 5, offset: 0, sort: 'started_at' as const, order: 'desc' as const, search: 'tapir', agent_id: agent };

      const capped = await withRecorder.listTraces(tenant, query);
      expect(capped.total).toBe(1_000);
      expect(capped.total_exact).toBe(false);
      expect(capped.items.map((x) => x.started_at)).toEqual(['2026-04-01T00:35:00.000Z', '2026-04-01T00:34:58.000Z', '2026-04-01T00:34:57.000Z', '2026-04-01T00:34:55.000Z', '2026-04-01T00:34:54.000Z']);
      // The probe counted it from the step matches: nothing is counted after the page.
      expect(r.counts()).toEqual([]);

      r.statements.length = 0;
      const exact = await withRecorder.listTraces(half, query);
      expect(exact.total).toBe(802);
      expect(exact.total_exact).toBe(true);
      expect(r.counts()).toHaveLength(1);
    }, 60_000);

    it('counts a trace with many matching batches once', async () => {
      const tenants = new TenantStore(t.db);
      const tenant = (await tenants.createTenant('batches', 'none')).tenant_id;
      const other = (await tenants.createTenant('batches-other', 'none')).tenant_id;
      const many = await newTrace(tenant);
      const one = await newTrace(tenant);
      for (let i = 0; i < 3; i++) {
        const steps = [step(2 * i, { output_data: { text: 'an ibex climbed' } }), step(2 * i + 1)];
        await store.addSteps(tenant, many.trace_id, steps);
      }
      await store.addSteps(tenant, one.trace_id, [step(0, { output_data: { text: 'ibex' } })]);
      // Another tenant's matches count for nothing here.
      await seed(other, 5, 'ibex');
      await new StepSearchIndexer(t.db).drain();
      const r = recorder();
      // Four matching batches in two traces: under a limit of 5 the term is rare, counted by the probe.
      const five = new TraceStore(r.db, undefined, { searchProbeLimit: 5 });
      const page = await five.listTraces(tenant, { limit: 10, offset: 0, sort: 'started_at', order: 'desc', search: 'ibex' });
      expect(page.items.map((x) => x.trace_id).sort()).toEqual([many.trace_id, one.trace_id].sort());
      expect(page.total).toBe(2);
      expect(r.pageForms()).toEqual(['union']);
      expect(r.counts()).toEqual([]);
      // A rare term's probe saw every match, so it counts under other filters too.
      r.statements.length = 0;
      const byAgent = await five.listTraces(tenant, { limit: 10, offset: 0, sort: 'started_at', order: 'desc', search: 'ibex', agent_id: many.agent_id });
      expect(byAgent.items.map((x) => x.trace_id)).toEqual([many.trace_id]);
      expect(byAgent.total).toBe(1);
      expect(r.counts()).toEqual([]);
      // At a limit of 3 it is common and the probe's two traces do not pass the cap: the count
      // comes from the page (which read every match), or from a walk after it, and agrees.
      r.statements.length = 0;
      const three = new TraceStore(r.db, undefined, { searchProbeLimit: 3 });
      const again = await three.listTraces(tenant, { limit: 10, offset: 0, sort: 'started_at', order: 'desc', search: 'ibex' });
      expect(again.items).toEqual(page.items);
      expect(again.total).toBe(2);
      expect(r.pageForms()).toEqual(['exists']);
      expect(r.counts()).toEqual([]);
      r.statements.length = 0;
      const first = await three.listTraces(tenant, { limit: 1, offset: 0, sort: 'started_at', order: 'desc', search: 'ibex' });
      expect(first).toMatchObject({ total: 2, total_exact: true, items: [page.items[0]] });
      expect(r.counts()).toHaveLength(1);
    }, 60_000);

    // A second matching row of each trace: another batch, or the second part of the same batch
    // (a batch too large for one vector, migration 1770700000000).
    it.each([
      { rows: 'two batches', first: 5, part: 0 },
      { rows: 'two parts of one batch', first: 0, part: 1 },
    ])('counts each trace once when it counts a common term from its step matches under a filter ($rows)', async ({ rows, first, part }) => {
      const tenants = new TenantStore(t.db);
      const tenant = (await tenants.createTenant(rows, 'none')).tenant_id;
      const agent = randomUUID();
      // 700 traces of the agent, each with two matching rows: 1,400 rows, 700 traces.
      await seed(tenant, 700, 'a quokka', { id: agent, of: [1, 1] });
      await t.asOwner(
        `INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, part, search_vector, started_at)
         SELECT tenant_id, trace_id, $2, 9, $3, to_tsvector('english', 'quokka again'), started_at FROM aos_traces WHERE tenant_id = $1`,
        [tenant, first, part],
      );
      const r = recorder();
      const page = await new TraceStore(r.db).listTraces(tenant, { limit: 5, offset: 0, sort: 'started_at', order: 'desc', search: 'quokka', agent_id: agent });
      // The step-match count ran (every sampled trace passes) and found 700 traces, not 1,400 rows
      // (past the cap): short of it, so the bounded walk of the agent's 700 traces answers, exactly.
      expect(page.total).toBe(700);
      expect(page.total_exact).toBe(true);
      expect(r.counts()).toHaveLength(1);
    }, 60_000);

    it('bounds the count of a common term under a narrow filter, and answers a lower bound past it', async () => {
      const tenants = new TenantStore(t.db);
      const tenant = (await tenants.createTenant('walked', 'none')).tenant_id;
      const agent = randomUUID();
      // 400 traces, one a second; the agent runs every third, "okapi" is in every second:
      // the agent's 133 traces hold 66 matches (g % 6 = 0), and a third of the probe's.
      await t.asOwner(
        `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, started_at)
         SELECT gen_random_uuid(), $1, gen_random_uuid(), CASE WHEN g % 3 = 0 THEN $2::uuid ELSE gen_random_uuid() END,
                timestamptz '2026-04-01T00:00:00Z' + g * interval '1 second'
         FROM generate_series(1, 400) g`,
        [tenant, agent],
      );
      await t.asOwner(
        `INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector, started_at)
         SELECT tenant_id, trace_id, 0, 4, to_tsvector('english', CASE WHEN extract(epoch FROM started_at)::bigint % 2 = 0 THEN 'an okapi' ELSE 'a giraffe' END), started_at
         FROM aos_traces WHERE tenant_id = $1 ORDER BY started_at`,
        [tenant],
      );
      const at = (g: number) => new Date(Date.parse('2026-04-01T00:00:00Z') + g * 1000).toISOString();
      const query = { limit: 5, offset: 0, sort: 'started_at' as const, order: 'desc' as const, search: 'okapi', agent_id: agent };
      const r = recorder();
      // The term is common (10 probe rows), a third of its traces pass: the count walks 20 + 1 of the
      // agent's. The page read its first 12 (g = 399 to 366, 6 matches), so the walk tests only 9 more.
      const bounded = new TraceStore(r.db, undefined, { searchProbeLimit: 10, searchCountWalk: 20 });
      const page = await bounded.listTraces(tenant, query);
      expect(page.items.map((x) => x.started_at)).toEqual([396, 390, 384, 378, 372].map(at));
      expect(r.counts()).toHaveLength(1);
      expect(r.counts()[0]).toMatch(/LIMIT 21\) c\) d/);
      expect(r.counts()[0]).toMatch(/LIMIT greatest\(0, 21 - d\.n\)\) w ON true/);
      // Of g = 399, 396, ..., 339, the even ten match: at least 10, not known to be all.
      expect(page.total).toBe(10);
      expect(page.total_exact).toBe(false);
      // Deeper, the bound is at least the rows up to the page's end and one more.
      const second = await bounded.listTraces(tenant, { ...query, limit: 10, cursor: (await bounded.listTraces(tenant, { ...query, limit: 10 })).next_cursor! });
      expect(second.position).toBe(10);
      expect(second.items.map((x) => x.started_at)).toEqual([336, 330, 324, 318, 312, 306, 300, 294, 288, 282].map(at));
      expect(second.total).toBe(21);
      expect(second.total_exact).toBe(false);
      // A page that reaches past the walk's end needs no walk: at least the rows it read.
      r.statements.length = 0;
      const wide = await bounded.listTraces(tenant, { ...query, limit: 10 });
      expect(wide.items.map((x) => x.started_at)).toEqual([396, 390, 384, 378, 372, 366, 360, 354, 348, 342].map(at));
      expect(wide).toMatchObject({ total: 11, total_exact: false });
      expect(r.counts()).toHaveLength(1);
      // An offset page counts the matches before it: the same walk, the same bound.
      const later = await bounded.listTraces(tenant, { ...query, offset: 5 });
      expect(later.items.map((x) => x.started_at)).toEqual([366, 360, 354, 348, 342].map(at));
      expect(later).toMatchObject({ total: 11, total_exact: false });
      // A walk that reaches every passing trace counts exactly; so does the default on this few.
      for (const store of [new TraceStore(t.db, undefined, { searchProbeLimit: 10, searchCountWalk: 133 }), new TraceStore(t.db, undefined, { searchProbeLimit: 10 })]) {
        const exact = await store.listTraces(tenant, query);
        expect(exact.total).toBe(66);
        expect(exact.total_exact).toBe(true);
        expect(exact.items).toEqual(page.items);
      }
      // In any order (every total_tokens and created_at ties, broken by trace_id), the page's
      // rows and the walk after them split the passing traces: each counted once.
      const whole = new TraceStore(t.db, undefined, { searchProbeLimit: 10, searchCountWalk: 133 });
      for (const [sort, order] of [['total_tokens', 'asc'], ['total_tokens', 'desc'], ['created_at', 'asc'], ['started_at', 'asc']] as const) {
        const exact = await whole.listTraces(tenant, { ...query, sort, order });
        expect(exact).toMatchObject({ total: 66, total_exact: true });
        expect(exact.items).toHaveLength(5);
      }
    }, 60_000);
    it('answers the first page of a term only many violation reasons hold from a walk of the violated traces', async () => {
      const tenants = new TenantStore(t.db);
      const tenant = (await tenants.createTenant('reasons', 'none')).tenant_id;
      // 2,200 violated traces, one a second, no steps: every second one's reason names the term (1,100).
      await t.asOwner(
        `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, started_at,
           violation_step_index, violation_policy_id, violation_reason, violation_timestamp)
         SELECT gen_random_uuid(), $1, gen_random_uuid(), gen_random_uuid(), timestamptz '2026-04-01T00:00:00Z' + g * interval '1 second',
                0, gen_random_uuid(), CASE WHEN g % 2 = 0 THEN 'prompt injection blocked' ELSE 'toxic language' END,
                timestamptz '2026-04-01T00:00:00Z' + g * interval '1 second'
         FROM generate_series(1, 2200) g`,
        [tenant],
      );
      const at = (g: number) => new Date(Date.parse('2026-04-01T00:00:00Z') + g * 1000).toISOString();
      const query = { limit: 5, offset: 0, sort: 'started_at' as const, order: 'desc' as const, search: 'injection' };
      const r = recorder();
      const store = new TraceStore(r.db);
      const page = await store.listTraces(tenant, query);
      expect(page.items.map((x) => x.started_at)).toEqual([2200, 2198, 2196, 2194, 2192].map(at));
      expect(page.total).toBe(1_000);
      expect(page.total_exact).toBe(false);
      const oldest = await store.listTraces(tenant, { ...query, order: 'asc' });
      expect(oldest.items.map((x) => x.started_at)).toEqual([2, 4, 6, 8, 10].map(at));
      expect(r.pageForms()).toEqual(['reasons', 'reasons']);
      // Later pages, another sort or another filter: the general form.
      r.statements.length = 0;
      const next = await store.listTraces(tenant, { ...query, cursor: page.next_cursor! });
      expect(next.items.map((x) => x.started_at)).toEqual([2190, 2188, 2186, 2184, 2182].map(at));
      expect((await store.listTraces(tenant, { ...query, sort: 'total_tokens' })).items).toHaveLength(5);
      expect(await store.listTraces(tenant, { ...query, has_violation: true })).toEqual(page);
      expect(r.pageForms()).toEqual(['union', 'union', 'union']);
      // A walk too short for a full page (8 violated traces hold 4 matches) falls back to the general form.
      r.statements.length = 0;
      expect(await new TraceStore(r.db, undefined, { reasonWalkRows: 8 }).listTraces(tenant, query)).toEqual(page);
      expect(r.pageForms()).toEqual(['reasons', 'union']);
    }, 60_000);

    it('pages a moderately common term from time windows of the tenant, the same rows as the per-trace form', async () => {
      const tenants = new TenantStore(t.db);
      const tenant = (await tenants.createTenant('windows', 'none')).tenant_id;
      const other = await tenantSharingPartition(tenant, 'windows-other');
      const agent = randomUUID();
      // 400 traces, one a second; every tenth holds the term, every second is the agent's.
      // The other tenant: 10,000 traces in the same seconds (a few with the term), so that
      // the term is in ~0.4% of the partition's search rows: moderately common.
      await t.asOwner(
        `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, started_at)
         SELECT gen_random_uuid(), CASE WHEN g <= 400 THEN $1::uuid ELSE $2::uuid END, gen_random_uuid(),
                CASE WHEN g <= 400 AND g % 2 = 0 THEN $3::uuid ELSE gen_random_uuid() END,
                timestamptz '2026-04-01T00:00:00Z' + (CASE WHEN g <= 400 THEN g ELSE g % 400 END) * interval '1 second'
         FROM generate_series(1, 10400) g`,
        [tenant, other, agent],
      );
      await t.asOwner(
        `INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector, started_at)
         SELECT tenant_id, trace_id, 0, 4,
                to_tsvector('english', CASE WHEN (tenant_id = $1 AND extract(epoch FROM started_at)::bigint % 10 = 0)
                                              OR (tenant_id = $2 AND extract(epoch FROM started_at)::bigint % 400 = 7 AND left(trace_id::text, 1) = 'a')
                                         THEN 'a pangolin' ELSE 'a giraffe' END
                            || CASE WHEN tenant_id = $1 AND extract(epoch FROM started_at)::bigint % 4 = 2 THEN ' an aardvark' ELSE '' END),
                started_at
         FROM aos_traces WHERE tenant_id IN ($1, $2)`,
        [tenant, other],
      );
      await t.asOwner(`ANALYZE aos_step_search`);
      const at = (g: number) => new Date(Date.parse('2026-04-01T00:00:00Z') + g * 1000).toISOString();
      const pages = async (store: TraceStore, query: TraceListQuery) => {
        const out: Array<Awaited<ReturnType<TraceStore['listTraces']>>> = [];
        for (let cursor: string | undefined; ; ) {
          const page = await store.listTraces(tenant, { ...query, ...(cursor ? { cursor } : {}) });
          out.push(page);
          if (!page.next_cursor) return out;
          cursor = page.next_cursor;
        }
      };
      const r = recorder();
      const windowed = new TraceStore(r.db, undefined, { searchProbeLimit: 10, searchWindowFirst: 20, searchWindowMax: 100 });
      const perTrace = new TraceStore(t.db, undefined, { searchProbeLimit: 10, searchWindowMax: 0 });
      const query: TraceListQuery = { limit: 5, offset: 0, sort: 'started_at', order: 'desc', search: 'pangolin' };
      // The first page: 20 traces hold 2 matches, which predict 6 rows in 60 traces; the
      // next window takes half again as many (90, with 9 matches): a full page.
      const first = await windowed.listTraces(tenant, query);
      expect(first.items.map((x) => x.started_at)).toEqual([400, 390, 380, 370, 360].map(at));
      expect(r.pageForms()).toEqual(['window', 'window']);
      // The term's share comes from the planner once; later pages and filters reuse it.
      const plans = () => r.statements.filter((x) => x.trim().startsWith('EXPLAIN')).length;
      expect(plans()).toBe(1);
      // Every page, both orders, with a filter: the same as the per-trace form, this tenant's only.
      // A page of 50 (51 rows) fills no window up to 100 traces (10 matches): the per-trace form
      // answers. Under another filter, the term's ~41 rows in the table: all of the tenant's (union).
      for (const [q, last] of [
        [query, 'window'],
        [{ ...query, order: 'asc' }, 'window'],
        [{ ...query, agent_id: agent }, 'union'],
        [{ ...query, limit: 50 }, 'exists'],
      ] as Array<[TraceListQuery, string]>) {
        r.statements.length = 0;
        const got = await pages(windowed, q);
        expect(got).toEqual(await pages(perTrace, q));
        const forms = r.pageForms();
        if (last === 'union') expect(new Set(forms)).toEqual(new Set(['union']));
        else expect([forms.slice(0, -1).every((f) => f === 'window'), forms.at(-1)]).toEqual([true, last]);
        const found = got.flatMap((p) => p.items);
        expect(found).toHaveLength(40);
        expect(found.every((x) => x.tenant_id === tenant)).toBe(true);
        expect(plans()).toBe(0);
      }
      // A term in ~1% of the partition's rows (100 of the agent's traces): windows without
      // another filter; under one (FILTERED_WINDOW_MAX_SHARE) the per-trace walk.
      const aardvark = { ...query, search: 'aardvark' };
      for (const [q, form] of [
        [aardvark, 'window'],
        [{ ...aardvark, agent_id: agent }, 'exists'],
      ] as Array<[TraceListQuery, string]>) {
        r.statements.length = 0;
        const got = await pages(windowed, q);
        expect(r.pageForms()[0]).toBe(form);
        expect(plans()).toBe(form === 'window' ? 1 : 0);
        expect(got).toEqual(await pages(perTrace, q));
        expect(got.flatMap((p) => p.items)).toHaveLength(100);
      }
      // No window fills the page (20 traces hold 2 matches): the per-trace form answers.
      r.statements.length = 0;
      const short = new TraceStore(r.db, undefined, { searchProbeLimit: 10, searchWindowFirst: 20, searchWindowMax: 20 });
      expect(await short.listTraces(tenant, query)).toEqual(first);
      expect(r.pageForms()).toEqual(['window', 'exists']);
      // Offset paging, another sort, or a term the planner expects in most rows: not windowed.
      r.statements.length = 0;
      expect(await windowed.listTraces(tenant, { ...query, offset: 5 })).toEqual(await perTrace.listTraces(tenant, { ...query, offset: 5 }));
      await windowed.listTraces(tenant, { ...query, sort: 'total_tokens' });
      await windowed.listTraces(tenant, { ...query, search: 'giraffe' });
      expect(r.pageForms()).toEqual(['exists', 'exists', 'exists']);
    }, 60_000);

    it('pages a rare term in started_at order from its matches sorted first: ties, both orders, cursor, offset, filters', async () => {
      const tenant = (await new TenantStore(t.db).createTenant('ordered-matches', 'none')).tenant_id;
      // 30 traces, three to a second (ties); every second holds the term in a step (trace 3 in two
      // batches), trace 9 only in its violation reason; failed and completed alternate by threes.
      await t.asOwner(
        `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, status, started_at, completed_at, content_hash,
                                 violation_step_index, violation_reason, violation_policy_id, violation_timestamp)
         SELECT gen_random_uuid(), $1, gen_random_uuid(), gen_random_uuid(), CASE WHEN (g / 3) % 2 = 0 THEN 'failed' ELSE 'completed' END,
                timestamptz '2026-06-01T00:00:00Z' + (g / 3) * interval '1 second', timestamptz '2026-06-01T01:00:00Z', repeat('0', 64),
                CASE WHEN g = 9 THEN 0 END, CASE WHEN g = 9 THEN 'an ibex got out' END, CASE WHEN g = 9 THEN gen_random_uuid() END,
                CASE WHEN g = 9 THEN timestamptz '2026-06-01T00:00:03Z' END
         FROM generate_series(0, 29) g`,
        [tenant],
      );
      await t.asOwner(
        `INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector, started_at)
         SELECT tenant_id, trace_id, b * 5, b * 5 + 4, to_tsvector('english', CASE WHEN n % 2 = 0 AND (b = 0 OR n = 3) THEN 'an ibex' ELSE 'a yak' END), started_at
         FROM (SELECT *, row_number() OVER (ORDER BY trace_id) AS n FROM aos_traces WHERE tenant_id = $1) t, generate_series(0, 1) b`,
        [tenant],
      );
      const rows = await t.asOwner<{ trace_id: string; started_at: Date; status: string; hit: boolean }>(
        `SELECT t.trace_id, t.started_at, t.status,
                EXISTS (SELECT 1 FROM aos_step_search x WHERE x.trace_id = t.trace_id AND x.search_vector @@ 'ibex'::tsquery) OR t.violation_reason IS NOT NULL AS hit
         FROM aos_traces t WHERE t.tenant_id = $1`,
        [tenant],
      );
      const expected = (order: 'asc' | 'desc', status?: string) =>
        rows
          .filter((x) => x.hit && (!status || x.status === status))
          .sort((a, b) => (a.started_at.getTime() - b.started_at.getTime() || (a.trace_id < b.trace_id ? -1 : 1)) * (order === 'asc' ? 1 : -1))
          .map((x) => x.trace_id);
      const r = recorder();
      const ordered = new TraceStore(r.db);
      for (const order of ['desc', 'asc'] as const) {
        for (const status of [undefined, 'failed'] as const) {
          const want = expected(order, status);
          expect(want.length).toBeGreaterThan(4);
          const query: TraceListQuery = { limit: 4, offset: 0, sort: 'started_at', order, search: 'ibex', ...(status ? { status } : {}) };
          r.statements.length = 0;
          const got: string[] = [];
          for (let cursor: string | undefined, n = 0; n < 20; n++) {
            const page = await ordered.listTraces(tenant, { ...query, ...(cursor ? { cursor } : {}) });
            got.push(...page.items.map((x) => x.trace_id));
            expect(page.total).toBe(want.length);
            if (!page.next_cursor) break;
            cursor = page.next_cursor;
          }
          expect(got).toEqual(want);
          expect(new Set(r.pageForms())).toEqual(new Set(['union']));
          expect(r.statements.some((x) => x.includes('CROSS JOIN LATERAL'))).toBe(true);
          const second = await ordered.listTraces(tenant, { ...query, offset: 4 });
          expect(second.items.map((x) => x.trace_id)).toEqual(want.slice(4, 8));
        }
      }
    }, 60_000);

    it("probes the tenant's step-search partition by name, where the serving role sees its own rows only", async () => {
      const tenant = (await new TenantStore(t.db).createTenant('partition-probe', 'none')).tenant_id;
      const other = await tenantSharingPartition(tenant, 'partition-probe-other');
      // 30 traces each, every third holding the term.
      await t.asOwner(
        `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, started_at)
         SELECT gen_random_uuid(), CASE WHEN g % 2 = 0 THEN $1::uuid ELSE $2::uuid END, gen_random_uuid(), gen_random_uuid(),
                timestamptz '2026-05-01T00:00:00Z' + g * interval '1 second'
         FROM generate_series(1, 60) g`,
        [tenant, other],
      );
      await t.asOwner(
        `INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector, started_at)
         SELECT tenant_id, trace_id, 0, 4,
                to_tsvector('english', CASE WHEN extract(epoch FROM started_at)::bigint % 3 = 0 THEN 'an okapi' ELSE 'a giraffe' END), started_at
         FROM aos_traces WHERE tenant_id IN ($1, $2)`,
        [tenant, other],
      );
      const [{ partition }] = await t.asOwner<{ partition: string }>(`SELECT DISTINCT tableoid::regclass::text AS partition FROM aos_step_search WHERE tenant_id = $1`, [tenant]);
      const r = recorder();
      const query: TraceListQuery = { limit: 50, offset: 0, sort: 'started_at', order: 'desc', search: 'okapi' };
      const page = await new TraceStore(r.db).listTraces(tenant, query);
      expect(page.items).toHaveLength(10);
      expect(page.items.every((x) => x.tenant_id === tenant)).toBe(true);
      expect(page.total).toBe(10);
      expect(r.statements.find((x) => x.includes('WITH s AS MATERIALIZED'))).toContain(`FROM ${partition} x`);
      // A partition without its policy (an instance ahead of the migration) would show no row:
      // the probe reads the parent then, with the same answer.
      await t.asOwner(`DROP POLICY tenant_isolation ON ${partition}`);
      try {
        r.statements.length = 0;
        expect(await new TraceStore(r.db).listTraces(tenant, query)).toEqual(page);
        expect(r.statements.find((x) => x.includes('WITH s AS MATERIALIZED'))).toContain('FROM aos_step_search x');
      } finally {
        await t.asOwner(`CREATE POLICY tenant_isolation ON ${partition} USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant())`);
      }
      // Read directly, the partition shows each tenant its own rows (its policy), no tenant none.
      const seen = async (tenantId: string) =>
        t.db.transaction({ tenantId }, (sql) => sql.query<{ tenant_id: string; n: number }>(`SELECT tenant_id, count(*)::int AS n FROM ${partition} GROUP BY tenant_id`));
      expect(await seen(tenant)).toEqual([{ tenant_id: tenant, n: 30 }]);
      expect(await seen(other)).toEqual([{ tenant_id: other, n: 30 }]);
      expect(await t.db.query(`SELECT count(*)::int AS n FROM ${partition}`)).toEqual([{ n: 0 }]);
    }, 60_000);
  });

  describe('immutability in the database', () => {
    let sealedId: string;
    beforeAll(async () => {
      const trace = await newTrace();
      await store.addSteps(tenantA, trace.trace_id, [step(0), step(1)]);
      sealedId = (await store.completeTrace(tenantA, trace.trace_id, { status: 'completed' })).trace_id;
    });

    it('refuses UPDATE and DELETE of steps and of a sealed trace, even by the owner', async () => {
      await expect(t.asOwner(`UPDATE aos_trace_steps SET tokens = 1 WHERE trace_id = $1`, [sealedId])).rejects.toThrow(/Immutable record/);
      await expect(t.asOwner(`DELETE FROM aos_trace_steps WHERE trace_id = $1`, [sealedId])).rejects.toThrow(/Immutable record/);
      await expect(t.asOwner(`UPDATE aos_traces SET total_tokens = 1 WHERE trace_id = $1`, [sealedId])).rejects.toThrow(/sealed/);
      await expect(t.asOwner(`DELETE FROM aos_traces WHERE trace_id = $1`, [sealedId])).rejects.toThrow(/Immutable record/);
      await expect(t.asOwner(`TRUNCATE aos_trace_steps`)).rejects.toThrow(/Immutable record|cannot truncate/);
    });

    it('refuses changes to audit and system logs', async () => {
      await expect(t.asOwner(`UPDATE audit_logs SET success = false`)).resolves.toBeDefined(); // no rows: nothing to refuse
      await t.db.transaction({ tenantId: tenantA }, (sql) =>
        sql.query(`INSERT INTO system_logs (log_id, tenant_id, level, source, message, "timestamp") VALUES ($1, $2, 'info', 't', 'm', now())`, [
          randomUUID(),
          tenantA,
        ]),
      );
      await expect(t.asOwner(`UPDATE system_logs SET message = 'x'`)).rejects.toThrow(/Immutable record/);
      await expect(t.asOwner(`DELETE FROM system_logs`)).rejects.toThrow(/Immutable record/);
    });

    it('allows the write-once incident link on a sealed trace, once', async () => {
      const incident = randomUUID();
      await expect(store.linkIncident(tenantA, sealedId, incident)).resolves.toMatchObject({ incident_id: incident });
      await expect(store.linkIncident(tenantA, sealedId, randomUUID())).rejects.toBeInstanceOf(ConflictError);
    });

    it('denies the serving role any UPDATE or DELETE of steps', async () => {
      await expect(
        t.db.transaction({ tenantId: tenantA }, (sql) => sql.query(`DELETE FROM aos_trace_steps WHERE trace_id = $1`, [sealedId])),
      ).rejects.toThrow(/permission denied/);
      await expect(
        t.db.transaction({ tenantId: tenantA }, (sql) => sql.query(`ALTER TABLE aos_trace_steps DISABLE TRIGGER ALL`)),
      ).rejects.toThrow(/must be owner/);
    });

    it('has every trigger of the schema, and its event trigger, ENABLE ALWAYS (none is off in replica mode)', async () => {
      const off = await t.asOwner(
        `SELECT c.relname || '.' || g.tgname AS name FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
         WHERE NOT g.tgisinternal AND g.tgenabled <> 'A'
         UNION ALL SELECT evtname FROM pg_event_trigger WHERE evtenabled <> 'A'`,
      );
      expect(off).toEqual([]);
      expect((await t.asOwner<{ n: number }>(`SELECT count(*)::int AS n FROM pg_trigger WHERE NOT tgisinternal`))[0].n).toBeGreaterThan(5);
    });

    it('keeps the guards on under session_replication_role = replica', async () => {
      if (kind !== 'postgres') return; // PGlite's single session is covered above
      await expect(
        t.asOwner(`DO $$ BEGIN SET LOCAL session_replication_role = replica; UPDATE aos_trace_steps SET tokens = 1; END $$`),
      ).rejects.toThrow(/Immutable record/);
    });

    it("reports a step altered behind the application's back, naming it", async () => {
      const trace = await newTrace();
      await store.addSteps(tenantA, trace.trace_id, [step(0), step(1), step(2)]);
      await store.completeTrace(tenantA, trace.trace_id, { status: 'completed' });
      await t.asOwner(`
        DO $$ BEGIN
          ALTER TABLE aos_trace_steps DISABLE TRIGGER aos_trace_steps_immutable;
          UPDATE aos_trace_steps SET output_data = '{"text":"forged"}' WHERE trace_id = '${trace.trace_id}' AND step_index = 1;
          ALTER TABLE aos_trace_steps ENABLE ALWAYS TRIGGER aos_trace_steps_immutable;
        END $$`);
      const report = await store.verifyTrace(tenantA, trace.trace_id);
      expect(report.verified).toBe(false);
      expect(report.steps.filter((s) => !s.ok).map((s) => s.step_index)).toEqual([1]);
    });

    it('stores step data as the very RFC 8785 text it hashed, byte for byte', async () => {
      const trace = await newTrace();
      const tricky: NewStep[] = [
        step(0, { input_data: 'text "quoted" \\ \n\t\u0001\u001f\u007f é 😀 \u2028', output_data: { z: 1, a: [1e21, 0.1, -5e-7, 100], é: null, '': { Z: true, b: 'x' } } }),
        step(1, { input_data: 12.5, output_data: [] }),
        step(2, { input_data: undefined, output_data: null }),
      ];
      await store.addSteps(tenantA, trace.trace_id, tricky);
      const rows = await t.db.transaction({ tenantId: tenantA }, (sql) =>
        sql.query<{ input_json: string | null; output_json: string | null }>(
          `SELECT input_data::text AS input_json, output_data::text AS output_json FROM aos_trace_steps WHERE trace_id = $1 ORDER BY step_index`,
          [trace.trace_id],
        ),
      );
      expect(rows.map((r) => [r.input_json ?? 'null', r.output_json ?? 'null'])).toEqual(
        tricky.map((s) => [canonicalJson(s.input_data ?? null), canonicalJson(s.output_data ?? null)]),
      );
      // Readers still get the values.
      const { steps } = await store.getTraceWithSteps(tenantA, trace.trace_id);
      expect(steps.map((s) => [s.input_data ?? null, s.output_data ?? null])).toEqual(tricky.map((s) => [s.input_data ?? null, s.output_data ?? null]));
      expect((await store.verifyTrace(tenantA, trace.trace_id)).verified).toBe(true);
    });

    it('hashes a stored step in SQL exactly as logs-domain does (STEP_HASH_AS_STORED), so verify need not read its data', async () => {
      const cases = [
        { step_index: 0, step_type: 'llm_call', input_data: { prompt: 'hi', b: 1, a: [true, null] }, output_data: null, timestamp: '2026-01-20T10:15:30.123Z' },
        { step_index: 2147483647, step_type: 'tool_call', input_data: 'text "q" \\ \n\u0001\u007f é 😀 \u2028', output_data: [1e21, -0, 0.1, { z: {}, '': [], é: 'x' }], timestamp: '0005-03-04T05:06:07.000Z' },
        { step_index: 7, step_type: 'ünïcode "type"\t', input_data: 12.5, output_data: false, timestamp: '9999-12-31T23:59:59.999Z' },
        { step_index: 3, step_type: 'output', input_data: undefined, output_data: undefined, timestamp: '2026-01-20T23:59:59.001+05:30' },
      ];
      for (const c of cases) {
        const h = hashStepContent(c);
        const [row] = await t.asOwner<{ h: string }>(
          `SELECT ${STEP_HASH_AS_STORED} AS h FROM (SELECT $1::json AS input_data, $2::json AS output_data, $3::int AS step_index, $4::text AS step_type, $5::timestamptz(3) AS "timestamp") AS s`,
          [h.input_json === 'null' ? null : h.input_json, h.output_json === 'null' ? null : h.output_json, c.step_index, c.step_type, c.timestamp],
        );
        expect(row.h).toBe(computeStepHash(c));
      }
    });

    it('verifies by the contract a step whose text was rewritten to the same value in another form (as rows stored before json)', async () => {
      const trace = await newTrace();
      await store.addSteps(tenantA, trace.trace_id, [step(0), step(1)]);
      await store.completeTrace(tenantA, trace.trace_id, { status: 'completed' });
      await t.asOwner(`
        DO $$ BEGIN
          ALTER TABLE aos_trace_steps DISABLE TRIGGER aos_trace_steps_immutable;
          UPDATE aos_trace_steps SET input_data = input_data::jsonb::json WHERE trace_id = '${trace.trace_id}' AND step_index = 1;
          ALTER TABLE aos_trace_steps ENABLE ALWAYS TRIGGER aos_trace_steps_immutable;
        END $$`);
      const [row] = await t.db.transaction({ tenantId: tenantA }, (sql) =>
        sql.query<{ input_json: string }>(`SELECT input_data::text AS input_json FROM aos_trace_steps WHERE trace_id = $1 AND step_index = 1`, [trace.trace_id]),
      );
      expect(row.input_json).not.toBe(canonicalJson(step(1).input_data));
      const report = await store.verifyTrace(tenantA, trace.trace_id);
      expect(report.verified).toBe(true);
      expect(report.steps[1]).toMatchObject({ ok: true, computed: computeStepHash(step(1)) });
    });
  });
});
