/**
 * Timestamps in hashes and on the wire: RFC 3339, UTC, millisecond precision, `Z`
 * (DESIGN.md 4). A timestamp must carry an offset; it is normalised to UTC.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  const t = Date.parse(value.toUpperCase());
  if (Number.isNaN(t)) return false;
  // Reject dates such as 2026-02-30 that Date silently rolls over.
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= days && y >= 1 && y <= 9999;
}

/** Normalise an RFC 3339 string (any offset, any precision) to `YYYY-MM-DDTHH:mm:ss.SSSZ`. */
export function toCanonicalTimestamp(value: string | Date): string {
  const date = typeof value === 'string' ? new Date(value.toUpperCase()) : value;
  if (Number.isNaN(date.getTime())) throw new RangeError(`invalid timestamp: ${String(value)}`);
  return date.toISOString();
}
