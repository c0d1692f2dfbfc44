import { KeyObject, sign, verify } from 'node:crypto';
import type { EvidenceBundle } from './evidence';
import type { HashableStep } from './hashing';
import type { TraceSummary } from './model';

/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1) around
 * in-toto Statement v1, signed with Ed25519; and a strict JSON parser that
 * rejects duplicate keys. Pure; no I/O.
 */

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const EVIDENCE_PREDICATE_TYPE = 'https://aos.dev/evidence-bundle/v1';

// ---------------------------------------------------------------- strict JSON

export type StrictJsonErrorCode = 'duplicate-key' | 'json-malformed';

export class StrictJsonError extends Error {
  override readonly name = 'StrictJsonError';
  constructor(
    readonly code: StrictJsonErrorCode,
    message: string,
    /** Where: `$.a.b[2]` for a duplicate key, the character offset for a syntax error. */
    readonly at: string,
  ) {
    super(message);
  }
}

/**
 * RFC 8259 JSON parser that rejects duplicate object keys (compared after
 * unescaping, so `"a"` and `"\u0061"` collide), instead of keeping the last one
 * as `JSON.parse` does, which lets an attacker show one value to a verifier and
 * another to a different parser. Also rejects trailing content. Strings decode
 * exactly as JSON.parse decodes them; `__proto__` is an ordinary own key.
 */
export function parseStrictJson(text: string): unknown {
  let i = 0;
  const fail = (why: string): never => {
    throw new StrictJsonError('json-malformed', `invalid JSON at offset ${i}: ${why}`, String(i));
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('bad escape');
      } else if (c < 0x20) fail('control character in string');
      else i++;
    }
    return fail('unterminated string');
  };
  const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const value = (path: string, depth: number): unknown => {
    if (depth > 512) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const key = str();
        const childPath = `${path}.${key}`;
        if (seen.has(key)) throw new StrictJsonError('duplicate-key', `duplicate JSON key "${key}" at ${childPath}`, childPath);
        seen.add(key);
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        const v = value(childPath, depth + 1);
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(`${path}[${arr.length}]`, depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m && m[0].length > 0) {
      i += m[0].length;
      return Number(m[0]);
    }
    return fail('unexpected character');
  };
  const result = value('$', 0);
  ws();
  if (i !== text.length) fail('trailing content');
  return result;
}

// ---------------------------------------------------------------- DSSE

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  /** base64 of the payload bytes. */
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

export type DsseErrorCode = 'envelope-malformed' | 'signature-invalid' | 'duplicate-key';

export class DsseError extends Error {
  override readonly name = 'DsseError';
  constructor(
    readonly code: DsseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** DSSE v1 pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'utf8'), type, Buffer.from(` ${payload.length} `, 'utf8'), payload]);
}

/** Sign `payload` into a DSSE envelope with an Ed25519 private key. */
export function signDsse(payload: Uint8Array | string, payloadType: string, privateKey: KeyObject, keyid = ''): DsseEnvelope {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const sig = sign(null, pae(payloadType, body), privateKey);
  return { payload: body.toString('base64'), payloadType, signatures: [{ keyid, sig: sig.toString('base64') }] };
}

function decodeBase64Strict(s: unknown, what: string): Buffer {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new DsseError('envelope-malformed', `${what} is not base64`);
  const bytes = Buffer.from(s, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== s.replace(/=+$/, '')) throw new DsseError('envelope-malformed', `${what} is not canonical base64`);
  return bytes;
}

/** Parse an envelope's JSON text strictly (duplicate keys are rejected) and check its shape. */
export function parseDsseEnvelope(json: string): DsseEnvelope {
  let raw: unknown;
  try {
    raw = parseStrictJson(json);
  } catch (e) {
    if (e instanceof StrictJsonError) throw new DsseError(e.code === 'duplicate-key' ? 'duplicate-key' : 'envelope-malformed', `envelope: ${e.message}`);
    throw e;
  }
  const env = raw as Partial<DsseEnvelope> | null;
  if (!env || typeof env !== 'object' || Array.isArray(env)) throw new DsseError('envelope-malformed', 'the envelope is not a JSON object');
  if (typeof env.payloadType !== 'string') throw new DsseError('envelope-malformed', 'payloadType is missing');
  decodeBase64Strict(env.payload, 'payload');
  if (!Array.isArray(env.signatures) || env.signatures.length === 0) throw new DsseError('envelope-malformed', 'the envelope has no signatures');
  for (const s of env.signatures) {
    if (!s || typeof s !== 'object' || typeof s.sig !== 'string') throw new DsseError('envelope-malformed', 'a signature has no sig');
  }
  return env as DsseEnvelope;
}

/**
 * Verify an envelope with one Ed25519 public key: at least one signature must
 * verify over PAE(payloadType, payload). Returns the payload bytes.
 */
export function verifyDsse(envelope: DsseEnvelope, publicKey: KeyObject, expectedPayloadType = IN_TOTO_PAYLOAD_TYPE): Buffer {
  if (envelope.payloadType !== expectedPayloadType) {
    throw new DsseError('envelope-malformed', `payloadType is "${envelope.payloadType}", expected "${expectedPayloadType}"`);
  }
  const payload = decodeBase64Strict(envelope.payload, 'payload');
  const message = pae(envelope.payloadType, payload);
  const ok = envelope.signatures.some((s) => {
    const sig = decodeBase64Strict(s.sig, 'signature');
    return sig.length === 64 && verify(null, message, publicKey, sig);
  });
  if (!ok) throw new DsseError('signature-invalid', 'no envelope signature verifies with the given public key');
  return payload;
}

// ---------------------------------------------------------------- in-toto Statement v1

export interface InclusionProofJson {
  /** The leaf's index in the tenant's ledger. */
  leaf_index: number;
  /** The tree size the proof is for; equals the checkpoint's size. */
  tree_size: number;
  /** Base64 of each proof hash, bottom up (RFC 9162 2.1.3). */
  hashes: string[];
}

export interface ConsistencyProofJson {
  from_size: number;
  to_size: number;
  /** Base64 of each proof hash (RFC 9162 2.1.4). */
  hashes: string[];
}

/** The step content whose hashes the bundle lists (optional: bundles carry hashes, not content). */
export type StepContent = HashableStep;

export interface EvidencePredicate {
  bundle: EvidenceBundle;
  /** The sealed trace summary row whose leaf (`traceLeafData`) is in the ledger. */
  trace: TraceSummary;
  inclusion_proof: InclusionProofJson;
  /** The signed checkpoint note (C2SP tlog-checkpoint + signed-note) the proof is against. */
  checkpoint: string;
  /** Optional: from an earlier checkpoint an auditor may hold to this one. */
  consistency_proof?: ConsistencyProofJson;
  /** Optional: the step content, so that every step hash can be recomputed. */
  steps_content?: StepContent[];
}

export interface InTotoStatement<P = EvidencePredicate> {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: Array<{ name: string; digest: { sha256: string } }>;
  predicateType: string;
  predicate: P;
}

/** The in-toto Statement v1 for an evidence bundle: subject `trace:<id>` with its content hash. */
export function buildEvidenceStatement(predicate: EvidencePredicate): InTotoStatement {
  const contentHash = predicate.trace.content_hash;
  if (!contentHash) throw new TypeError(`trace ${predicate.trace.trace_id} is not sealed (no content_hash)`);
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: `trace:${predicate.trace.trace_id}`, digest: { sha256: contentHash } }],
    predicateType: EVIDENCE_PREDICATE_TYPE,
    predicate,
  };
}

/** Sign an evidence statement as a DSSE envelope (JSON text of the statement as payload). */
export function signEvidenceStatement(statement: InTotoStatement, privateKey: KeyObject, keyid = ''): DsseEnvelope {
  return signDsse(JSON.stringify(statement), IN_TOTO_PAYLOAD_TYPE, privateKey, keyid);
}
