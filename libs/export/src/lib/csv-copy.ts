import { Transform, type TransformCallback } from 'node:stream';
import { cellText, neutraliseFormula } from './formats';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n');
/** Marks a JSON cell in the COPY output (jsonb text never holds a raw control character). */
export const JSON_CELL_MARK = 0x01;

export interface CopyCsvOptions {
  /** The CSV header. */
  columns: readonly string[];
  /**
   * Indexes of the columns whose non-empty cells are `\x01` + jsonb text (e.g.
   * `E'\x01' || context::text`): the framer writes them as `encodeRows` does, through
   * `cellText(JSON.parse(text))` and the formula guard, so they come out exactly as
   * on the JavaScript path (node-pg parses jsonb with JSON.parse too).
   */
  jsonColumns?: readonly number[];
  /**
   * Runs once: awaited before the stream ends when every record went through
   * (so the export is audited before the reader sees the end), or when the
   * stream is destroyed early (reader gone, database error).
   */
  onEnd: (rows: number, complete: boolean) => Promise<void>;
}

/**
 * Frames the CSV that PostgreSQL's `COPY ... TO STDOUT WITH (FORMAT csv)` writes
 * as the export's CSV, byte for byte what `encodeRows(..., 'csv', ...)` writes:
 * a UTF-8 BOM and the header first, `\r\n` after every record (COPY ends records
 * with `\n`; a `\n` inside a quoted field stays), JSON cells rendered in
 * JavaScript (see `jsonColumns`). Counts the records.
 *
 * COPY quotes every field holding a quote, comma, CR or LF and doubles the quotes
 * inside, so field and record ends are the commas and `\n` bytes outside quotes,
 * found by tracking quote parity (UTF-8 never uses these bytes inside a
 * multi-byte character).
 */
export class CopyCsvFramer extends Transform {
  private quoted = false;
  private field = 0;
  private rows = 0;
  private ended = false;
  /** The start of a JSON cell that a chunk boundary cut, kept for the next chunk. */
  private carry: Buffer | null = null;
  private readonly json: boolean[];

  constructor(private readonly options: CopyCsvOptions) {
    super({ readableHighWaterMark: 1 << 16 });
    this.json = options.columns.map((_, i) => options.jsonColumns?.includes(i) ?? false);
    this.push(Buffer.concat([BOM, Buffer.from(options.columns.map(csvCell).join(',')), CRLF]));
  }

  override _transform(input: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let chunk = input;
    const carried = this.carry !== null;
    if (this.carry) {
      chunk = Buffer.concat([this.carry, input]);
      this.carry = null;
    }
    const out: Buffer[] = [];
    let from = 0; // chunk[from..] is not written yet
    let quoted = this.quoted;
    let field = this.field;
    let rows = 0;
    const json = this.json;
    // A JSON cell cut by the last chunk's end starts this one.
    let jsonStart = carried ? 0 : -1;
    try {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === QUOTE) {
        quoted = !quoted;
        continue;
      }
      if (quoted || (c !== COMMA && c !== LF)) continue;
      // A field ends at i.
      if (jsonStart >= 0) {
        out.push(chunk.subarray(from, jsonStart), jsonCell(chunk.subarray(jsonStart, i)));
        from = i;
        jsonStart = -1;
      }
      if (c === LF) {
        out.push(chunk.subarray(from, i), CRLF);
        from = i + 1;
        rows++;
        field = 0;
      } else {
        field++;
      }
      if (field < json.length && json[field]) jsonStart = i + 1;
    }
    } catch (err) {
      done(err as Error);
      return;
    }
    if (jsonStart >= 0) {
      // The chunk ends inside a JSON cell: keep it whole for the next chunk.
      out.push(chunk.subarray(from, jsonStart));
      this.carry = Buffer.from(chunk.subarray(jsonStart));
      quoted = false;
    } else {
      out.push(chunk.subarray(from));
    }
    this.quoted = quoted;
    this.field = field;
    this.rows += rows;
    done(null, out.length === 1 ? out[0] : Buffer.concat(out));
  }

  override _flush(done: TransformCallback): void {
    if (this.quoted || (this.carry !== null && this.carry.length > 0) || this.field !== 0) {
      done(new Error('the CSV from the database ended inside a record'));
      return;
    }
    this.ended = true;
    this.options.onEnd(this.rows, true).then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    if (!this.ended) {
      this.ended = true;
      void this.options.onEnd(this.rows, false).catch(() => undefined);
    }
    done(err);
  }
}

/** A JSON cell of the COPY output (CSV-quoted or not) as encodeRows writes it. */
function jsonCell(raw: Buffer): Buffer {
  if (raw.length === 0) return raw;
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === QUOTE) text = text.slice(1, -1).replace(/""/g, '"');
  if (text.charCodeAt(0) !== JSON_CELL_MARK) throw new Error('a JSON cell from the database lacks its mark');
  return Buffer.from(csvCell(neutraliseFormula(cellText(JSON.parse(text.slice(1))))));
}

/** One cell as csv-stringify writes it (quoted when it holds a quote, comma, CR or LF). */
function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
