import type { BundleType, ControlMapping, EvidenceBundle, IncidentContext } from './evidence';
import { verifyTraceIntegrity } from './hashing';
import type { JsonValue, TraceStep, TraceSummary } from './model';

export interface BundleInput {
  bundleId: string;
  bundleType: BundleType;
  generatedAt: string;
  trace: TraceSummary;
  steps: TraceStep[];
  policySnapshot: { snapshot_id: string; snapshot: JsonValue } | null;
  incident: IncidentContext | null;
}

/**
 * Assembles the evidence bundle of spec 6.3 from stored records. Pure: the same
 * records give the same bundle (but for id and time), and every hash in it is
 * recomputed here, never copied on trust.
 */
export function assembleEvidenceBundle(input: BundleInput): EvidenceBundle {
  const { trace, steps } = input;
  const report = verifyTraceIntegrity(trace, steps);
  const failed = report.steps.filter((s) => !s.ok).map((s) => s.step_index);
  const snapshot = asObject(input.policySnapshot?.snapshot);
  const bundle: EvidenceBundle = {
    bundle_id: input.bundleId,
    bundle_type: input.bundleType,
    generated_at: input.generatedAt,
    run_context: {
      run_id: trace.run_id,
      agent_id: trace.agent_id,
      agent_name: trace.agent_name,
      tenant_id: trace.tenant_id,
      trace_id: trace.trace_id,
      status: trace.status,
      started_at: trace.started_at,
      completed_at: trace.completed_at,
      termination_reason: terminationReason(trace),
      step_count: trace.step_count,
      total_tokens: trace.total_tokens,
      total_cost_cents: trace.total_cost_cents,
      total_duration_ms: trace.total_duration_ms,
      is_synthetic: trace.is_synthetic,
    },
    policy_context: {
      snapshot_id: input.policySnapshot?.snapshot_id ?? null,
      policies: Array.isArray(snapshot['policies']) ? (snapshot['policies'] as JsonValue[]) : [],
      thresholds: asObject(snapshot['thresholds']),
      violated_policy_id: trace.violation_policy_id,
      violation_step_index: trace.violation_step_index,
      violation_reason: trace.violation_reason,
      violation_timestamp: trace.violation_timestamp,
    },
    trace_evidence: {
      steps: steps.map((s) => ({
        step_index: s.step_index,
        step_type: s.step_type,
        level: s.level,
        timestamp: s.timestamp,
        tokens: s.tokens,
        cost_cents: s.cost_cents,
        duration_ms: s.duration_ms,
        is_inflection_point: s.step_index === trace.violation_step_index,
        content_hash: s.content_hash,
      })),
    },
    incident_context: input.incident,
    integrity: {
      content_hash: trace.content_hash,
      computed_hash: report.computed_hash,
      verified: report.verified,
      failed_steps: failed,
      algorithm: 'step: sha256(RFC 8785 JCS of {step_index, step_type, input_data, output_data, timestamp}); trace: sha256(step hashes concatenated in step_index order)',
    },
  };
  if (input.bundleType === 'soc2') {
    bundle.control_mappings = soc2ControlMappings(bundle);
    bundle.attestation_statement = attestation(bundle);
  }
  if (input.bundleType === 'executive') Object.assign(bundle, executiveSummary(bundle));
  return bundle;
}

function asObject(value: JsonValue | undefined | null): Record<string, JsonValue> {
  return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
}

function terminationReason(t: TraceSummary): string {
  if (t.status === 'active') return 'The run is still being recorded (the trace is not sealed).';
  const how = { completed: 'completed normally', failed: 'ended in failure', aborted: 'was aborted' }[t.status];
  const violation = t.violation_step_index !== null ? ` after a policy violation at step ${t.violation_step_index}: ${t.violation_reason}` : '';
  return `The run ${how}${violation}.`;
}

/** SOC2 trust services criteria CC7.2–CC7.4 (spec 6.3), each with what in this bundle evidences it. */
export function soc2ControlMappings(b: EvidenceBundle): ControlMapping[] {
  const steps = b.trace_evidence.steps.length;
  const integrity = b.integrity.verified
    ? `integrity.verified = true: all ${steps} step hashes and the trace hash ${b.integrity.computed_hash} were recomputed at generation time and match`
    : `integrity.verified = false: steps ${b.integrity.failed_steps.join(', ') || '(trace hash)'} do not match their recorded hashes`;
  const violation =
    b.policy_context.violated_policy_id !== null
      ? `policy_context: policy ${b.policy_context.violated_policy_id} was violated at step ${b.policy_context.violation_step_index} (${b.policy_context.violation_reason}), marked as the inflection point in trace_evidence`
      : 'policy_context: no policy violation was recorded for this run';
  return [
    {
      control_id: 'CC7.2',
      title: 'System Operations: the system is monitored for anomalies and policy breaches',
      evidence: [
        `trace_evidence: ${steps} recorded steps of run ${b.run_context.run_id} with timestamps, token and cost figures`,
        violation,
        integrity,
      ],
    },
    {
      control_id: 'CC7.3',
      title: 'Change Management: recorded evidence cannot be changed after the fact',
      evidence: [
        `the trace was sealed at ${b.run_context.completed_at ?? '(not sealed)'} with content_hash ${b.integrity.content_hash ?? '(none)'}; sealed traces and steps are immutable (database triggers reject UPDATE and DELETE)`,
        `policy_context.snapshot_id ${b.policy_context.snapshot_id ?? '(none recorded)'}: the write-once policy snapshot in force for the run`,
        integrity,
      ],
    },
    {
      control_id: 'CC7.4',
      title: 'Incident Management: incidents are identified, linked to their evidence and responded to',
      evidence: [
        b.incident_context
          ? `incident_context: incident ${b.incident_context.incident_id} (severity ${b.incident_context.severity ?? 'unknown'}, status ${b.incident_context.status ?? 'unknown'}) is linked to this trace`
          : 'incident_context: no incident is linked to this trace',
        `run_context.termination_reason: ${b.run_context.termination_reason}`,
      ],
    },
  ];
}

function attestation(b: EvidenceBundle): string {
  const result = b.integrity.verified
    ? 'matched the recorded hashes: the evidence is complete and unaltered since it was recorded'
    : `did NOT match the recorded hashes for steps ${b.integrity.failed_steps.join(', ') || '(trace hash)'}: this evidence must not be relied upon`;
  return (
    `This bundle (${b.bundle_id}) was generated by the AOS Logs service at ${b.generated_at} for tenant ${b.run_context.tenant_id}. ` +
    `It contains the recorded trace ${b.run_context.trace_id} of run ${b.run_context.run_id} (${b.trace_evidence.steps.length} steps). ` +
    `Every step hash and the trace hash were recomputed from the stored records at generation time and ${result}.`
  );
}

/** Plain-language summary for non-engineers, derived from the data (spec 6.3 executive bundle). */
export function executiveSummary(b: EvidenceBundle): Pick<EvidenceBundle, 'incident_summary' | 'business_impact' | 'risk_level' | 'recommended_actions'> {
  const r = b.run_context;
  const p = b.policy_context;
  const agent = r.agent_name ?? `agent ${r.agent_id}`;
  const cost = `$${(r.total_cost_cents / 100).toFixed(2)}`;
  const when = r.started_at.slice(0, 10);
  const outcome = { active: 'is still running', completed: 'completed', failed: 'failed', aborted: 'was stopped' }[r.status];
  const violated = p.violated_policy_id !== null;
  const summary =
    `On ${when}, the ${agent} run ${outcome} after ${r.step_count} steps, using ${r.total_tokens.toLocaleString('en-US')} tokens at a cost of ${cost}. ` +
    (violated
      ? `It broke a company policy at step ${p.violation_step_index}: ${p.violation_reason}.`
      : 'It did not break any recorded policy.') +
    (b.incident_context ? ` It is linked to incident ${b.incident_context.incident_id} (${b.incident_context.status ?? 'status unknown'}).` : '');

  let risk: 'low' | 'medium' | 'high' | 'critical' = 'low';
  if (violated) risk = 'medium';
  if (violated && (r.status === 'failed' || b.incident_context?.severity === 'high')) risk = 'high';
  if (!b.integrity.verified || b.incident_context?.severity === 'critical') risk = 'critical';

  const impact: string[] = [];
  if (violated) impact.push('An automated agent acted outside the rules the company set for it; the action may need to be reviewed or reversed.');
  if (r.status === 'failed' || r.status === 'aborted') impact.push('The task the agent was doing was not finished.');
  if (!b.integrity.verified) impact.push('The records of this run do not match their fingerprints, so they cannot be trusted as evidence.');
  if (impact.length === 0) impact.push('No business impact was detected: the run finished within policy.');
  impact.push(`Direct cost of the run: ${cost}.`);

  const actions: string[] = [];
  if (!b.integrity.verified) actions.push('Treat this evidence as compromised: escalate to security and preserve the database for investigation.');
  if (violated) actions.push(`Review the decision at step ${p.violation_step_index} with the owner of policy ${p.violated_policy_id}.`);
  if (violated && !b.incident_context) actions.push('Open an incident so that the response is tracked.');
  if (b.incident_context && b.incident_context.status !== 'resolved') actions.push(`Follow incident ${b.incident_context.incident_id} until it is resolved.`);
  if (r.status === 'failed') actions.push('Check whether the customer or process affected by the failed run needs follow-up.');
  if (actions.length === 0) actions.push('No action needed; keep this bundle with the compliance records.');

  return { incident_summary: summary, business_impact: impact.join(' '), risk_level: risk, recommended_actions: actions };
}
