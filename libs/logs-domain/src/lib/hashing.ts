import { createHash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';
import type { JsonValue, StepVerification, TraceVerification } from './model';
import { toCanonicalTimestamp } from './time';

/**
 * The integrity contract of DESIGN.md section 4, in the one place that knows it.
 * Third parties reproduce these hashes with any RFC 8785 implementation and SHA-256.
 */

/**
 * safe-stable-stringify, deterministic and strict, writes RFC 8785 for every
 * JSON value: object keys sorted by UTF-16 code units, numbers as ECMAScript
 * writes them, strings escaped as JSON.stringify does, no whitespace. Strict, it
 * throws on what JSON cannot carry (NaN, Infinity, functions, symbols, bigints,
 * cycles). It is ~2.5 times faster than the `canonicalize` package, which the
 * unit tests keep as a reference (and the RFC's published vectors as the law).
 */
const stringifyJcs = configure({ deterministic: true, strict: true, circularValue: TypeError, bigint: false });
/** An escaped lone surrogate in the output: a `\udXXX` escape after an even run of backslashes. */
const LONE_SURROGATE = /(?<!\\)(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i;

/** RFC 8785 (JCS) canonical JSON text of a JSON value. */
export function canonicalJson(value: unknown): string {
  const text = stringifyJcs(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  // Escaped, not refused, by the serialiser; RFC 8785 (I-JSON) has no unpaired surrogates.
  if (text.includes('\\u') && LONE_SURROGATE.test(text)) throw new TypeError('value holds an unpaired UTF-16 surrogate');
  return text;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The fields of a step that its hash covers; absent data counts as `null`. */
export interface HashableStep {
  step_index: number;
  step_type: string;
  input_data?: JsonValue | null;
  output_data?: JsonValue | null;
  timestamp: string | Date;
}

/** The exact object that is canonicalised for a step hash. */
export function stepHashPayload(step: HashableStep): Record<string, JsonValue> {
  return {
    step_index: step.step_index,
    step_type: step.step_type,
    input_data: step.input_data ?? null,
    output_data: step.output_data ?? null,
    timestamp: toCanonicalTimestamp(step.timestamp),
  };
}

/** `hex(sha256(JCS({step_index, step_type, input_data, output_data, timestamp})))`. */
export function computeStepHash(step: HashableStep): string {
  return hashStepContent(step).content_hash;
}

/** A step hash and the RFC 8785 texts of the step's data, which a caller may store as they are. */
export interface HashedStepContent {
  content_hash: string;
  /** JCS of `input_data` (`null` when absent): valid JSON, ready for a jsonb parameter. */
  input_json: string;
  /** JCS of `output_data` (`null` when absent). */
  output_json: string;
}

/**
 * computeStepHash, keeping the canonical JSON of `input_data` and `output_data`
 * so that the caller need not serialise them again. The hashed text is the
 * very JCS of stepHashPayload: JCS is compositional, and the payload's keys in
 * JCS order are input_data, output_data, step_index, step_type, timestamp.
 */
export function hashStepContent(step: HashableStep): HashedStepContent {
  const input_json = canonicalJson(step.input_data ?? null);
  const output_json = canonicalJson(step.output_data ?? null);
  if (typeof step.step_index !== 'number' || typeof step.step_type !== 'string') {
    // Not a well-formed step: the payload as a whole decides (and throws where JCS does).
    return { content_hash: sha256Hex(canonicalJson(stepHashPayload(step))), input_json, output_json };
  }
  const content_hash = hashCanonicalStep(input_json, output_json, step.step_index, step.step_type, step.timestamp);
  return { content_hash, input_json, output_json };
}

/**
 * SHA-256 of the JCS text of a step's hash payload, given the JCS texts of its
 * input and output: JCS is compositional, and the payload's keys in JCS order
 * are input_data, output_data, step_index, step_type, timestamp.
 */
function hashCanonicalStep(inputJson: string, outputJson: string, stepIndex: number, stepType: string, timestamp: string | Date): string {
  return createHash('sha256')
    .update('{"input_data":')
    .update(inputJson)
    .update(',"output_data":')
    .update(outputJson)
    .update(',"step_index":')
    .update(canonicalJson(stepIndex))
    .update(',"step_type":')
    .update(canonicalJson(stepType))
    .update(',"timestamp":')
    .update(canonicalJson(toCanonicalTimestamp(timestamp)))
    .update('}')
    .digest('hex');
}

/** `hex(sha256(step hashes concatenated in step_index order))`; no steps hashes "". */
export function computeTraceHash(steps: ReadonlyArray<{ step_index: number; content_hash: string }>): string {
  const ordered = [...steps].sort((a, b) => a.step_index - b.step_index);
  return sha256Hex(ordered.map((s) => s.content_hash).join(''));
}

export interface StoredStep extends HashableStep {
  content_hash: string;
}

/**
 * A stored step whose input and output are the JSON texts as stored (`null`
 * when absent): the store keeps the RFC 8785 text it hashed, byte for byte.
 */
export interface StoredStepText {
  step_index: number;
  step_type: string;
  input_json: string | null;
  output_json: string | null;
  timestamp: string | Date;
  content_hash: string;
}

/**
 * The contract hash of a stored step read as text. The stored texts are hashed
 * as they are first: the writer stores the very JCS text it hashed, so an
 * untouched step matches without a JSON parse or a canonicalisation. A text that
 * does not match (one stored in another form, or altered) is parsed and
 * canonicalised, so the answer is always the contract's: sha256 of the JCS of
 * the values the stored texts hold.
 */
export function computeStoredStepHash(step: StoredStepText): string {
  const input = step.input_json ?? 'null';
  const output = step.output_json ?? 'null';
  const asStored = hashCanonicalStep(input, output, step.step_index, step.step_type, step.timestamp);
  if (asStored === step.content_hash) return asStored;
  try {
    return computeStepHash({ ...step, input_data: JSON.parse(input) as JsonValue, output_data: JSON.parse(output) as JsonValue });
  } catch {
    // Text that JCS cannot carry (e.g. an escaped lone surrogate) was never hashed by the writer: a mismatch.
    return asStored;
  }
}

/**
 * Recomputes step hashes one step at a time (so a long trace can be verified
 * while it streams in), then the trace hash from the recomputed step hashes,
 * so a step altered together with its stored hash still fails against the
 * sealed trace hash. Steps must arrive in step_index order. Nothing is
 * repaired: a mismatch is reported, never fixed.
 */
export class TraceVerifier {
  private readonly report: StepVerification[] = [];
  private readonly digest = createHash('sha256');
  private contiguous = true;

  add(step: StoredStep): StepVerification {
    return this.record(step, computeStepHash(step));
  }

  /** add() for a step read with its data as stored JSON text (see computeStoredStepHash). */
  addStoredText(step: StoredStepText): StepVerification {
    return this.record(step, computeStoredStepHash(step));
  }

  /**
   * Takes a step whose stored texts were hashed where they lie (a store that
   * assembles the payload exactly as this module does, e.g. in SQL), when that
   * hash matches the stored one; answers false, recording nothing, when it does
   * not: the caller then adds the step with addStoredText, which judges it by
   * the contract. A wrong assembly can only fail to match, never match
   * different content.
   */
  addIfHashedAsStored(step: { step_index: number; content_hash: string }, hashAsStored: string): boolean {
    if (hashAsStored !== step.content_hash) return false;
    this.record(step, hashAsStored);
    return true;
  }

  private record(step: { step_index: number; content_hash: string }, computed: string): StepVerification {
    if (step.step_index !== this.report.length) this.contiguous = false;
    const line = { step_index: step.step_index, stored: step.content_hash, computed, ok: computed === step.content_hash };
    this.report.push(line);
    this.digest.update(computed);
    return line;
  }

  /** The `/verify` answer; an open trace (`content_hash` null) verifies on its steps alone. */
  result(trace: { content_hash: string | null; step_count?: number }): TraceVerification {
    const computedHash = this.digest.digest('hex');
    const countMatches = trace.step_count === undefined || trace.step_count === this.report.length;
    const traceOk = trace.content_hash === null || trace.content_hash === computedHash;
    return {
      verified: this.report.every((r) => r.ok) && this.contiguous && countMatches && traceOk,
      content_hash: trace.content_hash,
      computed_hash: computedHash,
      steps: this.report,
    };
  }
}

/** Recomputes every step hash and the trace hash from content (see TraceVerifier). */
export function verifyTraceIntegrity(
  trace: { content_hash: string | null; step_count?: number },
  steps: ReadonlyArray<StoredStep>,
): TraceVerification {
  const verifier = new TraceVerifier();
  for (const step of [...steps].sort((a, b) => a.step_index - b.step_index)) verifier.add(step);
  return verifier.result(trace);
}
