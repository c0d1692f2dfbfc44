import type { ActorType, ApiKeyRole, JsonValue, ReplayMode, StepLevel, StepType, TraceStep, TraceSummary } from '@aos/logs-domain';

/** Who asks for a replay: recorded in the `trace_replayed` audit entry. */
export interface ReplayActor {
  id: string;
  type: ActorType;
  /** The API key's role; RERUN with emit_traces needs `admin` (DESIGN.md 8). Unset for in-process system callers. */
  role?: ApiKeyRole;
  ip_address?: string | null;
  user_agent?: string | null;
}

export interface ReplayOptions {
  /** AUDIT (default), DEBUG, or RERUN (spec 9.2). */
  mode?: ReplayMode;
  /**
   * Write the re-execution as a new trace. Only with RERUN; the default is false
   * (spec 9.3: a replay writes no trace unless explicitly asked).
   */
  emit_traces?: boolean;
  /** Playback speed: offsets are recorded gaps divided by it; 0 plays everything at once. 0..1000, default 1. */
  speed?: number;
  actor: ReplayActor;
}

export interface StreamOptions {
  mode?: Extract<ReplayMode, 'AUDIT' | 'DEBUG'>;
  speed?: number;
  actor: ReplayActor;
  /** Resume after this step (SSE `Last-Event-ID`): earlier steps are not sent again. */
  resume_after?: number;
}

/** Integrity of the whole trace, recomputed before a replay starts (DESIGN.md 4). */
export interface ReplayIntegrity {
  /** Every step hash and the sealed trace hash recompute, with no gap in step_index. */
  verified: boolean;
  content_hash: string | null;
  computed_hash: string;
  /** The sealed trace hash matches the recomputed one (true while the trace is open). */
  trace_hash_ok: boolean;
  /** Lowest step whose content no longer matches its hash; null when none (or when only the trace hash fails). */
  first_bad_step: number | null;
  bad_steps: number[];
}

/** Integrity of steps 0..N, as the execution state reports it. */
export interface PrefixIntegrity {
  /** Steps 0..N are all present and every one recomputes to its stored hash. */
  verified: boolean;
  steps_checked: number;
  first_bad_step: number | null;
  /** At most MAX_LISTED_BAD_STEPS entries. */
  bad_steps: number[];
  /**
   * True when the answer comes from an earlier recomputation whose rows have not
   * changed since (same PostgreSQL row versions); false when recomputed now.
   */
  from_cache: boolean;
}

export interface ConversationMessage {
  step_index: number;
  role: string;
  content: JsonValue;
  /** Tool calls the model asked for in this message (OpenAI-style `tool_calls`), when present. */
  tool_calls?: JsonValue;
}

export interface ConversationSoFar {
  /** The reconstructed messages, oldest first (at most MAX_MESSAGES, the latest kept). */
  messages: ConversationMessage[];
  /** llm_call steps up to N. */
  llm_calls: number;
  /** llm_call steps the messages were rebuilt from (the latest RECENT_STEPS). */
  llm_calls_included: number;
  /** True when earlier llm_calls or messages were left out. */
  truncated: boolean;
}

export interface ToolCallRecord {
  step_index: number;
  timestamp: string;
  level: StepLevel;
  tool: string | null;
  arguments: JsonValue | null;
  result: JsonValue | null;
  error: JsonValue | null;
  ok: boolean;
  duration_ms: number;
}

export type PolicyOutcome = 'pass' | 'fail' | 'unknown';

export interface PolicyCheckRecord {
  step_index: number;
  timestamp: string;
  level: StepLevel;
  policy_id: string | null;
  outcome: PolicyOutcome;
  reason: string | null;
  input_data: JsonValue | null;
  output_data: JsonValue | null;
}

export interface RecentList<T> {
  /** The latest ones, oldest first (at most RECENT_STEPS). */
  items: T[];
  /** How many there are up to N. */
  total: number;
  truncated: boolean;
}

/** The step at N, with its content and whether its hash still matches. */
export interface ExecutionStateStep extends Omit<TraceStep, 'trace_id' | 'tenant_id' | 'created_at'> {
  hash_ok: boolean;
  is_inflection_point: boolean;
}

export interface ViolationAtStep {
  step_index: number;
  policy_id: string | null;
  reason: string | null;
  timestamp: string | null;
}

/** The state of a recorded run as it stood after step N (`get_state_at_step`). */
export interface ExecutionState {
  trace_id: string;
  step_index: number;
  timestamp: string;
  step: ExecutionStateStep;
  /** Steps 0..N present (N + 1 unless steps are missing). */
  steps_so_far: number;
  steps_total: number;
  is_last_step: boolean;
  step_counts: Record<StepType, number>;
  cumulative_tokens: number;
  cumulative_cost_cents: number;
  /** Sum of duration_ms over steps 0..N. */
  cumulative_duration_ms: number;
  /** Wall clock from the trace start to the latest end (timestamp + duration) of steps 0..N. */
  elapsed_ms: number;
  conversation: ConversationSoFar;
  tool_calls: RecentList<ToolCallRecord>;
  policy_checks: RecentList<PolicyCheckRecord> & { outcomes: Record<PolicyOutcome, number> };
  violation_occurred: boolean;
  violation_step_index: number | null;
  violation: ViolationAtStep | null;
  integrity: PrefixIntegrity;
}

/** One step of a replay, in order. */
export interface ReplayStep {
  step_index: number;
  step_type: StepType;
  level: StepLevel;
  timestamp: string;
  /** When the step plays: (timestamp - first step's timestamp) / speed, never earlier than the step before; 0 at speed 0. */
  offset_ms: number;
  tokens: number;
  cost_cents: number;
  duration_ms: number;
  content_hash: string;
  hash_ok: boolean;
  is_inflection_point: boolean;
  /** DEBUG only. */
  step_id?: string;
  source?: string | null;
  input_data?: JsonValue | null;
  output_data?: JsonValue | null;
  metadata?: JsonValue | null;
  /** RERUN only: what the re-execution produced for this step. */
  rerun?: RerunStep;
}

export interface RerunStep {
  content_hash: string;
  matches_original: boolean;
}

export interface RerunOutcome {
  /** False for a dry re-execution (RERUN without emit_traces): nothing was written. */
  emitted: boolean;
  new_trace_id: string | null;
  /** The new, sealed trace (emitted only). */
  new_trace: TraceSummary | null;
  /** Trace hash of the re-execution (computed for a dry run too). */
  content_hash: string;
  /** The re-execution reproduced every step hash and the trace hash. */
  matches_original: boolean;
  steps_matching: number;
  first_divergent_step: number | null;
}

export interface ReplayResult {
  trace: TraceSummary;
  mode: ReplayMode;
  emit_traces: boolean;
  speed: number;
  step_count: number;
  /** Length of the playback schedule: the last step's offset_ms. */
  duration_ms: number;
  steps: ReplayStep[];
  /** State after the last step; null for a trace without steps. */
  final_state: ExecutionState | null;
  integrity: ReplayIntegrity;
  /** RERUN only. */
  rerun: RerunOutcome | null;
  /** The trace the RERUN wrote; null otherwise. */
  new_trace_id: string | null;
}

/** Events of a paced replay stream (Server-Sent Events). */
export type ReplayStreamEvent =
  | {
      event: 'start';
      data: { trace: TraceSummary; mode: ReplayMode; speed: number; step_count: number; duration_ms: number; integrity: ReplayIntegrity };
    }
  | { event: 'step'; id: string; data: ReplayStep }
  | {
      event: 'end';
      data: { steps_sent: number; duration_ms: number; final_state: ExecutionState | null; integrity: ReplayIntegrity };
    };
