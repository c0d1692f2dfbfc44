import {
  computeStepHash,
  computeTraceHash,
  ConflictError,
  ForbiddenError,
  IntegrityError,
  NotFoundError,
  type StepType,
  type TraceStep,
  type TraceSummary,
  ValidationError,
} from '@aos/logs-domain';
import { FakeTraceStore } from '../testing/fake-trace-store';
import { InMemoryReplayAudit, type ReplayExecutor } from './ports';
import type { ReplayStreamEvent } from './replay.types';
import { TraceReplay } from './trace-replay';

const T0 = Date.UTC(2026, 0, 20, 10, 0, 0);
const TENANT = 'tenant-a';
const admin = { id: 'key-admin', type: 'api_key' as const, role: 'admin' as const, ip_address: '10.0.0.1', user_agent: 'jest' };
const auditor = { id: 'key-auditor', type: 'api_key' as const, role: 'auditor' as const };
const TYPES: StepType[] = ['input', 'llm_call', 'tool_call', 'policy_check', 'llm_call', 'output'];

function makeTrace(id: string, n: number, extra: Partial<TraceSummary> = {}): { trace: TraceSummary; steps: TraceStep[] } {
  const steps = Array.from({ length: n }, (_, i): TraceStep => {
    const s = {
      step_id: `${id}-s${i}`,
      trace_id: id,
      tenant_id: TENANT,
      step_index: i,
      step_type: TYPES[i % TYPES.length],
      level: 'info' as const,
      source: 'agent',
      timestamp: new Date(T0 + i * 1000).toISOString(),
      tokens: 5 + i,
      cost_cents: 1,
      duration_ms: 200,
      input_data: { prompt: `q${i}` },
      output_data: { text: `a${i}` },
      metadata: { run: 'original' },
      created_at: new Date(T0).toISOString(),
    };
    return { ...s, content_hash: computeStepHash(s) };
  });
  const trace: TraceSummary = {
    trace_id: id,
    run_id: 'run-1',
    tenant_id: TENANT,
    agent_id: 'agent-1',
    agent_name: 'bot',
    status: 'completed',
    step_count: n,
    total_tokens: steps.reduce((x, s) => x + s.tokens, 0),
    total_cost_cents: n,
    total_duration_ms: n * 1000,
    started_at: new Date(T0).toISOString(),
    completed_at: new Date(T0 + n * 1000).toISOString(),
    content_hash: computeTraceHash(steps),
    is_synthetic: false,
    synthetic_scenario_id: null,
    incident_id: null,
    violation_step_index: null,
    violation_timestamp: null,
    violation_policy_id: null,
    violation_reason: null,
    created_at: new Date(T0).toISOString(),
    ...extra,
  };
  return { trace, steps };
}

describe(TraceReplay.name, () => {
  let store: FakeTraceStore;
  let audit: InMemoryReplayAudit;
  let replay: TraceReplay;

  beforeEach(() => {
    store = new FakeTraceStore();
    audit = new InMemoryReplayAudit();
    replay = new TraceReplay(store, audit);
    const t = makeTrace('t1', 6, { violation_step_index: 3, violation_policy_id: 'p1', violation_reason: 'limit', violation_timestamp: new Date(T0 + 3000).toISOString() });
    store.seed(t.trace, t.steps);
  });

  it('plays an AUDIT replay as a schedule without content, writes nothing, and audits it', async () => {
    const r = await replay.replay(TENANT, 't1', { speed: 2, actor: admin });
    expect(r).toMatchObject({ mode: 'AUDIT', emit_traces: false, speed: 2, step_count: 6, duration_ms: 2500, rerun: null, new_trace_id: null });
    expect(r.steps.map((s) => s.offset_ms)).toEqual([0, 500, 1000, 1500, 2000, 2500]);
    expect(r.steps.map((s) => s.is_inflection_point)).toEqual([false, false, false, true, false, false]);
    expect(r.steps.every((s) => s.hash_ok && s.input_data === undefined)).toBe(true);
    expect(r.integrity).toMatchObject({ verified: true, trace_hash_ok: true, first_bad_step: null, bad_steps: [] });
    expect(r.final_state).toMatchObject({ step_index: 5, steps_so_far: 6, violation_occurred: true, violation_step_index: 3 });
    expect(store.writes).toBe(0);
    expect(audit.entries).toEqual([
      expect.objectContaining({ tenantId: TENANT, actorId: 'key-admin', traceId: 't1', mode: 'AUDIT', emitTraces: false, delivery: 'result', integrityOk: true, success: true, ipAddress: '10.0.0.1' }),
    ]);
  });

  it('adds each step content in DEBUG mode', async () => {
    const r = await replay.replay(TENANT, 't1', { mode: 'DEBUG', speed: 0, actor: auditor });
    expect(r.steps[1]).toMatchObject({ offset_ms: 0, input_data: { prompt: 'q1' }, output_data: { text: 'a1' }, metadata: { run: 'original' }, step_id: 't1-s1' });
  });

  it('refuses emit_traces outside RERUN, and RERUN with emit_traces for an auditor, auditing nothing', async () => {
    await expect(replay.replay(TENANT, 't1', { mode: 'DEBUG', emit_traces: true, actor: admin })).rejects.toBeInstanceOf(ValidationError);
    await expect(replay.replay(TENANT, 't1', { mode: 'RERUN', emit_traces: true, actor: auditor })).rejects.toBeInstanceOf(ForbiddenError);
    expect(audit.entries).toEqual([]);
  });

  it("answers 404 for another tenant's trace", async () => {
    await expect(replay.replay('tenant-b', 't1', { actor: admin })).rejects.toBeInstanceOf(NotFoundError);
    await expect(replay.getStateAtStep('tenant-b', 't1', 0)).rejects.toBeInstanceOf(NotFoundError);
    await expect(replay.openStream('tenant-b', 't1', { actor: admin })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('re-executes a dry RERUN without writing, reproducing every hash', async () => {
    const r = await replay.replay(TENANT, 't1', { mode: 'RERUN', actor: auditor });
    expect(r.rerun).toMatchObject({ emitted: false, new_trace_id: null, matches_original: true, steps_matching: 6, first_divergent_step: null });
    expect(r.rerun?.content_hash).toBe(r.trace.content_hash);
    expect(r.steps.every((s) => s.rerun?.matches_original)).toBe(true);
    expect(store.writes).toBe(0);
  });

  it('writes a RERUN as a new sealed trace linked step by step to the original', async () => {
    const r = await replay.replay(TENANT, 't1', { mode: 'RERUN', emit_traces: true, actor: admin });
    const created = store.traces.get(r.new_trace_id!)!;
    expect(created.trace).toMatchObject({ status: 'completed', content_hash: r.trace.content_hash, violation_step_index: 3 });
    expect(created.steps.map((s) => s.content_hash)).toEqual(store.traces.get('t1')!.steps.map((s) => s.content_hash));
    expect(created.steps[2].metadata).toEqual({ run: 'original', replay_of: { trace_id: 't1', step_index: 2 } });
    expect(r.rerun).toMatchObject({ emitted: true, matches_original: true, new_trace: { trace_id: r.new_trace_id } });
    expect(audit.entries[0]).toMatchObject({ mode: 'RERUN', emitTraces: true, newTraceId: r.new_trace_id, success: true });
  });

  it('reports where a custom executor diverges from the recording', async () => {
    const executor: ReplayExecutor = {
      async execute(step) {
        return { output_data: step.step_index >= 4 ? { text: 'different' } : step.output_data };
      },
    };
    const r = await new TraceReplay(store, audit, executor).replay(TENANT, 't1', { mode: 'RERUN', actor: admin });
    expect(r.rerun).toMatchObject({ matches_original: false, steps_matching: 4, first_divergent_step: 4 });
    expect(r.steps.map((s) => s.rerun?.matches_original)).toEqual([true, true, true, true, false, false]);
  });

  it('seals a written RERUN as aborted when the executor fails, and audits the failure', async () => {
    const executor: ReplayExecutor = {
      async execute(step) {
        if (step.step_index === 2) throw new Error('model unavailable');
        return { output_data: step.output_data };
      },
    };
    await expect(new TraceReplay(store, audit, executor).replay(TENANT, 't1', { mode: 'RERUN', emit_traces: true, actor: admin })).rejects.toThrow(
      'model unavailable',
    );
    const [rerunTrace] = [...store.traces.values()].filter((t) => t.trace.trace_id !== 't1');
    expect(rerunTrace.trace.status).toBe('aborted');
    expect(audit.entries[0]).toMatchObject({ success: false, failureReason: 'model unavailable' });
  });

  it('refuses to RERUN a tampered trace, naming the step, while AUDIT flags it', async () => {
    store.tamper('t1', 2, { output_data: { text: 'forged' } });
    const refused = replay.replay(TENANT, 't1', { mode: 'RERUN', emit_traces: true, actor: admin });
    await expect(refused).rejects.toBeInstanceOf(IntegrityError);
    await expect(refused).rejects.toMatchObject({ extensions: { first_bad_step: 2, bad_steps: [2] } });
    expect(store.writes).toBe(0);
    expect(audit.entries[0]).toMatchObject({ mode: 'RERUN', success: false, integrityOk: false, firstBadStep: 2 });

    const r = await replay.replay(TENANT, 't1', { actor: admin });
    expect(r.integrity).toMatchObject({ verified: false, first_bad_step: 2, bad_steps: [2], trace_hash_ok: false });
    expect(r.steps.map((s) => s.hash_ok)).toEqual([true, true, false, true, true, true]);
    expect(r.final_state?.integrity).toMatchObject({ verified: false, first_bad_step: 2 });
  });

  it('refuses to RERUN a trace that is still recording', async () => {
    const open = makeTrace('open', 2, { status: 'active', content_hash: null, completed_at: null });
    store.seed(open.trace, open.steps);
    await expect(replay.replay(TENANT, 'open', { mode: 'RERUN', actor: admin })).rejects.toBeInstanceOf(ConflictError);
  });

  describe('getStateAtStep', () => {
    it('remembers a verified prefix while its rows are unchanged, and checks only new steps', async () => {
      const first = await replay.getStateAtStep(TENANT, 't1', 3);
      expect(first.integrity).toMatchObject({ verified: true, steps_checked: 4, from_cache: false });
      expect(store.hashReads).toEqual([[0, 3]]);

      const again = await replay.getStateAtStep(TENANT, 't1', 1);
      expect(again.integrity).toMatchObject({ verified: true, steps_checked: 2, from_cache: true });
      expect(store.hashReads).toHaveLength(1);

      await replay.getStateAtStep(TENANT, 't1', 5);
      expect(store.hashReads[1]).toEqual([4, 5]);
    });

    it('sees a step altered after the prefix was verified', async () => {
      await replay.getStateAtStep(TENANT, 't1', 5);
      store.tamper('t1', 1, { input_data: { prompt: 'forged' } });
      const s = await replay.getStateAtStep(TENANT, 't1', 4);
      expect(s.integrity).toMatchObject({ verified: false, first_bad_step: 1, bad_steps: [1], from_cache: false });
      expect((await replay.getStateAtStep(TENANT, 't1', 0)).integrity.verified).toBe(true);
      const at1 = await replay.getStateAtStep(TENANT, 't1', 1);
      expect(at1.step.hash_ok).toBe(false);
    });

    it('answers 404 beyond the last step and 400 for a negative index', async () => {
      await expect(replay.getStateAtStep(TENANT, 't1', 6)).rejects.toBeInstanceOf(NotFoundError);
      await expect(replay.getStateAtStep(TENANT, 't1', -1)).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe('openStream', () => {
    const collect = async (events: AsyncGenerator<ReplayStreamEvent>, stopAfterSteps = Infinity) => {
      const out: ReplayStreamEvent[] = [];
      for await (const e of events) {
        out.push(e);
        if (out.filter((x) => x.event === 'step').length >= stopAfterSteps) break;
      }
      return out;
    };

    it('paces the steps by their recorded gaps divided by the speed', async () => {
      const session = await replay.openStream(TENANT, 't1', { speed: 50, actor: auditor }); // 1 s gaps -> 20 ms
      const started = performance.now();
      const events = await collect(session.events());
      const elapsed = performance.now() - started;
      expect(events.map((e) => e.event)).toEqual(['start', 'step', 'step', 'step', 'step', 'step', 'step', 'end']);
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(events[events.length - 1]).toMatchObject({ event: 'end', data: { steps_sent: 6, final_state: { step_index: 5 } } });
      expect(audit.entries[0]).toMatchObject({ delivery: 'stream', mode: 'AUDIT', success: true });
    });

    it('caps a single wait, resumes after a given step, and stops when aborted', async () => {
      const capped = new TraceReplay(store, audit, undefined, { maxStreamWaitMs: 5 });
      const session = await capped.openStream(TENANT, 't1', { speed: 0.001, actor: auditor, resume_after: 3 });
      const started = performance.now();
      const events = await collect(session.events());
      expect(performance.now() - started).toBeLessThan(1000);
      expect(events.filter((e) => e.event === 'step').map((e) => (e as { id: string }).id)).toEqual(['4', '5']);

      const slow = await replay.openStream(TENANT, 't1', { speed: 0.001, actor: auditor });
      const abort = new AbortController();
      const iterator = slow.events(abort.signal);
      expect((await iterator.next()).value).toMatchObject({ event: 'start' });
      expect((await iterator.next()).value).toMatchObject({ event: 'step', id: '0' });
      setTimeout(() => abort.abort(), 20);
      const t = performance.now();
      expect(await iterator.next()).toEqual({ done: true, value: undefined });
      expect(performance.now() - t).toBeLessThan(1000);
    });

    it('refuses to stream a RERUN', async () => {
      await expect(replay.openStream(TENANT, 't1', { mode: 'RERUN' as never, actor: admin })).rejects.toBeInstanceOf(ValidationError);
    });
  });
});
