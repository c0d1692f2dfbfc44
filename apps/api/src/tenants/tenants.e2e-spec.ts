import { Client } from 'pg';
import { AuditLogService } from '@aos/audit';
import { type E2eApp, PLATFORM_KEY, startE2eApp } from '../testing/e2e-app';

describe('Tenants and API keys over HTTP', () => {
  let e: E2eApp;
  beforeAll(async () => {
    e = await startE2eApp();
  }, 60_000);
  afterAll(() => e?.close());

  const createTenant = async (body: unknown = { name: 'acme', compliance: 'soc2' }) => e.request('POST', '/api/v1/tenants', { key: PLATFORM_KEY, body });

  it('lets the platform operator create a tenant with its first admin key, shown once', async () => {
    const res = await createTenant();
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(body.tenant).toMatchObject({ name: 'acme', compliance: 'soc2' });
    expect(body.api_key).toMatchObject({ role: 'admin', key: expect.stringMatching(/^aos_/) });
    const keys = (await (await e.request('GET', '/api/v1/api-keys', { key: body.api_key.key })).json()) as any;
    expect(keys.items).toHaveLength(1);
    expect(keys.items[0].key).toBeUndefined();
    expect(JSON.stringify(keys)).not.toContain(body.api_key.key);
  });

  it('stores no tenant, key or revocation whose audit row could not be written (one transaction)', async () => {
    const { tenantId, key } = await e.newTenant('admin');
    const other = await e.request('POST', '/api/v1/api-keys', { key, body: { name: 'second', role: 'viewer' } });
    const otherId = ((await other.json()) as any).api_key.id as string;
    const count = async (sql: string, params: unknown[] = []) => {
      const c = new Client({ connectionString: e.databaseUrl });
      await c.connect();
      try {
        return Number((await c.query(sql, params)).rows[0].n);
      } finally {
        await c.end();
      }
    };
    const before = {
      tenants: await count(`SELECT count(*) AS n FROM tenants`),
      keys: await count(`SELECT count(*) AS n FROM api_keys WHERE tenant_id = $1`, [tenantId]),
      audits: await count(`SELECT count(*) AS n FROM audit_logs WHERE tenant_id = $1`, [tenantId]),
    };
    // The audit write fails, as a crash between the change and its audit row would.
    const audit = e.app.get(AuditLogService);
    const failing = jest.spyOn(audit, 'logAction').mockRejectedValue(new Error('audit store down'));
    try {
      expect((await createTenant({ name: 'never', compliance: 'none' })).status).toBe(500);
      expect((await e.request('POST', '/api/v1/api-keys', { key, body: { name: 'never', role: 'viewer' } })).status).toBe(500);
      expect((await e.request('DELETE', `/api/v1/api-keys/${otherId}`, { key })).status).toBe(500);
    } finally {
      failing.mockRestore();
    }
    expect(await count(`SELECT count(*) AS n FROM tenants`)).toBe(before.tenants);
    expect(await count(`SELECT count(*) AS n FROM api_keys WHERE tenant_id = $1`, [tenantId])).toBe(before.keys);
    expect(await count(`SELECT count(*) AS n FROM api_keys WHERE id = $1 AND revoked_at IS NULL`, [otherId])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM audit_logs WHERE tenant_id = $1`, [tenantId])).toBe(before.audits);
    // And with the audit store back, the same requests work and are audited.
    expect((await e.request('DELETE', `/api/v1/api-keys/${otherId}`, { key })).status).toBe(200);
    expect(await count(`SELECT count(*) AS n FROM audit_logs WHERE tenant_id = $1 AND action = 'api_key_revoked'`, [tenantId])).toBe(1);
  });

  it('refuses tenant creation to anyone but the platform key', async () => {
    expect((await e.request('POST', '/api/v1/tenants', { body: { name: 'x' } })).status).toBe(403);
    expect((await e.request('POST', '/api/v1/tenants', { key: null, body: { name: 'x' } })).status).toBe(401);
    expect((await e.request('GET', '/api/v1/logs/llm-runs', { key: PLATFORM_KEY })).status).toBe(403);
    const bad = await createTenant({ name: 'x', compliance: 'gdpr' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).errors[0].field).toBe('compliance');
  });

  it('creates keys by role, and revocation takes effect at once', async () => {
    const admin = ((await (await createTenant({ name: 'keys' })).json()) as any).api_key.key;
    const created = await e.request('POST', '/api/v1/api-keys', { key: admin, body: { name: 'runner', role: 'ingest' } });
    expect(created.status).toBe(201);
    const { api_key } = (await created.json()) as any;
    expect(api_key).toMatchObject({ name: 'runner', role: 'ingest', revoked_at: null });
    const ingestBody = { run_id: '0d6f1c52-8a5e-4c1e-9a53-3c5b1f0a7e11', agent_id: '5b1f6a2c-4d3e-4f5a-8b6c-7d8e9f0a1b2c' };
    expect((await e.request('POST', '/api/v1/traces', { key: api_key.key, body: ingestBody })).status).toBe(201);
    expect((await e.request('GET', '/api/v1/api-keys', { key: api_key.key })).status).toBe(403);

    const revoked = await e.request('DELETE', `/api/v1/api-keys/${api_key.id}`, { key: admin });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as any).revoked_at).not.toBeNull();
    expect((await e.request('POST', '/api/v1/traces', { key: api_key.key, body: ingestBody })).status).toBe(401);
    expect((await e.request('DELETE', `/api/v1/api-keys/${api_key.id}`, { key: admin })).status).toBe(200);
  });

  it("answers 404 for another tenant's key and refuses to revoke the last admin key", async () => {
    const a = ((await (await createTenant({ name: 'a' })).json()) as any).api_key;
    const b = ((await (await createTenant({ name: 'b' })).json()) as any).api_key;
    expect((await e.request('DELETE', `/api/v1/api-keys/${b.id}`, { key: a.key })).status).toBe(404);
    expect((await e.request('DELETE', `/api/v1/api-keys/${a.id}`, { key: a.key })).status).toBe(409);
    expect((await e.request('DELETE', '/api/v1/api-keys/not-a-uuid', { key: a.key })).status).toBe(400);
    const bKeys = (await (await e.request('GET', '/api/v1/api-keys', { key: a.key })).json()) as any;
    expect(bKeys.items.map((k: any) => k.id)).toEqual([a.id]);
  });

  it('audits tenant creation, key creation and revocation with the acting key', async () => {
    const created = (await (await e.request('POST', '/api/v1/tenants', { key: PLATFORM_KEY, body: { name: 'audited' }, headers: { 'user-agent': 'platform-cli/2.0' } })).json()) as any;
    const admin = created.api_key;
    const key = ((await (await e.request('POST', '/api/v1/api-keys', { key: admin.key, body: { name: 'viewer', role: 'viewer' } })).json()) as any).api_key;
    await e.request('DELETE', `/api/v1/api-keys/${key.id}`, { key: admin.key, headers: { 'user-agent': 'audit-test/1.0' } });
    const trail = (await (await e.request('GET', '/api/v1/logs/audit?order=asc', { key: admin.key })).json()) as any;
    expect(trail.items.map((i: any) => i.action)).toEqual(['tenant_created', 'api_key_created', 'api_key_created', 'api_key_revoked']);
    expect(trail.items[0]).toMatchObject({ resource_id: created.tenant.tenant_id });
    const tenantRow = (await (await e.request('GET', `/api/v1/logs/${trail.items[0].log_id}`, { key: admin.key })).json()) as any;
    expect(tenantRow).toMatchObject({ user_agent: 'platform-cli/2.0', ip_address: '127.0.0.1', actor_type: 'system' });
    const revoked = trail.items[3];
    expect(revoked).toMatchObject({ actor_id: admin.id, resource_id: key.id });
    const row = (await (await e.request('GET', `/api/v1/logs/${revoked.log_id}`, { key: admin.key })).json()) as any;
    expect(row).toMatchObject({ topic: 'audit', user_agent: 'audit-test/1.0', ip_address: '127.0.0.1', actor_type: 'api_key' });
    expect(JSON.stringify(trail)).not.toContain(key.key);
  });

  it('rejects unknown fields and bad roles', async () => {
    const res = await e.request('POST', '/api/v1/api-keys', { body: { name: 'x', role: 'root', extra: 1 } });
    expect(res.status).toBe(400);
    const fields = ((await res.json()) as any).errors.map((x: any) => x.field);
    expect(fields).toEqual(expect.arrayContaining(['role', 'extra']));
  });
});
