import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { encodeRows, fitXlsxCell, neutraliseFormula, XLSX_CELL_MAX_CHARS } from './formats';

async function* rowsOf<T>(rows: T[]): AsyncGenerator<T> {
  for (const r of rows) yield r;
}
async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

const rows = [
  { id: 1, text: 'plain', data: { a: [1, 2] }, ok: true },
  { id: 2, text: 'comma, "quote"\nnewline', data: null, ok: false },
  { id: 3, text: 'é 😀 中文', data: [{ b: 'x' }], ok: true },
  { id: 4, text: '=HYPERLINK("http://evil")', data: '+1', ok: true },
];
const columns = ['id', 'text', 'data', 'ok'];

describe(encodeRows.name, () => {
  it('writes one JSON array', async () => {
    expect(JSON.parse((await collect(encodeRows(rowsOf(rows), 'json', columns))).toString())).toEqual(rows);
    expect(JSON.parse((await collect(encodeRows(rowsOf([]), 'json', columns))).toString())).toEqual([]);
  });

  it('writes one object per line', async () => {
    const lines = (await collect(encodeRows(rowsOf(rows), 'jsonl', columns))).toString().trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(rows);
  });

  it('writes RFC 4180 CSV with a BOM and header that a CSV reader parses back', async () => {
    const buf = await collect(encodeRows(rowsOf(rows), 'csv', columns));
    expect(buf.subarray(0, 3).toString('hex')).toBe('efbbbf');
    const parsed = parse(buf, { bom: true, columns: true }) as Record<string, string>[];
    expect(parsed.map((r) => r['text'])).toEqual(['plain', 'comma, "quote"\nnewline', 'é 😀 中文', `'=HYPERLINK("http://evil")`]);
    expect(parsed[0]['data']).toBe('{"a":[1,2]}');
    expect(parsed[1]['data']).toBe('');
    expect(parsed[3]['data']).toBe("'+1");
    expect(parsed[0]['ok']).toBe('true');
  });

  it('quotes a field holding a bare LF or CR (RFC 4180), not only one holding CRLF', async () => {
    const text = (await collect(encodeRows(rowsOf([{ a: 'one\ntwo', b: 'three\rfour' }]), 'csv', ['a', 'b']))).toString();
    expect(text).toBe('\uFEFFa,b\r\n"one\ntwo","three\rfour"\r\n');
  });

  it('writes XLSX that exceljs reads back cell for cell', async () => {
    const buf = await collect(encodeRows(rowsOf(rows), 'xlsx', columns));
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
    const sheet = wb.worksheets[0];
    const values = sheet.getSheetValues().slice(1).map((r) => (r as unknown[]).slice(1));
    expect(values[0]).toEqual(columns);
    expect(values[2]).toEqual([2, 'comma, "quote"\nnewline', undefined, false]);
    expect(values[4][1]).toBe('=HYPERLINK("http://evil")');
    expect(values[1][2]).toBe('{"a":[1,2]}');
  });

  it("cuts a text longer than an Excel cell holds, saying so in the cell, and only in XLSX", async () => {
    const long = { text: 'x'.repeat(XLSX_CELL_MAX_CHARS), longer: 'y'.repeat(40_000), context: { doc: '😀'.repeat(20_000) } };
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await collect(encodeRows(rowsOf([long]), 'xlsx', ['text', 'longer', 'context']))) as unknown as ArrayBuffer);
    const [text, longer, context] = (wb.worksheets[0].getRow(2).values as unknown[]).slice(1) as string[];
    expect(text).toBe(long.text);
    expect(longer.length).toBeLessThanOrEqual(XLSX_CELL_MAX_CHARS);
    expect(longer).toMatch(/^y+… \[cut at Excel's 32767-character cell limit; 40000 characters in all, whole in the JSON, JSONL and CSV exports\]$/);
    expect(context.length).toBeLessThanOrEqual(XLSX_CELL_MAX_CHARS);
    expect(context.startsWith('{"doc":"😀')).toBe(true);
    // No lone surrogate where the text was cut (an odd cut would split an emoji).
    expect(context).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    for (const shift of ['', 'a']) {
      const cut = fitXlsxCell(shift + '😀'.repeat(20_000));
      expect(cut.length).toBeLessThanOrEqual(XLSX_CELL_MAX_CHARS);
      expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    }
    const csv: Array<Record<string, string>> = parse(await collect(encodeRows(rowsOf([long]), 'csv', ['longer'])), { bom: true, columns: true });
    expect(csv[0].longer).toBe(long.longer);
  });
});

describe('XLSX backpressure', () => {
  // Measured by progress, not by process memory: a heap sample counts garbage a busy machine has not
  // collected yet (24 MB seen in CI for a bounded pipeline), so it cannot tell bounded from unbounded.
  const n = 60_000;
  const pulled = { rows: 0 };
  async function* many(): AsyncGenerator<Record<string, unknown>> {
    for (let i = 0; i < n; i++) {
      pulled.rows = i + 1;
      yield { id: i, text: `row ${i} of an export with some ordinary words in it ${'x'.repeat(120)}`, data: { i, k: 'v' }, ok: true };
    }
  }
  beforeEach(() => (pulled.rows = 0));

  it('keeps the uncompressed sheet from running ahead of deflate (a fast reader)', async () => {
    // Bounded, the rows still in flight when the last one is pulled are a few 64 KiB blocks, so
    // nearly all of the archive has come out; unbounded (exceljs ignores write()'s answer), about
    // half of the sheet is still uncompressed in memory at that moment.
    let bytes = 0;
    let bytesWhenAllPulled = -1;
    for await (const c of encodeRows(many(), 'xlsx', columns)) {
      bytes += (c as Buffer).length;
      if (pulled.rows === n && bytesWhenAllPulled < 0) bytesWhenAllPulled = bytes;
    }
    expect(pulled.rows).toBe(n);
    expect(bytes).toBeGreaterThan(100_000);
    expect(bytesWhenAllPulled / bytes).toBeGreaterThan(0.9);
  }, 60_000);

  it('stops pulling rows while the reader does not read', async () => {
    const out = encodeRows(many(), 'xlsx', columns);
    const reader = out[Symbol.asyncIterator]();
    await reader.next();
    // Wait until the producer stands still (it must, bounded), then check where it stopped.
    let last = -1;
    for (let i = 0; i < 200 && pulled.rows !== last; i++) {
      last = pulled.rows;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(pulled.rows).toBe(last);
    expect(pulled.rows).toBeLessThan(n / 4);
    let rest = 0;
    for (let c = await reader.next(); !c.done; c = await reader.next()) rest += (c.value as Buffer).length;
    expect(rest).toBeGreaterThan(0);
    expect(pulled.rows).toBe(n);
  }, 60_000);
});

describe(neutraliseFormula.name, () => {
  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])('prefixes %j', (v) => {
    expect(neutraliseFormula(v)).toBe(`'${v}`);
  });
  it('leaves ordinary text alone', () => {
    expect(neutraliseFormula('a=b')).toBe('a=b');
  });
});
