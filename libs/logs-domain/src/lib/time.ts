/**
 * Timestamps in hashes and on the wire: RFC 3339, UTC, millisecond precision, `Z`
 * (DESIGN.md 4). A timestamp must carry an offset; it is normalised to UTC.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (m === null) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  // Date.parse silently rolls over dates such as 2026-02-30: check the calendar first.
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return false;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) return false;
  const t = Date.parse(value.toUpperCase());
  // The offset may carry the instant out of years 1 to 9999 (9999-12-31T23:59:59-14:00),
  // which neither the canonical form nor PostgreSQL can hold.
  return t >= MIN_INSTANT && t <= MAX_INSTANT;
}

/**
 * Orders two valid RFC 3339 timestamps by the instants they name, to the
 * precision written: Date.parse stops at the millisecond, PostgreSQL keeps
 * microseconds. 0 when either cannot be placed (a leap second).
 */
export function compareRfc3339(a: string, b: string): number {
  const [wholeA, fractionA] = splitInstant(a);
  const [wholeB, fractionB] = splitInstant(b);
  if (Number.isNaN(wholeA) || Number.isNaN(wholeB)) return 0;
  if (wholeA !== wholeB) return wholeA < wholeB ? -1 : 1;
  return fractionA < fractionB ? -1 : fractionA > fractionB ? 1 : 0;
}

/** The whole seconds (as epoch ms) and the fraction's digits, padded to compare as text. */
function splitInstant(value: string): [number, string] {
  const m = RFC3339.exec(value);
  if (m === null) return [Number.NaN, ''];
  return [Date.parse(value.toUpperCase().replace(/\.\d+/, '')), (m[7] ?? '.').slice(1).padEnd(12, '0')];
}

/** 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants a timestamp may name. */
const MIN_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

/**
 * A valid RFC 3339 timestamp at offset `Z`, its fraction digits kept as written:
 * the form to hand PostgreSQL, which refuses offsets past ±15:59 that RFC 3339
 * allows (`+23:59`), while a filter must not lose sub-millisecond digits the way
 * toCanonicalTimestamp does. Offsets are whole minutes, so the fraction is unmoved.
 */
export function toUtcRfc3339(value: string): string {
  const m = RFC3339.exec(value);
  if (m === null) throw new RangeError(`invalid timestamp: ${value}`);
  const whole = new Date(Date.parse(value.toUpperCase().replace(/\.\d+/, ''))).toISOString().slice(0, 19);
  return `${whole}${m[7] ?? ''}Z`;
}

/** Normalise an RFC 3339 string (any offset, any precision) to `YYYY-MM-DDTHH:mm:ss.SSSZ`. */
export function toCanonicalTimestamp(value: string | Date): string {
  const date = typeof value === 'string' ? new Date(value.toUpperCase()) : value;
  if (Number.isNaN(date.getTime())) throw new RangeError(`invalid timestamp: ${String(value)}`);
  return date.toISOString();
}
