import { findUnsafeJson, findUnstorableJson } from './json-safety';

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
