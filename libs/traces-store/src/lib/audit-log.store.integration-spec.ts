import { randomUUID } from 'node:crypto';
import { type AuditLogListQuery, type NewAuditLog, NotFoundError, ValidationError } from '@aos/logs-domain';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import { AuditLogStore } from './audit-log.store';
import { LogLookup } from './log-lookup';
import { SystemLogStore } from './system-log.store';
import { TenantStore } from './tenant.store';
import { TraceStore } from './trace.store';

const entry = (extra: Partial<NewAuditLog> = {}): NewAuditLog => ({
  actor_id: randomUUID(),
  actor_type: 'user',
  action: 'policy_created',
  resource_type: 'policy',
  resource_id: randomUUID(),
  details: { policy_name: 'refund limit', threshold: 500 },
  ...extra,
});
const page = (extra: Partial<AuditLogListQuery> = {}): AuditLogListQuery => ({ limit: 50, offset: 0, sort: 'timestamp', order: 'asc', ...extra });

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('AuditLogStore on %s', (kind) => {
  let t: TestDatabase;
  let store: AuditLogStore;
  let tenants: TenantStore;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    store = new AuditLogStore(t.db);
    tenants = new TenantStore(t.db);
    tenantA = (await tenants.createTenant('a', 'soc2')).tenant_id;
    tenantB = (await tenants.createTenant('b', 'none')).tenant_id;
  }, 60_000);
  afterAll(() => t?.close());

  const newTenant = async () => (await tenants.createTenant(`t-${randomUUID()}`, 'none')).tenant_id;

  it("records an action with the server's time, ignoring any time the writer sends", async () => {
    const before = Date.now();
    const input = { ...entry({ ip_address: '203.0.113.9', user_agent: 'curl/8.5' }), timestamp: '2001-01-01T00:00:00.000Z', created_at: '2001-01-01T00:00:00.000Z' };
    const row = await store.insert(tenantA, input as NewAuditLog);
    expect(row).toMatchObject({
      tenant_id: tenantA,
      actor_type: 'user',
      action: 'policy_created',
      details: { policy_name: 'refund limit', threshold: 500 },
      ip_address: '203.0.113.9',
      user_agent: 'curl/8.5',
      success: true,
      failure_reason: null,
    });
    expect(Date.parse(row.timestamp)).toBeGreaterThanOrEqual(before - 2_000);
    expect(row.created_at).toBe(row.timestamp);
    await expect(store.get(tenantA, row.log_id)).resolves.toEqual(row);
  });

  it('stores IPv6 addresses and failures, and refuses malformed records naming the field', async () => {
    const row = await store.insert(tenantA, entry({ ip_address: '2001:db8::1', success: false, failure_reason: 'approval missing', resource_id: null, details: null }));
    expect(row).toMatchObject({ ip_address: '2001:db8::1', success: false, failure_reason: 'approval missing', resource_id: null, details: null });
    const fields = async (e: Partial<NewAuditLog>) =>
      ((await store.insert(tenantA, entry(e)).catch((err) => err)) as ValidationError).errors.map((x) => x.field);
    expect(await fields({ ip_address: 'not-an-ip' })).toEqual(['ip_address']);
    expect(await fields({ actor_id: 'bob' })).toEqual(['actor_id']);
    expect(await fields({ actor_type: 'robot' as never })).toEqual(['actor_type']);
    expect(await fields({ resource_id: '42' })).toEqual(['resource_id']);
    expect(await fields({ resource_type: '' })).toEqual(['resource_type']);
    expect(await fields({ failure_reason: 'x' })).toEqual(['failure_reason']);
    expect(await fields({ details: { note: 'a\u0000b' } })).toEqual(['details.note']);
  });

  it('filters by actor, action, resource, success and a half-open time range', async () => {
    const tenant = await newTenant();
    const actor = randomUUID();
    const resource = randomUUID();
    const rows = [
      await store.insert(tenant, entry({ actor_id: actor, action: 'login', resource_type: 'session', resource_id: null, actor_type: 'api_key' })),
      await store.insert(tenant, entry({ actor_id: actor, resource_id: resource })),
      await store.insert(tenant, entry({ action: 'policy_approved', resource_id: resource, success: false, failure_reason: 'quorum' })),
      await store.insert(tenant, entry({ action: 'role_changed', resource_type: 'user', actor_type: 'system' })),
    ];
    const ids = (q: Partial<AuditLogListQuery>) => store.list(tenant, page(q)).then((r) => r.items.map((i) => i.log_id));
    const id = (n: number) => rows[n].log_id;
    expect(await ids({})).toEqual(rows.map((r) => r.log_id));
    expect(await ids({ actor_id: actor })).toEqual([id(0), id(1)]);
    expect(await ids({ actor_type: 'system' })).toEqual([id(3)]);
    expect(await ids({ action: 'policy_created' })).toEqual([id(1)]);
    expect(await ids({ resource_type: 'policy' })).toEqual([id(1), id(2)]);
    expect(await ids({ resource_id: resource.toUpperCase() })).toEqual([id(1), id(2)]);
    expect(await ids({ success: false })).toEqual([id(2)]);
    expect(await ids({ success: true, resource_id: resource })).toEqual([id(1)]);
    expect(await ids({ start_time: rows[1].timestamp, end_time: rows[3].timestamp })).not.toContain(id(3));
    expect(await ids({ end_time: rows[0].timestamp })).toEqual([]);
    expect(await ids({ start_time: rows[0].timestamp })).toContain(id(0));
    expect(await ids({ order: 'desc' })).toEqual(rows.map((r) => r.log_id).reverse());
    await expect(store.list(tenant, page({ actor_id: 'x' }))).rejects.toThrow(/actor_id/);
  });

  it('searches action and details as full text, and log, actor and resource ids exactly', async () => {
    const tenant = await newTenant();
    const a = await store.insert(tenant, entry({ action: 'override_approved', details: { note: 'Emergency override for the Christmas campaign' } }));
    const b = await store.insert(tenant, entry({ action: 'api_key_created', details: { name: 'ci pipeline' } }));
    const search = (s: string) => store.list(tenant, page({ search: s })).then((r) => r.items.map((i) => i.log_id));
    expect(await search('christmas emergencies')).toEqual([a.log_id]);
    expect(await search('override')).toEqual([a.log_id]);
    expect(await search('api_key_created')).toEqual([b.log_id]);
    expect(await search('pipeline OR campaign')).toEqual([a.log_id, b.log_id]);
    expect(await search(b.actor_id)).toEqual([b.log_id]);
    expect(await search(a.resource_id!)).toEqual([a.log_id]);
    expect(await search(a.log_id)).toEqual([a.log_id]);
    expect(await search('nothing-like-this')).toEqual([]);
  });

  it('pages with a keyset cursor', async () => {
    const tenant = await newTenant();
    const rows = [];
    for (let i = 0; i < 5; i++) rows.push(await store.insert(tenant, entry()));
    const all = [...rows].sort((x, y) => x.timestamp.localeCompare(y.timestamp) || x.log_id.localeCompare(y.log_id)).map((r) => r.log_id);
    const p1 = await store.list(tenant, page({ limit: 2, order: 'desc' }));
    const p2 = await store.list(tenant, page({ limit: 2, order: 'desc', cursor: p1.next_cursor! }));
    const p3 = await store.list(tenant, page({ limit: 2, order: 'desc', cursor: p2.next_cursor! }));
    expect([...p1.items, ...p2.items, ...p3.items].map((r) => r.log_id)).toEqual([...all].reverse());
    expect([p1.position, p2.position, p3.position]).toEqual([0, 2, 4]);
    expect(p3.next_cursor).toBeNull();
    expect(p1.total).toBe(5);
  });

  it('streams every matching record oldest first, within the tenant only', async () => {
    const tenant = await newTenant();
    const a = await store.insert(tenant, entry({ action: 'login' }));
    const b = await store.insert(tenant, entry({ action: 'logout' }));
    const collect = async (tid: string, f = {}) => {
      const out: string[] = [];
      for await (const r of store.stream(tid, f)) out.push(r.log_id);
      return out;
    };
    expect(await collect(tenant)).toEqual([a.log_id, b.log_id]);
    expect(await collect(tenant, { action: 'logout' })).toEqual([b.log_id]);
    expect(await collect(tenantB, { search: a.log_id })).toEqual([]);
  });

  it("hides one tenant's audit trail from another, and everything when no tenant is set", async () => {
    const row = await store.insert(tenantA, entry({ details: { secret: 'kumquat' } }));
    await expect(store.get(tenantB, row.log_id)).rejects.toBeInstanceOf(NotFoundError);
    for (const q of [{}, { search: 'kumquat' }, { search: row.log_id }, { actor_id: row.actor_id }]) {
      expect((await store.list(tenantB, page(q))).items).toEqual([]);
    }
    expect(await t.db.query(`SELECT count(*)::int AS n FROM audit_logs`)).toEqual([{ n: 0 }]);
    await expect(
      t.db.transaction({ tenantId: tenantA }, (sql) =>
        sql.query(`INSERT INTO audit_logs (log_id, tenant_id, actor_id, actor_type, action, resource_type) VALUES ($1, $2, $1, 'user', 'login', 'x')`, [
          randomUUID(),
          tenantB,
        ]),
      ),
    ).rejects.toThrow(/row-level security|another record/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE, even by the owner', async () => {
    const row = await store.insert(tenantA, entry());
    await expect(t.asOwner(`UPDATE audit_logs SET success = false WHERE log_id = $1`, [row.log_id])).rejects.toThrow(/Immutable record/);
    await expect(t.asOwner(`UPDATE audit_logs SET "timestamp" = '2001-01-01' WHERE log_id = $1`, [row.log_id])).rejects.toThrow(/Immutable record/);
    await expect(t.asOwner(`DELETE FROM audit_logs WHERE log_id = $1`, [row.log_id])).rejects.toThrow(/Immutable record/);
    await expect(t.asOwner(`TRUNCATE audit_logs`)).rejects.toThrow(/Immutable record/);
    await expect(
      t.db.transaction({ tenantId: tenantA }, (sql) => sql.query(`UPDATE audit_logs SET success = false WHERE log_id = $1`, [row.log_id])),
    ).rejects.toThrow(/permission denied/);
    await expect(store.get(tenantA, row.log_id)).resolves.toEqual(row);
  });

  it("names the tenant's API keys (revoked ones too), never another tenant's", async () => {
    const key = await tenants.createApiKey(tenantA, { name: 'ci pipeline', role: 'ingest' });
    const other = await tenants.createApiKey(tenantB, { name: 'b key', role: 'ingest' });
    await tenants.revokeApiKey(tenantA, key.id);
    const names = await store.apiKeyNames(tenantA, [key.id, other.id, randomUUID(), 'junk']);
    expect([...names]).toEqual([[key.id, 'ci pipeline']]);
  });
});

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('LogLookup on %s', (kind) => {
  let t: TestDatabase;
  let lookup: LogLookup;
  let tenantA: string;
  let tenantB: string;
  let ids: { system: string; platform: string; audit: string; trace: string };

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    lookup = new LogLookup(t.db);
    const tenants = new TenantStore(t.db);
    tenantA = (await tenants.createTenant('a', 'none')).tenant_id;
    tenantB = (await tenants.createTenant('b', 'none')).tenant_id;
    const systemLogs = new SystemLogStore(t.db);
    const [system] = await systemLogs.insertMany({ tenantId: tenantA }, [{ level: 'info', source: 's', message: 'm' }]);
    const [platform] = await systemLogs.insertMany({ platform: true }, [{ level: 'info', source: 'Bootstrap', message: 'started' }]);
    const audit = await new AuditLogStore(t.db).insert(tenantA, entry());
    const { trace } = await new TraceStore(t.db).createTrace(tenantA, { run_id: randomUUID(), agent_id: randomUUID() });
    ids = { system: system.log_id, platform: platform.log_id, audit: audit.log_id, trace: trace.trace_id };
  }, 60_000);
  afterAll(() => t?.close());

  it('finds an entry of any topic and answers it with its topic', async () => {
    await expect(lookup.findLogById({ tenantId: tenantA }, ids.system)).resolves.toMatchObject({ topic: 'system', log_id: ids.system, message: 'm' });
    await expect(lookup.findLogById({ tenantId: tenantA }, ids.audit.toUpperCase())).resolves.toMatchObject({ topic: 'audit', log_id: ids.audit });
    await expect(lookup.findLogById({ tenantId: tenantA }, ids.trace)).resolves.toMatchObject({ topic: 'llm_runs', trace_id: ids.trace, status: 'active' });
    await expect(lookup.findLogById({ platform: true }, ids.platform)).resolves.toMatchObject({ topic: 'system', tenant_id: null, source: 'Bootstrap' });
  });

  it("finds nothing of another tenant's, nor of a tenant's from the platform, nor the platform's from a tenant", async () => {
    for (const id of [ids.system, ids.audit, ids.trace, ids.platform, randomUUID(), 'not-a-uuid']) {
      await expect(lookup.findLogById({ tenantId: tenantB }, id)).rejects.toBeInstanceOf(NotFoundError);
    }
    for (const id of [ids.system, ids.audit, ids.trace]) {
      await expect(lookup.findLogById({ platform: true }, id)).rejects.toBeInstanceOf(NotFoundError);
    }
    await expect(lookup.findLogById({ tenantId: tenantA }, ids.platform)).rejects.toBeInstanceOf(NotFoundError);
  });
});
