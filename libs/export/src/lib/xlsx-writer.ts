import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { constants, crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';

/** A cell value of the sheet: text, a number, a boolean, or empty. */
export type XlsxCell = string | number | boolean | null;

/** Uncompressed sheet XML gathered before one write to deflate. */
const BATCH_BYTES = 1 << 16;
const ZIP64_LIMIT = 0xffffffff;

/**
 * Writes a one-sheet XLSX workbook (a zip of five small XML parts and the sheet)
 * as rows come, with the backpressure of the reader: the row loop waits while
 * deflate's input is full and deflate waits while the reader is, so memory stays
 * at a few 64 KiB buffers whatever the number of rows.
 *
 * Cells are written as exceljs 4's streaming writer writes them without shared
 * strings or styles (`t="str"` text, numbers, `t="b"` booleans, nothing for
 * empty), with its XML escaping (control characters other than tab, LF and CR
 * are dropped, as XML 1.0 cannot hold them), so exceljs and spreadsheets read
 * the same cells as before. The zip is written by hand (node:zlib deflate, CRC-32,
 * data descriptors; ZIP64 records when the sheet passes 4 GiB).
 *
 * `rows` are the cells of each row (the header included); a row loop error or
 * a reader gone destroys the stream / ends the loop.
 */
export function xlsxStream(rows: AsyncIterable<readonly XlsxCell[]>, sheetName = 'export'): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 16 });
  const gone = new AbortController();
  out.once('close', () => gone.abort());
  writeWorkbook(out, rows, sheetName, gone.signal).then(
    () => out.end(),
    (err) => out.destroy(err),
  );
  return out;
}

interface Entry {
  name: Buffer;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
}

async function writeWorkbook(out: PassThrough, rows: AsyncIterable<readonly XlsxCell[]>, sheetName: string, signal: AbortSignal): Promise<void> {
  const { time, date } = dosTime(new Date());
  const entries: Entry[] = [];
  let offset = 0;
  const write = async (chunk: Buffer) => {
    offset += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain', { signal });
  };

  // The small parts, deflated whole.
  for (const [name, xml] of staticParts(sheetName)) {
    const data = Buffer.from(xml);
    const deflated = deflateRawSync(data);
    const entry: Entry = { name: Buffer.from(name), crc: crc32(data), compressed: deflated.length, size: data.length, offset };
    entries.push(entry);
    await write(localHeader(entry, time, date, false));
    await write(deflated);
  }

  // The sheet, streamed through deflate; sizes and CRC follow it in a data descriptor.
  const sheet: Entry = { name: Buffer.from('xl/worksheets/sheet1.xml'), crc: 0, compressed: 0, size: 0, offset };
  entries.push(sheet);
  await write(localHeader(sheet, time, date, true));
  const deflate = createDeflateRaw({ level: constants.Z_DEFAULT_COMPRESSION });
  const deflated = (async () => {
    for await (const chunk of deflate as AsyncIterable<Buffer>) {
      sheet.compressed += chunk.length;
      await write(chunk);
    }
  })();
  // Awaited below; this keeps a failure between two awaits from counting as unhandled.
  deflated.catch(() => undefined);
  const feed = async (text: string) => {
    const data = Buffer.from(text);
    sheet.crc = crc32(data, sheet.crc);
    sheet.size += data.length;
    if (!deflate.write(data)) await Promise.race([once(deflate, 'drain', { signal }), deflated]);
  };
  try {
    let xml = SHEET_HEAD;
    let r = 0;
    for await (const cells of rows) {
      signal.throwIfAborted();
      r++;
      xml += rowXml(r, cells);
      if (xml.length >= BATCH_BYTES) {
        await feed(xml);
        xml = '';
      }
    }
    await feed(xml + SHEET_TAIL);
    deflate.end();
    await deflated;
  } catch (err) {
    deflate.destroy();
    await deflated.catch(() => undefined);
    throw err;
  }
  await write(dataDescriptor(sheet));

  const start = offset;
  for (const e of entries) await write(centralHeader(e, time, date, e === sheet));
  await write(endOfCentralDirectory(entries.length, start, offset - start));
}

const SHEET_HEAD =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
  '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetData>';
const SHEET_TAIL = '</sheetData></worksheet>';

function staticParts(sheetName: string): Array<[string, string]> {
  const head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
  return [
    [
      '[Content_Types].xml',
      head +
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' +
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' +
        '</Types>',
    ],
    [
      '_rels/.rels',
      head +
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>' +
        '</Relationships>',
    ],
    [
      'xl/workbook.xml',
      head +
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
        `<sheets><sheet name="${xmlText(sheetName)}" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    ],
    [
      'xl/_rels/workbook.xml.rels',
      head +
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>' +
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' +
        '</Relationships>',
    ],
    [
      // The minimal stylesheet (one font, fill, border and cell format): Excel asks for one.
      'xl/styles.xml',
      head +
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>' +
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>' +
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' +
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>' +
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>' +
        '</styleSheet>',
    ],
  ];
}

/** Column letters A, B, ..., Z, AA, ... */
const columnNames: string[] = [];
function columnName(i: number): string {
  let name = columnNames[i];
  if (name === undefined) {
    name = '';
    for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
    columnNames[i] = name;
  }
  return name;
}

/** One `<row>` as exceljs writes it (empty cells left out). */
export function rowXml(r: number, cells: readonly XlsxCell[]): string {
  let xml = `<row r="${r}">`;
  for (let i = 0; i < cells.length; i++) {
    const v = cells[i];
    if (v === null || v === undefined) continue;
    const ref = columnName(i) + r;
    if (typeof v === 'string') xml += `<c r="${ref}" t="str"><v>${xmlText(v)}</v></c>`;
    else if (typeof v === 'boolean') xml += `<c r="${ref}" t="b"><v>${v ? 1 : 0}</v></c>`;
    else if (Number.isFinite(v)) xml += `<c r="${ref}"><v>${v}</v></c>`;
    else xml += `<c r="${ref}" t="str"><v>${v}</v></c>`;
  }
  return xml + '</row>';
}

// eslint-disable-next-line no-control-regex
const XML_SPECIAL = /[<>&'"\x7F\x00-\x08\x0B-\x0C\x0E-\x1F]/;
// eslint-disable-next-line no-control-regex
const XML_SPECIAL_ALL = /[<>&'"\x7F\x00-\x08\x0B-\x0C\x0E-\x1F]/g;
const XML_ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' };

/** Text as exceljs's `xmlEncode` writes it: the five entities, control characters (but tab, LF, CR) and DEL dropped. */
export function xmlText(text: string): string {
  return XML_SPECIAL.test(text) ? text.replace(XML_SPECIAL_ALL, (c) => XML_ESCAPES[c] ?? '') : text;
}

function dosTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((Math.max(d.getFullYear(), 1980) - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

const FLAG_DATA_DESCRIPTOR = 0x0008;
const METHOD_DEFLATE = 8;

function localHeader(e: Entry, time: number, date: number, streamed: boolean): Buffer {
  const b = Buffer.alloc(30 + e.name.length);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
  b.writeUInt16LE(streamed ? FLAG_DATA_DESCRIPTOR : 0, 6);
  b.writeUInt16LE(METHOD_DEFLATE, 8);
  b.writeUInt16LE(time, 10);
  b.writeUInt16LE(date, 12);
  // A streamed entry's CRC and sizes are 0 here and follow the data (data descriptor).
  b.writeUInt32LE(streamed ? 0 : e.crc, 14);
  b.writeUInt32LE(streamed ? 0 : e.compressed, 18);
  b.writeUInt32LE(streamed ? 0 : e.size, 22);
  b.writeUInt16LE(e.name.length, 26);
  b.writeUInt16LE(0, 28);
  e.name.copy(b, 30);
  return b;
}

const isZip64 = (e: Entry) => e.size >= ZIP64_LIMIT || e.compressed >= ZIP64_LIMIT || e.offset >= ZIP64_LIMIT;

/** The data descriptor after a streamed entry (8-byte sizes past 4 GiB, as archiver writes them). */
function dataDescriptor(e: Entry): Buffer {
  const zip64 = isZip64(e);
  const b = Buffer.alloc(zip64 ? 24 : 16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(e.crc, 4);
  if (zip64) {
    b.writeBigUInt64LE(BigInt(e.compressed), 8);
    b.writeBigUInt64LE(BigInt(e.size), 16);
  } else {
    b.writeUInt32LE(e.compressed, 8);
    b.writeUInt32LE(e.size, 12);
  }
  return b;
}

function centralHeader(e: Entry, time: number, date: number, streamed: boolean): Buffer {
  const zip64 = isZip64(e);
  const extra = zip64 ? 28 : 0;
  const b = Buffer.alloc(46 + e.name.length + extra);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(zip64 ? 45 : 20, 4); // version made by
  b.writeUInt16LE(zip64 ? 45 : 20, 6); // version needed
  b.writeUInt16LE(streamed ? FLAG_DATA_DESCRIPTOR : 0, 8);
  b.writeUInt16LE(METHOD_DEFLATE, 10);
  b.writeUInt16LE(time, 12);
  b.writeUInt16LE(date, 14);
  b.writeUInt32LE(e.crc, 16);
  b.writeUInt32LE(zip64 ? ZIP64_LIMIT : e.compressed, 20);
  b.writeUInt32LE(zip64 ? ZIP64_LIMIT : e.size, 24);
  b.writeUInt16LE(e.name.length, 28);
  b.writeUInt16LE(extra, 30);
  // comment length, disk, internal and external attributes: 0
  b.writeUInt32LE(zip64 ? ZIP64_LIMIT : e.offset, 42);
  e.name.copy(b, 46);
  if (zip64) {
    const x = 46 + e.name.length;
    b.writeUInt16LE(0x0001, x);
    b.writeUInt16LE(24, x + 2);
    b.writeBigUInt64LE(BigInt(e.size), x + 4);
    b.writeBigUInt64LE(BigInt(e.compressed), x + 12);
    b.writeBigUInt64LE(BigInt(e.offset), x + 20);
  }
  return b;
}

function endOfCentralDirectory(count: number, start: number, size: number): Buffer {
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  const zip64 = start + size >= ZIP64_LIMIT;
  eocd.writeUInt32LE(zip64 ? ZIP64_LIMIT : size, 12);
  eocd.writeUInt32LE(zip64 ? ZIP64_LIMIT : start, 16);
  if (!zip64) return eocd;
  // ZIP64 end of central directory record and locator, then the classic record.
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0);
  rec.writeBigUInt64LE(44n, 4);
  rec.writeUInt16LE(45, 12);
  rec.writeUInt16LE(45, 14);
  rec.writeBigUInt64LE(BigInt(count), 24);
  rec.writeBigUInt64LE(BigInt(count), 32);
  rec.writeBigUInt64LE(BigInt(size), 40);
  rec.writeBigUInt64LE(BigInt(start), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(BigInt(start + size), 8);
  loc.writeUInt32LE(1, 16);
  return Buffer.concat([rec, loc, eocd]);
}
