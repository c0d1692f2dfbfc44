import { createPublicKey, KeyObject } from 'node:crypto';
import {
  ed25519PublicKeyFromRaw,
  ed25519RawPublicKey,
  NoteError,
  noteKeyId,
  openCheckpoint,
  parseVerifierKey,
  splitNote,
  type Checkpoint,
  type VerifierKey,
} from './checkpoint';
import {
  DsseError,
  EVIDENCE_PREDICATE_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  parseDsseEnvelope,
  parseStrictJson,
  StrictJsonError,
  verifyDsse,
  type ConsistencyProofJson,
  type EvidencePredicate,
  type InTotoStatement,
} from './dsse';
import { canonicalJson, computeStepHash, sha256Hex } from './hashing';
import { emptyRoot, hashLeaf, MerkleProofError, verifyConsistency, verifyInclusion } from './merkle';
import type { TraceSummary } from './model';
import type { AuditLog, SystemLog } from './logs';
import { toCanonicalTimestamp } from './time';

// ---------------------------------------------------------------- ledger leaves

/** Leaf type tags: leaves of different record kinds can never be confused. */
export const TRACE_LEAF_TYPE = 'aos.trace.v1';

/**
 * The fields of the sealed trace summary row that its ledger leaf covers: every
 * column but `incident_id`, which may be set once after sealing (the link is
 * evidenced by the audit log row that records it, which is a leaf of its own).
 */
export const TRACE_LEAF_FIELDS = [
  'trace_id',
  'run_id',
  'tenant_id',
  'agent_id',
  'agent_name',
  'status',
  'step_count',
  'total_tokens',
  'total_cost_cents',
  'total_duration_ms',
  'started_at',
  'completed_at',
  'content_hash',
  'is_synthetic',
  'synthetic_scenario_id',
  'violation_step_index',
  'violation_timestamp',
  'violation_policy_id',
  'violation_reason',
  'created_at',
] as const satisfies ReadonlyArray<keyof TraceSummary>;

const TIMESTAMP_FIELDS = new Set<string>(['started_at', 'completed_at', 'violation_timestamp', 'created_at']);

export type TraceLeafSummary = Pick<TraceSummary, (typeof TRACE_LEAF_FIELDS)[number]>;

/**
 * The ledger leaf of a sealed trace: the UTF-8 bytes of the RFC 8785 canonical
 * form of `{leaf_type, trace: <summary fields>, step_hashes: [<in step order>]}`,
 * timestamps normalised to `YYYY-MM-DDTHH:mm:ss.SSSZ`. Its leaf hash is
 * `hashLeaf(traceLeafData(...))`. The server appends exactly this when a trace
 * is sealed; the verifier recomputes it from the bundle. Totals, violation fields
 * and the content hash are covered, so changing a token count changes the leaf.
 */
export function traceLeafData(summary: TraceLeafSummary, stepHashes: ReadonlyArray<string>): Uint8Array {
  const trace: Record<string, unknown> = {};
  for (const field of TRACE_LEAF_FIELDS) {
    const v = summary[field] ?? null;
    trace[field] = TIMESTAMP_FIELDS.has(field) && v !== null ? toCanonicalTimestamp(v as string) : v;
  }
  return Buffer.from(canonicalJson({ leaf_type: TRACE_LEAF_TYPE, trace, step_hashes: [...stepHashes] }), 'utf8');
}

/**
 * The ledger leaf of any other record (an audit log row, a system log row):
 * UTF-8 of JCS `{leaf_type, record}`, e.g. `recordLeafData('aos.audit.v1', row)`.
 */
export function recordLeafData(leafType: string, record: Record<string, unknown>): Uint8Array {
  return Buffer.from(canonicalJson({ leaf_type: leafType, record }), 'utf8');
}

/** Leaf type of an audit log row (`recordLeafData(AUDIT_LEAF_TYPE, <the AuditLog record>)`). */
export const AUDIT_LEAF_TYPE = 'aos.audit.v1';
/** Leaf type of a system log row (`recordLeafData(SYSTEM_LOG_LEAF_TYPE, <the SystemLog record>)`). */
export const SYSTEM_LOG_LEAF_TYPE = 'aos.syslog.v1';
export const LEAF_TYPES = [TRACE_LEAF_TYPE, AUDIT_LEAF_TYPE, SYSTEM_LOG_LEAF_TYPE] as const;
export type LeafType = (typeof LEAF_TYPES)[number];

/** The ledger leaf of an audit log row: every field of the stored record as the API answers it. */
export function auditLogLeafData(log: AuditLog): Uint8Array {
  return recordLeafData(AUDIT_LEAF_TYPE, log as unknown as Record<string, unknown>);
}

/** The ledger leaf of a system log row: every field of the stored record as the API answers it. */
export function systemLogLeafData(log: SystemLog): Uint8Array {
  return recordLeafData(SYSTEM_LOG_LEAF_TYPE, log as unknown as Record<string, unknown>);
}

// ---------------------------------------------------------------- verification

export type VerifyReasonCode =
  | 'envelope-malformed'
  | 'duplicate-key'
  | 'signature-invalid'
  | 'statement-malformed'
  | 'step-hash-mismatch'
  | 'trace-hash-mismatch'
  | 'step-index-mismatch'
  | 'checkpoint-malformed'
  | 'checkpoint-signature-invalid'
  | 'checkpoint-origin-mismatch'
  | 'inclusion-proof-invalid'
  | 'bundle-summary-mismatch'
  | 'consistency-proof-missing'
  | 'checkpoint-fork'
  | 'key-invalid';

export interface VerifyReason {
  code: VerifyReasonCode;
  message: string;
  /** The step concerned, for `step-hash-mismatch` and `step-index-mismatch`. */
  step_index?: number;
  /** The bundle field concerned, for `bundle-summary-mismatch`. */
  field?: string;
}

export interface VerifiedBundle {
  ok: true;
  trace_id: string;
  content_hash: string;
  leaf_index: number;
  checkpoint: { origin: string; size: number; root_hash: string };
  /** Size of the trusted checkpoint this one was proven consistent with, when one was given. */
  consistent_with_size?: number;
  /** Whether step content was present and every step hash was recomputed from it. */
  step_content_checked: boolean;
  statement: InTotoStatement;
}

export type VerifyResult = VerifiedBundle | { ok: false; reason: VerifyReason };

export interface VerifyOptions {
  /** The Ed25519 public key (KeyObject, 32 raw bytes or SPKI PEM) that signs envelopes and checkpoints. */
  publicKey?: KeyObject | Uint8Array | string;
  /** Or the signed-note verifier key string `<name>+<hex id>+<base64 key>`. */
  verifierKey?: string;
  /** A signed checkpoint note the auditor saved earlier, outside the operator's database. */
  trustedCheckpoint?: string;
  /** The origin (log identity) the checkpoints must carry. */
  expectedOrigin?: string;
  /** A consistency proof between the trusted checkpoint and the bundle's; else the predicate's is used. */
  consistencyProof?: ConsistencyProofJson;
}

class Rejection extends Error {
  constructor(readonly reason: VerifyReason) {
    super(reason.message);
  }
}

function reject(code: VerifyReasonCode, message: string, extra: Partial<VerifyReason> = {}): never {
  throw new Rejection({ code, message, ...extra });
}

const HEX64 = /^[0-9a-f]{64}$/;

function resolveKeys(opts: VerifyOptions): { publicKey: KeyObject; verifier?: VerifierKey } {
  try {
    if (opts.verifierKey) {
      const verifier = parseVerifierKey(opts.verifierKey);
      return { publicKey: verifier.publicKey, verifier };
    }
    if (opts.publicKey === undefined) return reject('key-invalid', 'no public key or verifier key was given');
    const k = opts.publicKey;
    const publicKey =
      k instanceof KeyObject ? (k.type === 'private' ? createPublicKey(k) : k) : typeof k === 'string' ? createPublicKey(k) : ed25519PublicKeyFromRaw(k);
    ed25519RawPublicKey(publicKey); // asserts Ed25519
    return { publicKey };
  } catch (e) {
    if (e instanceof Rejection) throw e;
    return reject('key-invalid', `the verification key is unusable: ${(e as Error).message}`);
  }
}

/** With only a public key, the note's key name is taken from a signature line whose key id matches it. */
function verifierFor(note: string, publicKey: KeyObject, verifier?: VerifierKey): VerifierKey {
  if (verifier) return verifier;
  const raw = ed25519RawPublicKey(publicKey);
  let sigs: ReturnType<typeof splitNote>['signatures'] = [];
  try {
    sigs = splitNote(note).signatures;
  } catch (e) {
    if (e instanceof NoteError) reject('checkpoint-malformed', `checkpoint note: ${e.message}`);
    throw e;
  }
  const mine = sigs.find((s) => s.keyId.equals(noteKeyId(s.name, raw)));
  if (!mine) {
    const seen = sigs.map((s) => `${s.name}+${s.keyId.toString('hex')}`).join(', ');
    return reject('checkpoint-signature-invalid', `the checkpoint is not signed by the given key (signed by: ${seen})`);
  }
  return { name: mine.name, keyId: noteKeyId(mine.name, raw), publicKey, rawPublicKey: raw };
}

function openNote(what: string, note: string, publicKey: KeyObject, verifier: VerifierKey | undefined, origin?: string): Checkpoint {
  try {
    return openCheckpoint(note, verifierFor(note, publicKey, verifier), origin);
  } catch (e) {
    if (!(e instanceof NoteError)) throw e;
    switch (e.code) {
      case 'checkpoint-origin-mismatch':
        return reject('checkpoint-origin-mismatch', `${what}: ${e.message}`);
      case 'note-unverified':
      case 'note-signature-invalid':
        return reject('checkpoint-signature-invalid', `${what}: ${e.message}`);
      default:
        return reject('checkpoint-malformed', `${what}: ${e.message}`);
    }
  }
}

function b64Hashes(list: unknown, what: string): Buffer[] {
  if (!Array.isArray(list) || !list.every((h) => typeof h === 'string')) return reject('statement-malformed', `${what} is not a list of base64 hashes`);
  return list.map((h: string) => Buffer.from(h, 'base64'));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkStatementShape(st: unknown): InTotoStatement {
  if (!isObject(st)) return reject('statement-malformed', 'the payload is not a JSON object');
  if (st['_type'] !== IN_TOTO_STATEMENT_TYPE) reject('statement-malformed', `_type is not ${IN_TOTO_STATEMENT_TYPE}`);
  if (st['predicateType'] !== EVIDENCE_PREDICATE_TYPE) reject('statement-malformed', `predicateType is not ${EVIDENCE_PREDICATE_TYPE}`);
  const subject = st['subject'];
  if (!Array.isArray(subject) || subject.length !== 1 || !isObject(subject[0]) || !isObject(subject[0]['digest'])) {
    reject('statement-malformed', 'the statement must have exactly one subject with a digest');
  }
  const p = st['predicate'];
  if (!isObject(p)) return reject('statement-malformed', 'the predicate is missing');
  const bundle = p['bundle'];
  if (!isObject(bundle) || !isObject(bundle['trace_evidence']) || !Array.isArray(bundle['trace_evidence']['steps'])) {
    reject('statement-malformed', 'predicate.bundle.trace_evidence.steps is missing');
  }
  if (!isObject((bundle as Record<string, unknown>)['integrity']) || !isObject((bundle as Record<string, unknown>)['run_context'])) {
    reject('statement-malformed', 'predicate.bundle has no integrity or run_context');
  }
  if (!isObject(p['trace'])) reject('statement-malformed', 'predicate.trace (the sealed trace summary) is missing');
  const proof = p['inclusion_proof'];
  if (!isObject(proof) || !Number.isSafeInteger(proof['leaf_index']) || !Number.isSafeInteger(proof['tree_size'])) {
    reject('statement-malformed', 'predicate.inclusion_proof needs leaf_index and tree_size');
  }
  if (typeof p['checkpoint'] !== 'string') reject('statement-malformed', 'predicate.checkpoint (the signed note) is missing');
  return st as unknown as InTotoStatement;
}

/** Why a recomputed trace hash differs, in words: count, order, or content. */
function diagnoseSteps(stepIndexes: number[], stepCount: unknown): string {
  const hints: string[] = [];
  if (typeof stepCount === 'number' && stepCount !== stepIndexes.length) {
    hints.push(`the bundle lists ${stepIndexes.length} steps but the sealed trace has step_count ${stepCount} (${stepIndexes.length < stepCount ? 'a step was deleted' : 'a step was inserted'})`);
  }
  const misplaced = stepIndexes.findIndex((idx, pos) => idx !== pos);
  if (misplaced >= 0) hints.push(`position ${misplaced} holds step_index ${stepIndexes[misplaced]} (steps reordered, deleted or inserted)`);
  if (hints.length === 0) hints.push('a step hash was altered');
  return hints.join('; ');
}

/**
 * Verify a signed evidence bundle offline: the DSSE signature, the statement
 * (strict JSON, no duplicate keys), step hashes (when content is included), the
 * trace hash, the checkpoint signature and origin, the ledger leaf and its
 * inclusion proof, the bundle's agreement with the sealed summary, and, given a
 * checkpoint the auditor saved earlier, consistency with it (no fork, no
 * truncation). Returns the first failure with its precise reason.
 */
export function verifySignedBundle(envelopeJson: string, opts: VerifyOptions): VerifyResult {
  try {
    return verifyOrThrow(envelopeJson, opts);
  } catch (e) {
    if (e instanceof Rejection) return { ok: false, reason: e.reason };
    throw e;
  }
}

function verifyOrThrow(envelopeJson: string, opts: VerifyOptions): VerifiedBundle {
  const { publicKey, verifier } = resolveKeys(opts);

  // 1. Envelope and its signature.
  let payload: Buffer;
  try {
    payload = verifyDsse(parseDsseEnvelope(envelopeJson), publicKey);
  } catch (e) {
    if (e instanceof DsseError) reject(e.code, e.message);
    throw e;
  }

  // 2. The statement, parsed strictly.
  let parsed: unknown;
  try {
    parsed = parseStrictJson(payload.toString('utf8'));
  } catch (e) {
    if (e instanceof StrictJsonError) reject(e.code === 'duplicate-key' ? 'duplicate-key' : 'statement-malformed', `statement: ${e.message}`);
    throw e;
  }
  const statement = checkStatementShape(parsed);
  const p: EvidencePredicate = statement.predicate;
  const steps = p.bundle.trace_evidence.steps;
  const trace = p.trace;
  const subject = statement.subject[0];

  steps.forEach((s, pos) => {
    if (!isObject(s) || typeof s.content_hash !== 'string' || !HEX64.test(s.content_hash) || !Number.isSafeInteger(s.step_index)) {
      reject('statement-malformed', `bundle step at position ${pos} has no valid step_index and lowercase hex content_hash`);
    }
  });
  const stepHashes = steps.map((s) => s.content_hash);

  // 3. Step hashes from content, when the content is included.
  const content = p.steps_content;
  if (content !== undefined) {
    if (!Array.isArray(content)) reject('statement-malformed', 'predicate.steps_content is not a list');
    const byIndex = new Map(steps.map((s) => [s.step_index, s.content_hash]));
    for (const step of content) {
      let computed: string;
      try {
        computed = computeStepHash(step);
      } catch (e) {
        return reject('statement-malformed', `steps_content step ${step?.step_index}: ${(e as Error).message}`);
      }
      const listed = byIndex.get(step.step_index);
      if (listed !== computed) {
        reject(
          'step-hash-mismatch',
          `step ${step.step_index}: its content hashes to ${computed} but the bundle lists ${listed ?? '(no such step)'}`,
          { step_index: step.step_index },
        );
      }
    }
    if (content.length !== steps.length) reject('step-hash-mismatch', `steps_content has ${content.length} steps, the bundle lists ${steps.length}`);
  }

  // 4. The trace hash, from the step hashes in the order listed.
  const computedTraceHash = sha256Hex(stepHashes.join(''));
  const claimed: Array<[string, unknown]> = [
    ['integrity.content_hash', p.bundle.integrity.content_hash],
    ['subject digest', subject.digest.sha256],
    ['the sealed trace content_hash', trace.content_hash],
  ];
  for (const [what, value] of claimed) {
    if (value !== computedTraceHash) {
      reject(
        'trace-hash-mismatch',
        `the step hashes hash to ${computedTraceHash} but ${what} is ${String(value)}: ${diagnoseSteps(
          steps.map((s) => s.step_index),
          trace.step_count,
        )}`,
      );
    }
  }
  const misplaced = steps.findIndex((s, pos) => s.step_index !== pos);
  if (misplaced >= 0) {
    reject('step-index-mismatch', `position ${misplaced} is labelled step_index ${steps[misplaced].step_index}`, { step_index: misplaced });
  }
  if (subject.name !== `trace:${trace.trace_id}`) reject('statement-malformed', `subject ${subject.name} is not trace:${trace.trace_id}`);

  // 5. The checkpoint: signature by the same key, origin.
  const checkpoint = openNote('checkpoint', p.checkpoint, publicKey, verifier, opts.expectedOrigin);

  // 6. The leaf and its inclusion proof against the checkpoint root.
  const proof = p.inclusion_proof;
  if (proof.tree_size !== checkpoint.size) {
    reject('inclusion-proof-invalid', `the inclusion proof is for tree size ${proof.tree_size}, the checkpoint has size ${checkpoint.size}`);
  }
  let leafHash: Buffer;
  try {
    leafHash = hashLeaf(traceLeafData(trace, stepHashes));
  } catch (e) {
    return reject('statement-malformed', `predicate.trace cannot be canonicalised: ${(e as Error).message}`);
  }
  try {
    verifyInclusion(proof.leaf_index, proof.tree_size, leafHash, b64Hashes(proof.hashes, 'inclusion_proof.hashes'), checkpoint.rootHash);
  } catch (e) {
    if (!(e instanceof MerkleProofError)) throw e;
    reject(
      'inclusion-proof-invalid',
      `the trace leaf (summary with totals and violation fields, plus step hashes) is not at index ${proof.leaf_index} of the checkpoint's tree: ${e.message}`,
    );
  }

  // 7. The bundle shows what the sealed (ledgered) summary says.
  const b = p.bundle;
  const pairs: Array<[string, unknown, unknown]> = [
    ['run_context.trace_id', b.run_context.trace_id, trace.trace_id],
    ['run_context.run_id', b.run_context.run_id, trace.run_id],
    ['run_context.tenant_id', b.run_context.tenant_id, trace.tenant_id],
    ['run_context.agent_id', b.run_context.agent_id, trace.agent_id],
    ['run_context.agent_name', b.run_context.agent_name, trace.agent_name],
    ['run_context.status', b.run_context.status, trace.status],
    ['run_context.step_count', b.run_context.step_count, trace.step_count],
    ['run_context.total_tokens', b.run_context.total_tokens, trace.total_tokens],
    ['run_context.total_cost_cents', b.run_context.total_cost_cents, trace.total_cost_cents],
    ['run_context.total_duration_ms', b.run_context.total_duration_ms, trace.total_duration_ms],
    ['run_context.started_at', b.run_context.started_at, trace.started_at],
    ['run_context.completed_at', b.run_context.completed_at, trace.completed_at],
    ['run_context.is_synthetic', b.run_context.is_synthetic, trace.is_synthetic],
    ['policy_context.violated_policy_id', b.policy_context?.violated_policy_id, trace.violation_policy_id],
    ['policy_context.violation_step_index', b.policy_context?.violation_step_index, trace.violation_step_index],
    ['policy_context.violation_reason', b.policy_context?.violation_reason, trace.violation_reason],
    ['policy_context.violation_timestamp', b.policy_context?.violation_timestamp, trace.violation_timestamp],
  ];
  for (const [field, shown, sealed] of pairs) {
    if (shown !== sealed) {
      reject('bundle-summary-mismatch', `bundle ${field} is ${JSON.stringify(shown)} but the ledgered trace summary says ${JSON.stringify(sealed)}`, { field });
    }
  }
  if (steps.length !== trace.step_count) {
    reject('bundle-summary-mismatch', `the bundle lists ${steps.length} steps, the ledgered step_count is ${trace.step_count}`, { field: 'trace_evidence.steps' });
  }

  // 8. Consistency with a checkpoint the auditor saved earlier.
  let consistentWith: number | undefined;
  if (opts.trustedCheckpoint !== undefined) {
    const trusted = openNote('trusted checkpoint', opts.trustedCheckpoint, publicKey, verifier, opts.expectedOrigin ?? checkpoint.origin);
    consistentWith = trusted.size;
    const [older, newer] = trusted.size <= checkpoint.size ? [trusted, checkpoint] : [checkpoint, trusted];
    if (older.size === newer.size || older.size === 0) {
      const ok = older.size === 0 ? older.rootHash.equals(emptyRoot()) : older.rootHash.equals(newer.rootHash);
      if (!ok) reject('checkpoint-fork', `two checkpoints of size ${older.size} have different roots: the log forked`);
    } else {
      const cp = opts.consistencyProof ?? p.consistency_proof;
      if (!cp || cp.from_size !== older.size || cp.to_size !== newer.size) {
        reject('consistency-proof-missing', `no consistency proof from size ${older.size} to ${newer.size} was given (fetch /api/v1/integrity/proof/consistency?from=${older.size}&to=${newer.size})`);
      }
      try {
        verifyConsistency(older.size, newer.size, b64Hashes(cp.hashes, 'consistency_proof.hashes'), older.rootHash, newer.rootHash);
      } catch (e) {
        if (!(e instanceof MerkleProofError)) throw e;
        reject('checkpoint-fork', `the checkpoint of size ${newer.size} is not an extension of the one of size ${older.size}: ${e.message}`);
      }
    }
  }

  return {
    ok: true,
    trace_id: trace.trace_id,
    content_hash: computedTraceHash,
    leaf_index: proof.leaf_index,
    checkpoint: { origin: checkpoint.origin, size: checkpoint.size, root_hash: checkpoint.rootHash.toString('base64') },
    ...(consistentWith !== undefined ? { consistent_with_size: consistentWith } : {}),
    step_content_checked: content !== undefined,
    statement,
  };
}
