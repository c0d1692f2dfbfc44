import type { StepLevel, StepType, TerminalTraceStatus, TraceSortField, TraceStatus, SortOrder } from './enums';

/** JSON as stored in `input_data`, `output_data`, `metadata`, `context`, `details`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Spec 3.1 TraceSummary (`aos_traces`), with the timestamps as RFC 3339 strings. */
export interface TraceSummary {
  trace_id: string;
  run_id: string;
  tenant_id: string;
  agent_id: string;
  agent_name: string | null;
  status: TraceStatus;
  step_count: number;
  total_tokens: number;
  total_cost_cents: number;
  total_duration_ms: number;
  started_at: string;
  completed_at: string | null;
  content_hash: string | null;
  is_synthetic: boolean;
  synthetic_scenario_id: string | null;
  incident_id: string | null;
  violation_step_index: number | null;
  violation_timestamp: string | null;
  violation_policy_id: string | null;
  violation_reason: string | null;
  created_at: string;
}

/** Spec 3.1 TraceStep (`aos_trace_steps`). */
export interface TraceStep {
  step_id: string;
  trace_id: string;
  tenant_id: string;
  step_index: number;
  step_type: StepType;
  level: StepLevel;
  source: string | null;
  timestamp: string;
  tokens: number;
  cost_cents: number;
  duration_ms: number;
  input_data: JsonValue | null;
  output_data: JsonValue | null;
  metadata: JsonValue | null;
  content_hash: string;
  created_at: string;
}

/** What a client sends to record a trace (DESIGN.md 5). */
export interface NewTrace {
  trace_id?: string;
  run_id: string;
  agent_id: string;
  agent_name?: string | null;
  started_at?: string;
  is_synthetic?: boolean;
  synthetic_scenario_id?: string | null;
  incident_id?: string | null;
  policy_snapshot?: JsonValue | null;
}

/** What a client sends to record a step. */
export interface NewStep {
  step_index: number;
  step_type: StepType;
  level?: StepLevel;
  source?: string | null;
  timestamp: string;
  tokens?: number;
  cost_cents?: number;
  duration_ms?: number;
  input_data?: JsonValue | null;
  output_data?: JsonValue | null;
  metadata?: JsonValue | null;
}

export interface RecordedStep {
  step_id: string;
  step_index: number;
  content_hash: string;
}

export interface AddStepsResult {
  /** False when every step was an identical re-send (idempotent replay of the request). */
  created: boolean;
  steps: RecordedStep[];
}

export interface NewViolation {
  step_index: number;
  policy_id: string;
  reason: string;
  timestamp?: string;
}

export interface CompleteTrace {
  status: TerminalTraceStatus;
}

/** Common list paging of DESIGN.md 5: offset or an opaque keyset cursor. */
export interface PageRequest<S extends string = string> {
  limit: number;
  offset: number;
  cursor?: string;
  sort: S;
  order: SortOrder;
}

/** Half-open time range [start_time, end_time). */
export interface TimeRange {
  start_time?: string;
  end_time?: string;
}

/** Spec 4.5 LLM-run filters plus the common ones. */
export interface TraceFilters extends TimeRange {
  run_id?: string;
  agent_id?: string;
  status?: TraceStatus;
  has_violation?: boolean;
  policy_id?: string;
  search?: string;
}

export interface TraceListQuery extends TraceFilters, PageRequest<TraceSortField> {}

export interface Page<T> {
  items: T[];
  total: number;
  /** False when `total` is a lower bound: the count stopped at the cap, or a search's after a bounded walk. */
  total_exact: boolean;
  /** Rows that precede this page in the ordering (offset, or the cursor's position). */
  position: number;
  next_cursor: string | null;
}

/** Per-step line of an integrity report. */
export interface StepVerification {
  step_index: number;
  stored: string;
  computed: string;
  ok: boolean;
}

/** The `/verify` answer of DESIGN.md 5. */
export interface TraceVerification {
  verified: boolean;
  content_hash: string | null;
  computed_hash: string;
  steps: StepVerification[];
}
