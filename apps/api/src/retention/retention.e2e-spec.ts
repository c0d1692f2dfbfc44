import { randomUUID } from 'node:crypto';
import { type E2eApp, PLATFORM_KEY, startE2eApp } from '../testing/e2e-app';

describe('Retention over HTTP (admin only)', () => {
  let e: E2eApp;
  let admin: string;
  beforeAll(async () => {
    e = await startE2eApp();
    const res = await e.request('POST', '/api/v1/tenants', { key: PLATFORM_KEY, body: { name: 'retained', compliance: 'soc2' } });
    admin = ((await res.json()) as any).api_key.key;
  }, 60_000);
  afterAll(() => e?.close());

  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });
  const sealedTrace = async () => {
    const created = await json(await e.request('POST', '/api/v1/traces', { key: admin, body: { run_id: randomUUID(), agent_id: randomUUID() } }));
    const id = created.body.trace_id;
    await e.request('POST', `/api/v1/traces/${id}/complete`, { key: admin, body: { status: 'completed' } });
    return id as string;
  };

  it('answers the effective policy with the compliance minimums', async () => {
    const { status, body } = await json(await e.request('GET', '/api/v1/retention', { key: admin }));
    expect(status).toBe(200);
    expect(body).toMatchObject({
      compliance: 'soc2',
      minimums: { traces: 365, audit_logs: 2557 },
      overrides: {},
      effective: { traces: 365, audit_logs: 2557, system_logs: { debug: 1, info: 7, warning: 30, error: 90, critical: null } },
    });
  });

  it('updates overrides, and refuses to shorten a compliance minimum with a 400 naming it', async () => {
    const short = await json(await e.request('PUT', '/api/v1/retention', { key: admin, body: { traces: 100 } }));
    expect(short.status).toBe(400);
    expect(short.body.errors).toEqual([{ field: 'traces', message: expect.stringContaining('at least 365 days') }]);
    const unknown = await json(await e.request('PUT', '/api/v1/retention', { key: admin, body: { traces: 400, forever: true } }));
    expect(unknown.status).toBe(400);
    const badLevel = await json(await e.request('PUT', '/api/v1/retention', { key: admin, body: { system_logs: { debug: 0 } } }));
    expect(badLevel.body.errors[0].field).toBe('system_logs.debug');

    const ok = await json(await e.request('PUT', '/api/v1/retention', { key: admin, body: { traces: 400, audit_logs: null, system_logs: { debug: 2 } } }));
    expect(ok.status).toBe(200);
    expect(ok.body.effective).toMatchObject({ traces: 400, audit_logs: null, system_logs: { debug: 2, info: 7 } });
    expect((await json(await e.request('GET', '/api/v1/retention', { key: admin }))).body.overrides).toEqual({ traces: 400, audit_logs: null, system_logs: { debug: 2 } });
    const audit = await json(await e.request('GET', '/api/v1/logs/audit?action=retention_policy_updated', { key: admin }));
    expect(audit.body.items).toHaveLength(1);
  });

  it('places, lists and releases legal holds, each audited', async () => {
    const traceId = await sealedTrace();
    const placed = await json(await e.request('POST', '/api/v1/retention/holds', { key: admin, body: { scope: 'trace', target_id: traceId, reason: 'case 7' } }));
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ scope: 'trace', target_id: traceId, reason: 'case 7', released_at: null });
    expect((await e.request('POST', '/api/v1/retention/holds', { key: admin, body: { scope: 'trace', target_id: randomUUID(), reason: 'x' } })).status).toBe(404);
    expect((await e.request('POST', '/api/v1/retention/holds', { key: admin, body: { scope: 'galaxy', reason: 'x' } })).status).toBe(400);
    const list = await json(await e.request('GET', '/api/v1/retention/holds', { key: admin }));
    expect(list.body.items.map((h: any) => h.hold_id)).toContain(placed.body.hold_id);

    const other = ((await (await e.request('POST', '/api/v1/tenants', { key: PLATFORM_KEY, body: { name: 'other' } })).json()) as any).api_key.key;
    expect((await e.request('POST', `/api/v1/retention/holds/${placed.body.hold_id}/release`, { key: other })).status).toBe(404);
    expect((await e.request('POST', '/api/v1/retention/holds/nope/release', { key: admin })).status).toBe(400);

    const released = await json(await e.request('POST', `/api/v1/retention/holds/${placed.body.hold_id}/release`, { key: admin }));
    expect(released.status).toBe(200);
    expect(released.body.released_at).not.toBeNull();
    expect((await e.request('POST', `/api/v1/retention/holds/${placed.body.hold_id}/release`, { key: admin })).status).toBe(200);
    const placedRows = await json(await e.request('GET', '/api/v1/logs/audit?action=legal_hold_placed', { key: admin }));
    const releasedRows = await json(await e.request('GET', '/api/v1/logs/audit?action=legal_hold_released', { key: admin }));
    expect([placedRows.body.items.length, releasedRows.body.items.length]).toEqual([1, 1]);
  });

  it('purges on demand (dry run or not), reporting per type and level, and audits the purge', async () => {
    const dry = await json(await e.request('POST', '/api/v1/retention/purge', { key: admin, body: { dry_run: true } }));
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dry_run: true, removed: 0, audit_log_id: null });
    expect(dry.body.targets.map((x: any) => `${x.type}:${x.level ?? ''}`)).toEqual([
      'system_logs:debug',
      'system_logs:info',
      'system_logs:warning',
      'system_logs:error',
      'system_logs:critical',
      'traces:',
      'audit_logs:',
    ]);
    expect((await json(await e.request('GET', '/api/v1/logs/audit?action=retention_purged', { key: admin }))).body.items).toEqual([]);
    expect((await e.request('POST', '/api/v1/retention/purge', { key: admin, body: { dry_run: 'yes' } })).status).toBe(400);

    const real = await json(await e.request('POST', '/api/v1/retention/purge', { key: admin, body: {} }));
    expect(real.status).toBe(200);
    expect(real.body).toMatchObject({ dry_run: false, removed: 0, removed_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const rows = (await json(await e.request('GET', '/api/v1/logs/audit?action=retention_purged', { key: admin }))).body.items;
    expect(rows).toHaveLength(1);
    expect(rows[0].log_id).toBe(real.body.audit_log_id);
    const row = await json(await e.request('GET', `/api/v1/logs/${real.body.audit_log_id}`, { key: admin }));
    expect(row.body).toMatchObject({ action: 'retention_purged', details: expect.objectContaining({ removed: 0, trigger: 'request', removed_hash: real.body.removed_hash }) });
  });
});
