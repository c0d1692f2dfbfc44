import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { computeStepHash, computeTraceHash } from '@aos/logs-domain';
import { type E2eApp, startE2eApp } from '../testing/e2e-app';

const ts = (s: number) => new Date(Date.UTC(2026, 0, 20, 10, 0, s)).toISOString();
const step = (i: number, extra: Record<string, unknown> = {}) => ({
  step_index: i,
  step_type: i === 0 ? 'input' : 'llm_call',
  timestamp: ts(i),
  tokens: 100,
  cost_cents: 2,
  duration_ms: 250,
  input_data: { messages: [{ role: 'user', content: `question ${i}` }] },
  output_data: { content: `answer ${i}: the refund is approved` },
  ...extra,
});

describe('LLM-run traces over HTTP', () => {
  let e: E2eApp;
  beforeAll(async () => {
    e = await startE2eApp();
  }, 60_000);
  afterAll(() => e?.close());

  const createTrace = async (key?: string) => {
    const res = await e.request('POST', '/api/v1/traces', { key, body: { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'support-bot' } });
    expect(res.status).toBe(201);
    return (await res.json()) as { trace_id: string };
  };
  const stepCount = async (id: string) => ((await (await e.request('GET', `/api/v1/logs/llm-runs/${id}`)).json()) as any).trace.step_count;

  it('walks the README flow: create, steps, violation, complete, list, detail, steps, verify', async () => {
    const { trace_id } = await createTrace();
    const batch = await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: { steps: [step(0), step(1)] } });
    expect(batch.status).toBe(201);
    const recorded = (await batch.json()) as { steps: Array<{ step_index: number; content_hash: string }> };
    expect(recorded.steps[1].content_hash).toBe(computeStepHash(step(1)));

    const single = await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: step(2) });
    expect(single.status).toBe(201);
    expect(((await single.json()) as any).steps).toHaveLength(1);

    const policy = randomUUID();
    const v = await e.request('POST', `/api/v1/traces/${trace_id}/violation`, { body: { step_index: 1, policy_id: policy, reason: 'Refund above the approval limit' } });
    expect(v.status).toBe(200);
    const open = (await v.json()) as any;
    expect(open.content_hash).toBeNull();
    expect(open.total_tokens).toBe(300);

    const done = await e.request('POST', `/api/v1/traces/${trace_id}/complete`, { body: { status: 'completed' } });
    expect(done.status).toBe(200);
    const sealed = (await done.json()) as any;
    expect(sealed.content_hash).toBe(computeTraceHash([...recorded.steps, { step_index: 2, content_hash: computeStepHash(step(2)) }]));

    const list = (await (await e.request('GET', `/api/v1/logs/llm-runs?has_violation=true&policy_id=${policy}`)).json()) as any;
    expect(list.items).toEqual([expect.objectContaining({ trace_id, has_violation: true, violation_policy_id: policy, agent_name: 'support-bot', step_count: 3 })]);
    expect(list.pagination).toMatchObject({ total: 1, page: 1, page_size: 50 });
    expect(list.filters_applied).toMatchObject({ has_violation: 'true', policy_id: policy });

    const detail = (await (await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}`)).json()) as any;
    expect(detail.trace).toMatchObject({ trace_id, violation_step_index: 1, violation_policy_id: policy });
    expect(detail.steps.map((s: any) => s.is_inflection_point)).toEqual([false, true, false]);
    expect(detail.actions.map((a: any) => a.action)).toEqual(expect.arrayContaining(['verify', 'replay', 'export_evidence']));

    const steps = (await (await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}/steps?limit=2`)).json()) as any;
    expect(steps.items.map((s: any) => s.step_index)).toEqual([0, 1]);
    expect(steps.items[0].input_data).toEqual(step(0).input_data);
    const next = (await (await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}/steps?limit=2&cursor=${steps.pagination.next_cursor}`)).json()) as any;
    expect(next.items.map((s: any) => s.step_index)).toEqual([2]);
    expect(next.pagination.page).toBe(2);
    const newestFirst = (await (await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}/steps?order=desc`)).json()) as any;
    expect(newestFirst.items.map((s: any) => s.step_index)).toEqual([2, 1, 0]);

    const verify = (await (await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}/verify`)).json()) as any;
    expect(verify).toMatchObject({ verified: true, content_hash: sealed.content_hash, computed_hash: sealed.content_hash });

    const search = (await (await e.request('POST', '/api/v1/logs/llm-runs/search', { body: { search: 'approval limit', limit: 10 } })).json()) as any;
    expect(search.items.map((x: any) => x.trace_id)).toContain(trace_id);

    // Step content is indexed in the background, within about a second.
    let found: string[] = [];
    for (let i = 0; i < 50 && !found.includes(trace_id); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const page = (await (await e.request('GET', `/api/v1/logs/llm-runs?search=${encodeURIComponent('"question 2"')}`)).json()) as any;
      found = page.items.map((x: any) => x.trace_id);
    }
    expect(found).toContain(trace_id);
  });

  it('answers identical re-sends with 200 and conflicting writes with 409', async () => {
    const { trace_id } = await createTrace();
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: step(0) })).status).toBe(201);
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: step(0) })).status).toBe(200);
    const taken = await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: step(0, { output_data: 'other' }) });
    expect(taken.status).toBe(409);
    expect(taken.headers.get('content-type')).toContain('application/problem+json');
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: step(5) })).status).toBe(409);
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/violation`, { body: { step_index: 3, policy_id: randomUUID(), reason: 'x' } })).status).toBe(409);
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/complete`, { body: { status: 'active' } })).status).toBe(400);
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/complete`, { body: { status: 'aborted' } })).status).toBe(200);
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: step(1) })).status).toBe(409);
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: step(0) })).status).toBe(200);
    expect(await stepCount(trace_id)).toBe(1);
  });

  it('refuses bad input with a 400 naming the field, and stores nothing', async () => {
    const { trace_id } = await createTrace();
    const cases: Array<[string, unknown, string]> = [
      ['unknown field', { ...step(0), colour: 'red' }, 'colour'],
      ['wrong type', { ...step(0), tokens: 'many' }, 'tokens'],
      ['negative counter', { ...step(0), cost_cents: -1 }, 'cost_cents'],
      ['bad enum', { ...step(0), step_type: 'dance' }, 'step_type'],
      ['timestamp without offset', { ...step(0), timestamp: '2026-01-20T10:00:00' }, 'timestamp'],
      ['batch item', { steps: [step(0), { ...step(1), step_index: 'x' }] }, 'steps[1].step_index'],
      ['metadata not an object', { ...step(0), metadata: 'x' }, 'metadata'],
      ['batch metadata not an object', { steps: [step(0), { ...step(1), metadata: [1] }] }, 'steps[1].metadata'],
      ['batch not a list', { steps: 'many' }, 'steps'],
      ['batch item not an object', { steps: [7] }, 'steps[0]'],
      ['NUL in a value', { ...step(0), input_data: { text: 'a\u0000b' } }, 'body.$.input_data.text'],
      ['reserved key', { ...step(0), input_data: { constructor: 1 } }, 'body.$.input_data.constructor'],
    ];
    for (const [name, body, field] of cases) {
      const res = await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body });
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
      const problem = (await res.json()) as any;
      expect({ name, fields: problem.errors.map((x: any) => x.field) }).toEqual({ name, fields: expect.arrayContaining([field]) });
    }
    // A number a 64-bit float cannot hold would be stored, and hashed, as another number.
    for (const [data, field] of [
      ['{"id": 9007199254740993}', 'body.$.input_data.id'],
      ['[1, 123456789012345678901234567890]', 'body.$.input_data[1]'],
    ]) {
      const raw = `{"step_index":0,"step_type":"input","timestamp":"2026-01-20T10:00:00Z","input_data":${data}}`;
      const res = await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { raw });
      expect({ data, status: res.status }).toEqual({ data, status: 400 });
      expect(((await res.json()) as any).errors.map((x: any) => x.field)).toEqual([field]);
    }
    const deep = '{"step_index":0,"step_type":"input","timestamp":"2026-01-20T10:00:00Z","input_data":' + '['.repeat(20000) + ']'.repeat(20000) + '}';
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { raw: deep })).status).toBe(400);
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { raw: '{"step_index":0,' })).status).toBe(400);
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { raw: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    const huge = JSON.stringify({ ...step(0), input_data: 'x'.repeat(11 * 1024 * 1024) });
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { raw: huge })).status).toBe(413);
    const badId = await e.request('POST', '/api/v1/traces/not-a-uuid/steps', { body: step(0) });
    expect(badId.status).toBe(400);
    expect(((await badId.json()) as any).errors[0].field).toBe('trace_id');
    expect((await e.request('GET', `/api/v1/logs/llm-runs?search=${encodeURIComponent("x' OR 1=1; DROP TABLE aos_traces; --")}`)).status).toBe(200);
    expect((await e.request('GET', '/api/v1/logs/llm-runs?limit=10&limit=20')).status).toBe(400);
    expect((await e.request('GET', '/api/v1/logs/llm-runs?cursor=garbage')).status).toBe(400);
    expect((await e.request('GET', '/api/v1/logs/llm-runs?start_time=2026-01-01')).status).toBe(400);
    expect(await stepCount(trace_id)).toBe(0);
    expect((await e.request('GET', '/health/ready', { key: null })).status).toBe(200);
  });

  it('keeps every array and value of step content exactly as sent', async () => {
    const { trace_id } = await createTrace();
    const content = { list: [1, 'two', [3], { four: null }], unicode: 'é😀', big: 12345678901234, float: 0.1 };
    await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: step(0, { input_data: content, output_data: [content] }) });
    const got = (await (await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}/steps`)).json()) as any;
    expect(got.items[0].input_data).toEqual(content);
    expect(got.items[0].output_data).toEqual([content]);
    expect(got.items[0].content_hash).toBe(computeStepHash(step(0, { input_data: content, output_data: [content] })));
  });

  it('answers a forged cursor and a NUL character in a text filter with a 400 naming the parameter', async () => {
    const { trace_id } = await createTrace();
    await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: { steps: [step(0), step(1), step(2)] } });
    const forged = (sort: string, order: string, value: unknown) =>
      encodeURIComponent(Buffer.from(JSON.stringify([sort, order, value, trace_id, 1])).toString('base64url'));
    const fieldsOf = async (path: string) => {
      const res = await e.request('GET', path);
      return { path, status: res.status, fields: res.status === 400 ? ((await res.json()) as any).errors.map((x: any) => x.field) : [] };
    };
    // Each reached PostgreSQL as a cast error (500) before the cursor's value was held to an integer.
    for (const value of [1.5, 1e308, 2 ** 63, 'x', null, true]) {
      for (const path of [
        `/api/v1/logs/llm-runs?sort=total_tokens&order=desc&cursor=${forged('total_tokens', 'desc', value)}`,
        `/api/v1/logs/llm-runs?sort=total_tokens&order=desc&search=refund&cursor=${forged('total_tokens', 'desc', value)}`,
        `/api/v1/logs/llm-runs/${trace_id}/steps?cursor=${forged('step_index', 'asc', value)}`,
      ]) {
        expect(await fieldsOf(path)).toEqual({ path, status: 400, fields: ['cursor'] });
      }
    }
    // Past the integer column's range, a well-formed cursor is only past the end.
    const beyond = await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}/steps?cursor=${forged('step_index', 'asc', 2 ** 31)}`);
    expect(beyond.status).toBe(200);
    expect(((await beyond.json()) as any).items).toEqual([]);
    for (const path of [
      '/api/v1/logs/llm-runs?search=a%00b',
      '/api/v1/logs/system?source=%00',
      '/api/v1/logs/system?search=a%00b',
      '/api/v1/logs/audit?action=%00',
      '/api/v1/logs?topic=audit&resource_type=%00',
    ]) {
      const name = new URL(path, 'http://x').searchParams;
      const field = [...name.entries()].find(([, v]) => v.includes('\u0000'))![0];
      expect(await fieldsOf(path)).toEqual({ path, status: 400, fields: [field] });
    }
  });

  it('holds a search body to JSON types, and a time range to its order, naming the field', async () => {
    const fields = async (method: string, path: string, body?: unknown) => {
      const res = await e.request(method, path, body === undefined ? {} : { body });
      return { path, body, status: res.status, fields: res.status === 400 ? ((await res.json()) as any).errors.map((x: any) => x.field) : [] };
    };
    // A query string has only text ("limit=5"); a JSON body has numbers and booleans, and "5" is a string.
    for (const [path, body, field] of [
      ['/api/v1/logs/llm-runs/search', { limit: '5' }, 'limit'],
      ['/api/v1/logs/llm-runs/search', { has_violation: 'true' }, 'has_violation'],
      ['/api/v1/logs/audit/search', { success: 'false', offset: '1' }, 'success'],
    ] as const) {
      expect(await fields('POST', path, body)).toEqual({ path, body, status: 400, fields: expect.arrayContaining([field]) });
    }
    expect((await fields('POST', '/api/v1/logs/llm-runs/search', { limit: 5, has_violation: true })).status).toBe(200);
    expect((await fields('GET', '/api/v1/logs/llm-runs?limit=5&has_violation=true')).status).toBe(200);
    const reversed = 'start_time=2026-02-01T00:00:00Z&end_time=2026-01-31T23:59:59%2B23:00';
    for (const path of [`/api/v1/logs/llm-runs?${reversed}`, `/api/v1/logs/system?${reversed}`, `/api/v1/logs?topic=audit&${reversed}`]) {
      expect(await fields('GET', path)).toEqual({ path, body: undefined, status: 400, fields: ['end_time'] });
    }
    // Below the millisecond too: PostgreSQL compares microseconds.
    const subMs = '/api/v1/logs/system?start_time=2024-01-01T00:00:00.0009Z&end_time=2024-01-01T00:00:00.0001Z';
    expect(await fields('GET', subMs)).toEqual({ path: subMs, body: undefined, status: 400, fields: ['end_time'] });
    // The same instant written with another offset is not earlier: an empty range, answered empty.
    const empty = await e.request('GET', '/api/v1/logs/llm-runs?start_time=2026-02-01T00:00:00Z&end_time=2026-02-01T01:00:00%2B01:00');
    expect(empty.status).toBe(200);
    expect(((await empty.json()) as any).items).toEqual([]);
  });

  it('needs a valid key, and lets each role reach only its routes', async () => {
    expect((await e.request('GET', '/api/v1/logs/llm-runs', { key: null })).status).toBe(401);
    expect((await e.request('GET', '/api/v1/logs/llm-runs', { key: 'aos_not_a_real_key' })).status).toBe(401);
    const { tenantId, key: ingest } = await e.newTenant('ingest');
    const viewer = await e.newKey(tenantId, 'viewer');
    const { trace_id } = await createTrace(ingest);
    expect((await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}`, { key: ingest })).status).toBe(403);
    expect((await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}`, { key: viewer })).status).toBe(200);
    expect((await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { key: viewer, body: step(0) })).status).toBe(403);
  });

  it("shows a second tenant nothing of the first tenant's traces", async () => {
    const { trace_id } = await createTrace();
    await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: step(0) });
    const other = (await e.newTenant('admin')).key;
    for (const path of [`/api/v1/logs/llm-runs/${trace_id}`, `/api/v1/logs/llm-runs/${trace_id}/steps`, `/api/v1/logs/llm-runs/${trace_id}/verify`]) {
      expect({ path, status: (await e.request('GET', path, { key: other })).status }).toEqual({ path, status: 404 });
    }
    for (const [path, body] of [
      [`/api/v1/traces/${trace_id}/steps`, step(1)],
      [`/api/v1/traces/${trace_id}/violation`, { step_index: 0, policy_id: randomUUID(), reason: 'x' }],
      [`/api/v1/traces/${trace_id}/complete`, { status: 'completed' }],
    ] as const) {
      expect({ path, status: (await e.request('POST', path, { key: other, body })).status }).toEqual({ path, status: 404 });
    }
    const list = (await (await e.request('GET', `/api/v1/logs/llm-runs?search=${trace_id}`, { key: other })).json()) as any;
    expect(list.items).toEqual([]);
    const search = (await (await e.request('POST', '/api/v1/logs/llm-runs/search', { key: other, body: { search: 'refund' } })).json()) as any;
    expect(search.items).toEqual([]);
    expect(await stepCount(trace_id)).toBe(1);
  });

  it('reports a step altered behind the API with triggers bypassed by a superuser', async () => {
    const { trace_id } = await createTrace();
    await e.request('POST', `/api/v1/traces/${trace_id}/steps`, { body: { steps: [step(0), step(1), step(2)] } });
    await e.request('POST', `/api/v1/traces/${trace_id}/complete`, { body: { status: 'completed' } });
    const owner = new Client({ connectionString: e.databaseUrl });
    await owner.connect();
    try {
      await expect(owner.query(`UPDATE aos_trace_steps SET tokens = 1 WHERE trace_id = $1`, [trace_id])).rejects.toThrow(/Immutable record/);
      await owner.query('BEGIN');
      await owner.query('ALTER TABLE aos_trace_steps DISABLE TRIGGER aos_trace_steps_immutable');
      await owner.query(`UPDATE aos_trace_steps SET input_data = '{"forged": true}' WHERE trace_id = $1 AND step_index = 2`, [trace_id]);
      await owner.query('ALTER TABLE aos_trace_steps ENABLE ALWAYS TRIGGER aos_trace_steps_immutable');
      await owner.query('COMMIT');
    } finally {
      await owner.end();
    }
    const verify = (await (await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}/verify`)).json()) as any;
    expect(verify.verified).toBe(false);
    expect(verify.steps.filter((s: any) => !s.ok).map((s: any) => s.step_index)).toEqual([2]);
  });

  it('leaves out what an open trace does not have yet in its detail panel, rather than answering null', async () => {
    const res = await e.request('POST', '/api/v1/traces', { body: { run_id: randomUUID(), agent_id: randomUUID() } });
    const { trace_id } = (await res.json()) as { trace_id: string };
    const { trace } = (await (await e.request('GET', `/api/v1/logs/llm-runs/${trace_id}`)).json()) as any;
    expect(trace).toMatchObject({ trace_id, status: 'active', step_count: 0 });
    expect(Object.entries(trace).filter(([, v]) => v === null)).toEqual([]);
    for (const absent of ['agent_name', 'completed_at', 'content_hash', 'violation_step_index']) expect(trace).not.toHaveProperty(absent);
  });

  it('documents every route in OpenAPI', async () => {
    const doc = (await (await e.request('GET', '/api/docs-json', { key: null })).json()) as any;
    for (const path of [
      '/api/v1/traces',
      '/api/v1/traces/{trace_id}/steps',
      '/api/v1/traces/{trace_id}/violation',
      '/api/v1/traces/{trace_id}/complete',
      '/api/v1/logs/llm-runs',
      '/api/v1/logs/llm-runs/search',
      '/api/v1/logs/llm-runs/{trace_id}',
      '/api/v1/logs/llm-runs/{trace_id}/steps',
      '/api/v1/logs/llm-runs/{trace_id}/verify',
      '/health/live',
      '/health/ready',
    ]) {
      expect(doc.paths[path]).toBeDefined();
    }
    expect(doc.components.schemas.StepDto.properties.step_index.type).toBe('integer');
    // A trace's steps come in step order unless asked otherwise; every other list newest first.
    const order = (path: string) => doc.paths[path].get.parameters.find((p: any) => p.name === 'order').schema.default;
    expect([order('/api/v1/logs/llm-runs/{trace_id}/steps'), order('/api/v1/logs/llm-runs')]).toEqual(['asc', 'desc']);
    // The detail panel leaves an absent field out (spec 11.2), so none it may leave out is required.
    expect(doc.components.schemas.TraceDetailTraceDto.required).not.toEqual(expect.arrayContaining(['agent_name']));
    // Step content is any JSON value (a string, an array...), not only an object.
    for (const [schema, property] of [['StepDto', 'input_data'], ['TraceStepDto', 'output_data'], ['AuditLogEntryDto', 'details']]) {
      const declared = doc.components.schemas[schema].properties[property];
      expect({ schema, property, type: declared.type, kinds: declared.oneOf?.map((k: any) => k.type) }).toEqual({
        schema,
        property,
        type: undefined,
        kinds: ['object', 'array', 'string', 'number', 'boolean'],
      });
    }
    expect((await e.request('GET', '/api/docs', { key: null })).status).toBe(200);
  });
});
