import { compareRfc3339, isRfc3339, toCanonicalTimestamp, toUtcRfc3339 } from './time';

describe('isRfc3339', () => {
  it.each([
    '2026-01-20T10:15:30Z',
    '2026-01-20T10:15:30.123Z',
    '2026-01-20T10:15:30.123456789+02:00',
    '2026-01-20t10:15:30z',
    '2024-02-29T00:00:00Z',
    '2000-02-29T00:00:00-05:30',
    '2026-04-30T23:59:59Z',
    '2026-12-31T23:59:59.999Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T09:59:59+14:00',
    '0001-01-01T14:00:00+14:00',
    '0001-01-01T00:00:00-12:00',
  ])('accepts %s', (v) => expect(isRfc3339(v)).toBe(true));

  it.each([
    ['no offset', '2026-01-20T10:15:30'],
    ['a date only', '2026-01-20'],
    ['a space for T', '2026-01-20 10:15:30Z'],
    ['February 29 of a common year', '2023-02-29T00:00:00Z'],
    ['February 29 of 1900', '1900-02-29T00:00:00Z'],
    ['February 30', '2024-02-30T00:00:00Z'],
    ['April 31', '2026-04-31T00:00:00Z'],
    ['month 13', '2026-13-01T00:00:00Z'],
    ['month 0', '2026-00-10T00:00:00Z'],
    ['day 0', '2026-01-00T00:00:00Z'],
    ['day 32', '2026-01-32T00:00:00Z'],
    ['hour 24', '2026-01-20T24:00:00Z'],
    ['minute 60', '2026-01-20T10:60:00Z'],
    ['a leap second (JavaScript has none)', '2026-12-31T23:59:60Z'],
    ['an offset of 25 hours', '2026-01-20T10:00:00+25:00'],
    ['an offset minute of 60', '2026-01-20T10:00:00+23:60'],
    ['year 0', '0000-01-01T00:00:00Z'],
    ['a trailing character', '2026-01-20T10:15:30Zx'],
    ['an empty fraction', '2026-01-20T10:15:30.Z'],
    ['an instant after year 9999 (by its offset)', '9999-12-31T23:59:59-14:00'],
    ['an instant before year 1 (by its offset)', '0001-01-01T00:00:00+14:00'],
  ])('refuses %s', (_why, v) => expect(isRfc3339(v)).toBe(false));

  it('agrees with the calendar on every day of four years, a century and a 400-year leap day', () => {
    for (const y of [1900, 2000, 2023, 2024, 2025, 2026]) {
      for (let mo = 1; mo <= 12; mo++) {
        for (let d = 1; d <= 31; d++) {
          const text = `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T12:00:00Z`;
          const real = new Date(Date.UTC(y, mo - 1, d)).getUTCDate() === d;
          expect({ text, valid: isRfc3339(text) }).toEqual({ text, valid: real });
        }
      }
    }
  });
});

describe('toCanonicalTimestamp', () => {
  it('normalises any offset and precision to UTC milliseconds', () => {
    expect(toCanonicalTimestamp('2026-01-20T12:15:30.123456+02:00')).toBe('2026-01-20T10:15:30.123Z');
    expect(toCanonicalTimestamp('2026-01-20t10:15:30z')).toBe('2026-01-20T10:15:30.000Z');
  });
});

describe('toUtcRfc3339', () => {
  it('moves any offset PostgreSQL refuses (past ±15:59) to Z, keeping every fraction digit', () => {
    expect(toUtcRfc3339('2026-03-02T11:59:00.000500+23:59')).toBe('2026-03-01T12:00:00.000500Z');
    expect(toUtcRfc3339('2025-12-31T20:00:00-16:00')).toBe('2026-01-01T12:00:00Z');
    expect(toUtcRfc3339('2026-01-01T00:00:00.1z')).toBe('2026-01-01T00:00:00.1Z');
    expect(() => toUtcRfc3339('yesterday')).toThrow(RangeError);
  });
});

describe('compareRfc3339', () => {
  it('orders by instant across offsets', () => {
    expect(compareRfc3339('2026-02-01T00:00:00Z', '2026-01-31T23:59:59+23:00')).toBe(1);
    expect(compareRfc3339('2026-02-01T01:00:00+01:00', '2026-02-01T00:00:00Z')).toBe(0);
    expect(compareRfc3339('2026-01-31T23:00:00-02:00', '2026-02-01T00:00:00Z')).toBe(1);
  });

  it('keeps the digits below the millisecond that Date.parse drops', () => {
    expect(compareRfc3339('2024-01-01T00:00:00.0001Z', '2024-01-01T00:00:00.0009Z')).toBe(-1);
    expect(compareRfc3339('2024-01-01T00:00:00.5Z', '2024-01-01T00:00:00.500000Z')).toBe(0);
    expect(compareRfc3339('2024-01-01T00:00:01Z', '2024-01-01T00:00:00.999999Z')).toBe(1);
  });

  it('does not order what it cannot place', () => {
    // A leap second, valid RFC 3339, which Date.parse does not place.
    expect(compareRfc3339('2026-06-30T23:59:60Z', '2026-07-01T00:00:00Z')).toBe(0);
    expect(compareRfc3339('not a time', '2026-07-01T00:00:00Z')).toBe(0);
  });
});
