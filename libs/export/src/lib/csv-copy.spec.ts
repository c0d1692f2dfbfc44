import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopyCsvFramer } from './csv-copy';
import { encodeRows } from './formats';

/** A field as COPY ... WITH (FORMAT csv) writes it: NULL empty, quoted when it holds a quote, comma, CR or LF. */
const copyField = (v: string | null) => (v === null ? '' : /[",\r\n]/.test(v) || v === '' ? `"${v.replace(/"/g, '""')}"` : v);

const columns = ['a', 'ctx', 'b'];
const rows: Array<{ a: string | null; ctx: unknown; b: string | null }> = [
  { a: 'plain', ctx: { k: 'v, w', n: [1, 2] }, b: 'end' },
  { a: 'comma, "quote"\nnewline', ctx: null, b: null },
  { a: "'=guarded in SQL", ctx: [], b: 'é 😀 中文' },
  { a: 'x', ctx: '=formula string', b: 'cr\rlf\n' },
  { a: 'x', ctx: { '10': 1, '2': 2, b: 'c' }, b: '' },
  { a: 'x', ctx: 42, b: 'y' },
  { a: 'x', ctx: 'plain, with comma', b: 'y' },
];
/** A value as jsonb prints it: keys by length then bytes, `, ` and `: ` between items. */
function jsonbText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(jsonbText).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort((a, b) => Buffer.byteLength(a) - Buffer.byteLength(b) || Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `{${keys.map((k) => `${JSON.stringify(k)}: ${jsonbText((v as Record<string, unknown>)[k])}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}
/** The COPY text of rows whose JSON cells are given as jsonb text: behind the \x01 mark. */
const copyTextOf = (rs: Array<{ a: string | null; ctx: string | null; b: string | null }>) =>
  rs.map((r) => [copyField(r.a), copyField(r.ctx === null ? null : `\x01${r.ctx}`), copyField(r.b === '' ? null : r.b)].join(',') + '\n').join('');
const copyText = copyTextOf(rows.map((r) => ({ ...r, ctx: r.ctx === null ? null : jsonbText(r.ctx) })));

async function frame(
  chunks: Buffer[],
  options: { columns: string[]; jsonColumns: number[]; timestampColumns?: number[] } = { columns, jsonColumns: [1] },
): Promise<{ text: string; ends: Array<[number, boolean]> }> {
  const ends: Array<[number, boolean]> = [];
  const framer = new CopyCsvFramer({ ...options, onEnd: async (n, ok) => void ends.push([n, ok]) });
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), framer, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return { text: Buffer.concat(out).toString('utf8'), ends };
}

/** What encodeRows writes for the rows as node-pg gives them (jsonb parsed with JSON.parse). */
async function expected(
  rs: Array<{ ctx: unknown }> = rows.map((r) => ({ ...r, ctx: r.ctx === null ? null : JSON.parse(jsonbText(r.ctx)) })),
  cols: string[] = columns,
): Promise<string> {
  async function* gen() {
    yield* rs as unknown as Record<string, unknown>[];
  }
  const out: Buffer[] = [];
  for await (const c of encodeRows(gen(), 'csv', cols)) out.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(out).toString('utf8');
}

describe(CopyCsvFramer.name, () => {
  const input = Buffer.from(copyText);

  it('writes what encodeRows writes, and counts the records', async () => {
    const want = await expected();
    expect(await frame([input])).toEqual({ text: want, ends: [[rows.length, true]] });
  });

  it('gives the same bytes however the input is cut (every split point, and byte by byte)', async () => {
    const want = await expected();
    for (let cut = 0; cut <= input.length; cut++) {
      const got = await frame([input.subarray(0, cut), input.subarray(cut)]);
      if (got.text !== want) throw new Error(`differs when cut at ${cut}: ${JSON.stringify(got.text)}`);
    }
    const bytes = [...input].map((b) => Buffer.from([b]));
    expect((await frame(bytes)).text).toBe(want);
  });

  it('renders jsonb text as JSON.stringify(JSON.parse(text)) where the two differ, however the input is cut', async () => {
    // jsonb keeps numbers as written and orders keys by length; V8 moves integer-like keys
    // first and prints numbers in their shortest form.
    const texts = [
      '{"a": 1.50, "b": 2}', '{"a": -0}', '{"a": -0.0}', '{"a": 0.0000001}', '{"a": 0.000001}', '{"a": 0.0000015}',
      '{"a": 1234567890123456}', '{"a": 123456789012345}', '{"a": -123456789012345}', '{"a": 100000000000000000000000}',
      '{"a": 0.1000000000000000055511151231257827}', '{"a": 0.12345678901234}', '{"a": 1.2345678901234}', '{"a": 12.5, "b": -0.25}',
      '{"12": 1, "b": 2}', '{"b": {"007": 1, "x": "12"}}', '{"": 1}', '{"a": "12", "b": ["3"]}', '{"a\\"b": "c\\\\", "d": "\\""}',
      '{"a": "x, y: z", "b": ", : "}', '[1, [2, {"k": [true, false, null]}]]', '{"a": "\\u0001\\t"}', '[]', '{}', '[1]',
      '[-1, 0, 10]', '"str, with comma"', '"=cmd"', '5', '-5', 'true', 'null', '{"é": "😀", "ключ": [1, 2.5]}',
    ];
    const rs = texts.map((ctx, i) => ({ a: `r${i}`, ctx, b: 'end' }));
    const want = await expected(rs.map((r) => ({ ...r, ctx: JSON.parse(r.ctx) })));
    const input = Buffer.from(copyTextOf(rs));
    expect((await frame([input])).text).toBe(want);
    for (let cut = 0; cut <= input.length; cut++) {
      const got = await frame([input.subarray(0, cut), input.subarray(cut)]);
      if (got.text !== want) throw new Error(`differs when cut at ${cut}: ${JSON.stringify(got.text)}`);
    }
    expect((await frame([...input].map((b) => Buffer.from([b])))).text).toBe(want);
  });

  it('writes UTC timestamp text as toISOString writes it (milliseconds, cut), however the input is cut', async () => {
    const stamps = ['2026-01-20 10:00:00', '2026-01-20 10:00:00.5', '2026-01-20 10:00:00.05', '2026-01-20 10:00:00.123', '2026-01-20 23:59:59.999999', '0099-12-31 00:00:01.0001', null];
    const input = Buffer.from(stamps.map((t, i) => `r${i},${t ?? ''},${copyField(`\x01{"i": ${i}}`)},${t ?? ''}\n`).join(''));
    const want = await expected(
      stamps.map((t, i) => {
        // What node-pg gives for the timestamptz (postgres-date) and encodeRows prints.
        const iso = t === null ? null : new Date(Date.UTC(+t.slice(0, 4), +t.slice(5, 7) - 1, +t.slice(8, 10), +t.slice(11, 13), +t.slice(14, 16), +t.slice(17, 19), 1000 * parseFloat(t.slice(19) || '0')));
        if (iso && t) iso.setUTCFullYear(+t.slice(0, 4));
        return { a: `r${i}`, t: iso?.toISOString() ?? null, ctx: { i }, u: iso?.toISOString() ?? null };
      }),
      ['a', 't', 'ctx', 'u'],
    );
    expect(want).toContain('0099-12-31T00:00:01.000Z,');
    expect(want).toContain('2026-01-20T23:59:59.999Z\r\n');
    const framed = (chunks: Buffer[]) => frame(chunks, { columns: ['a', 't', 'ctx', 'u'], jsonColumns: [2], timestampColumns: [1, 3] });
    expect((await framed([input])).text).toBe(want);
    for (let cut = 0; cut <= input.length; cut++) {
      const got = await framed([input.subarray(0, cut), input.subarray(cut)]);
      if (got.text !== want) throw new Error(`differs when cut at ${cut}: ${JSON.stringify(got.text)}`);
    }
    for (const bad of ['infinity', '2026-01-20 10:00:00 BC', '12026-01-20 10:00:00', '01/20/2026 10:00:00.5', '2026-01-20T10:00:00']) {
      await expect(framed([Buffer.from(`x,${bad},,\n`)])).rejects.toThrow(/unexpected timestamp text/);
    }
  });

  it('writes only the BOM and header for no rows', async () => {
    expect(await frame([])).toEqual({ text: '\uFEFFa,ctx,b\r\n', ends: [[0, true]] });
  });

  it('fails on input that ends inside a record, and on an unmarked JSON cell', async () => {
    await expect(frame([Buffer.from('x,"\x01{}",y\nx,"\x01{""open')])).rejects.toThrow(/ended inside a record/);
    await expect(frame([Buffer.from('x,"\x01{}",y\nx,"open')])).rejects.toThrow(/ended inside a record|lacks its mark/);
    await expect(frame([Buffer.from('x,{},y\n')])).rejects.toThrow(/lacks its mark/);
  });
});
