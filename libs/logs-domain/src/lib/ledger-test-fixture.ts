import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { signCheckpoint, verifierKeyString } from './checkpoint';
import { buildEvidenceStatement, signDsse, IN_TOTO_PAYLOAD_TYPE, type EvidencePredicate } from './dsse';
import { assembleEvidenceBundle } from './evidence-bundle';
import { computeStepHash, computeTraceHash } from './hashing';
import { consistencyProof, hashLeaf, inclusionProof, MerkleTreeBuilder } from './merkle';
import type { TraceStep, TraceSummary } from './model';
import { recordLeafData, traceLeafData } from './verify-bundle';

/**
 * Test fixture (not exported from the library): a small per-tenant ledger of
 * audit rows and sealed traces, a signing key, signed checkpoints and signed
 * evidence bundles, as the server side will produce them.
 */

export const ORIGIN = 'aos.example.com/ledger/tenant-1';
export const KEY_NAME = 'aos.example.com/ledger';

export interface LedgerFixture {
  privateKey: KeyObject;
  publicKey: KeyObject;
  verifierKey: string;
  traces: Array<{ trace: TraceSummary; steps: TraceStep[]; leafIndex: number }>;
  leafHashes: Buffer[];
  /** Signed checkpoint note at `size` leaves (default: all). */
  checkpoint(size?: number, opts?: { origin?: string; key?: KeyObject; leafHashes?: Buffer[] }): string;
  /** The predicate for trace `t` against the checkpoint at `size` (default: all leaves). */
  predicate(t: number, size?: number): EvidencePredicate;
  /** Sign a predicate (optionally as raw statement JSON text) into envelope JSON. */
  envelope(predicate: EvidencePredicate | string, key?: KeyObject): string;
}

function makeTrace(n: number, stepCount: number): { trace: TraceSummary; steps: TraceStep[] } {
  const traceId = `00000000-0000-4000-8000-00000000000${n}`;
  const steps: TraceStep[] = Array.from({ length: stepCount }, (_, i) => {
    const base = {
      step_index: i,
      step_type: (i === 0 ? 'input' : 'llm_call') as TraceStep['step_type'],
      timestamp: `2026-01-20T10:0${n}:0${i}.000Z`,
      input_data: { prompt: `trace ${n} step ${i}` },
      output_data: i === stepCount - 1 ? null : { text: `answer ${i}` },
    };
    return {
      ...base,
      step_id: `${traceId}-s${i}`,
      trace_id: traceId,
      tenant_id: 'tenant-1',
      level: 'info',
      source: null,
      tokens: 100 + i,
      cost_cents: 2,
      duration_ms: 40,
      metadata: null,
      content_hash: computeStepHash(base),
      created_at: base.timestamp,
    };
  });
  const trace: TraceSummary = {
    trace_id: traceId,
    run_id: `run-${n}`,
    tenant_id: 'tenant-1',
    agent_id: 'agent-1',
    agent_name: 'support-bot',
    status: n % 2 === 0 ? 'completed' : 'failed',
    step_count: stepCount,
    total_tokens: steps.reduce((a, s) => a + s.tokens, 0),
    total_cost_cents: steps.reduce((a, s) => a + s.cost_cents, 0),
    total_duration_ms: 40 * stepCount,
    started_at: `2026-01-20T10:0${n}:00.000Z`,
    completed_at: `2026-01-20T10:0${n}:09.000Z`,
    content_hash: computeTraceHash(steps),
    is_synthetic: false,
    synthetic_scenario_id: null,
    incident_id: null,
    violation_step_index: n % 2 === 0 ? null : 1,
    violation_timestamp: n % 2 === 0 ? null : `2026-01-20T10:0${n}:01.000Z`,
    violation_policy_id: n % 2 === 0 ? null : 'refund-limit',
    violation_reason: n % 2 === 0 ? null : 'refund above limit',
    created_at: `2026-01-20T10:0${n}:00.000Z`,
  };
  return { trace, steps };
}

export function makeLedgerFixture(): LedgerFixture {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const builder = new MerkleTreeBuilder();
  const leafHashes: Buffer[] = [];
  const traces: LedgerFixture['traces'] = [];
  // Audit rows interleaved with sealed traces, in commit order.
  for (let n = 1; n <= 5; n++) {
    const audit = hashLeaf(recordLeafData('aos.audit.v1', { audit_id: `audit-${n}`, action: 'trace.sealed', at: `2026-01-20T10:0${n}:10.000Z` }));
    builder.append(audit);
    leafHashes.push(audit);
    const t = makeTrace(n, 3 + (n % 3));
    const leaf = hashLeaf(traceLeafData(t.trace, t.steps.map((s) => s.content_hash)));
    traces.push({ ...t, leafIndex: builder.size });
    builder.append(leaf);
    leafHashes.push(leaf);
  }

  const checkpoint: LedgerFixture['checkpoint'] = (size = leafHashes.length, opts = {}) => {
    const leaves = opts.leafHashes ?? leafHashes;
    const b = new MerkleTreeBuilder();
    leaves.slice(0, size).forEach((h) => b.append(h));
    return signCheckpoint({ origin: opts.origin ?? ORIGIN, size, rootHash: b.root(), extensions: [] }, KEY_NAME, opts.key ?? privateKey);
  };

  const predicate: LedgerFixture['predicate'] = (t, size = leafHashes.length) => {
    const { trace, steps, leafIndex } = traces[t];
    const bundle = assembleEvidenceBundle({
      bundleId: `bundle-${t}`,
      bundleType: 'evidence',
      generatedAt: '2026-01-21T00:00:00.000Z',
      trace,
      steps,
      policySnapshot: null,
      incident: null,
    });
    return JSON.parse(
      JSON.stringify({
        bundle,
        trace,
        inclusion_proof: {
          leaf_index: leafIndex,
          tree_size: size,
          hashes: inclusionProof(leafIndex, leafHashes.slice(0, size)).map((h) => h.toString('base64')),
        },
        checkpoint: checkpoint(size),
      }),
    ) as EvidencePredicate;
  };

  const envelope: LedgerFixture['envelope'] = (p, key = privateKey) => {
    const text = typeof p === 'string' ? p : JSON.stringify(buildEvidenceStatement(p));
    return JSON.stringify(signDsse(text, IN_TOTO_PAYLOAD_TYPE, key));
  };

  return { privateKey, publicKey, verifierKey: verifierKeyString(KEY_NAME, publicKey), traces, leafHashes, checkpoint, predicate, envelope };
}

/** Consistency proof JSON between two sizes of the fixture's ledger (or of other leaves). */
export function consistencyProofJson(leafHashes: Buffer[], from: number, to: number) {
  return { from_size: from, to_size: to, hashes: consistencyProof(from, to, leafHashes).map((h) => h.toString('base64')) };
}
