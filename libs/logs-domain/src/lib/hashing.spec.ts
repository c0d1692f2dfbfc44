import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import {
  canonicalJson,
  computeStepHash,
  computeStoredStepHash,
  computeTraceHash,
  hashStepContent,
  sha256Hex,
  stepHashPayload,
  TraceVerifier,
  verifyTraceIntegrity,
} from './hashing';

// Published vectors live in ../shared/testdata beside the repository.
const JCS = join(__dirname, '../../../../../shared/testdata/rfc8785-jcs');

describe('canonicalJson (RFC 8785)', () => {
  const files = readdirSync(join(JCS, 'input')).filter((f) => f.endsWith('.json'));

  it('has the published vectors to check against', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it.each(files)('canonicalises %s byte for byte as the RFC 8785 vector', (file) => {
    const input = JSON.parse(readFileSync(join(JCS, 'input', file), 'utf8'));
    const expected = readFileSync(join(JCS, 'output', file));
    const hex = readFileSync(join(JCS, 'outhex', file.replace('.json', '.txt')), 'utf8')
      .split(/\s+/)
      .filter(Boolean)
      .join('');
    const actual = Buffer.from(canonicalJson(input), 'utf8');
    expect(actual.toString('hex')).toBe(hex);
    expect(actual.equals(expected.subarray(0, actual.length))).toBe(true);
  });

  it('serialises numbers as RFC 8785 Appendix B', () => {
    expect(canonicalJson([1e21, 1e-7, 0.000001, -0, 333333333.3333333, 1e23, JSON.parse('9007199254740993')])).toBe(
      '[1e+21,1e-7,0.000001,0,333333333.3333333,1e+23,9007199254740992]',
    );
  });
});

describe('canonicalJson against the canonicalize package (reference RFC 8785 implementation)', () => {
  // A seeded generator of JSON values: keys and strings from every plane (pairs,
  // escapes, controls), numbers of every magnitude, nesting, empty containers.
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const CHARS = ['a', 'B', 'z', '0', '9', ' ', '"', '\\', '/', '\n', '\t', '\u0001', '\u001f', '\u007f', 'é', 'ö', '€', '\u2028', 'דּ', '😀', '𝄞', '\ufffd', '_', '-'];
  const text = () => Array.from({ length: Math.floor(rnd() * 8) }, () => pick(CHARS)).join('');
  const number = () =>
    pick([
      () => Math.floor(rnd() * 1000) - 500,
      () => (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20),
      () => rnd() * 1e308,
      () => 2 ** Math.floor(rnd() * 80),
      () => pick([0, -0, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, 0.1 + 0.2]),
    ])();
  const value = (depth: number): unknown => {
    const kind = depth > 3 ? Math.floor(rnd() * 4) : Math.floor(rnd() * 6);
    if (kind === 0) return text();
    if (kind === 1) return number();
    if (kind === 2) return pick([true, false, null]);
    if (kind === 3) return text().length % 2 ? text() : number();
    if (kind === 4) return Array.from({ length: Math.floor(rnd() * 5) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 6) }, () => [text(), value(depth + 1)]));
  };

  it('writes the same text for 5,000 random JSON values, parsed as JSON.parse makes them', () => {
    for (let i = 0; i < 5000; i++) {
      const v = JSON.parse(JSON.stringify(value(0)));
      expect(canonicalJson(v)).toBe(canonicalize(v));
    }
  });

  it.each([
    ['NaN', { x: NaN }],
    ['Infinity', [Infinity]],
    ['a lone high surrogate', { s: 'a\ud800b' }],
    ['a lone low surrogate in a key', { 'x\udc00': 1 }],
    ['a bigint', { b: BigInt(1) }],
    ['a function', { f: () => 1 }],
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })()],
  ])('refuses %s, which RFC 8785 cannot canonicalise', (_what, v) => {
    expect(() => canonicalJson(v)).toThrow();
  });

  it('keeps a backslash before "ud800" as text, not a surrogate', () => {
    expect(canonicalJson({ s: '\\ud800' })).toBe('{"s":"\\\\ud800"}');
    expect(canonicalJson(['😀'])).toBe('["😀"]');
  });
});

describe('computeStepHash', () => {
  const step = {
    step_index: 0,
    step_type: 'llm_call',
    input_data: { prompt: 'hi', b: 1, a: [true, null] },
    output_data: null,
    timestamp: '2026-01-20T10:15:30.123Z',
  };

  it('is sha256 of the JCS form of exactly the five contract fields', () => {
    const canonical =
      '{"input_data":{"a":[true,null],"b":1,"prompt":"hi"},"output_data":null,"step_index":0,"step_type":"llm_call","timestamp":"2026-01-20T10:15:30.123Z"}';
    expect(computeStepHash(step)).toBe(sha256Hex(canonical));
  });

  it('treats absent data as null', () => {
    const { output_data: _omit, ...withoutOutput } = step;
    expect(computeStepHash(withoutOutput)).toBe(computeStepHash(step));
  });

  it('normalises the timestamp to UTC milliseconds before hashing', () => {
    expect(computeStepHash({ ...step, timestamp: '2026-01-20T12:15:30.123+02:00' })).toBe(computeStepHash(step));
    expect(computeStepHash({ ...step, timestamp: new Date('2026-01-20T10:15:30.123Z') })).toBe(computeStepHash(step));
  });

  it('changes when any covered field changes', () => {
    const base = computeStepHash(step);
    expect(computeStepHash({ ...step, step_index: 1 })).not.toBe(base);
    expect(computeStepHash({ ...step, step_type: 'tool_call' })).not.toBe(base);
    expect(computeStepHash({ ...step, input_data: { prompt: 'hi!' } })).not.toBe(base);
    expect(computeStepHash({ ...step, timestamp: '2026-01-20T10:15:30.124Z' })).not.toBe(base);
  });
});

describe('hashStepContent', () => {
  const cases = [
    { step_index: 0, step_type: 'llm_call', input_data: { prompt: 'hi', b: 1, a: [true, null] }, output_data: null, timestamp: '2026-01-20T10:15:30.123Z' },
    { step_index: 7, step_type: 'tool_call', timestamp: '2026-01-20T12:15:30+02:00' },
    { step_index: 2147483647, step_type: 'output', input_data: 'text "quoted"\n\u0001é😀', output_data: [1e21, -0, 0.1, { z: {}, '': [], é: 'x', Z: 1, '10': 1, '9': 2 }], timestamp: new Date(0) },
    { step_index: 3, step_type: 'input', input_data: 0, output_data: false, timestamp: '2026-01-20t10:15:30.1z' },
  ];

  it.each(cases.map((c, i) => [i, c] as const))('hashes case %i exactly as JCS of the whole payload', (_i, step) => {
    const hashed = hashStepContent(step);
    expect(hashed.content_hash).toBe(sha256Hex(canonicalJson(stepHashPayload(step))));
    expect(hashed.content_hash).toBe(computeStepHash(step));
    expect(hashed.input_json).toBe(canonicalJson(step.input_data ?? null));
    expect(hashed.output_json).toBe(canonicalJson(step.output_data ?? null));
  });
});

describe('computeStoredStepHash (a step read with its data as stored JSON text)', () => {
  const step = { step_index: 4, step_type: 'llm_call', input_data: { prompt: 'hi', b: 1, a: [true, null] }, output_data: 'done "ok"\n', timestamp: '2026-01-20T10:15:30.123Z' };
  const hashed = hashStepContent(step);
  const stored = { step_index: 4, step_type: 'llm_call', input_json: hashed.input_json, output_json: hashed.output_json, timestamp: step.timestamp, content_hash: hashed.content_hash };

  it('matches the contract hash of an untouched step stored as the JCS text it was hashed as', () => {
    expect(computeStoredStepHash(stored)).toBe(computeStepHash(step));
  });

  it('gives the contract hash for the same values stored in another form (jsonb\'s print: other key order, spaces)', () => {
    const jsonbPrint = { ...stored, input_json: '{"a": [true, null], "b": 1.0, "prompt": "hi"}' };
    expect(computeStoredStepHash(jsonbPrint)).toBe(stored.content_hash);
    expect(computeStoredStepHash({ ...stored, input_json: null, output_json: null })).toBe(computeStepHash({ ...step, input_data: null, output_data: null }));
  });

  it('gives the contract hash of altered content, which no longer matches the stored hash', () => {
    const altered = { ...stored, output_json: '"forged"' };
    expect(computeStoredStepHash(altered)).toBe(computeStepHash({ ...step, output_data: 'forged' }));
    expect(computeStoredStepHash(altered)).not.toBe(stored.content_hash);
  });

  it('reports text that JCS cannot carry as a mismatch, without throwing', () => {
    const loneSurrogate = { ...stored, output_json: '"\\ud800"' };
    expect(() => computeStoredStepHash(loneSurrogate)).not.toThrow();
    expect(computeStoredStepHash(loneSurrogate)).not.toBe(stored.content_hash);
  });

  it('lets TraceVerifier mix both forms and name the altered step', () => {
    const steps = [0, 1, 2].map((i) => {
      const s = { ...step, step_index: i, input_data: { n: i } };
      const h = hashStepContent(s);
      return { step_index: i, step_type: s.step_type, input_json: h.input_json, output_json: h.output_json, timestamp: s.timestamp, content_hash: h.content_hash };
    });
    const verifier = new TraceVerifier();
    verifier.addStoredText(steps[0]);
    verifier.add({ ...step, step_index: 1, input_data: { n: 1 }, content_hash: steps[1].content_hash });
    verifier.addStoredText({ ...steps[2], input_json: '{"n": 9}' });
    const result = verifier.result({ content_hash: computeTraceHash(steps), step_count: 3 });
    expect(result.steps.map((r) => r.ok)).toEqual([true, true, false]);
    expect(result.verified).toBe(false);
  });
});

describe('computeTraceHash', () => {
  it('hashes the empty string for a trace with no steps', () => {
    expect(computeTraceHash([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('concatenates step hashes in step_index order, whatever the input order', () => {
    const a = { step_index: 0, content_hash: 'a'.repeat(64) };
    const b = { step_index: 1, content_hash: 'b'.repeat(64) };
    expect(computeTraceHash([b, a])).toBe(sha256Hex('a'.repeat(64) + 'b'.repeat(64)));
  });
});

describe('verifyTraceIntegrity', () => {
  const steps = [0, 1, 2].map((i) => {
    const s = { step_index: i, step_type: 'tool_call', input_data: { i }, output_data: { ok: true }, timestamp: `2026-01-20T10:15:3${i}.000Z` };
    return { ...s, content_hash: computeStepHash(s) };
  });
  const sealed = { content_hash: computeTraceHash(steps), step_count: 3 };

  it('verifies an untouched trace', () => {
    const r = verifyTraceIntegrity(sealed, steps);
    expect(r.verified).toBe(true);
    expect(r.computed_hash).toBe(sealed.content_hash);
    expect(r.steps.every((s) => s.ok)).toBe(true);
  });

  it('names the step whose content changed', () => {
    const tampered = steps.map((s) => (s.step_index === 1 ? { ...s, output_data: { ok: false } } : s));
    const r = verifyTraceIntegrity(sealed, tampered);
    expect(r.verified).toBe(false);
    expect(r.steps.filter((s) => !s.ok).map((s) => s.step_index)).toEqual([1]);
  });

  it('fails when content and stored step hash were changed together', () => {
    const changed = { ...steps[1], output_data: { ok: false } };
    const rehashed = { ...changed, content_hash: computeStepHash(changed) };
    const r = verifyTraceIntegrity(sealed, [steps[0], rehashed, steps[2]]);
    expect(r.steps.every((s) => s.ok)).toBe(true);
    expect(r.verified).toBe(false);
  });

  it('fails when a step is missing', () => {
    expect(verifyTraceIntegrity(sealed, [steps[0], steps[2]]).verified).toBe(false);
  });
});
