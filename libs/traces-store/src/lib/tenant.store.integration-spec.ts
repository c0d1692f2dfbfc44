import { ConflictError } from '@aos/logs-domain';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import { TenantStore } from './tenant.store';

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('TenantStore on %s', (kind) => {
  let t: TestDatabase;
  let tenants: TenantStore;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    tenants = new TenantStore(t.db);
  }, 60_000);
  afterAll(() => t?.close());

  const activeAdmins = async (tenantId: string) =>
    (await tenants.listApiKeys(tenantId)).filter((k) => k.role === 'admin' && k.revoked_at === null).length;

  it('revokes a key once under revocations sent at once: each answers the revoked key, one says it revoked it', async () => {
    const tenant = await tenants.createTenant('revoker', 'none');
    const key = await tenants.createApiKey(tenant.tenant_id, { name: 'victim', role: 'viewer' });
    const results = await Promise.all(Array.from({ length: 4 }, () => tenants.revokeApiKey(tenant.tenant_id, key.id)));
    expect(results.filter((r) => r.revoked)).toHaveLength(1);
    expect(new Set(results.map((r) => JSON.stringify(r.key))).size).toBe(1);
    expect(results[0].key.revoked_at).not.toBeNull();
    expect(await tenants.revokeApiKey(tenant.tenant_id, key.id)).toEqual({ key: results[0].key, revoked: false });
  });

  it("refuses to revoke a tenant's last active admin key", async () => {
    const tenant = await tenants.createTenant('alone', 'none');
    const admin = await tenants.createApiKey(tenant.tenant_id, { name: 'admin', role: 'admin' });
    await expect(tenants.revokeApiKey(tenant.tenant_id, admin.id)).rejects.toThrow(ConflictError);
    expect(await activeAdmins(tenant.tenant_id)).toBe(1);
  });

  it('keeps one admin key when the last two are revoked at once (one revocation wins, the other is a ConflictError)', async () => {
    const rounds = kind === 'postgres' ? 120 : 10;
    for (let round = 0; round < rounds; round++) {
      const tenant = await tenants.createTenant(`pair ${round}`, 'none');
      const a = await tenants.createApiKey(tenant.tenant_id, { name: 'a', role: 'admin' });
      const b = await tenants.createApiKey(tenant.tenant_id, { name: 'b', role: 'admin' });
      const results = await Promise.allSettled([tenants.revokeApiKey(tenant.tenant_id, a.id), tenants.revokeApiKey(tenant.tenant_id, b.id)]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason;
      expect(refused).toBeInstanceOf(ConflictError);
      expect(String(refused.message)).toMatch(/last active admin key/);
      expect(await activeAdmins(tenant.tenant_id)).toBe(1);
    }
  }, 60_000);
});
