import { generateKeyPairSync } from 'node:crypto';
import { buildEvidenceStatement, type EvidencePredicate } from './dsse';
import { canonicalJson, computeTraceHash, sha256Hex } from './hashing';
import { hashLeaf, inclusionProof } from './merkle';
import { consistencyProofJson, KEY_NAME, makeLedgerFixture, ORIGIN } from './ledger-test-fixture';
import { traceLeafData, verifySignedBundle, type VerifyOptions, type VerifyResult } from './verify-bundle';

const fx = makeLedgerFixture();
const other = generateKeyPairSync('ed25519');
const T = 2; // the third sealed trace of the fixture ledger (3 steps, leaf index 5)
const opts: VerifyOptions = { verifierKey: fx.verifierKey, expectedOrigin: ORIGIN };

/** Issue a bundle for trace T, tampered by `mutate`, re-signed with the real key (an operator holds it). */
function issue(mutate: (p: EvidencePredicate) => void = () => undefined): string {
  const p = fx.predicate(T);
  mutate(p);
  return fx.envelope(p);
}

function reasonOf(result: VerifyResult): string {
  return result.ok ? 'ok' : result.reason.code;
}

/** Recompute the trace hash everywhere the bundle states it, as a careful forger would. */
function resealTraceHash(p: EvidencePredicate): void {
  const hash = computeTraceHash(p.bundle.trace_evidence.steps);
  p.bundle.integrity.content_hash = hash;
  p.trace.content_hash = hash;
}

describe('traceLeafData', () => {
  const { trace, steps } = fx.traces[T];
  const hashes = steps.map((s) => s.content_hash);

  it('is the JCS of the leaf type, the summary without incident_id, and the ordered step hashes', () => {
    const text = Buffer.from(traceLeafData(trace, hashes)).toString('utf8');
    const parsed = JSON.parse(text);
    expect(text).toBe(canonicalJson(parsed));
    expect(parsed.leaf_type).toBe('aos.trace.v1');
    expect(parsed.step_hashes).toEqual(hashes);
    expect(parsed.trace).toMatchObject({ total_tokens: trace.total_tokens, violation_reason: trace.violation_reason, content_hash: trace.content_hash });
    expect(parsed.trace).not.toHaveProperty('incident_id');
  });

  it('changes with a token count, a violation field or the step order, not with the incident link or timestamp offset', () => {
    const base = sha256Hex(traceLeafData(trace, hashes));
    expect(sha256Hex(traceLeafData({ ...trace, total_tokens: trace.total_tokens + 1 }, hashes))).not.toBe(base);
    expect(sha256Hex(traceLeafData({ ...trace, violation_reason: 'other' }, hashes))).not.toBe(base);
    expect(sha256Hex(traceLeafData(trace, [...hashes].reverse()))).not.toBe(base);
    expect(sha256Hex(traceLeafData({ ...trace, incident_id: 'inc-1' } as typeof trace, hashes))).toBe(base);
    const offset = trace.started_at.replace('Z', '+00:00');
    expect(sha256Hex(traceLeafData({ ...trace, started_at: offset }, hashes))).toBe(base);
  });
});

describe('verifySignedBundle', () => {
  it('accepts an untouched bundle, with a verifier key, a raw public key or a PEM key', () => {
    const env = issue();
    const result = verifySignedBundle(env, opts);
    expect(result).toMatchObject({
      ok: true,
      trace_id: fx.traces[T].trace.trace_id,
      content_hash: fx.traces[T].trace.content_hash,
      leaf_index: fx.traces[T].leafIndex,
      checkpoint: { origin: ORIGIN, size: fx.leafHashes.length },
      step_content_checked: false,
    });
    expect(reasonOf(verifySignedBundle(env, { publicKey: fx.publicKey }))).toBe('ok');
    expect(reasonOf(verifySignedBundle(env, { publicKey: fx.publicKey.export({ format: 'pem', type: 'spki' }).toString() }))).toBe('ok');
  });

  it('accepts every trace of the ledger', () => {
    fx.traces.forEach((_, t) => expect(reasonOf(verifySignedBundle(fx.envelope(fx.predicate(t)), opts))).toBe('ok'));
  });

  it('recomputes every step hash when the step content is included', () => {
    const { steps } = fx.traces[T];
    const content = steps.map(({ step_index, step_type, input_data, output_data, timestamp }) => ({ step_index, step_type, input_data, output_data, timestamp }));
    const ok = verifySignedBundle(issue((p) => (p.steps_content = content)), opts);
    expect(ok).toMatchObject({ ok: true, step_content_checked: true });
    const bad = verifySignedBundle(
      issue((p) => (p.steps_content = content.map((s) => (s.step_index === 1 ? { ...s, input_data: { prompt: 'edited' } } : s)))),
      opts,
    );
    expect(bad).toMatchObject({ ok: false, reason: { code: 'step-hash-mismatch', step_index: 1 } });
  });

  // The issue's "Done when" list: each failure has its own precise reason.
  it('rejects a flipped byte in one step hash (trace-hash-mismatch)', () => {
    const r = verifySignedBundle(
      issue((p) => {
        const h = p.bundle.trace_evidence.steps[1].content_hash;
        p.bundle.trace_evidence.steps[1].content_hash = (h[0] === '0' ? '1' : '0') + h.slice(1);
      }),
      opts,
    );
    expect(r).toMatchObject({ ok: false, reason: { code: 'trace-hash-mismatch' } });
    expect(!r.ok && r.reason.message).toContain('a step hash was altered');
  });

  it('rejects a deleted step (trace-hash-mismatch)', () => {
    const r = verifySignedBundle(issue((p) => p.bundle.trace_evidence.steps.splice(1, 1)), opts);
    expect(r).toMatchObject({ ok: false, reason: { code: 'trace-hash-mismatch' } });
    expect(!r.ok && r.reason.message).toContain('a step was deleted');
  });

  it('rejects two swapped steps (trace-hash-mismatch)', () => {
    const r = verifySignedBundle(
      issue((p) => {
        const s = p.bundle.trace_evidence.steps;
        [s[0], s[1]] = [s[1], s[0]];
      }),
      opts,
    );
    expect(r).toMatchObject({ ok: false, reason: { code: 'trace-hash-mismatch' } });
    expect(!r.ok && r.reason.message).toContain('position 0 holds step_index 1');
  });

  it('rejects two swapped step hashes that keep their step_index labels (trace-hash-mismatch)', () => {
    const r = verifySignedBundle(
      issue((p) => {
        const s = p.bundle.trace_evidence.steps;
        [s[0].content_hash, s[1].content_hash] = [s[1].content_hash, s[0].content_hash];
      }),
      opts,
    );
    expect(reasonOf(r)).toBe('trace-hash-mismatch');
  });

  it('rejects an inserted step (trace-hash-mismatch)', () => {
    const r = verifySignedBundle(
      issue((p) => {
        const s = p.bundle.trace_evidence.steps;
        s.push({ ...s[s.length - 1], step_index: s.length, content_hash: sha256Hex('forged step') });
      }),
      opts,
    );
    expect(r).toMatchObject({ ok: false, reason: { code: 'trace-hash-mismatch' } });
    expect(!r.ok && r.reason.message).toContain('a step was inserted');
  });

  it('rejects step edits whose trace hash was recomputed by a forger, by the ledger leaf (inclusion-proof-invalid)', () => {
    for (const mutate of [
      (p: EvidencePredicate) => (p.bundle.trace_evidence.steps[1].content_hash = sha256Hex('edited')),
      (p: EvidencePredicate) => p.bundle.trace_evidence.steps.pop(),
    ]) {
      const r = verifySignedBundle(
        issue((p) => {
          mutate(p);
          resealTraceHash(p);
          p.trace.step_count = p.bundle.trace_evidence.steps.length;
          p.bundle.run_context.step_count = p.trace.step_count;
        }),
        opts,
      );
      expect(reasonOf(r)).toBe('inclusion-proof-invalid');
    }
  });

  it('rejects a changed token count in the trace summary (inclusion-proof-invalid)', () => {
    const r = verifySignedBundle(
      issue((p) => {
        p.trace.total_tokens -= 100;
        p.bundle.run_context.total_tokens -= 100;
      }),
      opts,
    );
    expect(r).toMatchObject({ ok: false, reason: { code: 'inclusion-proof-invalid' } });
    expect(!r.ok && r.reason.message).toContain('totals and violation fields');
  });

  it('rejects a token count changed only where the bundle displays it (bundle-summary-mismatch)', () => {
    const r = verifySignedBundle(issue((p) => (p.bundle.run_context.total_tokens = 1)), opts);
    expect(r).toMatchObject({ ok: false, reason: { code: 'bundle-summary-mismatch', field: 'run_context.total_tokens' } });
  });

  it('rejects a checkpoint signed by another key (checkpoint-signature-invalid)', () => {
    const env = issue((p) => (p.checkpoint = fx.checkpoint(undefined, { key: other.privateKey })));
    expect(reasonOf(verifySignedBundle(env, opts))).toBe('checkpoint-signature-invalid');
    expect(reasonOf(verifySignedBundle(env, { publicKey: fx.publicKey }))).toBe('checkpoint-signature-invalid');
  });

  it('rejects a checkpoint whose body was altered (checkpoint-signature-invalid)', () => {
    const env = issue((p) => (p.checkpoint = p.checkpoint.replace(`\n${fx.leafHashes.length}\n`, `\n${fx.leafHashes.length + 1}\n`)));
    expect(reasonOf(verifySignedBundle(env, opts))).toBe('checkpoint-signature-invalid');
  });

  it('rejects a checkpoint from another origin (checkpoint-origin-mismatch)', () => {
    const env = issue((p) => (p.checkpoint = fx.checkpoint(undefined, { origin: 'aos.example.com/ledger/tenant-2' })));
    expect(reasonOf(verifySignedBundle(env, opts))).toBe('checkpoint-origin-mismatch');
  });

  it('checks consistency with a checkpoint the auditor saved earlier', () => {
    const saved = fx.checkpoint(6);
    const env = issue((p) => (p.consistency_proof = consistencyProofJson(fx.leafHashes, 6, fx.leafHashes.length)));
    expect(verifySignedBundle(env, { ...opts, trustedCheckpoint: saved })).toMatchObject({ ok: true, consistent_with_size: 6 });
    // The proof may also come from the auditor (GET /proof/consistency) rather than the bundle.
    expect(
      reasonOf(verifySignedBundle(issue(), { ...opts, trustedCheckpoint: saved, consistencyProof: consistencyProofJson(fx.leafHashes, 6, 10) })),
    ).toBe('ok');
    expect(reasonOf(verifySignedBundle(issue(), { ...opts, trustedCheckpoint: saved }))).toBe('consistency-proof-missing');
    expect(reasonOf(verifySignedBundle(issue(), { ...opts, trustedCheckpoint: fx.checkpoint() }))).toBe('ok');
  });

  it('rejects a fork: a checkpoint inconsistent with an earlier one (checkpoint-fork)', () => {
    // The auditor saved a checkpoint at size 6; the operator then rewrote leaf 2 and rebuilt the log.
    const forged = [...fx.leafHashes];
    forged[2] = hashLeaf('rewritten history');
    const saved = fx.checkpoint(6, { leafHashes: forged });
    const env = issue((p) => (p.consistency_proof = consistencyProofJson(fx.leafHashes, 6, fx.leafHashes.length)));
    expect(reasonOf(verifySignedBundle(env, { ...opts, trustedCheckpoint: saved }))).toBe('checkpoint-fork');
    // Same size, different root.
    expect(reasonOf(verifySignedBundle(issue(), { ...opts, trustedCheckpoint: fx.checkpoint(undefined, { leafHashes: forged }) }))).toBe(
      'checkpoint-fork',
    );
  });

  it('rejects a truncated log: a later saved checkpoint the bundle checkpoint does not extend to (checkpoint-fork)', () => {
    // The auditor saved size 10; the operator truncated the tail to 8 and appended other leaves.
    const saved = fx.checkpoint(10);
    const regrown = [...fx.leafHashes.slice(0, 8), hashLeaf('replacement 1'), hashLeaf('replacement 2')];
    const p = fx.predicate(T, 10);
    p.checkpoint = fx.checkpoint(10, { leafHashes: regrown });
    p.inclusion_proof.hashes = inclusionProof(p.inclusion_proof.leaf_index, regrown).map((h) => h.toString('base64'));
    const env = fx.envelope(p);
    expect(reasonOf(verifySignedBundle(env, opts))).toBe('ok'); // without a saved checkpoint, nothing shows
    expect(reasonOf(verifySignedBundle(env, { ...opts, trustedCheckpoint: saved }))).toBe('checkpoint-fork');
    // Truncated to 9: the bundle's checkpoint is older than the saved one and no proof can extend it.
    const shorter = regrown.slice(0, 9);
    const q = fx.predicate(T, 9);
    q.checkpoint = fx.checkpoint(9, { leafHashes: shorter });
    q.inclusion_proof.hashes = inclusionProof(q.inclusion_proof.leaf_index, shorter).map((h) => h.toString('base64'));
    q.consistency_proof = { from_size: 9, to_size: 10, hashes: consistencyProofJson(regrown, 9, 10).hashes };
    expect(reasonOf(verifySignedBundle(fx.envelope(q), { ...opts, trustedCheckpoint: saved }))).toBe('checkpoint-fork');
  });

  it('rejects a statement with duplicate JSON keys (duplicate-key)', () => {
    const p = fx.predicate(T);
    const text = JSON.stringify(buildEvidenceStatement(p)).replace(
      `"total_tokens":${p.trace.total_tokens}`,
      `"total_tokens":1,"total_tokens":${p.trace.total_tokens}`,
    );
    expect(text).toContain('"total_tokens":1,');
    const r = verifySignedBundle(fx.envelope(text), opts);
    expect(r).toMatchObject({ ok: false, reason: { code: 'duplicate-key' } });
    expect(!r.ok && r.reason.message).toContain('total_tokens');
  });

  it('rejects an envelope with duplicate JSON keys (duplicate-key)', () => {
    const env = issue();
    const dup = env.replace('"payloadType":', '"payloadType":"text/plain","payloadType":');
    expect(reasonOf(verifySignedBundle(dup, opts))).toBe('duplicate-key');
  });

  it('rejects a bundle edited without re-signing, or signed by another key (signature-invalid)', () => {
    const env = JSON.parse(issue());
    const statement = JSON.parse(Buffer.from(env.payload, 'base64').toString());
    statement.predicate.trace.total_tokens = 1;
    env.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    expect(reasonOf(verifySignedBundle(JSON.stringify(env), opts))).toBe('signature-invalid');
    expect(reasonOf(verifySignedBundle(fx.envelope(fx.predicate(T), other.privateKey), opts))).toBe('signature-invalid');
  });

  it('rejects malformed input with a precise reason', () => {
    expect(reasonOf(verifySignedBundle('not json', opts))).toBe('envelope-malformed');
    expect(reasonOf(verifySignedBundle(fx.envelope('{"_type":"x"}'), opts))).toBe('statement-malformed');
    expect(reasonOf(verifySignedBundle(issue(), {}))).toBe('key-invalid');
    expect(reasonOf(verifySignedBundle(issue(), { verifierKey: `${KEY_NAME}+00000000+AAAA` }))).toBe('key-invalid');
    const wrongSize = issue((p) => (p.inclusion_proof.tree_size = 9));
    expect(reasonOf(verifySignedBundle(wrongSize, opts))).toBe('inclusion-proof-invalid');
    const wrongIndex = issue((p) => (p.inclusion_proof.leaf_index += 2));
    expect(reasonOf(verifySignedBundle(wrongIndex, opts))).toBe('inclusion-proof-invalid');
  });
});
