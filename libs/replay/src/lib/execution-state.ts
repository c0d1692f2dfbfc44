import {
  canonicalJson,
  computeStepHash,
  type JsonValue,
  STEP_TYPES,
  type StepType,
  type StoredStep,
  type TraceStep,
  type TraceSummary,
} from '@aos/logs-domain';
import type { StepStateSnapshot } from '@aos/traces-store';
import type {
  ConversationMessage,
  ConversationSoFar,
  ExecutionState,
  PolicyCheckRecord,
  PolicyOutcome,
  PrefixIntegrity,
  ToolCallRecord,
} from './replay.types';

/**
 * Bounds of an execution state, so that a state at step 9,999 costs what a
 * state at step 10 costs: sums and counts come from SQL over every step, but
 * content is read only for the latest RECENT_STEPS steps of each of these types.
 */
export const RECENT_STEPS = 20;
export const CONTENT_STEP_TYPES: readonly StepType[] = ['llm_call', 'tool_call', 'policy_check'];
/** Most conversation messages a state lists (the latest are kept). */
export const MAX_MESSAGES = 200;
/** Most bad step indexes an integrity report lists. */
export const MAX_LISTED_BAD_STEPS = 100;

export type StepTotals = StepStateSnapshot['totals'];

/** Everything the state at step N is built from (read by SQL, or from steps in memory). */
export interface StateMaterial {
  trace: TraceSummary;
  step: TraceStep;
  totals: StepTotals;
  /** The latest RECENT_STEPS steps of each CONTENT_STEP_TYPES type at or before the step, any order. */
  recent: readonly TraceStep[];
  integrity: PrefixIntegrity;
  /** The step's own hash recomputes. */
  step_hash_ok: boolean;
  recent_limit?: number;
}

type JsonObject = { [key: string]: JsonValue };

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function str(value: JsonValue | undefined): string | null {
  return typeof value === 'string' ? value : null;
}

function firstDefined(o: JsonObject | null, keys: readonly string[]): JsonValue | undefined {
  if (!o) return undefined;
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
}

function toMessage(stepIndex: number, value: JsonValue, defaultRole: string): ConversationMessage | null {
  if (typeof value === 'string') return { step_index: stepIndex, role: defaultRole, content: value };
  if (!isObject(value)) return null;
  const message: ConversationMessage = {
    step_index: stepIndex,
    role: str(value['role']) ?? defaultRole,
    content: firstDefined(value, ['content', 'text']) ?? null,
  };
  if (value['tool_calls'] !== undefined) message.tool_calls = value['tool_calls'];
  return message;
}

/**
 * The messages an llm_call step sent: `input_data.messages` [{role, content}]
 * (with `input_data.system` in front when it is not among them), else a
 * `prompt` / `input` / `query` / `question` string (after `system`), else a bare string.
 */
export function inputMessages(step: Pick<TraceStep, 'step_index' | 'input_data'>): ConversationMessage[] {
  const input = step.input_data;
  const i = step.step_index;
  if (typeof input === 'string') return [{ step_index: i, role: 'user', content: input }];
  if (!isObject(input)) return [];
  const system = str(input['system']) ?? str(input['system_prompt']);
  const messages = input['messages'];
  if (Array.isArray(messages)) {
    const list = messages.map((m) => toMessage(i, m, 'user')).filter((m): m is ConversationMessage => m !== null);
    if (system !== null && !list.some((m) => m.role === 'system')) list.unshift({ step_index: i, role: 'system', content: system });
    return list;
  }
  const out: ConversationMessage[] = [];
  if (system !== null) out.push({ step_index: i, role: 'system', content: system });
  const prompt = firstDefined(input, ['prompt', 'input', 'query', 'question']);
  if (typeof prompt === 'string') out.push({ step_index: i, role: 'user', content: prompt });
  return out;
}

/**
 * The reply of an llm_call step: a bare string; `choices[0].message` (OpenAI);
 * `message` ({role, content} or a string); `content` (with `role`); else a
 * `text` / `completion` / `response` / `output` / `answer` string; else bare `tool_calls`.
 */
export function outputMessage(step: Pick<TraceStep, 'step_index' | 'output_data'>): ConversationMessage | null {
  const o = step.output_data;
  const i = step.step_index;
  if (typeof o === 'string') return { step_index: i, role: 'assistant', content: o };
  if (!isObject(o)) return null;
  const choices = o['choices'];
  if (Array.isArray(choices) && isObject(choices[0])) {
    const choice = choices[0];
    if (isObject(choice['message'])) return toMessage(i, choice['message'], 'assistant');
    if (typeof choice['text'] === 'string') return { step_index: i, role: 'assistant', content: choice['text'] };
  }
  const message = o['message'];
  if (isObject(message) || typeof message === 'string') return toMessage(i, message, 'assistant');
  if (o['content'] !== undefined && o['content'] !== null) {
    const m: ConversationMessage = { step_index: i, role: str(o['role']) ?? 'assistant', content: o['content'] };
    if (o['tool_calls'] !== undefined) m.tool_calls = o['tool_calls'];
    return m;
  }
  const text = firstDefined(o, ['text', 'completion', 'response', 'output', 'answer']);
  if (typeof text === 'string') return { step_index: i, role: 'assistant', content: text };
  if (o['tool_calls'] !== undefined) return { step_index: i, role: 'assistant', content: null, tool_calls: o['tool_calls'] };
  return null;
}

function sameMessage(a: ConversationMessage, b: ConversationMessage): boolean {
  return a.role === b.role && canonicalJson(a.content) === canonicalJson(b.content);
}

/**
 * The conversation so far, from llm_call steps in order. A call whose messages
 * begin with the whole conversation so far (agents that resend the history)
 * adds only its new messages; any other call adds all of its messages (agents
 * that send only the new turn, or independent prompts). Each call's reply follows.
 */
export function buildConversation(llmCalls: readonly TraceStep[], llmCallsTotal: number): ConversationSoFar {
  const messages: ConversationMessage[] = [];
  const ordered = [...llmCalls].sort((a, b) => a.step_index - b.step_index);
  for (const step of ordered) {
    const input = inputMessages(step);
    const continues = messages.length > 0 && input.length >= messages.length && messages.every((m, k) => sameMessage(m, input[k]));
    messages.push(...input.slice(continues ? messages.length : 0));
    const reply = outputMessage(step);
    if (reply) messages.push(reply);
  }
  return {
    messages: messages.slice(-MAX_MESSAGES),
    llm_calls: llmCallsTotal,
    llm_calls_included: ordered.length,
    truncated: llmCallsTotal > ordered.length || messages.length > MAX_MESSAGES,
  };
}

/**
 * A tool_call step: the tool from `tool` / `tool_name` / `name` / `function.name`,
 * its arguments from `arguments` / `args` / `input` / `parameters` / `params`
 * (else the whole input), the result from `result` / `output` / `content` / `data`
 * (else the whole output), and `error`.
 */
export function toToolCall(step: TraceStep): ToolCallRecord {
  const input = isObject(step.input_data) ? step.input_data : null;
  const output = step.output_data;
  const fn = input && isObject(input['function']) ? input['function'] : null;
  const tool =
    str(input?.['tool']) ?? str(input?.['tool_name']) ?? str(input?.['name']) ?? str(fn?.['name']) ?? str(input?.['function']) ?? null;
  const args = firstDefined(input, ['arguments', 'args', 'input', 'parameters', 'params']) ?? firstDefined(fn, ['arguments']) ?? step.input_data;
  const out = isObject(output) ? output : null;
  const result = out ? (firstDefined(out, ['result', 'output', 'content', 'data']) ?? output) : output;
  const error = out?.['error'] ?? null;
  const failed = step.level === 'error' || error !== null || out?.['success'] === false || out?.['ok'] === false;
  return {
    step_index: step.step_index,
    timestamp: step.timestamp,
    level: step.level,
    tool,
    arguments: args ?? null,
    result: result ?? null,
    error,
    ok: !failed,
    duration_ms: step.duration_ms,
  };
}

const PASS_WORDS = new Set(['pass', 'passed', 'allow', 'allowed', 'ok', 'approved', 'compliant', 'success', 'accept', 'accepted', 'permit', 'permitted']);
const FAIL_WORDS = new Set([
  'fail',
  'failed',
  'deny',
  'denied',
  'block',
  'blocked',
  'violation',
  'violated',
  'reject',
  'rejected',
  'non_compliant',
  'noncompliant',
  'error',
]);

function classify(word: string): PolicyOutcome {
  const w = word.trim().toLowerCase();
  if (PASS_WORDS.has(w)) return 'pass';
  if (FAIL_WORDS.has(w)) return 'fail';
  return 'unknown';
}

/**
 * The outcome of a policy_check: a boolean `passed` / `allowed` / `compliant` /
 * `ok` / `success`, or `violation` / `violated`, or a word in `outcome` /
 * `result` / `decision` / `status` / `verdict` (pass, allow, deny, block, ...),
 * or a bare boolean or word; else an error-level step failed; else unknown.
 */
export function policyOutcome(step: Pick<TraceStep, 'output_data' | 'level'>): PolicyOutcome {
  const o = step.output_data;
  if (typeof o === 'boolean') return o ? 'pass' : 'fail';
  if (typeof o === 'string') {
    const c = classify(o);
    if (c !== 'unknown') return c;
  }
  if (isObject(o)) {
    for (const k of ['passed', 'allowed', 'compliant', 'ok', 'success']) {
      if (typeof o[k] === 'boolean') return o[k] ? 'pass' : 'fail';
    }
    for (const k of ['violation', 'violated']) {
      if (typeof o[k] === 'boolean') return o[k] ? 'fail' : 'pass';
    }
    for (const k of ['outcome', 'result', 'decision', 'status', 'verdict']) {
      const v = o[k];
      if (typeof v === 'boolean') return v ? 'pass' : 'fail';
      if (typeof v === 'string' && classify(v) !== 'unknown') return classify(v);
    }
  }
  return step.level === 'error' ? 'fail' : 'unknown';
}

export function toPolicyCheck(step: TraceStep): PolicyCheckRecord {
  const input = isObject(step.input_data) ? step.input_data : null;
  const output = isObject(step.output_data) ? step.output_data : null;
  const policyId = firstDefined(input, ['policy_id', 'policy', 'policy_name']) ?? firstDefined(output, ['policy_id', 'policy', 'policy_name']);
  const reason = firstDefined(output, ['reason', 'message', 'explanation', 'details']);
  return {
    step_index: step.step_index,
    timestamp: step.timestamp,
    level: step.level,
    policy_id: typeof policyId === 'string' ? policyId : null,
    outcome: policyOutcome(step),
    reason: typeof reason === 'string' ? reason : null,
    input_data: step.input_data,
    output_data: step.output_data,
  };
}

/** Builds the execution state at `material.step` (pure). */
export function buildExecutionState(material: StateMaterial): ExecutionState {
  const { trace, step, totals, integrity } = material;
  const limit = material.recent_limit ?? RECENT_STEPS;
  const n = step.step_index;
  const latest = (type: StepType) =>
    material.recent
      .filter((s) => s.step_type === type && s.step_index <= n)
      .sort((a, b) => a.step_index - b.step_index)
      .slice(-limit);
  const toolCalls = latest('tool_call').map(toToolCall);
  const policyChecks = latest('policy_check').map(toPolicyCheck);
  const outcomes: Record<PolicyOutcome, number> = { pass: 0, fail: 0, unknown: 0 };
  for (const p of policyChecks) outcomes[p.outcome]++;
  const violated = trace.violation_step_index !== null && trace.violation_step_index <= n;
  const started = Date.parse(trace.started_at);
  return {
    trace_id: trace.trace_id,
    step_index: n,
    timestamp: step.timestamp,
    step: {
      step_id: step.step_id,
      step_index: n,
      step_type: step.step_type,
      level: step.level,
      source: step.source,
      timestamp: step.timestamp,
      tokens: step.tokens,
      cost_cents: step.cost_cents,
      duration_ms: step.duration_ms,
      input_data: step.input_data,
      output_data: step.output_data,
      metadata: step.metadata,
      content_hash: step.content_hash,
      hash_ok: material.step_hash_ok,
      is_inflection_point: trace.violation_step_index === n,
    },
    steps_so_far: totals.steps,
    steps_total: trace.step_count,
    is_last_step: n === trace.step_count - 1,
    step_counts: totals.by_type,
    cumulative_tokens: totals.tokens,
    cumulative_cost_cents: totals.cost_cents,
    cumulative_duration_ms: totals.duration_ms,
    elapsed_ms: totals.last_end_ms === null ? 0 : Math.max(0, totals.last_end_ms - started),
    conversation: buildConversation(latest('llm_call'), totals.by_type.llm_call),
    tool_calls: { items: toolCalls, total: totals.by_type.tool_call, truncated: totals.by_type.tool_call > toolCalls.length },
    policy_checks: {
      items: policyChecks,
      total: totals.by_type.policy_check,
      truncated: totals.by_type.policy_check > policyChecks.length,
      outcomes,
    },
    violation_occurred: violated,
    violation_step_index: violated ? trace.violation_step_index : null,
    violation: violated
      ? {
          step_index: trace.violation_step_index as number,
          policy_id: trace.violation_policy_id,
          reason: trace.violation_reason,
          timestamp: trace.violation_timestamp,
        }
      : null,
    integrity,
  };
}

/** The same totals getStepState computes in SQL, from steps in memory (a replay's final state). */
export function totalsOfSteps(steps: readonly TraceStep[], stepIndex: number): StepTotals {
  const byType = Object.fromEntries(STEP_TYPES.map((t) => [t, 0])) as Record<StepType, number>;
  let count = 0;
  let tokens = 0;
  let cost = 0;
  let duration = 0;
  let lastEnd: number | null = null;
  for (const s of steps) {
    if (s.step_index > stepIndex) continue;
    count++;
    tokens += s.tokens;
    cost += s.cost_cents;
    duration += s.duration_ms;
    byType[s.step_type]++;
    const end = Date.parse(s.timestamp) + s.duration_ms;
    lastEnd = lastEnd === null ? end : Math.max(lastEnd, end);
  }
  return { steps: count, tokens, cost_cents: cost, duration_ms: duration, last_end_ms: lastEnd, by_type: byType };
}

/** The latest `limit` steps of each content type at or before the step, from steps in memory. */
export function recentOfSteps(steps: readonly TraceStep[], stepIndex: number, limit = RECENT_STEPS): TraceStep[] {
  return CONTENT_STEP_TYPES.flatMap((type) =>
    steps.filter((s) => s.step_type === type && s.step_index <= stepIndex).slice(-limit),
  );
}

/** Sorted, disjoint, inclusive ranges of bad step indexes (altered or missing). */
export type BadRanges = Array<[number, number]>;

function addRange(ranges: BadRanges, from: number, to: number): void {
  const last = ranges[ranges.length - 1];
  if (last && last[1] + 1 >= from) last[1] = Math.max(last[1], to);
  else ranges.push([from, to]);
}

/**
 * The bad steps of the range from..to: steps whose check failed, and indexes
 * with no step at all. `checked` is sorted by step_index.
 */
export function findBadSteps(checked: ReadonlyArray<{ step_index: number; ok: boolean }>, from: number, to: number): BadRanges {
  const ranges: BadRanges = [];
  let next = from;
  for (const s of checked) {
    if (s.step_index < next) continue;
    if (s.step_index > to) break;
    if (s.step_index > next) addRange(ranges, next, s.step_index - 1);
    if (!s.ok) addRange(ranges, s.step_index, s.step_index);
    next = s.step_index + 1;
  }
  if (next <= to) addRange(ranges, next, to);
  return ranges;
}

/** `earlier` (a prefix) followed by `later` (the ranges after it). */
export function appendBadSteps(earlier: BadRanges, later: BadRanges): BadRanges {
  const out: BadRanges = earlier.map(([a, b]) => [a, b]);
  for (const [a, b] of later) addRange(out, a, b);
  return out;
}

/** Bad step indexes as a capped list, and the first of them. */
export function listBadSteps(ranges: BadRanges, upTo = Number.MAX_SAFE_INTEGER): { first: number | null; listed: number[] } {
  const listed: number[] = [];
  let first: number | null = null;
  for (const [a, b] of ranges) {
    if (a > upTo) break;
    first ??= a;
    for (let i = a; i <= Math.min(b, upTo) && listed.length < MAX_LISTED_BAD_STEPS; i++) listed.push(i);
  }
  return { first, listed };
}

/** Integrity of steps 0..n from the bad ranges of a prefix covering them. */
export function prefixIntegrity(bad: BadRanges, n: number, fromCache: boolean): PrefixIntegrity {
  const { first, listed } = listBadSteps(bad, n);
  return { verified: first === null, steps_checked: n + 1, first_bad_step: first, bad_steps: listed, from_cache: fromCache };
}

/** Recomputes each step's hash from its content: ok when it equals the stored hash. */
export function checkHashes(steps: readonly StoredStep[]): Array<{ step_index: number; ok: boolean }> {
  return steps.map((s) => ({ step_index: s.step_index, ok: computeStepHash(s) === s.content_hash }));
}
