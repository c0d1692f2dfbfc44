import { findInexactNumber, findUnsafeJson, findUnstorableJson } from './json-safety';

describe('findUnstorableJson', () => {
  it('accepts ordinary JSON', () => {
    expect(findUnstorableJson({ a: [1, 'two', null, true, { b: 'é😀' }] })).toBeNull();
  });

  it('names a NUL character in a nested string', () => {
    expect(findUnstorableJson({ a: [{ b: 'x\u0000y' }] })).toEqual({
      field: '$.a[0].b',
      message: expect.stringContaining('NUL'),
    });
  });

  it('names a NUL character in a key', () => {
    expect(findUnstorableJson({ ['k\u0000']: 1 })?.message).toContain('key');
  });

  it('rejects an unpaired surrogate', () => {
    expect(findUnstorableJson(['\ud800'])?.field).toBe('$[0]');
  });

  it('rejects nesting deeper than the limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 65; i++) deep = [deep];
    expect(findUnstorableJson(deep)?.message).toContain('deeper than 64');
    let ok: unknown = 1;
    for (let i = 0; i < 64; i++) ok = [ok];
    expect(findUnstorableJson(ok)).toBeNull();
  });
});

describe('findUnsafeJson', () => {
  const forbidden = new Set(['__proto__', 'constructor', 'prototype']);
  const why = (key: string) => `key ${key} is not allowed`;
  const parse = (text: string) => JSON.parse(text) as unknown;

  it('accepts ordinary JSON', () => {
    expect(findUnsafeJson({ a: [1, 'two', null, true, { b: 'é😀' }] }, forbidden, why)).toBeNull();
  });

  it('names a forbidden key at any depth, with its path', () => {
    expect(findUnsafeJson(parse('[{"a":{"__proto__":{}}}]'), forbidden, why)).toEqual({ field: '$[0].a.__proto__', message: 'key __proto__ is not allowed' });
    expect(findUnsafeJson(parse('{"x\\u0001":{"prototype":1}}'), forbidden, why)?.field).toBe('$.x?.prototype');
  });

  it("checks an object's own keys before its children", () => {
    expect(findUnsafeJson(parse('{"a":{"constructor":1},"prototype":2}'), forbidden, why)?.field).toBe('$.prototype');
  });

  it('reports something unstorable anywhere before a forbidden key', () => {
    expect(findUnsafeJson(parse('{"constructor":1,"z":"\\u0000"}'), forbidden, why)).toEqual({
      field: '$.z',
      message: expect.stringContaining('NUL'),
    });
  });

  it('gives the same answer as findUnstorableJson for unstorable values', () => {
    const cases: unknown[] = [{ a: [{ b: 'x\u0000y' }] }, { ['k\u0000']: 1 }, ['\ud800'], { a: [1, Infinity] }, { a: { b: undefined } }];
    let deep: unknown = 1;
    for (let i = 0; i < 65; i++) deep = { k: deep };
    cases.push(deep);
    for (const c of cases) expect(findUnsafeJson(c, forbidden, why)).toEqual(findUnstorableJson(c));
  });
});

describe('findInexactNumber', () => {
  it('accepts the numbers a 64-bit float holds, however written', () => {
    for (const text of [
      '{"a": 1, "b": -0.1, "c": 1.5e300, "d": 6.02e23, "e": 9007199254740991, "f": 10000000000000000, "g": 1.0, "h": 0.30000000000000004}',
      '{"a": [123456789012345, -0.000001, 2.5E-7, 1E21, 0]}',
      // Long digit runs and exponents inside strings are text, not numbers.
      '{"id": "12345678901234567890", "hex": "3e5f", "note": "x:12345678901234567890"}',
    ]) {
      expect(findInexactNumber(text)).toBeNull();
    }
  });

  it('names a number JSON.parse would alter, with what it would become', () => {
    expect(findInexactNumber('{"input_data": {"ids": [1, 9007199254740993]}}')).toEqual({
      field: '$.input_data.ids[1]',
      message: 'is the number 9007199254740993, which a 64-bit float cannot hold exactly (it would be stored as 9007199254740992); send it as a string',
    });
    expect(findInexactNumber('{"a": {"b": 123456789012345678901234567890}}')?.field).toBe('$.a.b');
    expect(findInexactNumber('{"a": 0.1000000000000000055511151231257827}')?.field).toBe('$.a');
    expect(findInexactNumber('{"a": 1e-400}')?.message).toContain('stored as 0');
    expect(findInexactNumber('[1, 2, 1.00000000000000001]')?.field).toBe('$[2]');
  });

  it('names the number where keys repeat too (JSON.parse takes the last)', () => {
    expect(findInexactNumber('{"a": 1, "a": 2, "b": 9007199254740993}')?.field).toBe('$.b');
  });
});
