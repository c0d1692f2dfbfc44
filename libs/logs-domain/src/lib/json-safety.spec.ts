import { findUnstorableJson } from './json-safety';

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
