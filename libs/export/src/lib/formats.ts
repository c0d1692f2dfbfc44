import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import ExcelJS from 'exceljs';

export const EXPORT_FORMATS = ['json', 'jsonl', 'csv', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

type Row = Record<string, unknown>;

/**
 * Encodes rows as they come (backpressure respected, memory flat): one JSON
 * array, JSON lines, RFC 4180 CSV with a BOM and a header, or XLSX. CSV and XLSX
 * flatten nested JSON into text cells.
 */
export function encodeRows(rows: AsyncIterable<Row>, format: ExportFormat, columns: readonly string[]): Readable {
  switch (format) {
    case 'json':
      return Readable.from(jsonArray(rows));
    case 'jsonl':
      return Readable.from(jsonLines(rows));
    case 'csv':
      return Readable.from(cells(rows, columns, neutraliseFormula)).pipe(
        stringify({
          bom: true,
          header: true,
          columns: [...columns],
          record_delimiter: 'windows',
          // RFC 4180: a field holding a CR or LF is quoted (with a custom record
          // delimiter csv-stringify would otherwise quote only the whole "\r\n").
          quote_record_delimiter: true,
        }),
      );
    case 'xlsx':
      return xlsx(rows, columns);
  }
}

async function* jsonArray(rows: AsyncIterable<Row>): AsyncGenerator<string> {
  let first = true;
  yield '[';
  for await (const row of rows) {
    yield (first ? '\n' : ',\n') + JSON.stringify(row);
    first = false;
  }
  yield first ? ']\n' : '\n]\n';
}

async function* jsonLines(rows: AsyncIterable<Row>): AsyncGenerator<string> {
  for await (const row of rows) yield JSON.stringify(row) + '\n';
}

/** A cell's text: JSON for objects and arrays, '' for null. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * OWASP CSV injection: a cell starting with = + - @ tab or CR is prefixed with
 * a quote so spreadsheets show it as text instead of running it.
 */
export function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

async function* cells(rows: AsyncIterable<Row>, columns: readonly string[], guard: (s: string) => string): AsyncGenerator<string[]> {
  for await (const row of rows) yield columns.map((c) => guard(cellText(row[c])));
}

function xlsx(rows: AsyncIterable<Row>, columns: readonly string[]): Readable {
  const out = new PassThrough();
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
  const sheet = workbook.addWorksheet('export');
  // A reader gone ends every wait below (and so the cursor), instead of leaving them pending.
  const gone = new AbortController();
  out.once('close', () => gone.abort());
  (async () => {
    sheet.addRow([...columns]).commit();
    for await (const row of rows) {
      // Strings are written as strings (never formulas), so no prefix is needed here.
      sheet.addRow(columns.map((c) => xlsxCell(row[c]))).commit();
      // Wait for a slow reader instead of buffering the workbook in memory.
      if (out.writableNeedDrain) await once(out, 'drain', { signal: gone.signal });
      await sheetDrained(sheet, gone.signal);
    }
    sheet.commit();
    await workbook.commit();
  })().catch((err) => out.destroy(err));
  return out;
}

/**
 * exceljs writes a streamed sheet's XML into a buffer (its StreamBuf) that it
 * pipes into the zip entry (archiver's PassThrough in front of deflate) without
 * heeding `write()`'s answer, so a producer faster than deflate piles the
 * uncompressed sheet up in memory (~0.7 KB a row: +460 MB for 500k rows). This
 * waits while that PassThrough is above its high-water mark, or while the
 * sheet's buffer holds more than a few of its 64 KiB blocks before it is piped:
 * memory stays bounded, the pace is deflate's. Relies on exceljs 4 internals
 * (`_stream`, `pipes`, `buffers`); the backpressure test in formats.spec.ts
 * fails if they change.
 */
async function sheetDrained(sheet: unknown, signal: AbortSignal): Promise<void> {
  const buf = (sheet as { _stream?: { pipes?: NodeJS.WritableStream[]; buffers?: unknown[] } })._stream;
  if (!buf) return;
  for (;;) {
    // archiver wraps the sheet in a readable-stream (v2) PassThrough: no `writableNeedDrain`, but its state's `needDrain`.
    const dest = buf.pipes?.[0] as (NodeJS.WritableStream & { writableNeedDrain?: boolean; _writableState?: { needDrain?: boolean } }) | undefined;
    if (dest && (dest.writableNeedDrain ?? dest._writableState?.needDrain)) await once(dest as NodeJS.EventEmitter, 'drain', { signal });
    else if (!dest && (buf.buffers?.length ?? 0) > 4) {
      signal.throwIfAborted();
      await new Promise((r) => setTimeout(r, 1));
    } else return;
  }
}

/** Excel's limit on the text of one cell (UTF-16 code units); a longer one makes Excel "repair" the file. */
export const XLSX_CELL_MAX_CHARS = 32_767;

function xlsxCell(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return fitXlsxCell(cellText(value));
}

/**
 * A text cut to what an Excel cell holds, saying so in the cell: a step's
 * content or a log's context can be far longer. The JSON, JSONL and CSV
 * exports keep the whole text.
 */
export function fitXlsxCell(text: string): string {
  if (text.length <= XLSX_CELL_MAX_CHARS) return text;
  const note = `… [cut at Excel's ${XLSX_CELL_MAX_CHARS}-character cell limit; ${text.length} characters in all, whole in the JSON, JSONL and CSV exports]`;
  let end = XLSX_CELL_MAX_CHARS - note.length;
  // Not between the two halves of a surrogate pair.
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end) + note;
}
