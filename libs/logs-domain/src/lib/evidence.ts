import type { TraceStatus } from './enums';
import type { JsonValue } from './model';

/** Bundle types of spec 6.3 (DESIGN.md 8: `evidence` or `executive` on the evidence route; SOC2 has its own). */
export const BUNDLE_TYPES = ['evidence', 'soc2', 'executive'] as const;
export type BundleType = (typeof BUNDLE_TYPES)[number];

/** One step of `trace_evidence` (spec 3.1 TraceStepEvidence, plus level and duration). */
export interface TraceStepEvidence {
  step_index: number;
  step_type: string;
  level: string;
  timestamp: string;
  tokens: number;
  cost_cents: number;
  duration_ms: number;
  is_inflection_point: boolean;
  content_hash: string;
}

export interface RunContext {
  run_id: string;
  agent_id: string;
  agent_name: string | null;
  tenant_id: string;
  trace_id: string;
  status: TraceStatus;
  started_at: string;
  completed_at: string | null;
  /** Why the run ended: the terminal status and, when violated, the violation. */
  termination_reason: string;
  step_count: number;
  total_tokens: number;
  total_cost_cents: number;
  total_duration_ms: number;
  is_synthetic: boolean;
}

export interface PolicyContext {
  snapshot_id: string | null;
  policies: JsonValue[];
  thresholds: Record<string, JsonValue>;
  violated_policy_id: string | null;
  violation_step_index: number | null;
  violation_reason: string | null;
  violation_timestamp: string | null;
}

export interface IncidentContext {
  incident_id: string;
  severity: string | null;
  status: string | null;
  title: string | null;
  opened_at: string | null;
}

export interface BundleIntegrity {
  /** The sealed trace hash as stored. */
  content_hash: string | null;
  /** Recomputed from the step contents at generation time. */
  computed_hash: string;
  verified: boolean;
  /** Steps whose stored hash does not match their content. */
  failed_steps: number[];
  algorithm: string;
}

export interface ControlMapping {
  control_id: string;
  title: string;
  /** What in this bundle evidences the control. */
  evidence: string[];
}

/** Spec 6.3 EvidenceBundle; SOC2 and executive bundles add their own fields. */
export interface EvidenceBundle {
  bundle_id: string;
  bundle_type: BundleType;
  generated_at: string;
  run_context: RunContext;
  policy_context: PolicyContext;
  trace_evidence: { steps: TraceStepEvidence[] };
  incident_context: IncidentContext | null;
  integrity: BundleIntegrity;
  /** SOC2 only. */
  control_mappings?: ControlMapping[];
  attestation_statement?: string;
  /** Executive only. */
  incident_summary?: string;
  business_impact?: string;
  risk_level?: 'low' | 'medium' | 'high' | 'critical';
  recommended_actions?: string[];
}
