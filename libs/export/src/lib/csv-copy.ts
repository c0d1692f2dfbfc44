import { Transform, type TransformCallback } from 'node:stream';
import { cellText, neutraliseFormula } from './formats';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const PLAIN_CELL = 0;
const JSON_CELL = 1;
const TIMESTAMP_CELL = 2;
const CRLF = Buffer.from('\r\n');
const COLON = 0x3a;
const SPACE = 0x20;
const MINUS = 0x2d;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
/** Marks a JSON cell in the COPY output (jsonb text never holds a raw control character). */
export const JSON_CELL_MARK = 0x01;

export interface CopyCsvOptions {
  /** The CSV header. */
  columns: readonly string[];
  /**
   * Indexes of the columns whose non-empty cells are `\x01` + jsonb text (e.g.
   * `E'\x01' || context::text`; not the first column): the framer writes them as
   * `encodeRows` does, `cellText(JSON.parse(text))` and the formula guard, so they
   * come out exactly as on the JavaScript path (node-pg parses jsonb with JSON.parse
   * too). Most cells take a byte-level fast path (see `jsonCell`).
   */
  jsonColumns?: readonly number[];
  /**
   * Indexes of the timestamp columns, sent as `(ts AT TIME ZONE 'UTC')::text`
   * (`YYYY-MM-DD HH:MI:SS[.ffffff]`, DateStyle ISO; not the first column): the
   * framer writes them as `Date.prototype.toISOString` writes the `Date` node-pg
   * parses (`YYYY-MM-DDTHH:MI:SS.mmmZ`, the fraction cut to milliseconds).
   * Cheaper for PostgreSQL than `to_char`. Any other text fails the export.
   */
  timestampColumns?: readonly number[];
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
 * with `\n`; a `\n` inside a quoted field stays), JSON and timestamp cells
 * rendered here (see `jsonColumns`, `timestampColumns`). Counts the records.
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
  private readonly kinds: number[];
  private readonly timestamps: number;

  constructor(private readonly options: CopyCsvOptions) {
    super({ readableHighWaterMark: 1 << 16 });
    this.kinds = options.columns.map((_, i) => (options.jsonColumns?.includes(i) ? JSON_CELL : options.timestampColumns?.includes(i) ? TIMESTAMP_CELL : PLAIN_CELL));
    this.timestamps = options.timestampColumns?.length ?? 0;
    // A rendered cell is found after the comma before it.
    if (this.kinds[0] !== PLAIN_CELL) throw new Error('the first column cannot be a JSON or timestamp column');
    this.push(Buffer.concat([BOM, Buffer.from(options.columns.map(csvCell).join(',')), CRLF]));
  }

  override _transform(input: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let chunk = input;
    const carried = this.carry !== null;
    if (this.carry) {
      chunk = Buffer.concat([this.carry, input]);
      this.carry = null;
    }
    // The output is at most the input plus, per record, one byte (\n -> \r\n) and five
    // per timestamp cell (19 -> 24 bytes); the JSON cells' fast path only drops bytes,
    // and the fallback makes room itself.
    let records = 1;
    for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) records++;
    const w: Output = { buf: Buffer.allocUnsafe(chunk.length + records * (1 + 5 * this.timestamps)), at: 0 };
    let from = 0; // chunk[from..] is not written yet
    let quoted = this.quoted;
    let field = this.field;
    let rows = 0;
    const kinds = this.kinds;
    try {
      let i = 0;
      if (carried) {
        // A cell cut by the last chunk's end starts this one.
        const end = kinds[field] === JSON_CELL ? this.jsonCell(chunk, 0, w) : timestampCell(chunk, 0, w);
        if (end < 0) {
          this.carry = chunk;
          done();
          return;
        }
        from = i = end;
      }
      for (; i < chunk.length; i++) {
        const c = chunk[i];
        if (c === QUOTE) {
          quoted = !quoted;
          continue;
        }
        if (quoted || (c !== COMMA && c !== LF)) continue;
        // A field ends at i.
        if (c === LF) {
          copyTo(w, chunk, from, i);
          w.buf[w.at++] = CR;
          w.buf[w.at++] = LF;
          from = i + 1;
          rows++;
          field = 0;
        } else {
          field++;
        }
        const kind = field < kinds.length ? kinds[field] : PLAIN_CELL;
        if (kind !== PLAIN_CELL) {
          copyTo(w, chunk, from, i + 1);
          const end = kind === JSON_CELL ? this.jsonCell(chunk, i + 1, w) : timestampCell(chunk, i + 1, w);
          if (end < 0) {
            // The chunk ends inside the cell: keep it whole for the next chunk.
            this.carry = Buffer.from(chunk.subarray(i + 1));
            from = chunk.length;
            break;
          }
          from = end;
          i = end - 1;
        }
      }
    } catch (err) {
      done(err as Error);
      return;
    }
    copyTo(w, chunk, from, chunk.length);
    this.quoted = this.carry ? false : quoted;
    this.field = field;
    this.rows += rows;
    done(null, w.buf.subarray(0, w.at));
  }

  /**
   * Writes the JSON cell that starts at `start` (COPY's text of it: `\x01` + jsonb
   * text, CSV-quoted when it holds a quote or comma; or empty) as encodeRows writes
   * it, and answers where it ends (the comma or \n after it), or -1 when the chunk
   * ends first (nothing written then).
   *
   * The fast path keeps the bytes and drops the mark and the space jsonb prints after
   * each `,` and `:` outside strings: that is `JSON.stringify(JSON.parse(text))` when
   * the value is an object or array, no key is integer-like (V8 would move it first)
   * and every number prints the same in JavaScript (at most 15 digits, no trailing
   * fraction zero, no `-0`, not below 1e-6). Quoting stays as it is: the text still
   * holds a quote or comma exactly when it did. Anything else goes through the
   * JSON round trip (`jsonCell`).
   */
  private jsonCell(chunk: Buffer, start: number, w: Output): number {
    const n = chunk.length;
    if (start >= n) return -1;
    let i = start;
    const q = chunk[i] === QUOTE;
    if (q) i++;
    if (i >= n) return -1;
    if (chunk[i] === COMMA || chunk[i] === LF) {
      if (q) throw new Error('a JSON cell from the database lacks its mark');
      return i; // NULL: an empty field
    }
    if (chunk[i] !== JSON_CELL_MARK) throw new Error('a JSON cell from the database lacks its mark');
    const first = chunk[i + 1];
    const buf = w.buf;
    const at0 = w.at;
    let at = at0;
    if (q) buf[at++] = QUOTE;
    let fast = first === OPEN_BRACE || first === OPEN_BRACKET;
    let inString = false;
    let digitsOnly = false; // the string so far holds only digits
    let end = -1;
    for (i++; i < n; i++) {
      let c = chunk[i];
      if (q && c === QUOTE) {
        if (i + 1 >= n) return -1; // cannot tell a doubled quote from the end yet
        if (chunk[i + 1] !== QUOTE) {
          end = i + 1; // the closing quote of the CSV field
          break;
        }
        // A doubled quote: one quote character of the JSON text.
        buf[at++] = QUOTE;
        buf[at++] = QUOTE;
        i++;
        if (inString) {
          inString = false;
          // An integer-like key (`"12":`) is ordered first by V8.
          if (digitsOnly && i + 1 < n && chunk[i + 1] === COLON) fast = false;
        } else {
          inString = true;
          digitsOnly = true;
        }
        continue;
      }
      if (!q && (c === COMMA || c === LF)) {
        end = i;
        break;
      }
      if (!fast) continue;
      if (inString) {
        if (c === BACKSLASH) {
          // An escape: the next JSON character is taken as it is (a quote is doubled).
          buf[at++] = c;
          c = chunk[++i];
          if (i >= n) return -1;
          buf[at++] = c;
          if (q && c === QUOTE) {
            if (i + 1 >= n) return -1;
            buf[at++] = chunk[++i];
          }
          digitsOnly = false;
          continue;
        }
        if (c < 0x30 || c > 0x39) digitsOnly = false;
        buf[at++] = c;
        continue;
      }
      if (c === COMMA || c === COLON) {
        buf[at++] = c;
        if (i + 1 < n && chunk[i + 1] === SPACE) i++;
        continue;
      }
      if (c === MINUS || (c >= 0x30 && c <= 0x39)) {
        let j = i;
        while (j < n && isNumberByte(chunk[j])) j++;
        if (j >= n) return -1;
        if (!plainNumber(chunk, i, j)) fast = false;
        else {
          for (let k = i; k < j; k++) buf[at++] = chunk[k];
        }
        i = j - 1;
        continue;
      }
      buf[at++] = c;
    }
    if (end < 0) return -1;
    if (fast) {
      if (q) buf[at++] = QUOTE;
      w.at = at;
    } else {
      w.at = at0;
      copyTo(w, jsonCell(chunk.subarray(start, end)), 0);
      // Room for the rest of the chunk as the fast path writes it (each byte at most twice).
      reserve(w, 2 * (n - end));
    }
    return end;
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

/** The output of one chunk: a buffer and how much of it is written. */
interface Output {
  buf: Buffer;
  at: number;
}

/** Copies `src[from..to)` to the output, making room when needed. */
function copyTo(w: Output, src: Buffer, from: number, to = src.length): void {
  const len = to - from;
  if (len <= 0) return;
  reserve(w, len);
  if (len < SHORT_COPY) {
    // Buffer#copy costs more than a loop for a few bytes (it is a JS call chain in Node 20).
    const buf = w.buf;
    for (let k = 0, at = w.at; k < len; k++) buf[at + k] = src[from + k];
  } else {
    src.copy(w.buf, w.at, from, to);
  }
  w.at += len;
}
const SHORT_COPY = 96;

/**
 * Writes the timestamp cell that starts at `start` (see `timestampColumns`) as
 * `toISOString` writes it, and answers where it ends, or -1 when the chunk ends first.
 */
function timestampCell(chunk: Buffer, start: number, w: Output): number {
  let end = start;
  const n = chunk.length;
  while (end < n && chunk[end] !== COMMA && chunk[end] !== LF) end++;
  if (end >= n) return -1;
  const len = end - start;
  if (len === 0) return end; // NULL
  const c = chunk;
  const s = start;
  if (
    (len !== 19 && (len < 21 || len > 26 || c[s + 19] !== 0x2e)) ||
    c[s + 4] !== MINUS || c[s + 7] !== MINUS || c[s + 10] !== SPACE || c[s + 13] !== COLON || c[s + 16] !== COLON
  ) {
    throw new Error(`unexpected timestamp text from the database: ${JSON.stringify(chunk.toString('latin1', start, end))}`);
  }
  reserve(w, 24);
  const buf = w.buf;
  let at = w.at;
  for (let k = 0; k < 19; k++) buf[at + k] = c[s + k];
  buf[at + 10] = 0x54; // T
  buf[at + 19] = 0x2e;
  at += 20;
  for (let k = 0; k < 3; k++) buf[at++] = 20 + k < len ? c[s + 20 + k] : 0x30;
  buf[at++] = 0x5a; // Z
  w.at = at;
  return end;
}

/** Makes room for `len` more bytes of output. */
function reserve(w: Output, len: number): void {
  if (w.at + len <= w.buf.length) return;
  const grown = Buffer.allocUnsafe(Math.max(w.buf.length * 2, w.at + len));
  w.buf.copy(grown, 0, 0, w.at);
  w.buf = grown;
}

/** A byte of a jsonb number (numeric prints digits, `-` and `.`; no exponent). */
function isNumberByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === MINUS || c === 0x2b || c === 0x65 || c === 0x45;
}

/**
 * Whether the jsonb number text `b[from..to)` is what `String(Number(text))` prints:
 * `-?(0|[1-9]d*)(.d*[1-9])?`, at most 15 digits (so the double is the shortest
 * form of exactly these digits), not `-0`, and not below 1e-6 (exponent form).
 */
function plainNumber(b: Buffer, from: number, to: number): boolean {
  let i = from;
  if (b[i] === MINUS) i++;
  const intStart = i;
  while (i < to && b[i] >= 0x30 && b[i] <= 0x39) i++;
  const intLen = i - intStart;
  if (intLen === 0 || (intLen > 1 && b[intStart] === 0x30)) return false;
  const zeroInt = intLen === 1 && b[intStart] === 0x30;
  let digits = zeroInt ? 0 : intLen;
  if (i === to) return digits <= 15 && !(zeroInt && b[from] === MINUS);
  if (b[i] !== 0x2e) return false;
  i++;
  const fracStart = i;
  while (i < to && b[i] >= 0x30 && b[i] <= 0x39) i++;
  if (i !== to || i === fracStart || b[to - 1] === 0x30) return false;
  digits += to - fracStart;
  if (zeroInt) {
    let zeros = 0;
    while (b[fracStart + zeros] === 0x30) zeros++;
    if (zeros >= 6) return false;
  }
  return digits <= 15;
}
