import { computeStepHash, computeTraceHash } from './hashing';
import type { TraceStep, TraceSummary } from './model';
import { assembleEvidenceBundle, type BundleInput } from './evidence-bundle';

function fixture(overrides: Partial<TraceSummary> = {}): BundleInput {
  const steps: TraceStep[] = [0, 1, 2].map((i) => {
    const base = { step_index: i, step_type: i === 1 ? 'llm_call' : 'input', timestamp: `2026-01-20T10:00:0${i}.000Z`, input_data: { i }, output_data: null };
    return {
      ...base,
      step_type: base.step_type as TraceStep['step_type'],
      step_id: `s${i}`,
      trace_id: 't',
      tenant_id: 'tenant',
      level: 'info',
      source: null,
      tokens: 10,
      cost_cents: 150,
      duration_ms: 5,
      metadata: null,
      content_hash: computeStepHash(base),
      created_at: '2026-01-20T10:00:05.000Z',
    };
  });
  const trace: TraceSummary = {
    trace_id: 't',
    run_id: 'r',
    tenant_id: 'tenant',
    agent_id: 'a',
    agent_name: 'support-bot',
    status: 'failed',
    step_count: 3,
    total_tokens: 30,
    total_cost_cents: 450,
    total_duration_ms: 2000,
    started_at: '2026-01-20T10:00:00.000Z',
    completed_at: '2026-01-20T10:00:02.000Z',
    content_hash: computeTraceHash(steps),
    is_synthetic: false,
    synthetic_scenario_id: null,
    incident_id: null,
    violation_step_index: 1,
    violation_timestamp: '2026-01-20T10:00:01.000Z',
    violation_policy_id: 'p',
    violation_reason: 'refund above limit',
    created_at: '2026-01-20T10:00:00.000Z',
    ...overrides,
  };
  return {
    bundleId: 'b',
    bundleType: 'evidence',
    generatedAt: '2026-01-21T00:00:00.000Z',
    trace,
    steps,
    policySnapshot: { snapshot_id: 'snap', snapshot: { policies: [{ id: 'p', name: 'refund limit' }], thresholds: { refund_usd: 500 } } },
    incident: null,
  };
}

describe(assembleEvidenceBundle.name, () => {
  it('builds the spec 6.3 bundle with the inflection point and recomputed integrity', () => {
    const b = assembleEvidenceBundle(fixture());
    expect(b.run_context).toMatchObject({ run_id: 'r', agent_id: 'a', tenant_id: 'tenant', status: 'failed' });
    expect(b.run_context.termination_reason).toContain('refund above limit');
    expect(b.policy_context).toMatchObject({ snapshot_id: 'snap', violated_policy_id: 'p', thresholds: { refund_usd: 500 } });
    expect(b.policy_context.policies).toHaveLength(1);
    expect(b.trace_evidence.steps.map((s) => s.is_inflection_point)).toEqual([false, true, false]);
    expect(b.integrity).toMatchObject({ verified: true, failed_steps: [], computed_hash: b.integrity.content_hash });
    expect(b.control_mappings).toBeUndefined();
  });

  it('reports a step that no longer matches its hash', () => {
    const input = fixture();
    input.steps[2] = { ...input.steps[2], input_data: { i: 99 } };
    const b = assembleEvidenceBundle(input);
    expect(b.integrity.verified).toBe(false);
    expect(b.integrity.failed_steps).toEqual([2]);
  });

  it('adds CC7.2–CC7.4 mappings and an attestation to a SOC2 bundle', () => {
    const b = assembleEvidenceBundle({ ...fixture(), bundleType: 'soc2' });
    expect(b.control_mappings?.map((c) => c.control_id)).toEqual(['CC7.2', 'CC7.3', 'CC7.4']);
    expect(b.control_mappings?.every((c) => c.evidence.length > 0)).toBe(true);
    expect(b.attestation_statement).toContain('matched the recorded hashes');
  });

  it('writes the executive summary in plain language from the data', () => {
    const b = assembleEvidenceBundle({ ...fixture(), bundleType: 'executive' });
    expect(b.incident_summary).toContain('support-bot');
    expect(b.incident_summary).toContain('$4.50');
    expect(b.risk_level).toBe('high');
    expect(b.recommended_actions).toEqual(expect.arrayContaining([expect.stringContaining('Open an incident')]));
    const clean = assembleEvidenceBundle({
      ...fixture({ violation_step_index: null, violation_policy_id: null, violation_reason: null, violation_timestamp: null, status: 'completed' }),
      bundleType: 'executive',
    });
    expect(clean.risk_level).toBe('low');
  });
});
