import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { encodeRows, neutraliseFormula } from './formats';

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
});

describe('XLSX backpressure', () => {
  it('keeps the uncompressed sheet from piling up in memory while deflate catches up', async () => {
    const n = 100_000;
    async function* many(): AsyncGenerator<Record<string, unknown>> {
      for (let i = 0; i < n; i++) yield { id: i, text: `row ${i} of an export with some ordinary words in it ${'x'.repeat(120)}`, data: { i, k: 'v' }, ok: true };
    }
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)), 5);
    let bytes = 0;
    for await (const c of encodeRows(many(), 'xlsx', columns)) {
      bytes += (c as Buffer).length;
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    }
    clearInterval(sample);
    expect(bytes).toBeGreaterThan(100_000);
    // Unbounded, 40+ MB of sheet XML sits in exceljs/archiver buffers at the peak; bounded, a few
    // 64 KiB blocks plus whatever a late GC leaves on a loaded machine (13 MB seen): 20 MB tells them apart.
    expect(peak).toBeLessThan(20 * 1024 * 1024);
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
