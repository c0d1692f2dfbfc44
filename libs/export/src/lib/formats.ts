import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { type XlsxCell, xlsxStream } from './xlsx-writer';

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
 * array, JSON lines, RFC 4180 CSV with a BOM and a header, or XLSX (one sheet,
 * written by `xlsxStream`). CSV and XLSX flatten nested JSON into text cells.
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
  async function* cellRows(): AsyncGenerator<XlsxCell[]> {
    yield [...columns];
    // Strings are written as strings (never formulas), so no prefix is needed here.
    for await (const row of rows) yield columns.map((c) => xlsxCell(row[c]));
  }
  return xlsxStream(cellRows());
}

function xlsxCell(value: unknown): XlsxCell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return cellText(value);
}
