import type { TraceStep, TraceSummary } from '@aos/logs-domain';

/** Converts database timestamps to the wire form (RFC 3339, UTC, milliseconds). */
export function iso(value: Date | string | null): string | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

export const TRACE_COLUMNS = `trace_id, run_id, tenant_id, agent_id, agent_name, status, step_count, total_tokens,
  total_cost_cents, total_duration_ms, started_at, completed_at, content_hash, is_synthetic, synthetic_scenario_id,
  incident_id, violation_step_index, violation_timestamp, violation_policy_id, violation_reason, created_at`;

export function toTrace(row: Record<string, any>): TraceSummary {
  return {
    trace_id: row.trace_id,
    run_id: row.run_id,
    tenant_id: row.tenant_id,
    agent_id: row.agent_id,
    agent_name: row.agent_name,
    status: row.status,
    step_count: Number(row.step_count),
    total_tokens: Number(row.total_tokens),
    total_cost_cents: Number(row.total_cost_cents),
    total_duration_ms: Number(row.total_duration_ms),
    started_at: iso(row.started_at)!,
    completed_at: iso(row.completed_at),
    content_hash: row.content_hash,
    is_synthetic: row.is_synthetic,
    synthetic_scenario_id: row.synthetic_scenario_id,
    incident_id: row.incident_id,
    violation_step_index: row.violation_step_index,
    violation_timestamp: iso(row.violation_timestamp),
    violation_policy_id: row.violation_policy_id,
    violation_reason: row.violation_reason,
    created_at: iso(row.created_at)!,
  };
}

export const STEP_COLUMNS = `step_id, trace_id, tenant_id, step_index, step_type, level, source, "timestamp", tokens,
  cost_cents, duration_ms, input_data, output_data, metadata, content_hash, created_at`;

export function toStep(row: Record<string, any>): TraceStep {
  return {
    step_id: row.step_id,
    trace_id: row.trace_id,
    tenant_id: row.tenant_id,
    step_index: row.step_index,
    step_type: row.step_type,
    level: row.level,
    source: row.source,
    timestamp: iso(row.timestamp)!,
    tokens: row.tokens,
    cost_cents: row.cost_cents,
    duration_ms: row.duration_ms,
    input_data: row.input_data,
    output_data: row.output_data,
    metadata: row.metadata,
    content_hash: row.content_hash,
    created_at: iso(row.created_at)!,
  };
}
