import {
  type BundleType,
  computeStepHash,
  computeTraceHash,
  type EvidenceBundle,
  STEP_TYPES,
  type TraceStepEvidence,
} from '@aos/logs-domain';

export const SAMPLE_TRACE_ID = '0194a3b2-7c1d-7e4f-8a2b-3c4d5e6f7a8b';
export const SAMPLE_TENANT_ID = '0194a3b2-0000-7000-8000-000000000001';

/** A realistic bundle of `steps` steps with a violation at `inflection` (tests and benchmarks). */
export function sampleBundle(bundleType: BundleType = 'evidence', steps = 50, inflection = Math.floor(steps * 0.74)): EvidenceBundle {
  const start = Date.UTC(2026, 0, 20, 10, 0, 0);
  const evidence: TraceStepEvidence[] = Array.from({ length: steps }, (_, i) => {
    const step_type = i === 0 ? 'input' : i === inflection ? 'violation' : STEP_TYPES[1 + (i % 4)];
    const timestamp = new Date(start + i * 1234).toISOString();
    return {
      step_index: i,
      step_type,
      level: i === inflection ? 'error' : i % 9 === 0 ? 'warning' : 'info',
      timestamp,
      tokens: 100 + i * 7,
      cost_cents: 1 + (i % 5),
      duration_ms: 200 + i * 3,
      is_inflection_point: i === inflection,
      content_hash: computeStepHash({ step_index: i, step_type, input_data: { q: `question ${i}` }, output_data: { a: `answer ${i}` }, timestamp }),
    };
  });
  const hash = computeTraceHash(evidence);
  const bundle: EvidenceBundle = {
    bundle_id: '0194a3b2-aaaa-7bbb-8ccc-dddddddddddd',
    bundle_type: bundleType,
    generated_at: '2026-01-21T08:30:00.000Z',
    run_context: {
      run_id: '0194a3b2-1111-7222-8333-444444444444',
      agent_id: '0194a3b2-5555-7666-8777-888888888888',
      agent_name: 'refund-assistant',
      tenant_id: SAMPLE_TENANT_ID,
      trace_id: SAMPLE_TRACE_ID,
      status: 'failed',
      started_at: new Date(start).toISOString(),
      completed_at: new Date(start + steps * 1234).toISOString(),
      termination_reason: `The run ended in failure after a policy violation at step ${inflection}: refund above the approval limit.`,
      step_count: steps,
      total_tokens: evidence.reduce((n, s) => n + s.tokens, 0),
      total_cost_cents: evidence.reduce((n, s) => n + s.cost_cents, 0),
      total_duration_ms: steps * 1234,
      is_synthetic: false,
    },
    policy_context: {
      snapshot_id: '0194a3b2-9999-7aaa-8bbb-cccccccccccc',
      policies: [{ policy_id: 'refund-limit', description: 'Refunds above $500 need a human approval', max_refund_usd: 500 }],
      thresholds: { max_refund_usd: 500, max_tokens: 100000 },
      violated_policy_id: '0194a3b2-dddd-7eee-8fff-000000000000',
      violation_step_index: inflection,
      violation_reason: 'refund above the approval limit',
      violation_timestamp: evidence[inflection]?.timestamp ?? null,
    },
    trace_evidence: { steps: evidence },
    incident_context: {
      incident_id: '0194a3b2-1212-7343-8565-787878787878',
      severity: 'high',
      status: 'open',
      title: 'Unapproved refund issued by the refund assistant',
      opened_at: '2026-01-20T10:05:00.000Z',
    },
    integrity: {
      content_hash: hash,
      computed_hash: hash,
      verified: true,
      failed_steps: [],
      algorithm: 'step: sha256(RFC 8785 JCS of {step_index, step_type, input_data, output_data, timestamp}); trace: sha256(step hashes concatenated in step_index order)',
    },
  };
  if (bundleType === 'soc2') {
    bundle.control_mappings = [
      { control_id: 'CC7.2', title: 'System Operations', evidence: [`trace_evidence: ${steps} recorded steps`, 'integrity.verified = true'] },
      { control_id: 'CC7.3', title: 'Change Management', evidence: ['sealed trace with content_hash; immutable steps'] },
      { control_id: 'CC7.4', title: 'Incident Management', evidence: ['incident_context: incident linked to this trace'] },
    ];
    bundle.attestation_statement = `This bundle was generated at ${bundle.generated_at}; every hash was recomputed and matched.`;
  }
  if (bundleType === 'executive') {
    bundle.incident_summary = `The refund-assistant run failed after ${steps} steps: it issued a refund above the approval limit.`;
    bundle.business_impact = 'A refund was paid without the required approval.';
    bundle.risk_level = 'high';
    bundle.recommended_actions = ['Review the refund with the finance team.', 'Follow the incident until it is resolved.'];
  }
  return bundle;
}
