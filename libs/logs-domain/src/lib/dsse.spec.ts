import { generateKeyPairSync, verify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DsseError, IN_TOTO_PAYLOAD_TYPE, pae, parseDsseEnvelope, parseStrictJson, signDsse, StrictJsonError, verifyDsse } from './dsse';

const JCS = join(__dirname, '../../../../../shared/testdata/rfc8785-jcs');

describe('parseStrictJson', () => {
  it.each(readdirSync(join(JCS, 'input')).filter((f) => f.endsWith('.json')))('parses the RFC 8785 input %s as JSON.parse does', (file) => {
    const text = readFileSync(join(JCS, 'input', file), 'utf8');
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it('parses every kind of value', () => {
    const text = ' {"a": [1, -0.5e3, true, false, null, "x\\n\\u00e9"], "b": {}, "c": [], "__proto__": {"p": 1}} ';
    const v = parseStrictJson(text) as Record<string, unknown>;
    expect(v).toEqual(JSON.parse(text));
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toContain('__proto__');
  });

  it.each([
    ['top level', '{"a":1,"a":2}', '$.a'],
    ['nested', '{"x":{"b":1,"c":2,"b":3}}', '$.x.b'],
    ['inside an array', '[{"k":1},{"k":1,"k":1}]', '$[1].k'],
    ['spelled with an escape', '{"a":1,"\\u0061":2}', '$.a'],
  ])('rejects a duplicate key (%s)', (_why, text, at) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(() => parseStrictJson(text)).toThrow(expect.objectContaining({ code: 'duplicate-key', at }));
  });

  it.each(['', '{', '{"a":1,}', '[1,]', '01', '1 2', "{'a':1}", '"\u0001"', 'nul', '{"a" 1}', '"\\x"', '-', '1.', '.5'])(
    'rejects malformed JSON %j',
    (text) => {
      expect(() => parseStrictJson(text)).toThrow(StrictJsonError);
      expect(() => parseStrictJson(text)).toThrow(expect.objectContaining({ code: 'json-malformed' }));
    },
  );
});

describe('DSSE', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');

  it('encodes PAE as in the DSSE spec example', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
    expect(pae('t', Buffer.from('é')).toString()).toBe('DSSEv1 1 t 2 é');
  });

  it('signs the PAE with Ed25519 and verifies', () => {
    const env = signDsse('{"hello":"world"}', IN_TOTO_PAYLOAD_TYPE, privateKey, 'kid');
    expect(Buffer.from(env.payload, 'base64').toString()).toBe('{"hello":"world"}');
    const sig = Buffer.from(env.signatures[0].sig, 'base64');
    expect(verify(null, pae(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{"hello":"world"}')), publicKey, sig)).toBe(true);
    const parsed = parseDsseEnvelope(JSON.stringify(env));
    expect(verifyDsse(parsed, publicKey).toString()).toBe('{"hello":"world"}');
  });

  it('rejects another key, an altered payload and another payload type', () => {
    const env = signDsse('{}', IN_TOTO_PAYLOAD_TYPE, privateKey);
    expect(() => verifyDsse(env, other.publicKey)).toThrow(expect.objectContaining({ code: 'signature-invalid' }));
    expect(() => verifyDsse({ ...env, payload: Buffer.from('[]').toString('base64') }, publicKey)).toThrow(
      expect.objectContaining({ code: 'signature-invalid' }),
    );
    expect(() => verifyDsse({ ...env, payloadType: 'text/plain' }, publicKey)).toThrow(expect.objectContaining({ code: 'envelope-malformed' }));
  });

  it('rejects an envelope with duplicate keys or a bad shape', () => {
    const env = signDsse('{}', IN_TOTO_PAYLOAD_TYPE, privateKey);
    const dup = JSON.stringify(env).replace('{"payload":', `{"payload":"${Buffer.from('[]').toString('base64')}","payload":`);
    expect(() => parseDsseEnvelope(dup)).toThrow(expect.objectContaining({ code: 'duplicate-key' }));
    expect(() => parseDsseEnvelope('{"payloadType":"x","payload":"e30=","signatures":[]}')).toThrow(DsseError);
    expect(() => parseDsseEnvelope('{"payloadType":"x","payload":"not base64!","signatures":[{"sig":""}]}')).toThrow(DsseError);
  });
});
