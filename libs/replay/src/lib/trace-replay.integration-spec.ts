import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { IntegrityError, type NewStep, NotFoundError, STEP_TYPES, type StepType } from '@aos/logs-domain';
import { MAX_STEPS_PER_BATCH, TenantStore, TraceStore } from '@aos/traces-store';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '@aos/traces-store/testing';
import { InMemoryReplayAudit } from './ports';
import { TraceReplay } from './trace-replay';

const T0 = Date.UTC(2026, 0, 20, 10, 0, 0);
const admin = { id: randomUUID(), type: 'api_key' as const, role: 'admin' as const };
const auditor = { id: randomUUID(), type: 'api_key' as const, role: 'auditor' as const };

/** A support-bot run: input, llm calls with history, a tool call, a failed policy check, a violation, output. */
function runSteps(): NewStep[] {
  const ts = (i: number) => new Date(T0 + i * 1000).toISOString();
  const user = { role: 'user', content: 'Please refund order 7' };
  const plan: Array<[StepType, NewStep['input_data'], NewStep['output_data']]> = [
    ['input', { text: 'Please refund order 7' }, null],
    ['llm_call', { messages: [user] }, { content: 'I will look the order up.' }],
    ['tool_call', { tool: 'orders.get', arguments: { id: 7 } }, { result: { id: 7, total: 900 } }],
    ['llm_call', { messages: [user, { role: 'assistant', content: 'I will look the order up.' }, { role: 'tool', content: '{"total":900}' }] }, { content: 'Refunding 900.' }],
    ['policy_check', { policy_id: 'refund-limit' }, { passed: false, reason: 'above 500' }],
    ['tool_call', { tool: 'refunds.create', arguments: { id: 7, amount: 900 } }, { result: 'ok' }],
    ['violation', { policy_id: 'refund-limit' }, { reason: 'refund above the approval limit' }],
    ['output', null, { text: 'Your refund is on its way.' }],
  ];
  return plan.map(([step_type, input_data, output_data], i) => ({
    step_index: i,
    step_type,
    level: step_type === 'violation' ? 'error' : 'info',
    source: 'support-bot',
    timestamp: ts(i),
    tokens: 13 * (i + 1),
    cost_cents: i % 3,
    duration_ms: 100 + 10 * i,
    input_data,
    output_data,
    metadata: { attempt: 1 },
  }));
}

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('TraceReplay on %s', (kind) => {
  let t: TestDatabase;
  let store: TraceStore;
  let audit: InMemoryReplayAudit;
  let replay: TraceReplay;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    store = new TraceStore(t.db);
    audit = new InMemoryReplayAudit();
    replay = new TraceReplay(store, audit);
    const tenants = new TenantStore(t.db);
    tenantA = (await tenants.createTenant('replay-a', 'none')).tenant_id;
    tenantB = (await tenants.createTenant('replay-b', 'none')).tenant_id;
  }, 60_000);
  afterAll(() => t?.close());

  const recordRun = async (steps = runSteps(), tenant = tenantA, violationAt: number | null = 6) => {
    const { trace } = await store.createTrace(tenant, {
      run_id: randomUUID(),
      agent_id: randomUUID(),
      agent_name: 'support-bot',
      started_at: new Date(T0).toISOString(),
      policy_snapshot: { limit: 500 },
    });
    for (let i = 0; i < steps.length; i += MAX_STEPS_PER_BATCH) {
      await store.addSteps(tenant, trace.trace_id, steps.slice(i, i + MAX_STEPS_PER_BATCH));
    }
    if (violationAt !== null) {
      await store.markViolation(tenant, trace.trace_id, { step_index: violationAt, policy_id: randomUUID(), reason: 'refund above the approval limit' });
    }
    return store.completeTrace(tenant, trace.trace_id, { status: 'failed' });
  };

  const rowCounts = async () => {
    const [row] = await t.asOwner<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM aos_traces) AS aos_traces, (SELECT count(*)::int FROM aos_trace_steps) AS aos_trace_steps,
         (SELECT count(*)::int FROM system_logs) AS system_logs, (SELECT count(*)::int FROM audit_logs) AS audit_logs,
         (SELECT count(*)::int FROM policy_snapshots) AS policy_snapshots`,
    );
    return row;
  };

  const tamper = (traceId: string, stepIndex: number) =>
    t.asOwner(`
      DO $$ BEGIN
        ALTER TABLE aos_trace_steps DISABLE TRIGGER aos_trace_steps_immutable;
        UPDATE aos_trace_steps SET output_data = '{"text":"forged"}' WHERE trace_id = '${traceId}' AND step_index = ${stepIndex};
        ALTER TABLE aos_trace_steps ENABLE ALWAYS TRIGGER aos_trace_steps_immutable;
      END $$`);

  it('rebuilds the state at every step with sums that match the recorded steps', async () => {
    const steps = runSteps();
    const trace = await recordRun(steps);
    for (const s of steps) {
      const n = s.step_index;
      const upTo = steps.filter((x) => x.step_index <= n);
      const state = await replay.getStateAtStep(tenantA, trace.trace_id, n);
      expect(state).toMatchObject({
        trace_id: trace.trace_id,
        step_index: n,
        steps_so_far: n + 1,
        steps_total: steps.length,
        cumulative_tokens: upTo.reduce((x, y) => x + (y.tokens ?? 0), 0),
        cumulative_cost_cents: upTo.reduce((x, y) => x + (y.cost_cents ?? 0), 0),
        cumulative_duration_ms: upTo.reduce((x, y) => x + (y.duration_ms ?? 0), 0),
        elapsed_ms: n * 1000 + (s.duration_ms ?? 0),
        violation_occurred: n >= 6,
        violation_step_index: n >= 6 ? 6 : null,
        step: { step_type: s.step_type, input_data: s.input_data ?? null, output_data: s.output_data ?? null, metadata: s.metadata, hash_ok: true },
        integrity: { verified: true, steps_checked: n + 1, first_bad_step: null },
      });
      const counts = Object.fromEntries(STEP_TYPES.map((type) => [type, upTo.filter((x) => x.step_type === type).length]));
      expect(state.step_counts).toEqual(counts);
    }
    const last = await replay.getStateAtStep(tenantA, trace.trace_id, 7);
    expect(last.conversation.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'Please refund order 7'],
      ['assistant', 'I will look the order up.'],
      ['tool', '{"total":900}'],
      ['assistant', 'Refunding 900.'],
    ]);
    expect(last.tool_calls.items.map((c) => c.tool)).toEqual(['orders.get', 'refunds.create']);
    expect(last.policy_checks).toMatchObject({ total: 1, outcomes: { fail: 1 }, items: [{ policy_id: 'refund-limit', reason: 'above 500' }] });
    expect(last.is_last_step).toBe(true);
  });

  it("answers 404 beyond the last step and for another tenant's trace", async () => {
    const trace = await recordRun();
    await expect(replay.getStateAtStep(tenantA, trace.trace_id, 8)).rejects.toBeInstanceOf(NotFoundError);
    await expect(replay.getStateAtStep(tenantB, trace.trace_id, 0)).rejects.toBeInstanceOf(NotFoundError);
    await expect(replay.replay(tenantB, trace.trace_id, { actor: admin })).rejects.toBeInstanceOf(NotFoundError);
    await expect(replay.replay(tenantB, trace.trace_id, { mode: 'RERUN', emit_traces: true, actor: admin })).rejects.toBeInstanceOf(NotFoundError);
    await expect(replay.openStream(tenantB, trace.trace_id, { actor: admin })).rejects.toBeInstanceOf(NotFoundError);
    await expect(replay.getStateAtStep(tenantA, randomUUID(), 0)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('leaves every table as it was after AUDIT, DEBUG, a dry RERUN, a state and a stream', async () => {
    const trace = await recordRun();
    const before = await rowCounts();
    const entries = audit.entries.length;
    const a = await replay.replay(tenantA, trace.trace_id, { mode: 'AUDIT', actor: auditor });
    const d = await replay.replay(tenantA, trace.trace_id, { mode: 'DEBUG', speed: 0, actor: auditor });
    const dry = await replay.replay(tenantA, trace.trace_id, { mode: 'RERUN', actor: auditor });
    await replay.getStateAtStep(tenantA, trace.trace_id, 4);
    for await (const _event of (await replay.openStream(tenantA, trace.trace_id, { speed: 0, actor: auditor })).events()) {
      // drain
    }
    expect(await rowCounts()).toEqual(before);
    expect(a.integrity.verified && d.integrity.verified).toBe(true);
    expect(d.steps[2].output_data).toEqual({ result: { id: 7, total: 900 } });
    expect(dry.rerun).toMatchObject({ emitted: false, matches_original: true, content_hash: trace.content_hash });
    // Audited through the port (a fake here), not written to audit_logs by the replay.
    expect(audit.entries.slice(entries).map((e) => [e.mode, e.delivery])).toEqual([
      ['AUDIT', 'result'],
      ['DEBUG', 'result'],
      ['RERUN', 'result'],
      ['AUDIT', 'stream'],
    ]);
  });

  it('writes a RERUN with emit_traces as exactly one new trace with the same step and trace hashes', async () => {
    const trace = await recordRun();
    const before = await rowCounts();
    const r = await replay.replay(tenantA, trace.trace_id, { mode: 'RERUN', emit_traces: true, actor: admin });
    const after = await rowCounts();
    expect(after).toEqual({ ...before, aos_traces: before.aos_traces + 1, aos_trace_steps: before.aos_trace_steps + 8 });

    const original = await store.getTraceWithSteps(tenantA, trace.trace_id);
    const copy = await store.getTraceWithSteps(tenantA, r.new_trace_id!);
    expect(copy.trace.trace_id).not.toBe(trace.trace_id);
    expect(copy.trace).toMatchObject({ status: 'failed', content_hash: trace.content_hash, run_id: trace.run_id, violation_step_index: 6, step_count: 8 });
    expect(copy.steps.map((s) => s.content_hash)).toEqual(original.steps.map((s) => s.content_hash));
    copy.steps.forEach((s, i) => expect(s.metadata).toEqual({ attempt: 1, replay_of: { trace_id: trace.trace_id, step_index: i } }));
    expect((await store.verifyTrace(tenantA, r.new_trace_id!)).verified).toBe(true);
    expect(r.rerun).toMatchObject({ emitted: true, matches_original: true, steps_matching: 8 });
    expect(audit.entries[audit.entries.length - 1]).toMatchObject({ mode: 'RERUN', emitTraces: true, newTraceId: r.new_trace_id, success: true });
  });

  it('refuses to RERUN a tampered trace naming the step, and flags it in AUDIT and in the state', async () => {
    const trace = await recordRun();
    const clean = await replay.getStateAtStep(tenantA, trace.trace_id, 7); // remembered as verified
    expect(clean.integrity.verified).toBe(true);
    await tamper(trace.trace_id, 3);

    const before = await rowCounts();
    const refused = replay.replay(tenantA, trace.trace_id, { mode: 'RERUN', emit_traces: true, actor: admin });
    await expect(refused).rejects.toBeInstanceOf(IntegrityError);
    await expect(refused).rejects.toMatchObject({ status: 409, extensions: { first_bad_step: 3, bad_steps: [3] } });
    await expect(replay.replay(tenantA, trace.trace_id, { mode: 'RERUN', actor: admin })).rejects.toBeInstanceOf(IntegrityError);
    expect(await rowCounts()).toEqual(before);
    expect(audit.entries[audit.entries.length - 1]).toMatchObject({ mode: 'RERUN', success: false, integrityOk: false, firstBadStep: 3 });

    const a = await replay.replay(tenantA, trace.trace_id, { actor: auditor });
    expect(a.integrity).toMatchObject({ verified: false, first_bad_step: 3, bad_steps: [3], trace_hash_ok: false });
    expect(a.steps.filter((s) => !s.hash_ok).map((s) => s.step_index)).toEqual([3]);

    // The remembered verification is not trusted: the row changed.
    expect((await replay.getStateAtStep(tenantA, trace.trace_id, 7)).integrity).toMatchObject({ verified: false, first_bad_step: 3, from_cache: false });
    expect((await replay.getStateAtStep(tenantA, trace.trace_id, 2)).integrity).toMatchObject({ verified: true });
    expect((await replay.getStateAtStep(tenantA, trace.trace_id, 3)).step.hash_ok).toBe(false);
  });

  it('answers the state of a 10,000-step trace from aggregates, fast once the prefix is verified', async () => {
    const steps: NewStep[] = Array.from({ length: 10_000 }, (_, i) => ({
      step_index: i,
      step_type: (['llm_call', 'tool_call', 'llm_call', 'policy_check', 'output'] as const)[i % 5],
      timestamp: new Date(T0 + i * 250).toISOString(),
      tokens: 50 + (i % 7),
      cost_cents: i % 3,
      duration_ms: 40,
      input_data: { messages: [{ role: 'user', content: `question ${i} about the refund policy` }], tool: 'lookup', policy_id: 'p' },
      output_data: { content: `answer ${i}: refunds take 5 days`, passed: true },
    }));
    const trace = await recordRun(steps, tenantA, null);

    const time = async (n: number) => {
      const started = performance.now();
      const state = await replay.getStateAtStep(tenantA, trace.trace_id, n);
      return { ms: performance.now() - started, state };
    };
    const cold = await time(9_999);
    const warm: number[] = [];
    for (let k = 0; k < 7; k++) warm.push((await time(9_999 - k * 1000)).ms);
    warm.sort((x, y) => x - y);
    const median = warm[Math.floor(warm.length / 2)];
    const started = performance.now();
    const audited = await replay.replay(tenantA, trace.trace_id, { actor: auditor });
    const replayMs = performance.now() - started;

    console.log(
      `[${kind}] 10k-step state: cold ${cold.ms.toFixed(1)} ms (verifies 10,000 hashes), ` +
        `warm median ${median.toFixed(1)} ms (min ${warm[0].toFixed(1)}, max ${warm[warm.length - 1].toFixed(1)}); AUDIT replay ${replayMs.toFixed(0)} ms`,
    );
    expect(cold.state).toMatchObject({
      steps_so_far: 10_000,
      cumulative_tokens: steps.reduce((x, s) => x + (s.tokens ?? 0), 0),
      cumulative_cost_cents: steps.reduce((x, s) => x + (s.cost_cents ?? 0), 0),
      cumulative_duration_ms: 400_000,
      step_counts: { llm_call: 4000, tool_call: 2000, policy_check: 2000, output: 2000 },
      integrity: { verified: true, steps_checked: 10_000 },
    });
    expect(cold.state.conversation.llm_calls_included).toBe(20);
    expect(cold.state.tool_calls.items).toHaveLength(20);
    expect(audited.integrity.verified).toBe(true);
    expect(audited.steps).toHaveLength(10_000);
    // A generous bound (the budget is 50 ms; see the logged numbers): not a flaky timing race.
    expect(median).toBeLessThan(500);
  }, 180_000);
});
