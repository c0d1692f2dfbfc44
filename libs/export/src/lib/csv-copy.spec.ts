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
/** The COPY text of the rows: JSON cells as jsonb would print them behind the \x01 mark. */
const copyText = rows
  .map((r) => [copyField(r.a), copyField(r.ctx === null ? null : `\x01${JSON.stringify(r.ctx, null, 1).replace(/\n\s*/g, ' ')}`), copyField(r.b === '' ? null : r.b)].join(',') + '\n')
  .join('');

async function frame(chunks: Buffer[]): Promise<{ text: string; ends: Array<[number, boolean]> }> {
  const ends: Array<[number, boolean]> = [];
  const framer = new CopyCsvFramer({ columns, jsonColumns: [1], onEnd: async (n, ok) => void ends.push([n, ok]) });
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), framer, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return { text: Buffer.concat(out).toString('utf8'), ends };
}

async function expected(): Promise<string> {
  async function* gen() {
    yield* rows as unknown as Record<string, unknown>[];
  }
  const out: Buffer[] = [];
  for await (const c of encodeRows(gen(), 'csv', columns)) out.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
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

  it('writes only the BOM and header for no rows', async () => {
    expect(await frame([])).toEqual({ text: '\uFEFFa,ctx,b\r\n', ends: [[0, true]] });
  });

  it('fails on input that ends inside a record, and on an unmarked JSON cell', async () => {
    await expect(frame([Buffer.from('x,"\x01{}",y\nx,"open')])).rejects.toThrow(/ended inside a record/);
    await expect(frame([Buffer.from('x,{},y\n')])).rejects.toThrow(/lacks its mark/);
  });
});
