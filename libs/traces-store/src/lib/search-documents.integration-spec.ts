import { createHash, randomUUID } from 'node:crypto';
import type { NewStep, TraceListQuery } from '@aos/logs-domain';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import { SEARCH_CHUNK_BYTES, SEARCH_PART_BYTES } from './migrations/1770700000000-search-documents-in-parts';
import { StepSearchIndexer } from './step-search-indexer';
import { SystemLogSearchIndexer } from './system-log-search-indexer';
import { SystemLogStore } from './system-log.store';
import { TenantStore } from './tenant.store';
import { TraceStore } from './trace.store';

/** `n` distinct 12-character words: ~1.5 MB of them make a vector past PostgreSQL's 1 MB. */
const distinctWords = (n: number, salt: string) =>
  Array.from({ length: n }, (_, i) => 'w' + createHash('sha256').update(`${salt}${i}`).digest('hex').slice(0, 11));

const FILLER = 'customer order invoice shipment delivery address account balance payment card subscription plan'.split(' ');
/** About 2 KB of ordinary words (~330 positions), like a chat step. */
const filler = (seed: number) => Array.from({ length: 330 }, (_, i) => FILLER[(seed * 7 + i * 13) % FILLER.length]).join(' ');

const step = (step_index: number, input: unknown, output: unknown = null): NewStep => ({
  step_index,
  step_type: 'llm_call',
  timestamp: '2026-02-01T10:00:00.000Z',
  input_data: input as NewStep['input_data'],
  output_data: output as NewStep['output_data'],
});

/**
 * Search documents larger than one tsvector holds (migration 1770700000000): a
 * batch of steps is indexed in parts, each under 1 MB and 16,383 positions, so
 * no content stops the indexer and a phrase late in a large batch is found; a
 * system log stays one row, as much of it as one vector holds.
 */
describe.each<TestDatabaseKind>(['postgres', 'embedded'])('search documents larger than one vector on %s', (kind) => {
  let t: TestDatabase;
  let traces: TraceStore;
  let logs: SystemLogStore;
  let tenants: TenantStore;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    traces = new TraceStore(t.db);
    logs = new SystemLogStore(t.db);
    tenants = new TenantStore(t.db);
  }, 60_000);
  afterAll(() => t?.close());

  const newTenant = async () => (await tenants.createTenant(`parts-${randomUUID()}`, 'none')).tenant_id;
  const record = async (tenantId: string, steps: NewStep[]) => {
    const { trace } = await traces.createTrace(tenantId, { run_id: randomUUID(), agent_id: randomUUID(), started_at: '2026-02-01T10:00:00.000Z' });
    await traces.addSteps(tenantId, trace.trace_id, steps);
    return trace.trace_id;
  };
  const query = (search: string): TraceListQuery => ({ limit: 50, offset: 0, sort: 'started_at', order: 'desc', search });
  const found = async (tenantId: string, search: string) => (await traces.listTraces(tenantId, query(search))).items.map((i) => i.trace_id);

  it("indexes a step of more distinct words than a vector holds in parts, and the other tenants' batches of the same call", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const words = distinctWords(120_000, 'step');
    const big = await record(a, [step(0, { q: 'a marmot' }), step(1, { doc: words.join(' ') }, { note: 'done' })]);
    const other = await record(b, [step(0, { q: 'a wombat' })]);

    // Before, the call failed ("string is too long for tsvector") and every later call with it.
    expect(await new StepSearchIndexer(t.db).drain()).toBeGreaterThanOrEqual(2);

    for (const term of ['marmot', words[0], words[60_000], words[words.length - 1], 'done']) expect(await found(a, term)).toEqual([big]);
    expect(await found(b, 'wombat')).toEqual([other]);
    expect(await found(b, words[words.length - 1])).toEqual([]);
    const parts = await t.asOwner<{ part: number; bytes: number; last: number }>(
      `SELECT part, pg_column_size(search_vector) AS bytes, aos_tsvector_last_position(search_vector) AS last
       FROM aos_step_search WHERE trace_id = $1 ORDER BY part`,
      [big],
    );
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((p) => p.part)).toEqual(parts.map((_, i) => i));
    for (const p of parts) {
      expect(p.bytes).toBeLessThan(SEARCH_PART_BYTES);
      expect(p.last).toBeLessThan(16_382);
    }
  }, 120_000);

  it('finds a phrase, an order id and a UUID in the last step of a batch of a hundred 2 KB steps', async () => {
    const tenant = await newTenant();
    const steps = Array.from({ length: 100 }, (_, i) => step(i, { messages: [{ role: 'user', content: filler(i) }] }, { content: filler(i + 1) }));
    steps[99] = step(99, { messages: [{ role: 'user', content: filler(99) }] }, {
      content: `${filler(3)} the tapir policy applies to ORD-99887766 for customer 0d6f1c52-8a5e-4c1e-9a53-3c5b1f0a7e11`,
    });
    const trace = await record(tenant, steps);
    await new StepSearchIndexer(t.db).drain();

    // ~66,000 positions in one batch: before, every position past 16,383 was 16,383 and these
    // (each a phrase to PostgreSQL) matched nothing.
    for (const term of ['"tapir policy applies"', 'ORD-99887766', '0d6f1c52-8a5e-4c1e-9a53-3c5b1f0a7e11', 'tapir']) {
      expect([term, await found(tenant, term)]).toEqual([term, [trace]]);
    }
    expect(await found(tenant, '"policy tapir"')).toEqual([]);
    const [{ parts }] = await t.asOwner<{ parts: number }>(`SELECT count(*)::int AS parts FROM aos_step_search WHERE trace_id = $1`, [trace]);
    expect(parts).toBeGreaterThan(1);
    // A batch that fits one vector stays one row.
    const small = await record(tenant, [step(0, { q: filler(1) }), step(1, { q: filler(2) })]);
    await new StepSearchIndexer(t.db).drain();
    expect(await t.asOwner(`SELECT part FROM aos_step_search WHERE trace_id = $1`, [small])).toEqual([{ part: 0 }]);
  }, 120_000);

  it('cuts a long string at whitespace, each chunk starting with the last words before the cut, and one without whitespace at a character', async () => {
    const words = distinctWords(6_000, 'chunk'); // ~72 KB: three to four chunks
    const chunks = (await t.asOwner<{ c: string[] }>(`SELECT c FROM aos_search_chunks(jsonb_build_object('k', 'v', 'doc', $1::text)) c`, [words.join(' ')])).map(
      (r) => r.c,
    );
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const c of chunks) expect(Buffer.byteLength(c.join(''))).toBeLessThanOrEqual(SEARCH_CHUNK_BYTES);
    const strings = chunks.flat();
    expect(strings).toContain('v');
    const pieces = strings.filter((s) => s !== 'v');
    for (let i = 1; i < pieces.length; i++) {
      // Whole words on both sides of a cut, and the next piece repeats the last of them.
      const [before, after] = [pieces[i - 1].split(' '), pieces[i].split(' ')];
      expect(words).toContain(after[0]);
      expect(words).toContain(before[before.length - 1]);
      expect(before).toContain(after[0]);
    }
    expect(new Set(pieces.flatMap((p) => p.split(' ')))).toEqual(new Set(words));

    const solid = 'é'.repeat(40_000) + 'x'; // 80,001 bytes, no whitespace
    const cut = (await t.asOwner<{ c: string[] }>(`SELECT c FROM aos_search_chunks(to_jsonb($1::text)) c`, [solid])).flatMap((r) => r.c);
    expect(cut.join('')).toBe(solid);
    expect(Math.max(...cut.map((c) => Buffer.byteLength(c)))).toBeLessThanOrEqual(SEARCH_CHUNK_BYTES);

    expect(await t.asOwner(`SELECT v::text AS v FROM aos_pack_tsvectors('{}') v`)).toEqual([{ v: '' }]);
    // Pairwise concatenation is the chain of ||, positions shifted alike.
    expect(
      await t.asOwner(
        `WITH p AS (SELECT array_agg(to_tsvector('english', w) ORDER BY n) AS a
                    FROM unnest(ARRAY['a tapir ran', 'the tapir', 'ran away fast', 'gone', '', 'tapir again']) WITH ORDINALITY u(w, n))
         SELECT aos_tsvector_concat_all(a) = a[1] || a[2] || a[3] || a[4] || a[5] || a[6] AS same, aos_tsvector_concat_all('{}')::text AS none FROM p`,
      ),
    ).toEqual([{ same: true, none: '' }]);
  }, 60_000);

  it("reads a document's strings in document order, as jsonpath's $.** does, and an array of a million in linear time", async () => {
    const doc = { z: 'first', a: ['second', 3, { y: 'third', b: [null, true, 'fourth'] }, 'fifth'], m: { n: 'sixth' }, last: 'seventh' };
    const [row] = await t.asOwner<{ walked: string[]; jsonpath: string[] }>(
      `SELECT ARRAY(SELECT aos_jsonb_strings($1::jsonb)) AS walked,
              ARRAY(SELECT v #>> '{}' FROM jsonb_path_query($1::jsonb, 'strict $.**') v WHERE jsonb_typeof(v) = 'string') AS jsonpath`,
      [JSON.stringify(doc)],
    );
    expect(row.walked).toHaveLength(7);
    expect(row.walked).toEqual(row.jsonpath);
    // 10 MB of tiny strings (2.5 million) once held an indexer call ~12 minutes ($.** takes time
    // growing with the square of an array's length: 1 million ~50 s); now a few seconds.
    const started = performance.now();
    const [{ n }] = await t.asOwner<{ n: number }>(
      `SELECT count(*)::int AS n FROM aos_search_chunks((SELECT jsonb_agg(CASE WHEN g % 2 = 0 THEN to_jsonb('q'::text) ELSE to_jsonb(g) END) FROM generate_series(1, 1000000) g))`,
    );
    expect(n).toBeGreaterThan(10);
    expect(performance.now() - started).toBeLessThan(25_000);
  }, 60_000);

  it('indexes a system log of more distinct words than a vector holds as far as one holds, and the other logs of the call', async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const words = distinctWords(120_000, 'log');
    // A medium one too (a 20 KB message: past the plain path's gate, within one vector): whole.
    const medium = `${distinctWords(1_600, 'medium').join(' ')} a quoll`;
    const [big, small, mid] = await logs.insertMany({ tenantId: a }, [
      { level: 'info', source: 'svc', message: 'a bulky bandicoot', timestamp: '2026-02-01T10:00:00.000Z', context: { doc: words.join(' ') } },
      { level: 'info', source: 'svc', message: 'a numbat', timestamp: '2026-02-01T10:00:01.000Z' },
      { level: 'info', source: 'svc', message: medium, timestamp: '2026-02-01T10:00:02.000Z' },
    ]);
    const [other] = await logs.insertMany({ tenantId: b }, [{ level: 'info', source: 'svc', message: 'a dingo', timestamp: '2026-02-01T10:00:00.000Z' }]);

    expect(await new SystemLogSearchIndexer(t.db).drain()).toBeGreaterThanOrEqual(2);

    const search = async (tenantId: string, term: string) =>
      (await logs.list({ tenantId }, { limit: 50, offset: 0, sort: 'timestamp', order: 'asc', search: term })).items.map((l) => l.log_id);
    expect(await search(a, 'numbat')).toEqual([small.log_id]);
    expect(medium.length).toBeGreaterThan(16_384);
    expect(await search(a, '"a quoll"')).toEqual([mid.log_id]);
    expect(await search(a, distinctWords(1_600, 'medium')[0])).toEqual([mid.log_id]);
    expect(await search(b, 'dingo')).toEqual([other.log_id]);
    for (const term of ['bandicoot', words[0], words[20_000]]) expect(await search(a, term)).toEqual([big.log_id]);
    const [row] = await t.asOwner<{ rows: number; bytes: number }>(
      `SELECT count(*)::int AS rows, max(pg_column_size(search_vector)) AS bytes FROM system_logs_search WHERE log_id = $1`,
      [big.log_id],
    );
    expect(row.rows).toBe(1);
    expect(row.bytes).toBeLessThan(1_048_576);
  }, 120_000);
});
