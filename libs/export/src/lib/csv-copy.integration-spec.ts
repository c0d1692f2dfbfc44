import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import type { NewSystemLog, SystemLogFilters } from '@aos/logs-domain';
import { copySystemLogsCsv, type Scope, SYSTEM_LOG_CSV_COLUMNS, SYSTEM_LOG_CSV_JSON_COLUMNS, SYSTEM_LOG_CSV_TIMESTAMP_COLUMNS, SystemLogStore, TenantStore } from '@aos/traces-store';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '@aos/traces-store/testing';
import { CopyCsvFramer } from './csv-copy';
import { cellText, encodeRows, neutraliseFormula } from './formats';
import { EXPORT_COLUMNS } from './log-export.service';

const COLUMNS = EXPORT_COLUMNS.system;

/** Text that CSV, JSON and the formula guard must all get right. */
const MESSAGES = [
  'plain',
  'comma, "quoted"\nand a newline',
  'cr\rand crlf\r\nend',
  'a bare\nline feed',
  'a bare\rcarriage return',
  'é 😀 中文 — ünïcödé',
  '=HYPERLINK("http://evil")',
  '+1',
  '-2+3',
  '@SUM(A1)',
  '\tstarts with a tab',
  '\rstarts with a CR',
  'a=b is not a formula',
  'back\\slash and "quotes" ""doubled""',
  ' leading and trailing spaces ',
  '\\.',
];
const CONTEXTS: unknown[] = [
  { a: [1, 2.5, -3], b: { c: null, d: true }, e: 'x' },
  { 'key, with': 'value: with, ", " and ": " inside', nested: ['a, b', 'c: d', { q: '"', bs: '\\', ctl: '\u0001\u001f\b\f\n\r\t' }] },
  { unicode: 'é 😀 中文', 'ключ': 'значение', empty: {}, list: [] },
  [1, 'two', { three: 3 }],
  '=cmd|" /C calc"!A0',
  'plain string context',
  -5,
  0.125,
  true,
  null,
  {},
  [],
  { big: 123456789012, neg: -0.5, small: 0.001, long: 'x'.repeat(300) },
  { '"quoted key"': '\\"', 'a\\': 'b' },
  // Where jsonb's text and JavaScript's differ: key order of integer-like keys, number forms.
  { b: 1, '10': 2, '2': 3, huge: 1e21, tiny: 1e-7, exact: 0.1, big: 12345678901234567000 },
  '{"looks": "like json"}',
  '\u0001starts with the mark',
];

async function bytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('system-log CSV written by PostgreSQL (COPY) on %s', (kind) => {
  let t: TestDatabase;
  let store: SystemLogStore;
  let tenantA: Scope & { tenantId: string };
  let tenantB: Scope & { tenantId: string };
  const logsA: NewSystemLog[] = [];

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    store = new SystemLogStore(t.db);
    const tenants = new TenantStore(t.db);
    tenantA = { tenantId: (await tenants.createTenant(`a-${randomUUID()}`, 'none')).tenant_id };
    tenantB = { tenantId: (await tenants.createTenant(`b-${randomUUID()}`, 'none')).tenant_id };
    const levels = ['debug', 'info', 'warning', 'error', 'critical'] as const;
    for (let i = 0; i < Math.max(MESSAGES.length, CONTEXTS.length); i++) {
      logsA.push({
        level: levels[i % levels.length],
        source: i % 3 === 0 ? '=source' : i % 3 === 1 ? 'billing, worker' : 'api',
        message: MESSAGES[i % MESSAGES.length],
        // Same timestamp for a few rows: the order then falls to log_id, as in the JS path.
        timestamp: new Date(Date.UTC(2026, 0, 20, 10, Math.floor(i / 3), i % 2, i * 7)).toISOString(),
        context: CONTEXTS[i % CONTEXTS.length] as NewSystemLog['context'],
        ...(i % 4 === 0 ? { trace_id: '@trace-' + i } : i % 4 === 1 ? { trace_id: `trace-${i}` } : {}),
        ...(i % 5 === 0 ? { request_id: '-req-' + i } : i % 5 === 2 ? { request_id: `req ${i}, "x"` } : {}),
      });
    }
    await store.insertMany(tenantA, logsA);
    await store.insertMany(tenantB, [{ level: 'info', source: 'api', message: 'tenant B only', timestamp: '2026-01-20T10:00:00.000Z', context: { b: 1 } }]);
  }, 60_000);
  afterAll(() => t?.close());

  /** The CSV through COPY and the framer, with the framer's count and completion. */
  async function viaCopy(scope: Scope, filters: SystemLogFilters = {}) {
    const ends: Array<[number, boolean]> = [];
    const framer = new CopyCsvFramer({ columns: COLUMNS, jsonColumns: SYSTEM_LOG_CSV_JSON_COLUMNS, timestampColumns: SYSTEM_LOG_CSV_TIMESTAMP_COLUMNS, onEnd: async (n, ok) => void ends.push([n, ok]) });
    const done = pipeline(copySystemLogsCsv(t.db, scope, filters), framer);
    const buf = await bytes(framer);
    await done;
    return { buf, ends };
  }
  /** The CSV of the JavaScript path: the store's cursor through encodeRows. */
  const viaJs = async (scope: Scope, filters: SystemLogFilters = {}) =>
    bytes(encodeRows(store.stream(scope, filters) as unknown as AsyncIterable<Record<string, unknown>>, 'csv', COLUMNS));

  const FILTERS: SystemLogFilters[] = [
    {},
    { level: 'error' },
    { source: 'billing, worker' },
    { source: "x'); DROP TABLE system_logs; --" },
    { trace_id: '@trace-0' },
    { request_id: 'req 2, "x"' },
    { start_time: '2026-01-20T10:01:00Z', end_time: '2026-01-20T10:03:00+00:00' },
    { search: 'quoted' },
    { search: '@trace-4' },
    { level: 'info', start_time: '2026-01-20T10:00:00Z' },
  ];

  it('has the columns of the export, in order', () => {
    expect([...SYSTEM_LOG_CSV_COLUMNS]).toEqual([...COLUMNS]);
  });

  it('writes byte for byte the CSV of the JavaScript encoder, for every filter', async () => {
    for (const filters of FILTERS) {
      const [{ buf, ends }, js] = await Promise.all([viaCopy(tenantA, filters), viaJs(tenantA, filters)]);
      expect({ filters, csv: buf.toString('utf8') }).toEqual({ filters, csv: js.toString('utf8') });
      const rows = parse(js, { bom: true, columns: true }) as unknown[];
      expect(ends).toEqual([[rows.length, true]]);
    }
  });

  it('parses back with a CSV reader to the stored rows, formulas neutralised', async () => {
    const { buf } = await viaCopy(tenantA);
    expect(buf.subarray(0, 3).toString('hex')).toBe('efbbbf');
    expect(buf.toString('utf8')).toMatch(/^\uFEFFlog_id,tenant_id,level,source,message,timestamp,context,trace_id,request_id,created_at\r\n/);
    const parsed = parse(buf, { bom: true, columns: true }) as Record<string, string>[];
    expect(parsed).toHaveLength(logsA.length);
    const expected = logsA.map((l) => ({
      tenant_id: tenantA.tenantId,
      level: l.level,
      source: neutraliseFormula(l.source),
      message: neutraliseFormula(l.message),
      timestamp: l.timestamp,
      context: l.context,
      trace_id: neutraliseFormula(l.trace_id ?? ''),
      request_id: neutraliseFormula(l.request_id ?? ''),
    }));
    const byTime = (a: { timestamp?: string; message?: string }, b: { timestamp?: string; message?: string }) =>
      String(a.timestamp).localeCompare(String(b.timestamp)) || String(a.message).localeCompare(String(b.message));
    // Objects come back in jsonb's key order (as from the JavaScript path): compared parsed.
    const context = (text: string, original: unknown) =>
      original !== null && typeof original === 'object' ? JSON.parse(text) : text === neutraliseFormula(cellText(original)) ? original : text;
    const got = parsed.map(({ log_id: _id, created_at: _c, ...rest }) => rest).sort(byTime);
    const want = expected.sort(byTime);
    expect(got.map((r, i) => ({ ...r, context: context(r['context'], want[i].context) }))).toEqual(want);
    expect(parsed.every((r) => /^[0-9a-f-]{36}$/.test(r['log_id']) && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(r['created_at']))).toBe(true);
    // The spots that must hold whatever else changes.
    expect(parsed.map((r) => r['message'])).toContain(`'=HYPERLINK("http://evil")`);
    expect(parsed.map((r) => r['message'])).toContain('comma, "quoted"\nand a newline');
    expect(parsed.map((r) => r['context'])).toContain('{"a":[1,2.5,-3],"b":{"c":null,"d":true},"e":"x"}');
    expect(parsed.map((r) => r['context'])).toContain(`'=cmd|" /C calc"!A0`);
    expect(parsed.map((r) => r['context'])).toContain(`'-5`);
  });

  it("exports only the scope's tenant (row-level security and the tenant predicate)", async () => {
    const b = parse((await viaCopy(tenantB)).buf, { bom: true, columns: true }) as Record<string, string>[];
    expect(b.map((r) => [r['tenant_id'], r['message']])).toEqual([[tenantB.tenantId, 'tenant B only']]);
    const nobody = await viaCopy({ tenantId: randomUUID() });
    expect(nobody.buf.toString('utf8')).toBe(`\uFEFF${COLUMNS.join(',')}\r\n`);
    expect(nobody.ends).toEqual([[0, true]]);
  });

  it('applies every filter (the same rows as the list)', async () => {
    for (const filters of FILTERS) {
      const parsed = parse((await viaCopy(tenantA, filters)).buf, { bom: true, columns: true }) as Record<string, string>[];
      const listed = await store.list(tenantA, { ...filters, limit: 100, offset: 0, sort: 'timestamp', order: 'asc' });
      expect({ filters, ids: parsed.map((r) => r['log_id']).sort() }).toEqual({ filters, ids: listed.items.map((l) => l.log_id).sort() });
    }
    expect((parse((await viaCopy(tenantA, { level: 'critical' })).buf, { bom: true, columns: true }) as unknown[]).length).toBeGreaterThan(0);
  });

  it('refuses an invalid filter before touching the database', () => {
    expect(() => copySystemLogsCsv(t.db, tenantA, { level: 'loud' as never })).toThrow(/level/);
    expect(() => copySystemLogsCsv(t.db, tenantA, { start_time: 'yesterday' })).toThrow(/start_time/);
  });

  it('reports an early stop as incomplete, ends the COPY and leaves the pool usable', async () => {
    // Enough rows (~10 MB of CSV) that the COPY is still running when the reader goes.
    const big = { tenantId: (await new TenantStore(t.db).createTenant(`big-${randomUUID()}`, 'none')).tenant_id };
    await t.db.transaction(big, (sql) =>
      sql.query(
        `INSERT INTO system_logs (log_id, tenant_id, level, source, message, "timestamp", context)
         SELECT gen_random_uuid(), $1::uuid, 'info', 'bulk', repeat('filler, "text" ', 12) || i, timestamptz '2026-01-01' + i * interval '1 ms', jsonb_build_object('i', i)
         FROM generate_series(1, 40000) AS i`,
        [big.tenantId],
      ),
    );
    const ends: Array<[number, boolean]> = [];
    const framer = new CopyCsvFramer({ columns: COLUMNS, jsonColumns: SYSTEM_LOG_CSV_JSON_COLUMNS, timestampColumns: SYSTEM_LOG_CSV_TIMESTAMP_COLUMNS, onEnd: async (n, ok) => void ends.push([n, ok]) });
    let written = 0;
    const reader = new Writable({
      highWaterMark: 1,
      write: (c: Buffer, _e, cb) => {
        written += c.length;
        cb(written > 200_000 ? new Error('reader gone') : null);
      },
    });
    await expect(pipeline(copySystemLogsCsv(t.db, big, {}), framer, reader)).rejects.toThrow('reader gone');
    await new Promise((r) => setTimeout(r, 100));
    expect(ends).toHaveLength(1);
    expect(ends[0][1]).toBe(false);
    expect(ends[0][0]).toBeGreaterThan(0);
    expect(ends[0][0]).toBeLessThan(40_000);
    // The connection that carried the COPY was dropped, not handed back mid-COPY:
    // the next export and an ordinary query work.
    expect((await viaCopy(tenantB)).ends).toEqual([[1, true]]);
    expect((await store.list(tenantA, { limit: 1, offset: 0, sort: 'timestamp', order: 'asc' })).items).toHaveLength(1);
    const all = await viaCopy(big);
    expect(all.ends).toEqual([[40_000, true]]);
  }, 60_000);
});
