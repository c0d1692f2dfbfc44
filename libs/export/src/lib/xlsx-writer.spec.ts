import { PassThrough } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { type XlsxCell, xlsxStream } from './xlsx-writer';

async function* rowsOf<T>(rows: T[]): AsyncGenerator<T> {
  for (const r of rows) yield r;
}
async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
async function readBack(buf: Buffer): Promise<unknown[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  return wb.worksheets[0].getSheetValues().slice(1).map((r) => (r as unknown[]).slice(1));
}

/** Every entry of a zip, read through its central directory, inflated and CRC-checked. */
function unzip(buf: Buffer): Map<string, Buffer> {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(eocd).toBe(buf.length - 22);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  expect(at + buf.readUInt32LE(eocd + 12)).toBe(eocd);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(buf.readUInt32LE(at)).toBe(0x02014b50);
    const [crc, compressed, size] = [buf.readUInt32LE(at + 16), buf.readUInt32LE(at + 20), buf.readUInt32LE(at + 24)];
    const nameLen = buf.readUInt16LE(at + 28);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    const local = buf.readUInt32LE(at + 42);
    expect(buf.readUInt32LE(local)).toBe(0x04034b50);
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = inflateRawSync(buf.subarray(dataAt, dataAt + compressed));
    expect({ name, size: data.length, crc: crc32(data) }).toEqual({ name, size, crc });
    files.set(name, data);
    at += 46 + nameLen + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  return files;
}

/** Cells that XML, the escaping and the reader must get right. */
const TRICKY: XlsxCell[][] = [
  ['text', 'number', 'bool', 'empty', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'aa', 'ab'],
  ['<tag> & "quotes" \'apos\'', 42, true, null, 'x', 'y', 'z', null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, 'AA', 'AB'],
  ['line\nfeed', -1.5, false, null, 'tab\there', ' leading and trailing ', 'cr\rhere', 'crlf\r\nhere'],
  ['ctl \u0001\u0002\u000b\u000c\u001f\u007f dropped', 0, null, null, 'é 😀 中文 — ünïcödé', '=HYPERLINK("http://evil")', ']]>', '&amp; already'],
  ['{"a":[1,2],"b":"x, y"}', 1e21, null, null, '', 'x'.repeat(5000), '0123', '1e5'],
];

describe(xlsxStream.name, () => {
  it('writes a valid zip whose every part inflates to its CRC and size', async () => {
    const files = unzip(await collect(xlsxStream(rowsOf(TRICKY))));
    expect([...files.keys()]).toEqual([
      '[Content_Types].xml',
      '_rels/.rels',
      'xl/workbook.xml',
      'xl/_rels/workbook.xml.rels',
      'xl/styles.xml',
      'xl/worksheets/sheet1.xml',
    ]);
    expect(files.get('xl/worksheets/sheet1.xml')?.toString()).toContain('<row r="2"><c r="A2" t="str"><v>&lt;tag&gt; &amp; &quot;quotes&quot; &apos;apos&apos;</v></c><c r="B2"><v>42</v></c>');
  });

  it('reads back in exceljs as the cells exceljs 4 writes itself read back (no shared strings, no styles)', async () => {
    const ours = await readBack(await collect(xlsxStream(rowsOf(TRICKY))));
    const out = new PassThrough();
    const theirs = (async () => readBack(await collect(out)))();
    const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
    const sheet = writer.addWorksheet('export');
    for (const r of TRICKY) sheet.addRow(r).commit();
    sheet.commit();
    await writer.commit();
    expect(ours).toEqual(await theirs);
    expect(ours[1][0]).toBe('<tag> & "quotes" \'apos\'');
    expect(ours[2]).toEqual(expect.arrayContaining(['line\nfeed', -1.5, false, ' leading and trailing ']));
    expect(ours[1][27]).toBe('AB');
  });

  it('writes a header-only sheet and an empty one', async () => {
    expect(await readBack(await collect(xlsxStream(rowsOf([['a', 'b']]))))).toEqual([['a', 'b']]);
    expect(unzip(await collect(xlsxStream(rowsOf([])))).get('xl/worksheets/sheet1.xml')?.toString()).toContain('<sheetData></sheetData>');
  });

  it('stops reading rows when the reader goes, and fails the stream when the rows fail', async () => {
    let produced = 0;
    let closed = false;
    async function* endless(): AsyncGenerator<XlsxCell[]> {
      try {
        for (;;) {
          produced++;
          yield [`row ${produced} ${Math.random()}`.repeat(20), produced];
        }
      } finally {
        closed = true;
      }
    }
    const stream = xlsxStream(endless());
    let bytes = 0;
    for await (const c of stream) {
      bytes += (c as Buffer).length;
      if (bytes > 200_000) break; // destroys the stream
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(true);
    const atClose = produced;
    await new Promise((r) => setTimeout(r, 50));
    expect(produced).toBe(atClose);

    async function* failing(): AsyncGenerator<XlsxCell[]> {
      yield ['a'];
      throw new Error('cursor failed');
    }
    await expect(collect(xlsxStream(failing()))).rejects.toThrow('cursor failed');
  });
});
