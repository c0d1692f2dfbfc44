import {
  type AddStepsResult,
  type CompleteTrace,
  computeStepHash,
  computeTraceHash,
  type NewStep,
  type NewTrace,
  type NewViolation,
  NotFoundError,
  type StepType,
  type StoredStep,
  type TraceStep,
  type TraceSummary,
} from '@aos/logs-domain';
import type { CreateTraceResult, StepStateSnapshot } from '@aos/traces-store';
import { recentOfSteps, totalsOfSteps } from '../lib/execution-state';
import type { ReplayTraceStore } from '../lib/trace-replay';

interface Stored {
  trace: TraceSummary;
  steps: TraceStep[];
  /** Row versions: bumped by tamper(), as an UPDATE changes a PostgreSQL row's xmin. */
  versions: number[];
}

/** An in-memory TraceStore for unit tests: counts writes and range reads. */
export class FakeTraceStore implements ReplayTraceStore {
  readonly traces = new Map<string, Stored>();
  writes = 0;
  readonly hashReads: Array<[number, number]> = [];
  private nextId = 1;

  seed(trace: TraceSummary, steps: TraceStep[]): void {
    this.traces.set(trace.trace_id, { trace, steps, versions: steps.map(() => 1) });
  }

  /** Alters a stored step behind the store's back (the owner with triggers off). */
  tamper(traceId: string, stepIndex: number, change: Partial<TraceStep>): void {
    const t = this.traces.get(traceId)!;
    const k = t.steps.findIndex((s) => s.step_index === stepIndex);
    t.steps[k] = { ...t.steps[k], ...change };
    t.versions[k]++;
  }

  private find(tenantId: string, traceId: string): Stored {
    const t = this.traces.get(traceId);
    if (!t || t.trace.tenant_id !== tenantId) throw new NotFoundError(`trace ${traceId} not found`);
    return t;
  }

  async getTraceWithSteps(tenantId: string, traceId: string): Promise<{ trace: TraceSummary; steps: TraceStep[] }> {
    const t = this.find(tenantId, traceId);
    return { trace: t.trace, steps: [...t.steps] };
  }

  async getStepState(
    tenantId: string,
    traceId: string,
    stepIndex: number,
    options: { recentTypes: readonly StepType[]; recentPerType: number; fingerprints?: readonly number[] },
  ): Promise<StepStateSnapshot> {
    const t = this.find(tenantId, traceId);
    const step = t.steps.find((s) => s.step_index === stepIndex);
    if (!step) throw new NotFoundError(`step ${stepIndex} not found`);
    const fingerprint = (n: number) =>
      t.steps
        .map((s, k) => [s.step_index, t.versions[k]])
        .filter(([i]) => i <= n)
        .map(([i, v]) => `${i}:${v}`)
        .join(',');
    return {
      trace: t.trace,
      step,
      totals: totalsOfSteps(t.steps, stepIndex),
      recent: recentOfSteps(t.steps, stepIndex, options.recentPerType).filter((s) => options.recentTypes.includes(s.step_type)),
      row_versions: (options.fingerprints ?? []).map((through) => ({ through, fingerprint: fingerprint(through) })),
    };
  }

  async listStepHashInputs(tenantId: string, traceId: string, fromIndex: number, toIndex: number): Promise<StoredStep[]> {
    this.hashReads.push([fromIndex, toIndex]);
    return this.find(tenantId, traceId).steps.filter((s) => s.step_index >= fromIndex && s.step_index <= toIndex);
  }

  async createTrace(tenantId: string, input: NewTrace): Promise<CreateTraceResult> {
    this.writes++;
    const id = `rerun-${this.nextId++}`;
    const trace: TraceSummary = {
      trace_id: id,
      run_id: input.run_id,
      tenant_id: tenantId,
      agent_id: input.agent_id,
      agent_name: input.agent_name ?? null,
      status: 'active',
      step_count: 0,
      total_tokens: 0,
      total_cost_cents: 0,
      total_duration_ms: 0,
      started_at: input.started_at ?? new Date().toISOString(),
      completed_at: null,
      content_hash: null,
      is_synthetic: input.is_synthetic ?? false,
      synthetic_scenario_id: input.synthetic_scenario_id ?? null,
      incident_id: null,
      violation_step_index: null,
      violation_timestamp: null,
      violation_policy_id: null,
      violation_reason: null,
      created_at: new Date().toISOString(),
    };
    this.traces.set(id, { trace, steps: [], versions: [] });
    return { trace, created: true };
  }

  async addSteps(tenantId: string, traceId: string, steps: NewStep[]): Promise<AddStepsResult> {
    this.writes++;
    const t = this.find(tenantId, traceId);
    const recorded = steps.map((s) => {
      const full: TraceStep = {
        step_id: `${traceId}-${s.step_index}`,
        trace_id: traceId,
        tenant_id: tenantId,
        step_index: s.step_index,
        step_type: s.step_type,
        level: s.level ?? 'info',
        source: s.source ?? null,
        timestamp: s.timestamp,
        tokens: s.tokens ?? 0,
        cost_cents: s.cost_cents ?? 0,
        duration_ms: s.duration_ms ?? 0,
        input_data: s.input_data ?? null,
        output_data: s.output_data ?? null,
        metadata: s.metadata ?? null,
        content_hash: computeStepHash(s),
        created_at: new Date().toISOString(),
      };
      t.steps.push(full);
      t.versions.push(1);
      return { step_id: full.step_id, step_index: full.step_index, content_hash: full.content_hash };
    });
    t.trace = { ...t.trace, step_count: t.steps.length };
    return { created: true, steps: recorded };
  }

  async markViolation(tenantId: string, traceId: string, v: NewViolation): Promise<TraceSummary> {
    this.writes++;
    const t = this.find(tenantId, traceId);
    t.trace = {
      ...t.trace,
      violation_step_index: v.step_index,
      violation_policy_id: v.policy_id,
      violation_reason: v.reason,
      violation_timestamp: v.timestamp ?? null,
    };
    return t.trace;
  }

  async completeTrace(tenantId: string, traceId: string, input: CompleteTrace): Promise<TraceSummary> {
    this.writes++;
    const t = this.find(tenantId, traceId);
    t.trace = { ...t.trace, status: input.status, content_hash: computeTraceHash(t.steps), completed_at: new Date().toISOString() };
    return t.trace;
  }
}
