import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { AUDIT_ACTIONS, AUDIT_DETAILS_MAX_BYTES } from '@aos/logs-domain';
import { SystemLogSearchIndexer, TenantStore } from '@aos/traces-store';
import { BOOTSTRAP_KEY, type E2eApp, PLATFORM_KEY, startE2eApp } from '../testing/e2e-app';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 20, 10, minute)).toISOString();
const sysLog = (extra: Record<string, unknown> = {}) => ({ level: 'info', source: 'checkout', message: 'order placed', timestamp: at(0), ...extra });
const q = (params: Record<string, string | number | boolean>) =>
  new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();

describe('System and audit logs over HTTP', () => {
  let e: E2eApp;
  /** A tenant of its own, so counts are exact: an admin key and its id. */
  let admin: string;
  let adminId: string;
  let tenantId: string;

  beforeAll(async () => {
    e = await startE2eApp();
    const t = await e.newTenant('admin');
    tenantId = t.tenantId;
    admin = t.key;
    adminId = (await e.app.get(TenantStore).authenticate(admin))!.key_id;
  }, 60_000);
  afterAll(() => e?.close());

  /** System-log full text is indexed in the background (within about a second): tests that search wait for it. */
  const indexed = () => e.app.get(SystemLogSearchIndexer).drain();
  const json = async (res: Response) => (await res.json()) as any;
  const get = async (path: string, key: string | null = admin) => {
    const res = await e.request('GET', path, { key });
    return { status: res.status, body: await json(res), headers: res.headers };
  };
  const post = async (path: string, body: unknown, key: string | null = admin, headers?: Record<string, string>) => {
    const res = await e.request('POST', path, { key, body, headers });
    return { status: res.status, body: await json(res) };
  };
  /** A 400 problem whose `errors` name `field`. */
  const expect400 = (res: { status: number; body: any }, field: string, label = field) => {
    expect({ label, status: res.status }).toEqual({ label, status: 400 });
    expect({ label, fields: res.body.errors.map((x: any) => x.field) }).toEqual({ label, fields: expect.arrayContaining([field]) });
  };

  describe('system logs', () => {
    let ids: string[];
    const trace = randomUUID();

    beforeAll(async () => {
      const batch = await post('/api/v1/logs/system', {
        logs: [
          sysLog({ level: 'debug', message: 'cache warmed', timestamp: at(1), request_id: 'req-100' }),
          sysLog({ level: 'error', message: 'payment gateway timed out', timestamp: at(2), trace_id: trace, context: { gateway: 'stripe', attempt: 3 } }),
          sysLog({ level: 'error', source: 'worker', message: 'retry scheduled', timestamp: at(3), trace_id: trace }),
        ],
      });
      expect(batch.status).toBe(201);
      const single = await post('/api/v1/logs/system', sysLog({ level: 'critical', source: 'worker', message: 'queue stalled', timestamp: at(4) }));
      expect(single.status).toBe(201);
      expect(single.body).toEqual({ logs: [{ log_id: expect.any(String) }] });
      ids = [...batch.body.logs, ...single.body.logs].map((l: any) => l.log_id);
      expect(ids).toHaveLength(4);
      await indexed();
    });

    it('lists them newest first with pagination and filters_applied, and answers one by id with its topic', async () => {
      const list = await get('/api/v1/logs/system');
      expect(list.status).toBe(200);
      expect(list.body.items.map((i: any) => i.log_id)).toEqual([...ids].reverse());
      expect(list.body.pagination).toEqual({ total: 4, page: 1, page_size: 50, total_exact: true, next_cursor: null });
      expect(list.body.filters_applied).toEqual({ sort: 'timestamp', order: 'desc' });
      expect(list.body.items[2]).toEqual({
        log_id: ids[1],
        tenant_id: tenantId,
        level: 'error',
        source: 'checkout',
        message: 'payment gateway timed out',
        timestamp: at(2),
        context: { gateway: 'stripe', attempt: 3 },
        trace_id: trace,
        request_id: null,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      const one = await get(`/api/v1/logs/${ids[1]}`);
      expect(one.status).toBe(200);
      expect(one.body).toEqual({ topic: 'system', ...list.body.items[2] });
    });

    it.each<[string, Record<string, string | number>, number[]]>([
      ['level', { level: 'error' }, [1, 2]],
      ['source', { source: 'worker' }, [2, 3]],
      ['trace_id', { trace_id: '' }, [1, 2]],
      ['request_id', { request_id: 'req-100' }, [0]],
      ['start_time/end_time (half-open)', { start_time: at(2), end_time: at(4) }, [1, 2]],
      ['start_time with an offset', { start_time: '2026-01-20T12:03:00+02:00' }, [2, 3]],
      ['search (full text)', { search: 'Gateway TIMED' }, [1]],
      ['search (websearch OR)', { search: 'stalled or cache' }, [0, 3]],
      ['search (an id)', { search: '' }, [1, 2]],
      ['several filters', { level: 'error', source: 'checkout' }, [1]],
    ])('filters by %s', async (_name, params, expected) => {
      const p = { ...params };
      if ('trace_id' in p) p.trace_id = trace;
      if (p.search === '') p.search = trace;
      const list = await get(`/api/v1/logs/system?${q({ ...p, order: 'asc' })}`);
      expect(list.status).toBe(200);
      expect(list.body.items.map((i: any) => i.log_id)).toEqual(expected.map((n) => ids[n]));
      expect(list.body.filters_applied).toMatchObject(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, String(v)])));
    });

    it('pages with limit and cursor (offset ignored with a cursor), and with offset', async () => {
      const p1 = await get('/api/v1/logs/system?limit=3&order=asc');
      expect(p1.body.items.map((i: any) => i.log_id)).toEqual(ids.slice(0, 3));
      expect(p1.body.pagination).toMatchObject({ total: 4, page: 1, page_size: 3, next_cursor: expect.any(String) });
      const p2 = await get(`/api/v1/logs/system?limit=3&order=asc&offset=99&cursor=${p1.body.pagination.next_cursor}`);
      expect(p2.body.items.map((i: any) => i.log_id)).toEqual(ids.slice(3));
      expect(p2.body.pagination).toMatchObject({ page: 2, next_cursor: null });
      expect((await get('/api/v1/logs/system?limit=2&offset=2&order=asc')).body.items.map((i: any) => i.log_id)).toEqual(ids.slice(2));
      expect400(await get(`/api/v1/logs/system?limit=3&order=desc&cursor=${p1.body.pagination.next_cursor}`), 'cursor');
    });

    it('makes a written log searchable within about a second, by the app’s own background indexer', async () => {
      const marker = `lateindexed${Date.now()}`;
      const t0 = Date.now();
      const id = (await post('/api/v1/logs/system', sysLog({ message: `found by ${marker}` }))).body.logs[0].log_id;
      let found: string[] = [];
      while (!found.includes(id) && Date.now() - t0 < 5000) {
        found = (await get(`/api/v1/logs/system?search=${marker}`)).body.items.map((i: any) => i.log_id);
        if (!found.includes(id)) await new Promise((r) => setTimeout(r, 50));
      }
      expect(found).toEqual([id]);
      expect(Date.now() - t0).toBeLessThan(2000);
    });

    it('keeps the writer’s event time, at millisecond precision in UTC', async () => {
      const res = await post('/api/v1/logs/system', sysLog({ timestamp: '2026-01-20T12:15:30.123456+02:00' }));
      const got = await get(`/api/v1/logs/${res.body.logs[0].log_id}`);
      expect(got.body.timestamp).toBe('2026-01-20T10:15:30.123Z');
    });
  });

  describe('audit logs', () => {
    let tenant: string;
    let key: string;
    let keyId: string;
    const resource = randomUUID();
    const user = randomUUID();
    let rows: any[];

    beforeAll(async () => {
      const t = await e.newTenant('ingest');
      tenant = t.tenantId;
      key = t.key;
      keyId = (await e.app.get(TenantStore).authenticate(key))!.key_id;
      rows = [];
      for (const body of [
        { action: 'api_key_created', resource_type: 'api_key', resource_id: keyId, details: { name: 'deploy bot' } },
        { actor_id: user, actor_type: 'user', action: 'policy_approved', resource_type: 'policy', resource_id: resource, details: { comment: 'emergency change window' } },
        { actor_id: user, actor_type: 'user', action: 'policy_updated', resource_type: 'policy', resource_id: resource, success: false, failure_reason: 'stale version' },
      ]) {
        const res = await post('/api/v1/logs/audit', body, key, { 'user-agent': 'audit-e2e/1.0' });
        expect(res.status).toBe(201);
        rows.push(res.body);
        await new Promise((resolve) => setTimeout(resolve, 5)); // distinct server timestamps for the time-range filter
      }
    });

    it('records the action with the calling key as default actor, the server time, and the request’s address and user agent', async () => {
      const before = Date.now();
      const res = await post('/api/v1/logs/audit', { action: 'settings_updated', resource_type: 'settings' }, key, { 'user-agent': 'curl/8.5.0' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        log_id: expect.any(String),
        tenant_id: tenant,
        actor_id: keyId,
        actor_type: 'api_key',
        action: 'settings_updated',
        resource_type: 'settings',
        resource_id: null,
        timestamp: expect.any(String),
        details: null,
        ip_address: '127.0.0.1',
        user_agent: 'curl/8.5.0',
        success: true,
        failure_reason: null,
        created_at: expect.any(String),
      });
      expect(Date.parse(res.body.timestamp)).toBeGreaterThanOrEqual(before - 2_000);
      expect(rows[1]).toMatchObject({ actor_id: user, actor_type: 'user', user_agent: 'audit-e2e/1.0', ip_address: '127.0.0.1' });
    });

    it('ignores X-Forwarded-For unless the proxy is trusted (AOS_TRUST_PROXY)', async () => {
      const spoofed = await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session' }, key, { 'x-forwarded-for': '203.0.113.9' });
      expect(spoofed.body.ip_address).toBe('127.0.0.1');
      const proxied = await startE2eApp({ trustProxy: ['127.0.0.1'] });
      try {
        const t = await proxied.newTenant('ingest');
        const res = await proxied.request('POST', '/api/v1/logs/audit', {
          key: t.key,
          body: { action: 'login', resource_type: 'session' },
          headers: { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'behind-proxy/2' },
        });
        expect(res.status).toBe(201);
        expect(await json(res)).toMatchObject({ ip_address: '203.0.113.9', user_agent: 'behind-proxy/2' });
      } finally {
        await proxied.close();
      }
    }, 60_000);

    it('refuses a client-chosen time, an unknown action (listing the valid ones), and other bad input, naming the field', async () => {
      expect400(await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session', timestamp: '2001-01-01T00:00:00Z' }, key), 'timestamp');
      const unknown = await post('/api/v1/logs/audit', { action: 'coffee_brewed', resource_type: 'kitchen' }, key);
      expect400(unknown, 'action');
      for (const action of AUDIT_ACTIONS) expect(unknown.body.errors[0].message).toContain(action);
      expect400(await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session', actor_type: 'robot' }, key), 'actor_type', 'bad actor_type');
      expect400(await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session', actor_id: user }, key), 'actor_type', 'actor_id without type');
      expect400(await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session', actor_id: 'bob', actor_type: 'user' }, key), 'actor_id');
      expect400(await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session', resource_id: '42' }, key), 'resource_id');
      expect400(await post('/api/v1/logs/audit', { action: 'login' }, key), 'resource_type');
      expect400(await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session', failure_reason: 'x' }, key), 'failure_reason');
      expect400(await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session', success: 'yes' }, key), 'success');
    });

    it('takes details up to 64 KiB of JSON, even of the words that make the largest search vector, and refuses more', async () => {
      // Distinct numbers make the most vector bytes per byte of text (~2.4); up to the cap the row's
      // generated search vector stays well under PostgreSQL's 1 MB (past it, the write was a 500).
      // {"doc":"..."} is 10 bytes around the string; " 100000" is 7.
      const doc = Array.from({ length: Math.floor((AUDIT_DETAILS_MAX_BYTES - 10) / 7) }, (_, i) => ` ${100_000 + i}`).join('');
      expect(AUDIT_DETAILS_MAX_BYTES - Buffer.byteLength(JSON.stringify({ doc }))).toBeLessThan(7);
      const taken = await post('/api/v1/logs/audit', { action: 'policy_updated', resource_type: 'policy', details: { doc } }, key);
      expect(taken.status).toBe(201);
      expect(taken.body.details).toEqual({ doc });
      const refused = await post('/api/v1/logs/audit', { action: 'policy_updated', resource_type: 'policy', details: { doc: `${doc} 1234567` } }, key);
      expect400(refused, 'details');
      expect(refused.body.errors[0].message).toBe(`must be at most ${AUDIT_DETAILS_MAX_BYTES} bytes as JSON`);
    });

    it('lists the audit trail in the spec 11.3 shape, naming API-key actors by the key name', async () => {
      const reader = await e.newKey(tenant, 'viewer');
      const list = await get(`/api/v1/logs/audit?${q({ action: 'api_key_created' })}`, reader);
      expect(list.status).toBe(200);
      expect(Object.keys(list.body).sort()).toEqual(['filters_applied', 'items', 'pagination']);
      expect(list.body.items).toEqual([
        {
          log_id: rows[0].log_id,
          actor_id: keyId,
          actor_type: 'api_key',
          actor_name: 'e2e-ingest',
          action: 'api_key_created',
          resource_type: 'api_key',
          resource_id: keyId,
          timestamp: rows[0].timestamp,
          success: true,
        },
      ]);
      expect(list.body.pagination).toEqual({ total: 1, page: 1, page_size: 50, total_exact: true, next_cursor: null });
      expect(list.body.filters_applied).toEqual({ action: 'api_key_created', sort: 'timestamp', order: 'desc' });
      const detail = await get(`/api/v1/logs/${rows[1].log_id}`, reader);
      expect(detail.body).toEqual({ topic: 'audit', ...rows[1], actor_name: user });
    });

    it.each<[string, () => Record<string, string | boolean>, number[]]>([
      ['actor_id', () => ({ actor_id: user }), [1, 2]],
      ['actor_type', () => ({ actor_type: 'api_key' }), [0]],
      ['action', () => ({ action: 'policy_updated' }), [2]],
      ['resource_type', () => ({ resource_type: 'policy' }), [1, 2]],
      ['resource_id', () => ({ resource_id: resource }), [1, 2]],
      ['success', () => ({ success: false }), [2]],
      ['start_time/end_time', () => ({ start_time: rows[1].timestamp, end_time: rows[2].timestamp }), [1]],
      ['search (details)', () => ({ search: 'emergency window' }), [1]],
      ['search (an id)', () => ({ search: keyId }), [0]],
    ])('filters by %s, as query parameters and in a search body', async (_name, params, expected) => {
      const reader = await e.newKey(tenant, 'auditor');
      const p = { ...params(), order: 'asc' };
      const byQuery = await get(`/api/v1/logs/audit?${q(p)}`, reader);
      const ids = (body: any) => body.items.map((i: any) => i.log_id).filter((id: string) => rows.some((r) => r.log_id === id));
      expect(ids(byQuery.body)).toEqual(expected.map((n) => rows[n].log_id));
      const byBody = await post('/api/v1/logs/audit/search', p, reader);
      expect(byBody.status).toBe(200);
      expect(ids(byBody.body)).toEqual(expected.map((n) => rows[n].log_id));
      const byTopic = await get(`/api/v1/logs/?${q({ topic: 'audit', ...p })}`, reader);
      expect(ids(byTopic.body)).toEqual(expected.map((n) => rows[n].log_id));
    });

    it('pages the audit trail with a cursor', async () => {
      const reader = await e.newKey(tenant, 'viewer');
      const p1 = await get('/api/v1/logs/audit?limit=2', reader);
      const p2 = await get(`/api/v1/logs/audit?limit=2&cursor=${p1.body.pagination.next_cursor}`, reader);
      const all = (await get('/api/v1/logs/audit?limit=100', reader)).body.items.map((i: any) => i.log_id);
      expect([...p1.body.items, ...p2.body.items].map((i: any) => i.log_id)).toEqual(all.slice(0, 4));
      expect(p2.body.pagination.page).toBe(2);
    });
  });

  describe('cross-topic routes', () => {
    let traceId: string;
    let systemId: string;
    let auditId: string;

    beforeAll(async () => {
      const trace = await post('/api/v1/traces', { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'router-bot' });
      traceId = trace.body.trace_id;
      systemId = (await post('/api/v1/logs/system', sysLog({ message: 'cross topic marker kiwi' }))).body.logs[0].log_id;
      await indexed();
      auditId = (await post('/api/v1/logs/audit', { action: 'run_started', resource_type: 'run', details: { note: 'kiwi' } })).body.log_id;
    });

    it('requires topic on GET /api/v1/logs/ and answers that topic’s list', async () => {
      expect400(await get('/api/v1/logs/'), 'topic', 'missing topic (trailing slash)');
      expect400(await get('/api/v1/logs'), 'topic', 'missing topic');
      expect400(await get('/api/v1/logs?topic=metrics'), 'topic', 'unknown topic');
      const runs = await get('/api/v1/logs/?topic=llm_runs');
      expect(runs.status).toBe(200);
      expect(runs.body.items.map((i: any) => i.trace_id)).toContain(traceId);
      expect(runs.body.filters_applied).toMatchObject({ topic: 'llm_runs', sort: 'started_at' });
      const system = await get('/api/v1/logs?topic=system&search=kiwi');
      expect(system.body.items.map((i: any) => i.log_id)).toEqual([systemId]);
      const audit = await get('/api/v1/logs?topic=audit&search=kiwi');
      expect(audit.body.items.map((i: any) => i.log_id)).toEqual([auditId]);
      expect(audit.body.items[0]).toMatchObject({ actor_id: adminId, actor_name: 'e2e-admin' });
      expect400(await get('/api/v1/logs?topic=system&status=active'), 'status', 'a filter of another topic');
      expect400(await get('/api/v1/logs?topic=llm_runs&level=error'), 'level', 'a filter of another topic');
    });

    it('searches any topic with POST /api/v1/logs/search', async () => {
      const system = await post('/api/v1/logs/search', { topic: 'system', search: 'kiwi', level: 'info' });
      expect(system.status).toBe(200);
      expect(system.body.items.map((i: any) => i.log_id)).toEqual([systemId]);
      const audit = await post('/api/v1/logs/search', { topic: 'audit', action: 'run_started' });
      expect(audit.body.items.map((i: any) => i.log_id)).toEqual([auditId]);
      const runs = await post('/api/v1/logs/search', { topic: 'llm_runs', agent_id: randomUUID() });
      expect(runs.body.items).toEqual([]);
      expect400(await post('/api/v1/logs/search', { search: 'kiwi' }), 'topic', 'search without topic');
      expect400(await post('/api/v1/logs/search', { topic: 'audit', level: 'info' }), 'level', 'search with another topic’s filter');
    });

    it('answers GET /api/v1/logs/{log_id} for every topic, and is not confused with the static routes', async () => {
      expect((await get(`/api/v1/logs/${traceId}`)).body).toMatchObject({ topic: 'llm_runs', trace_id: traceId, agent_name: 'router-bot', status: 'active' });
      expect((await get(`/api/v1/logs/${systemId}`)).body).toMatchObject({ topic: 'system', log_id: systemId });
      expect((await get(`/api/v1/logs/${auditId}`)).body).toMatchObject({ topic: 'audit', log_id: auditId, actor_name: 'e2e-admin' });
      expect((await get(`/api/v1/logs/${randomUUID()}`)).status).toBe(404);
      expect400(await get('/api/v1/logs/not-a-uuid'), 'log_id');
      expect((await get('/api/v1/logs/system')).body.items).toBeDefined();
      expect((await get('/api/v1/logs/audit')).body.items).toBeDefined();
      expect((await get('/api/v1/logs/llm-runs')).body.items).toBeDefined();
      expect((await get(`/api/v1/logs/llm-runs/${traceId}`)).body.trace.trace_id).toBe(traceId);
      expect((await e.request('DELETE', `/api/v1/logs/${systemId}`, { key: admin })).status).toBe(405);
    });
  });

  it('refuses bad input with a 400 naming the field, and stores nothing', async () => {
    const t = await e.newTenant('admin');
    const cases: Array<[string, Promise<{ status: number; body: any }>, string]> = [
      ['unknown body field', post('/api/v1/logs/system', sysLog({ colour: 'red' }), t.key), 'colour'],
      ['bad enum level', post('/api/v1/logs/system', sysLog({ level: 'loud' }), t.key), 'level'],
      ['timestamp without offset', post('/api/v1/logs/system', sysLog({ timestamp: '2026-01-20T10:00:00' }), t.key), 'timestamp'],
      ['empty message', post('/api/v1/logs/system', sysLog({ message: '' }), t.key), 'message'],
      ['context not an object', post('/api/v1/logs/system', sysLog({ context: 'text' }), t.key), 'context'],
      ['batch item', post('/api/v1/logs/system', { logs: [sysLog(), sysLog({ level: 'loud' })] }, t.key), 'logs[1].level'],
      ['empty batch', post('/api/v1/logs/system', { logs: [] }, t.key), 'logs'],
      ['batch over 1000', post('/api/v1/logs/system', { logs: Array.from({ length: 1001 }, () => sysLog()) }, t.key), 'logs'],
      ['body not an object', post('/api/v1/logs/system', [sysLog()], t.key), 'body'],
      ['NUL in context', post('/api/v1/logs/system', sysLog({ context: { a: 'x\u0000' } }), t.key), 'body.$.context.a'],
      ['bad level filter', get('/api/v1/logs/system?level=loud', t.key), 'level'],
      ['start_time without offset', get('/api/v1/logs/system?start_time=2026-01-20T10:00:00', t.key), 'start_time'],
      ['end_time not a time', get('/api/v1/logs/audit?end_time=yesterday', t.key), 'end_time'],
      ['repeated query parameter', get('/api/v1/logs/system?level=info&level=error', t.key), 'level'],
      ['repeated topic', get('/api/v1/logs?topic=system&topic=audit', t.key), 'topic'],
      ['unknown query parameter', get('/api/v1/logs/system?colour=red', t.key), 'colour'],
      ['limit above 1000', get('/api/v1/logs/audit?limit=1001', t.key), 'limit'],
      ['bad UUID filter', get('/api/v1/logs/audit?actor_id=bob', t.key), 'actor_id'],
      ['bad boolean filter', get('/api/v1/logs/audit?success=maybe', t.key), 'success'],
      ['bad sort', get('/api/v1/logs/system?sort=message', t.key), 'sort'],
      ['bad UUID path', get('/api/v1/logs/1234', t.key), 'log_id'],
      ['unknown search field', post('/api/v1/logs/audit/search', { colour: 'red' }, t.key), 'colour'],
    ];
    for (const [label, pending, field] of cases) expect400(await pending, field, label);
    expect((await get('/api/v1/logs/system', t.key)).body.pagination.total).toBe(0);
    expect((await get('/api/v1/logs/audit', t.key)).body.pagination.total).toBe(0);
  });

  it("shows a second tenant none of the first tenant's system and audit logs, through every route", async () => {
    const marker = `marker${Date.now()}`;
    const sys = (await post('/api/v1/logs/system', sysLog({ message: `secret ${marker}`, request_id: `req-${marker}` }))).body.logs[0].log_id;
    const aud = (await post('/api/v1/logs/audit', { action: 'override_requested', resource_type: 'policy', details: { note: marker } })).body.log_id;
    const other = (await e.newTenant('admin')).key;
    await indexed();

    for (const id of [sys, aud]) expect((await get(`/api/v1/logs/${id}`, other)).status).toBe(404);
    for (const path of [
      '/api/v1/logs/system',
      `/api/v1/logs/system?search=${marker}`,
      `/api/v1/logs/system?search=${sys}`,
      `/api/v1/logs/system?request_id=req-${marker}`,
      '/api/v1/logs/audit',
      `/api/v1/logs/audit?search=${marker}`,
      `/api/v1/logs/audit?search=${aud}`,
      `/api/v1/logs/audit?actor_id=${adminId}`,
      `/api/v1/logs?topic=system&search=${marker}`,
      `/api/v1/logs?topic=audit&search=${marker}`,
    ]) {
      const res = await get(path, other);
      expect({ path, status: res.status, items: res.body.items }).toEqual({ path, status: 200, items: [] });
    }
    for (const [path, body] of [
      ['/api/v1/logs/search', { topic: 'system', search: marker }],
      ['/api/v1/logs/search', { topic: 'audit', search: marker }],
      ['/api/v1/logs/audit/search', { search: aud }],
    ] as const) {
      const res = await post(path, body, other);
      expect({ path, status: res.status, items: res.body.items }).toEqual({ path, status: 200, items: [] });
    }
    // And the first tenant still sees its own.
    expect((await get(`/api/v1/logs/system?search=${marker}`)).body.items.map((i: any) => i.log_id)).toEqual([sys]);
    expect((await get(`/api/v1/logs/audit?search=${marker}`)).body.items.map((i: any) => i.log_id)).toEqual([aud]);
  });

  it('lets the platform key write and read platform system logs only', async () => {
    const marker = `platform${Date.now()}`;
    const written = await post('/api/v1/logs/system', sysLog({ source: 'ops', message: `disk almost full ${marker}`, level: 'critical' }), PLATFORM_KEY);
    expect(written.status).toBe(201);
    const id = written.body.logs[0].log_id;
    const mine = (await post('/api/v1/logs/system', sysLog({ message: `tenant ${marker}` }))).body.logs[0].log_id;
    await indexed();

    const list = await get(`/api/v1/logs/system?search=${marker}`, PLATFORM_KEY);
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: any) => [i.log_id, i.tenant_id])).toEqual([[id, null]]);
    expect((await get(`/api/v1/logs?topic=system&search=${marker}`, PLATFORM_KEY)).body.items.map((i: any) => i.log_id)).toEqual([id]);
    expect((await post('/api/v1/logs/search', { topic: 'system', search: marker }, PLATFORM_KEY)).body.items.map((i: any) => i.log_id)).toEqual([id]);
    expect((await get(`/api/v1/logs/${id}`, PLATFORM_KEY)).body).toMatchObject({ topic: 'system', tenant_id: null, level: 'critical' });
    expect((await get(`/api/v1/logs/${mine}`, PLATFORM_KEY)).status).toBe(404);
    expect((await get(`/api/v1/logs/${id}`)).status).toBe(404);
    expect((await get(`/api/v1/logs/system?search=${marker}`)).body.items.map((i: any) => i.log_id)).toEqual([mine]);

    for (const path of ['/api/v1/logs/audit', '/api/v1/logs?topic=audit', '/api/v1/logs?topic=llm_runs', '/api/v1/logs/llm-runs']) {
      expect({ path, status: (await get(path, PLATFORM_KEY)).status }).toEqual({ path, status: 403 });
    }
    expect((await post('/api/v1/logs/search', { topic: 'audit' }, PLATFORM_KEY)).status).toBe(403);
    expect((await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session' }, PLATFORM_KEY)).status).toBe(403);
  });

  it('lets readers read and writers write', async () => {
    const { tenantId: t, key: viewer } = await e.newTenant('viewer');
    const ingest = await e.newKey(t, 'ingest');
    expect((await post('/api/v1/logs/system', sysLog(), viewer)).status).toBe(403);
    expect((await post('/api/v1/logs/audit', { action: 'login', resource_type: 'session' }, viewer)).status).toBe(403);
    expect((await post('/api/v1/logs/system', sysLog(), ingest)).status).toBe(201);
    expect((await get('/api/v1/logs/system', ingest)).status).toBe(403);
    expect((await get('/api/v1/logs/system', viewer)).status).toBe(200);
    expect((await get('/api/v1/logs/system', null)).status).toBe(401);
  });

  it('refuses UPDATE and DELETE of system and audit logs in the database, even by the owner', async () => {
    const owner = new Client({ connectionString: e.databaseUrl });
    await owner.connect();
    try {
      await expect(owner.query(`UPDATE system_logs SET message = 'x'`)).rejects.toThrow(/Immutable record/);
      await expect(owner.query(`DELETE FROM audit_logs`)).rejects.toThrow(/Immutable record/);
      await expect(owner.query(`TRUNCATE audit_logs`)).rejects.toThrow(/Immutable record/);
    } finally {
      await owner.end();
    }
  });

  it('tags responses with a request id (the client’s X-Request-Id when it is a plain token)', async () => {
    const mine = await e.request('GET', '/api/v1/logs/system?limit=1', { key: admin, headers: { 'x-request-id': 'req-abc.123' } });
    expect(mine.headers.get('x-request-id')).toBe('req-abc.123');
    const made = await e.request('GET', '/api/v1/logs/system?limit=1', { key: admin, headers: { 'x-request-id': 'bad id <script>' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('documents every logs route in OpenAPI, with integer paging fields', async () => {
    const doc = (await (await e.request('GET', '/api/docs-json', { key: null })).json()) as any;
    expect(Object.keys(doc.paths['/api/v1/logs/system']).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/api/v1/logs/audit']).sort()).toEqual(['get', 'post']);
    for (const path of ['/api/v1/logs', '/api/v1/logs/search', '/api/v1/logs/audit/search', '/api/v1/logs/{log_id}']) {
      expect(doc.paths[path]).toBeDefined();
    }
    expect(doc.components.schemas.PaginationDto.properties.total.type).toBe('integer');
    expect(doc.components.schemas.AuditLogItemDto.required).toEqual(
      expect.arrayContaining(['log_id', 'actor_name', 'action', 'resource_type', 'resource_id', 'timestamp', 'success']),
    );
    const limit = doc.paths['/api/v1/logs/system'].get.parameters.find((p: any) => p.name === 'limit');
    expect(limit.schema.type).toBe('integer');
    expect(BOOTSTRAP_KEY).not.toBe(PLATFORM_KEY);
  });
});
