import type { Page, TraceStep, TraceSummary } from '@aos/logs-domain';
import type { StepSummary } from '@aos/traces-store';
import type { Principal } from '../auth/principal';
import { AUDITORS } from '../auth/principal';
import type { LlmRunItemDto, PaginationDto, TraceDetailDto, TraceStepDto } from './llm-runs.dto';

/** Maps stored records to the panel shapes of spec section 11. */
export function pagination(page: Page<unknown>, limit: number): PaginationDto {
  return {
    total: page.total,
    page: Math.floor(page.position / limit) + 1,
    page_size: limit,
    total_exact: page.total_exact,
    next_cursor: page.next_cursor,
  };
}

/** The filters a list applied, as strings (spec 11.1 `filters_applied`). */
export function filtersApplied(filters: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(filters)) {
    if (v !== undefined && v !== null && !['limit', 'offset', 'cursor'].includes(k)) out[k] = String(v);
  }
  return out;
}

export function toLlmRunItem(t: TraceSummary): LlmRunItemDto {
  return {
    trace_id: t.trace_id,
    run_id: t.run_id,
    agent_id: t.agent_id,
    agent_name: t.agent_name ?? t.agent_id,
    status: t.status,
    step_count: t.step_count,
    total_tokens: t.total_tokens,
    total_cost_cents: t.total_cost_cents,
    total_duration_ms: t.total_duration_ms,
    has_violation: t.violation_step_index !== null,
    ...(t.violation_policy_id ? { violation_policy_id: t.violation_policy_id } : {}),
    is_synthetic: t.is_synthetic,
    started_at: t.started_at,
    ...(t.completed_at ? { completed_at: t.completed_at } : {}),
  };
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as T;
}

export function toTraceDetail(trace: TraceSummary, steps: StepSummary[], who: Principal): TraceDetailDto {
  const sealed = trace.status !== 'active';
  const canAudit = who.kind === 'key' && AUDITORS.includes(who.role);
  return {
    trace: defined({
      trace_id: trace.trace_id,
      run_id: trace.run_id,
      agent_id: trace.agent_id,
      agent_name: trace.agent_name ?? undefined,
      status: trace.status,
      step_count: trace.step_count,
      total_tokens: trace.total_tokens,
      total_cost_cents: trace.total_cost_cents,
      total_duration_ms: trace.total_duration_ms,
      started_at: trace.started_at,
      completed_at: trace.completed_at ?? undefined,
      content_hash: trace.content_hash ?? undefined,
      incident_id: trace.incident_id ?? undefined,
      violation_step_index: trace.violation_step_index ?? undefined,
      violation_policy_id: trace.violation_policy_id ?? undefined,
      violation_reason: trace.violation_reason ?? undefined,
      violation_timestamp: trace.violation_timestamp ?? undefined,
    }),
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
    actions: [
      { action: 'verify', label: 'Verify integrity', enabled: true },
      { action: 'view_steps', label: 'View step content', enabled: trace.step_count > 0 },
      { action: 'replay', label: 'Replay run', enabled: canAudit && trace.step_count > 0 },
      { action: 'export', label: 'Export trace', enabled: canAudit },
      { action: 'export_evidence', label: 'Export evidence bundle', enabled: canAudit && sealed },
      { action: 'export_soc2', label: 'Export SOC2 bundle', enabled: canAudit && sealed },
    ],
  };
}

export function toTraceStep(s: TraceStep, trace: Pick<TraceSummary, 'violation_step_index'>): TraceStepDto {
  return {
    step_id: s.step_id,
    trace_id: s.trace_id,
    step_index: s.step_index,
    step_type: s.step_type,
    level: s.level,
    source: s.source,
    timestamp: s.timestamp,
    tokens: s.tokens,
    cost_cents: s.cost_cents,
    duration_ms: s.duration_ms,
    input_data: s.input_data,
    output_data: s.output_data,
    metadata: s.metadata,
    content_hash: s.content_hash,
    is_inflection_point: s.step_index === trace.violation_step_index,
    created_at: s.created_at,
  };
}
