import { Logger } from '@nestjs/common';
import type { ActorType, JsonValue, ReplayMode, StepLevel, TraceStep, TraceSummary } from '@aos/logs-domain';

/**
 * What a `trace_replayed` audit entry records. The replay library does not
 * write audit_logs itself: the host binds REPLAY_AUDIT (to AuditLogService in
 * the API), so the audit trail keeps one writer.
 */
export interface ReplayAuditEntry {
  tenantId: string;
  actorId: string;
  actorType: ActorType;
  traceId: string;
  mode: ReplayMode;
  emitTraces: boolean;
  speed: number;
  /** `result`: POST .../replay; `stream`: the paced SSE stream. */
  delivery: 'result' | 'stream';
  newTraceId?: string;
  integrityOk: boolean;
  firstBadStep?: number;
  success: boolean;
  failureReason?: string;
  ipAddress?: string | null;
  userAgent?: string | null;
}

export interface ReplayAuditPort {
  record(entry: ReplayAuditEntry): Promise<void>;
}

/** Nest token of the ReplayAuditPort. */
export const REPLAY_AUDIT = Symbol('REPLAY_AUDIT');

/**
 * The `AuditLogService.logAction` input for an entry, so the host's binding is
 * one line: `{ record: (e) => audit.logAction(replayAuditAction(e)) }`.
 */
export function replayAuditAction(e: ReplayAuditEntry) {
  return {
    tenantId: e.tenantId,
    actor_id: e.actorId,
    actor_type: e.actorType,
    action: 'trace_replayed' as const,
    resource_type: 'trace',
    resource_id: e.traceId,
    details: {
      mode: e.mode,
      emit_traces: e.emitTraces,
      speed: e.speed,
      delivery: e.delivery,
      new_trace_id: e.newTraceId ?? null,
      integrity_ok: e.integrityOk,
      first_bad_step: e.firstBadStep ?? null,
    },
    ip_address: e.ipAddress ?? null,
    user_agent: e.userAgent ?? null,
    success: e.success,
    failure_reason: e.failureReason ?? null,
  };
}

/** The default binding: records nothing, and says so once. */
export class NoopReplayAudit implements ReplayAuditPort {
  private warned = false;
  async record(): Promise<void> {
    if (this.warned) return;
    this.warned = true;
    new Logger('TraceReplay').warn('REPLAY_AUDIT is not bound: trace_replayed is not being recorded in the audit log');
  }
}

/** Keeps entries in memory (tests, and hosts that forward them later). */
export class InMemoryReplayAudit implements ReplayAuditPort {
  readonly entries: ReplayAuditEntry[] = [];
  async record(entry: ReplayAuditEntry): Promise<void> {
    this.entries.push(entry);
  }
}

/** A step as a RERUN re-executed it so far (what later steps may build on). */
export interface ReexecutedStep {
  step_index: number;
  step_type: TraceStep['step_type'];
  input_data: JsonValue | null;
  output_data: JsonValue | null;
  content_hash: string;
}

export interface ReplayExecutionContext {
  tenantId: string;
  original_trace: TraceSummary;
  /** The trace being written; null for a dry re-execution. */
  new_trace_id: string | null;
  /** Steps re-executed before this one, in order. */
  history: readonly ReexecutedStep[];
}

/** What an executor produced for one step. Unset fields keep the recorded values. */
export interface ReplayExecution {
  output_data: JsonValue | null;
  /** Re-execute with another input (for instance the previous step's new output). */
  input_data?: JsonValue | null;
  level?: StepLevel;
  tokens?: number;
  cost_cents?: number;
  duration_ms?: number;
  /** Merged into the new step's metadata (beside `replay_of`). */
  metadata?: Record<string, JsonValue>;
}

/** Re-executes one recorded step during a RERUN. */
export interface ReplayExecutor {
  execute(step: TraceStep, context: ReplayExecutionContext): Promise<ReplayExecution>;
}

/** Nest token of the ReplayExecutor (default: RecordedOutputExecutor). */
export const REPLAY_EXECUTOR = Symbol('REPLAY_EXECUTOR');

/**
 * Reproduces every recorded output exactly: the deterministic re-execution, whose
 * trace has the original's step hashes and trace hash.
 */
export class RecordedOutputExecutor implements ReplayExecutor {
  async execute(step: TraceStep): Promise<ReplayExecution> {
    return {
      output_data: step.output_data,
      level: step.level,
      tokens: step.tokens,
      cost_cents: step.cost_cents,
      duration_ms: step.duration_ms,
    };
  }
}
