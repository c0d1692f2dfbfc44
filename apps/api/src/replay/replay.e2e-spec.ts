import { randomUUID } from 'node:crypto';
import { type E2eApp, startE2eApp } from '../testing/e2e-app';
import { EventStreams } from './event-streams';

const T0 = Date.UTC(2026, 0, 20, 10, 0, 0);
const step = (i: number, type: string) => ({
  step_index: i,
  step_type: type,
  timestamp: new Date(T0 + i * 1000).toISOString(),
  tokens: 100 + i,
  cost_cents: 2,
  duration_ms: 250,
  input_data: type === 'tool_call' ? { tool: 'refunds.create', arguments: { order: 7 } } : { messages: [{ role: 'user', content: `question ${i}` }] },
  output_data: type === 'tool_call' ? { result: 'ok' } : { content: `answer ${i}` },
});
const TYPES = ['input', 'llm_call', 'tool_call', 'llm_call', 'output'];

interface Sse {
  event: string;
  id?: string;
  data: any;
}

function parseEvents(text: string): Sse[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const e: Sse = { event: 'message', data: null };
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        if (field === 'event') e.event = rest.join(': ');
        if (field === 'id') e.id = rest.join(': ');
        if (field === 'data') e.data = JSON.parse(rest.join(': '));
      }
      return e;
    });
}

describe('Replay over HTTP', () => {
  let e: E2eApp;
  let traceId: string;
  let tenantId: string;
  let keys: Record<'auditor' | 'viewer' | 'ingest', string>;

  beforeAll(async () => {
    e = await startE2eApp();
    const created = await e.request('POST', '/api/v1/traces', { body: { run_id: randomUUID(), agent_id: randomUUID(), started_at: new Date(T0).toISOString() } });
    ({ trace_id: traceId, tenant_id: tenantId } = (await created.json()) as { trace_id: string; tenant_id: string });
    expect((await e.request('POST', `/api/v1/traces/${traceId}/steps`, { body: { steps: TYPES.map((t, i) => step(i, t)) } })).status).toBe(201);
    await e.request('POST', `/api/v1/traces/${traceId}/violation`, { body: { step_index: 2, policy_id: randomUUID(), reason: 'refund above the limit' } });
    expect((await e.request('POST', `/api/v1/traces/${traceId}/complete`, { body: { status: 'completed' } })).status).toBe(200);
    keys = { auditor: await e.newKey(tenantId, 'auditor'), viewer: await e.newKey(tenantId, 'viewer'), ingest: await e.newKey(tenantId, 'ingest') };
  }, 60_000);
  afterAll(() => e?.close());

  const replay = (body: unknown, key?: string, id = traceId) => e.request('POST', `/api/v1/traces/${id}/replay`, { key, body });

  it('answers an AUDIT replay to an auditor, with no body at all', async () => {
    const res = await e.request('POST', `/api/v1/traces/${traceId}/replay`, { key: keys.auditor });
    expect(res.status).toBe(200);
    const r = (await res.json()) as any;
    expect(r).toMatchObject({ mode: 'AUDIT', emit_traces: false, speed: 1, step_count: 5, duration_ms: 4000, new_trace_id: null, rerun: null });
    expect(r.integrity).toMatchObject({ verified: true, first_bad_step: null });
    expect(r.steps.map((s: any) => [s.offset_ms, s.hash_ok, s.is_inflection_point])).toEqual([
      [0, true, false],
      [1000, true, false],
      [2000, true, true],
      [3000, true, false],
      [4000, true, false],
    ]);
    expect(r.steps[1].input_data).toBeUndefined();
    expect(r.final_state).toMatchObject({ step_index: 4, cumulative_tokens: 510, violation_occurred: true, integrity: { verified: true } });
  });

  it('adds content in DEBUG and validates the body', async () => {
    const debug = (await (await replay({ mode: 'DEBUG', speed: 4 }, keys.auditor)).json()) as any;
    expect(debug.steps[2]).toMatchObject({ offset_ms: 500, input_data: { tool: 'refunds.create', arguments: { order: 7 } }, output_data: { result: 'ok' } });

    const emit = await replay({ mode: 'AUDIT', emit_traces: true }, keys.auditor);
    expect(emit.status).toBe(400);
    expect(emit.headers.get('content-type')).toContain('application/problem+json');
    expect(((await emit.json()) as any).errors).toEqual([expect.objectContaining({ field: 'emit_traces' })]);
    const bad = (await (await replay({ mode: 'FAST', speed: 1001, extra: 1 }, keys.auditor)).json()) as any;
    expect(bad.errors.map((x: any) => x.field).sort()).toEqual(['extra', 'mode', 'speed']);
    expect((await replay({ speed: '2' }, keys.auditor)).status).toBe(400);
  });

  it('lets only an admin RERUN with emit_traces, and writes one linked trace', async () => {
    const denied = await replay({ mode: 'RERUN', emit_traces: true }, keys.auditor);
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toContain('application/problem+json');

    const dry = (await (await replay({ mode: 'RERUN' }, keys.auditor)).json()) as any;
    expect(dry.rerun).toMatchObject({ emitted: false, new_trace_id: null, matches_original: true });

    const res = await replay({ mode: 'RERUN', emit_traces: true });
    expect(res.status).toBe(200);
    const r = (await res.json()) as any;
    expect(r.rerun).toMatchObject({ emitted: true, matches_original: true, steps_matching: 5 });
    const detail = (await (await e.request('GET', `/api/v1/logs/llm-runs/${r.new_trace_id}`)).json()) as any;
    expect(detail.trace).toMatchObject({ status: 'completed', content_hash: r.trace.content_hash, violation_step_index: 2 });
    const steps = (await (await e.request('GET', `/api/v1/logs/llm-runs/${r.new_trace_id}/steps`)).json()) as any;
    expect(steps.items[3].metadata).toEqual({ replay_of: { trace_id: traceId, step_index: 3 } });
  });

  it('keeps replay to auditors and admins, and the state to readers', async () => {
    expect((await replay({}, keys.viewer)).status).toBe(403);
    expect((await replay({}, keys.ingest)).status).toBe(403);
    expect((await e.request('GET', `/api/v1/traces/${traceId}/state?step_index=1`, { key: keys.ingest })).status).toBe(403);
    expect((await e.request('GET', `/api/v1/traces/${traceId}/replay/stream?speed=0`, { key: keys.viewer })).status).toBe(403);
  });

  it('answers the state at a step to a viewer', async () => {
    const res = await e.request('GET', `/api/v1/traces/${traceId}/state?step_index=3`, { key: keys.viewer });
    expect(res.status).toBe(200);
    const s = (await res.json()) as any;
    expect(s).toMatchObject({
      step_index: 3,
      steps_so_far: 4,
      cumulative_tokens: 100 + 101 + 102 + 103,
      cumulative_cost_cents: 8,
      cumulative_duration_ms: 1000,
      violation_occurred: true,
      violation_step_index: 2,
      step_counts: { input: 1, llm_call: 2, tool_call: 1, output: 0 },
      integrity: { verified: true, steps_checked: 4 },
    });
    expect(s.conversation.messages.map((m: any) => m.content)).toEqual(['question 1', 'answer 1', 'question 3', 'answer 3']);
    expect(s.tool_calls.items).toEqual([expect.objectContaining({ tool: 'refunds.create', result: 'ok' })]);

    const beyond = await e.request('GET', `/api/v1/traces/${traceId}/state?step_index=5`, { key: keys.viewer });
    expect(beyond.status).toBe(404);
    expect(beyond.headers.get('content-type')).toContain('application/problem+json');
    for (const q of ['', '?step_index=-1', '?step_index=1.5', '?step_index=1&step_index=2', '?step_index=1&x=1']) {
      expect((await e.request('GET', `/api/v1/traces/${traceId}/state${q}`, { key: keys.viewer })).status).toBe(400);
    }
  });

  const stream = async (query: string, key = keys.auditor) => {
    const started = performance.now();
    const res = await e.request('GET', `/api/v1/traces/${traceId}/replay/stream${query}`, { key });
    const text = await res.text();
    return { res, events: parseEvents(text), ms: performance.now() - started };
  };

  it('streams the steps as Server-Sent Events paced by the recorded gaps divided by speed', async () => {
    const paced = await stream('?speed=10&mode=DEBUG');
    expect(paced.res.status).toBe(200);
    expect(paced.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(paced.events.map((x) => x.event)).toEqual(['start', 'step', 'step', 'step', 'step', 'step', 'end']);
    expect(paced.events.filter((x) => x.event === 'step').map((x) => x.id)).toEqual(['0', '1', '2', '3', '4']);
    expect(paced.events[3].data).toMatchObject({ step_index: 2, offset_ms: 200, hash_ok: true, is_inflection_point: true, output_data: { result: 'ok' } });
    expect(paced.events[6].data).toMatchObject({ steps_sent: 5, final_state: { step_index: 4 }, integrity: { verified: true } });
    // 4 gaps of 1 s at speed 10: 400 ms at least.
    expect(paced.ms).toBeGreaterThanOrEqual(380);

    const instant = await stream('?speed=0');
    expect(instant.events.filter((x) => x.event === 'step')).toHaveLength(5);
    expect(instant.events[1].data.input_data).toBeUndefined();
    expect(instant.ms).toBeLessThan(paced.ms);
    expect(instant.ms).toBeLessThan(300);
    console.log(`SSE replay of 5 steps 1 s apart: speed 10 took ${paced.ms.toFixed(0)} ms, speed 0 took ${instant.ms.toFixed(0)} ms`);
  });

  it('answers HEAD with the headers only, without playing the replay', async () => {
    const started = performance.now();
    const res = await e.request('HEAD', `/api/v1/traces/${traceId}/replay/stream?speed=0.001`, { key: keys.auditor });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(e.app.get(EventStreams).active).toBe(0);
  });

  it('resumes after Last-Event-ID', async () => {
    const res = await e.request('GET', `/api/v1/traces/${traceId}/replay/stream?speed=0`, { key: keys.auditor, headers: { 'last-event-id': '2' } });
    const events = parseEvents(await res.text());
    expect(events.filter((x) => x.event === 'step').map((x) => x.id)).toEqual(['3', '4']);
  });

  it('answers problem details before the stream starts', async () => {
    const rerun = await e.request('GET', `/api/v1/traces/${traceId}/replay/stream?mode=RERUN`, { key: keys.auditor });
    expect(rerun.status).toBe(400);
    expect(rerun.headers.get('content-type')).toContain('application/problem+json');
    for (const q of ['?speed=fast', '?speed=1e3', '?speed=-1', '?speed=1001', '?foo=1']) {
      expect((await e.request('GET', `/api/v1/traces/${traceId}/replay/stream${q}`, { key: keys.auditor })).status).toBe(400);
    }
    const missing = await e.request('GET', `/api/v1/traces/${randomUUID()}/replay/stream`, { key: keys.auditor });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect((await e.request('GET', `/api/v1/traces/not-a-uuid/replay/stream`, { key: keys.auditor })).status).toBe(400);
  });

  it('stops streaming when the client goes away', async () => {
    const streams = e.app.get(EventStreams);
    const abort = new AbortController();
    // 1 s gaps at speed 0.001: every wait is the 10 s cap.
    const res = await fetch(`${e.baseUrl}/api/v1/traces/${traceId}/replay/stream?speed=0.001`, {
      headers: { authorization: `Bearer ${keys.auditor}` },
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('event: step')) seen += new TextDecoder().decode((await reader.read()).value);
    expect(streams.active).toBe(1);
    abort.abort();
    const deadline = Date.now() + 3000;
    while (streams.active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(streams.active).toBe(0);
  });

  it("answers 404 for another tenant's trace on every route", async () => {
    const other = await e.newTenant('admin');
    for (const [method, path] of [
      ['POST', `/api/v1/traces/${traceId}/replay`],
      ['GET', `/api/v1/traces/${traceId}/state?step_index=0`],
      ['GET', `/api/v1/traces/${traceId}/replay/stream?speed=0`],
    ]) {
      const res = await e.request(method, path, { key: other.key, body: method === 'POST' ? { mode: 'RERUN', emit_traces: true } : undefined });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('documents the routes in OpenAPI', async () => {
    const doc = (await (await e.request('GET', '/api/docs-json', { key: null })).json()) as any;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/traces/{trace_id}/replay', '/api/v1/traces/{trace_id}/state', '/api/v1/traces/{trace_id}/replay/stream']),
    );
    expect(doc.components.schemas.ReplayRequestDto.properties).toHaveProperty('emit_traces');
    expect(doc.components.schemas.ExecutionStateDto.properties).toHaveProperty('cumulative_cost_cents');
  });
});
