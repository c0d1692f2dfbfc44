import { ValidationError } from '@aos/logs-domain';
import { parseJsonBody } from './json-body';

function fieldOf(text: string | Buffer): string {
  try {
    parseJsonBody(typeof text === 'string' ? Buffer.from(text) : text);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).errors[0].field;
  }
  throw new Error('parsed');
}

describe(parseJsonBody.name, () => {
  it('parses a JSON document', () => {
    expect(parseJsonBody(Buffer.from('{"a":[1,"x",null]}'))).toEqual({ a: [1, 'x', null] });
  });

  it.each([
    ['empty', '', 'body'],
    ['malformed', '{"a":', 'body'],
    ['NUL in a value', '{"a":["\\u0000"]}', 'body.$.a[0]'],
    ['NUL in a key', '{"a\\u0000":1}', 'body.$.a?'],
    ['an unpaired surrogate', '{"a":"\\udc00"}', 'body.$.a'],
    ['65 levels', '['.repeat(65) + ']'.repeat(65), `body.$${'[0]'.repeat(64)}`],
    ['a __proto__ key', '[{"__proto__":{}}]', 'body.$[0].__proto__'],
    ['constructor.prototype', '{"constructor":{"prototype":{}}}', 'body.$.constructor'],
  ])('rejects %s', (_case, text, field) => {
    expect(fieldOf(text)).toBe(field);
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(fieldOf(Buffer.from([0x22, 0xc3, 0x22]))).toBe('body');
  });

  it('accepts 64 levels and refuses 20,000 without overflowing the stack', () => {
    expect(() => parseJsonBody(Buffer.from('['.repeat(64) + ']'.repeat(64)))).not.toThrow();
    expect(fieldOf('['.repeat(20_000) + ']'.repeat(20_000))).toMatch(/^body\.\$(\[0\]){64}$/);
  });
});
