import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import {
  BundleSource,
  type BundleType,
  type EvidenceBundle,
  type TraceSummary,
  verifyTraceIntegrity,
} from '@aos/logs-domain';
import { TraceStore } from '@aos/traces-store';

/**
 * A minimal `BundleSource` straight from `TraceStore`: run context, the
 * violation as policy context, every step with its hash, and the recomputed
 * integrity block, plus simple SOC2 and executive fields. It reads no policy
 * snapshot and no incident. It is the default until the application binds
 * `BundleSource` to `LogExportService` (libs/export), which assembles the full
 * spec 6.3 bundle; tests and the worker's kill test use it as it is.
 */
@Injectable()
export class TraceStoreBundleSource extends BundleSource {
  constructor(private readonly traces: TraceStore) {
    super();
  }

  async load(tenantId: string, traceId: string, bundleType: BundleType): Promise<EvidenceBundle> {
    const { trace, steps } = await this.traces.getTraceWithSteps(tenantId, traceId);
    const report = verifyTraceIntegrity(trace, steps);
    const bundle: EvidenceBundle = {
      bundle_id: uuidv7(),
      bundle_type: bundleType,
      generated_at: new Date().toISOString(),
      run_context: {
        run_id: trace.run_id,
        agent_id: trace.agent_id,
        agent_name: trace.agent_name,
        tenant_id: trace.tenant_id,
        trace_id: trace.trace_id,
        status: trace.status,
        started_at: trace.started_at,
        completed_at: trace.completed_at,
        termination_reason: termination(trace),
        step_count: trace.step_count,
        total_tokens: trace.total_tokens,
        total_cost_cents: trace.total_cost_cents,
        total_duration_ms: trace.total_duration_ms,
        is_synthetic: trace.is_synthetic,
      },
      policy_context: {
        snapshot_id: null,
        policies: [],
        thresholds: {},
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
      incident_context: null,
      integrity: {
        content_hash: trace.content_hash,
        computed_hash: report.computed_hash,
        verified: report.verified,
        failed_steps: report.steps.filter((s) => !s.ok).map((s) => s.step_index),
        algorithm:
          'step: sha256(RFC 8785 JCS of {step_index, step_type, input_data, output_data, timestamp}); trace: sha256(step hashes concatenated in step_index order)',
      },
    };
    const verdict = bundle.integrity.verified ? 'every hash was recomputed and matches' : 'the recomputed hashes do NOT match';
    if (bundleType === 'soc2') {
      bundle.control_mappings = [
        { control_id: 'CC7.2', title: 'System Operations', evidence: [`trace_evidence: ${steps.length} recorded steps`, `integrity: ${verdict}`] },
        { control_id: 'CC7.3', title: 'Change Management', evidence: [`sealed trace, content_hash ${trace.content_hash ?? '(none)'}`] },
        { control_id: 'CC7.4', title: 'Incident Management', evidence: [trace.incident_id ? `incident ${trace.incident_id} is linked` : 'no incident is linked'] },
      ];
      bundle.attestation_statement = `Generated at ${bundle.generated_at} for trace ${trace.trace_id}: ${verdict}.`;
    }
    if (bundleType === 'executive') {
      const violated = trace.violation_step_index !== null;
      bundle.incident_summary = `The run ${trace.status} after ${trace.step_count} steps${violated ? `, breaking a policy at step ${trace.violation_step_index}: ${trace.violation_reason}` : ''}.`;
      bundle.business_impact = violated ? 'An automated agent acted outside its rules.' : 'No policy was broken.';
      bundle.risk_level = !report.verified ? 'critical' : violated ? 'high' : 'low';
      bundle.recommended_actions = violated ? [`Review step ${trace.violation_step_index} with the policy owner.`] : ['No action needed.'];
    }
    return bundle;
  }
}

function termination(t: TraceSummary): string {
  const violation = t.violation_step_index !== null ? ` after a policy violation at step ${t.violation_step_index}: ${t.violation_reason}` : '';
  return t.status === 'active' ? 'The trace is not sealed.' : `The run ended as ${t.status}${violation}.`;
}
