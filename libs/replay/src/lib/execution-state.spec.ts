import { computeStepHash, type JsonValue, type StepType, type TraceStep, type TraceSummary } from '@aos/logs-domain';
import {
  appendBadSteps,
  buildConversation,
  buildExecutionState,
  checkHashes,
  findBadSteps,
  inputMessages,
  MAX_LISTED_BAD_STEPS,
  outputMessage,
  policyOutcome,
  prefixIntegrity,
  recentOfSteps,
  toToolCall,
  totalsOfSteps,
} from './execution-state';

const T0 = Date.UTC(2026, 0, 20, 10, 0, 0);

function step(i: number, type: StepType, input: JsonValue | null, output: JsonValue | null, extra: Partial<TraceStep> = {}): TraceStep {
  const s = {
    step_id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    trace_id: 'trace',
    tenant_id: 'tenant',
    step_index: i,
    step_type: type,
    level: 'info' as const,
    source: 'agent',
    timestamp: new Date(T0 + i * 1000).toISOString(),
    tokens: 10 * i,
    cost_cents: i,
    duration_ms: 100,
    input_data: input,
    output_data: output,
    metadata: null,
    created_at: new Date(T0).toISOString(),
    ...extra,
  };
  return { ...s, content_hash: extra.content_hash ?? computeStepHash(s) };
}

const trace = (extra: Partial<TraceSummary> = {}): TraceSummary => ({
  trace_id: 'trace',
  run_id: 'run',
  tenant_id: 'tenant',
  agent_id: 'agent',
  agent_name: 'bot',
  status: 'completed',
  step_count: 6,
  total_tokens: 150,
  total_cost_cents: 15,
  total_duration_ms: 6000,
  started_at: new Date(T0).toISOString(),
  completed_at: new Date(T0 + 6000).toISOString(),
  content_hash: null,
  is_synthetic: false,
  synthetic_scenario_id: null,
  incident_id: null,
  violation_step_index: null,
  violation_timestamp: null,
  violation_policy_id: null,
  violation_reason: null,
  created_at: new Date(T0).toISOString(),
  ...extra,
});

describe('inputMessages / outputMessage', () => {
  it('reads chat messages, with a separate system prompt put first', () => {
    const s = step(1, 'llm_call', { system: 'be brief', messages: [{ role: 'user', content: 'hi' }, 'bare text'] }, null);
    expect(inputMessages(s).map((m) => [m.role, m.content])).toEqual([
      ['system', 'be brief'],
      ['user', 'hi'],
      ['user', 'bare text'],
    ]);
  });

  it('reads a prompt, an input string or a bare string', () => {
    expect(inputMessages(step(1, 'llm_call', { prompt: 'why?' }, null))).toEqual([{ step_index: 1, role: 'user', content: 'why?' }]);
    expect(inputMessages(step(1, 'llm_call', { input: 'x' }, null))[0].content).toBe('x');
    expect(inputMessages(step(1, 'llm_call', 'plain', null))[0].content).toBe('plain');
    expect(inputMessages(step(1, 'llm_call', { temperature: 1 }, null))).toEqual([]);
    expect(inputMessages(step(1, 'llm_call', null, null))).toEqual([]);
  });

  it.each<[string, JsonValue, string, JsonValue]>([
    ['content', { content: 'a' }, 'assistant', 'a'],
    ['text', { text: 'b' }, 'assistant', 'b'],
    ['message object', { message: { role: 'assistant', content: 'c' } }, 'assistant', 'c'],
    ['message string', { message: 'd' }, 'assistant', 'd'],
    ['OpenAI choices', { choices: [{ message: { role: 'assistant', content: 'e' } }] }, 'assistant', 'e'],
    ['bare string', 'f', 'assistant', 'f'],
    ['structured content', { content: [{ type: 'text', text: 'g' }] }, 'assistant', [{ type: 'text', text: 'g' }]],
  ])('reads the reply from %s', (_name, output, role, content) => {
    expect(outputMessage(step(2, 'llm_call', null, output))).toMatchObject({ step_index: 2, role, content });
  });

  it('keeps tool calls the model asked for, and answers null for no reply', () => {
    expect(outputMessage(step(2, 'llm_call', null, { tool_calls: [{ id: 't1' }] }))).toMatchObject({ content: null, tool_calls: [{ id: 't1' }] });
    expect(outputMessage(step(2, 'llm_call', null, { usage: { total: 3 } }))).toBeNull();
    expect(outputMessage(step(2, 'llm_call', null, null))).toBeNull();
  });
});

describe('buildConversation', () => {
  it('accumulates independent prompts and their replies', () => {
    const calls = [step(1, 'llm_call', { prompt: 'q1' }, { text: 'a1' }), step(3, 'llm_call', { prompt: 'q2' }, { text: 'a2' })];
    const c = buildConversation(calls, 2);
    expect(c.messages.map((m) => `${m.role}:${m.content}@${m.step_index}`)).toEqual(['user:q1@1', 'assistant:a1@1', 'user:q2@3', 'assistant:a2@3']);
    expect(c).toMatchObject({ llm_calls: 2, llm_calls_included: 2, truncated: false });
  });

  it('adds only the new turns of a call that resends the whole history', () => {
    const sys = { role: 'system', content: 'rules' };
    const calls = [
      step(1, 'llm_call', { messages: [sys, { role: 'user', content: 'q1' }] }, { content: 'a1' }),
      step(2, 'llm_call', { messages: [sys, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' }] }, { content: 'a2' }),
    ];
    expect(buildConversation(calls, 2).messages.map((m) => m.content)).toEqual(['rules', 'q1', 'a1', 'q2', 'a2']);
  });

  it('says when earlier calls were left out', () => {
    const c = buildConversation([step(9, 'llm_call', { prompt: 'late' }, 'reply')], 40);
    expect(c).toMatchObject({ llm_calls: 40, llm_calls_included: 1, truncated: true });
  });
});

describe('toToolCall and policyOutcome', () => {
  it('reads the tool, its arguments and its result', () => {
    const t = toToolCall(step(2, 'tool_call', { tool: 'refund', arguments: { amount: 5 } }, { result: { ok: 1 } }));
    expect(t).toMatchObject({ tool: 'refund', arguments: { amount: 5 }, result: { ok: 1 }, error: null, ok: true });
    const fn = toToolCall(step(2, 'tool_call', { function: { name: 'lookup', arguments: '{"id":1}' } }, { error: 'timeout' }));
    expect(fn).toMatchObject({ tool: 'lookup', arguments: '{"id":1}', error: 'timeout', ok: false });
    expect(toToolCall(step(2, 'tool_call', { q: 1 }, null, { level: 'error' }))).toMatchObject({ tool: null, arguments: { q: 1 }, ok: false });
  });

  it.each<[JsonValue, 'info' | 'error', string]>([
    [{ passed: true }, 'info', 'pass'],
    [{ allowed: false }, 'info', 'fail'],
    [{ violation: true }, 'info', 'fail'],
    [{ decision: 'DENY' }, 'info', 'fail'],
    [{ result: 'approved' }, 'info', 'pass'],
    ['blocked', 'info', 'fail'],
    [true, 'info', 'pass'],
    [{ note: 'n/a' }, 'info', 'unknown'],
    [{ note: 'n/a' }, 'error', 'fail'],
  ])('classifies the policy outcome %j (level %s) as %s', (output, level, outcome) => {
    expect(policyOutcome({ output_data: output, level })).toBe(outcome);
  });
});

describe('integrity ranges', () => {
  it('names altered and missing steps, merging neighbours', () => {
    const checked = [
      { step_index: 0, ok: true },
      { step_index: 1, ok: false },
      { step_index: 4, ok: true },
      { step_index: 5, ok: false },
    ];
    expect(findBadSteps(checked, 0, 7)).toEqual([
      [1, 3],
      [5, 7],
    ]);
    expect(prefixIntegrity(findBadSteps(checked, 0, 7), 0, false)).toMatchObject({ verified: true, first_bad_step: null, steps_checked: 1 });
    expect(prefixIntegrity(findBadSteps(checked, 0, 7), 4, true)).toEqual({
      verified: false,
      steps_checked: 5,
      first_bad_step: 1,
      bad_steps: [1, 2, 3],
      from_cache: true,
    });
  });

  it('extends a verified prefix and caps the listing', () => {
    expect(appendBadSteps([[2, 4]], [[5, 5], [9, 9]])).toEqual([
      [2, 5],
      [9, 9],
    ]);
    const many = prefixIntegrity([[0, 100_000]], 100_000, false);
    expect(many.bad_steps).toHaveLength(MAX_LISTED_BAD_STEPS);
    expect(many.first_bad_step).toBe(0);
  });

  it('recomputes the hash of each step from its content', () => {
    const good = step(0, 'input', { a: 1 }, null);
    const forged = { ...step(1, 'output', null, { b: 1 }), output_data: { b: 2 } };
    expect(checkHashes([good, forged])).toEqual([
      { step_index: 0, ok: true },
      { step_index: 1, ok: false },
    ]);
  });
});

describe('buildExecutionState', () => {
  const steps = [
    step(0, 'input', { prompt: 'refund order 7' }, null),
    step(1, 'llm_call', { messages: [{ role: 'user', content: 'refund order 7' }] }, { content: 'calling the refund tool' }),
    step(2, 'tool_call', { tool: 'refund', arguments: { order: 7 } }, { result: 'refunded' }),
    step(3, 'policy_check', { policy_id: 'p-1' }, { passed: false, reason: 'over the limit' }, { level: 'warning' }),
    step(4, 'violation', null, { reason: 'over the limit' }, { level: 'error' }),
    step(5, 'output', null, { text: 'done' }),
  ];
  const violated = trace({ violation_step_index: 4, violation_policy_id: 'p-1', violation_reason: 'over the limit', violation_timestamp: steps[4].timestamp });
  const stateAt = (n: number, t = violated) =>
    buildExecutionState({
      trace: t,
      step: steps[n],
      totals: totalsOfSteps(steps, n),
      recent: recentOfSteps(steps, n),
      integrity: prefixIntegrity([], n, false),
      step_hash_ok: true,
    });

  it('sums and counts the steps so far', () => {
    const s = stateAt(3);
    expect(s).toMatchObject({
      step_index: 3,
      steps_so_far: 4,
      steps_total: 6,
      is_last_step: false,
      cumulative_tokens: 0 + 10 + 20 + 30,
      cumulative_cost_cents: 6,
      cumulative_duration_ms: 400,
      elapsed_ms: 3100,
    });
    expect(s.step_counts).toEqual({ input: 1, llm_call: 1, tool_call: 1, output: 0, policy_check: 1, violation: 0 });
  });

  it('rebuilds the conversation, the tool calls and the policy checks', () => {
    const s = stateAt(3);
    expect(s.conversation.messages.map((m) => m.content)).toEqual(['refund order 7', 'calling the refund tool']);
    expect(s.tool_calls).toMatchObject({ total: 1, truncated: false, items: [{ step_index: 2, tool: 'refund', result: 'refunded' }] });
    expect(s.policy_checks).toMatchObject({ total: 1, outcomes: { pass: 0, fail: 1, unknown: 0 }, items: [{ policy_id: 'p-1', reason: 'over the limit' }] });
    expect(s.step).toMatchObject({ step_type: 'policy_check', input_data: { policy_id: 'p-1' }, hash_ok: true, is_inflection_point: false });
  });

  it('shows the violation only from its step on', () => {
    expect(stateAt(3)).toMatchObject({ violation_occurred: false, violation_step_index: null, violation: null });
    expect(stateAt(4)).toMatchObject({
      violation_occurred: true,
      violation_step_index: 4,
      violation: { policy_id: 'p-1', reason: 'over the limit' },
      step: { is_inflection_point: true },
    });
    expect(stateAt(5)).toMatchObject({ violation_occurred: true, is_last_step: true });
    expect(stateAt(5, trace()).violation_occurred).toBe(false);
  });

  it('lists only the latest recent steps of a long run', () => {
    const long = Array.from({ length: 60 }, (_, i) => step(i, 'tool_call', { tool: `t${i}` }, { result: i }));
    const s = buildExecutionState({
      trace: trace({ step_count: 60 }),
      step: long[59],
      totals: totalsOfSteps(long, 59),
      recent: recentOfSteps(long, 59, 5),
      integrity: prefixIntegrity([], 59, false),
      step_hash_ok: true,
      recent_limit: 5,
    });
    expect(s.tool_calls.items.map((t) => t.step_index)).toEqual([55, 56, 57, 58, 59]);
    expect(s.tool_calls).toMatchObject({ total: 60, truncated: true });
  });
});
