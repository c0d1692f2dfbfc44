import { createHash } from 'node:crypto';
import canonicalizeJson from 'canonicalize';
import type { JsonValue, StepVerification, TraceVerification } from './model';
import { toCanonicalTimestamp } from './time';

/**
 * The integrity contract of DESIGN.md section 4, in the one place that knows it.
 * Third parties reproduce these hashes with any RFC 8785 implementation and SHA-256.
 */

/** RFC 8785 (JCS) canonical JSON text. */
export function canonicalJson(value: unknown): string {
  const text = canonicalizeJson(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
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
  return sha256Hex(canonicalJson(stepHashPayload(step)));
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
 * Recompute every step hash and the trace hash from content; report each step.
 * The trace hash is computed from the recomputed step hashes, so a step altered
 * together with its stored hash still fails against the sealed trace hash.
 * Nothing is repaired: a mismatch is reported, never fixed.
 */
export function verifyTraceIntegrity(
  trace: { content_hash: string | null; step_count?: number },
  steps: ReadonlyArray<StoredStep>,
): TraceVerification {
  const ordered = [...steps].sort((a, b) => a.step_index - b.step_index);
  const report: StepVerification[] = ordered.map((s) => {
    const computed = computeStepHash(s);
    return { step_index: s.step_index, stored: s.content_hash, computed, ok: computed === s.content_hash };
  });
  const computedHash = sha256Hex(report.map((r) => r.computed).join(''));
  const contiguous = ordered.every((s, i) => s.step_index === i);
  const countMatches = trace.step_count === undefined || trace.step_count === ordered.length;
  const traceOk = trace.content_hash === null ? true : trace.content_hash === computedHash;
  return {
    verified: report.every((r) => r.ok) && contiguous && countMatches && traceOk,
    content_hash: trace.content_hash,
    computed_hash: computedHash,
    steps: report,
  };
}
