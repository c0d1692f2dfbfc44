import { randomUUID } from 'node:crypto';
import { type DynamicModule, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AUDIT_ACTIONS, NotFoundError, ValidationError } from '@aos/logs-domain';
import { AuditLogStore, TenantStore } from '@aos/traces-store';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '@aos/traces-store/testing';
import { ActorDirectory, type ActorRef, ApiKeyActorDirectory } from './actor-directory';
import { AuditLogService, type LogActionInput } from './audit-log.service';
import { AuditModule, type AuditModuleOptions } from './audit.module';

/** What TracesStoreModule provides, over the test database. */
function storeModule(store: AuditLogStore): DynamicModule {
  @Module({})
  class TestStoreModule {}
  return { module: TestStoreModule, global: true, providers: [{ provide: AuditLogStore, useValue: store }], exports: [AuditLogStore] };
}

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('AuditLogService on %s', (kind) => {
  let t: TestDatabase;
  let store: AuditLogStore;
  let tenants: TenantStore;
  let service: AuditLogService;
  let tenantA: string;
  let tenantB: string;

  /** The service as a NestJS app gets it from AuditModule.forRoot(options). */
  const serviceFrom = async (options?: AuditModuleOptions) => {
    @Module({ imports: [storeModule(store), AuditModule.forRoot(options)] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    return { service: app.get(AuditLogService), close: () => app.close() };
  };

  const action = (extra: Partial<LogActionInput> = {}): LogActionInput => ({
    tenantId: tenantA,
    actor_id: randomUUID(),
    actor_type: 'user',
    action: 'policy_approved',
    resource_type: 'policy',
    resource_id: randomUUID(),
    details: { approver_comment: 'looks fine' },
    ...extra,
  });

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    store = new AuditLogStore(t.db);
    tenants = new TenantStore(t.db);
    service = new AuditLogService(store, new ApiKeyActorDirectory(store));
    tenantA = (await tenants.createTenant('a', 'soc2')).tenant_id;
    tenantB = (await tenants.createTenant('b', 'none')).tenant_id;
  }, 60_000);
  afterAll(() => t?.close());

  it("records an action (spec `log_action`, success by default) with the server's time, whatever time is sent", async () => {
    const before = Date.now();
    const input = { ...action({ ip_address: '198.51.100.7', user_agent: 'x'.repeat(5000) }), timestamp: '1999-12-31T23:59:59.000Z' };
    const row = await service.logAction(input as LogActionInput);
    expect(row).toMatchObject({ tenant_id: tenantA, action: 'policy_approved', success: true, failure_reason: null, ip_address: '198.51.100.7' });
    expect(row.user_agent).toHaveLength(1000);
    expect(Date.parse(row.timestamp)).toBeGreaterThanOrEqual(before - 2_000);
    expect(row.created_at).toBe(row.timestamp);
  });

  it('rejects an action outside the catalog with a ValidationError on `action` that lists the valid actions', async () => {
    const err = (await service.logAction(action({ action: 'coffee_brewed' })).catch((e) => e)) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.errors).toHaveLength(1);
    expect(err.errors[0].field).toBe('action');
    for (const known of AUDIT_ACTIONS) expect(err.errors[0].message).toContain(known);
    expect(err.errors[0].message).not.toContain('coffee_brewed;');
    const bad = async (extra: Partial<LogActionInput>) => ((await service.logAction(action(extra)).catch((e) => e)) as ValidationError).errors[0].field;
    expect(await bad({ actor_type: 'robot' as never })).toBe('actor_type');
    expect(await bad({ actor_id: 'alice' })).toBe('actor_id');
    expect(await bad({ tenantId: 'nope' })).toBe('tenant_id');
    expect(await bad({ success: true, failure_reason: 'but why' })).toBe('failure_reason');
    expect((await service.searchLogs(tenantA, { action: 'coffee_brewed' })).items).toEqual([]);
  });

  it('accepts an action registered with AuditModule.forRoot({ extraActions }), only in that service', async () => {
    const custom = await serviceFrom({ extraActions: ['report_generated'] });
    try {
      expect(custom.service.actions).toEqual([...AUDIT_ACTIONS, 'report_generated']);
      const row = await custom.service.logAction(action({ action: 'report_generated', resource_type: 'report' }));
      expect(row.action).toBe('report_generated');
      await expect(service.logAction(action({ action: 'report_generated' }))).rejects.toThrow(/report_generated.*not an audited action|not an audited action/);
      expect(() => AuditModule.forRoot({ extraActions: ['Report Generated'] })).toThrow(/lower snake case/);
    } finally {
      await custom.close();
    }
  });

  it('searches with every filter, names API-key actors by the key name and others by id, newest first', async () => {
    const tenant = (await tenants.createTenant(`t-${randomUUID()}`, 'none')).tenant_id;
    const key = await tenants.createApiKey(tenant, { name: 'deploy bot', role: 'ingest' });
    const user = randomUUID();
    const resource = randomUUID();
    const a = await service.logAction(action({ tenantId: tenant, actor_id: key.id, actor_type: 'api_key', action: 'api_key_created', resource_type: 'api_key', resource_id: key.id }));
    const b = await service.logAction(action({ tenantId: tenant, actor_id: user, resource_id: resource, success: false, failure_reason: 'second approver missing' }));
    const c = await service.logAction(action({ tenantId: tenant, actor_id: user, action: 'logout', resource_type: 'session', resource_id: null, details: { note: 'idle timeout' } }));

    const all = await service.searchLogs(tenant);
    expect(all.items.map((i) => i.log_id)).toEqual([c.log_id, b.log_id, a.log_id]);
    expect(all.items.map((i) => i.actor_name)).toEqual([user, user, 'deploy bot']);
    expect(all).toMatchObject({ total: 3, total_exact: true, position: 0, next_cursor: null });
    const ids = async (f: Parameters<AuditLogService['searchLogs']>[1]) => (await service.searchLogs(tenant, f)).items.map((i) => i.log_id);
    expect(await ids({ actor_id: user })).toEqual([c.log_id, b.log_id]);
    expect(await ids({ actor_type: 'api_key' })).toEqual([a.log_id]);
    expect(await ids({ action: 'logout' })).toEqual([c.log_id]);
    expect(await ids({ resource_type: 'policy', resource_id: resource })).toEqual([b.log_id]);
    expect(await ids({ success: false })).toEqual([b.log_id]);
    expect(await ids({ search: 'idle' })).toEqual([c.log_id]);
    expect(await ids({ search: key.id })).toEqual([a.log_id]);
    expect(await ids({ start_time: b.timestamp, order: 'asc' })).toEqual(expect.arrayContaining([b.log_id, c.log_id]));
    expect(await ids({ end_time: a.timestamp })).toEqual([]);
    const p1 = await service.searchLogs(tenant, { limit: 2 });
    const p2 = await service.searchLogs(tenant, { limit: 2, cursor: p1.next_cursor! });
    expect([...p1.items, ...p2.items].map((i) => i.log_id)).toEqual([c.log_id, b.log_id, a.log_id]);
    await expect(service.get(tenant, a.log_id)).resolves.toMatchObject({ log_id: a.log_id, actor_name: 'deploy bot' });
    await expect(service.searchLogs(tenant, { limit: 0 })).rejects.toThrow(/limit/);
  });

  it("shows one tenant nothing of another tenant's audit trail", async () => {
    const row = await service.logAction(action({ details: { secret: 'tamarind' } }));
    await expect(service.get(tenantB, row.log_id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await service.searchLogs(tenantB, { search: 'tamarind' })).items).toEqual([]);
    expect((await service.searchLogs(tenantB, { search: row.log_id })).items).toEqual([]);
    expect((await service.searchLogs(tenantB)).items).toEqual([]);
  });

  it('uses an ActorDirectory a service provides, and falls back to ids when it fails', async () => {
    @Injectable()
    class Users extends ActorDirectory {
      async resolveNames(_tenantId: string, actors: readonly ActorRef[]) {
        if (actors.some((a) => a.actor_id === failing)) throw new Error('directory down');
        return new Map(actors.filter((a) => a.actor_type === 'user').map((a) => [a.actor_id, `user ${a.actor_id.slice(0, 4)}`]));
      }
    }
    const failing = randomUUID();
    const custom = await serviceFrom({ actorDirectory: Users });
    try {
      const tenant = (await tenants.createTenant(`t-${randomUUID()}`, 'none')).tenant_id;
      const user = randomUUID();
      const row = await custom.service.logAction(action({ tenantId: tenant, actor_id: user, action: 'login', resource_type: 'session' }));
      expect((await custom.service.get(tenant, row.log_id)).actor_name).toBe(`user ${user.slice(0, 4)}`);
      await custom.service.logAction(action({ tenantId: tenant, actor_id: failing, action: 'login', resource_type: 'session' }));
      expect((await custom.service.searchLogs(tenant)).items.map((i) => i.actor_name)).toEqual([failing, user]);
    } finally {
      await custom.close();
    }
  });
});
