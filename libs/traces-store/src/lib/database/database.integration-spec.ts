import { randomUUID } from 'node:crypto';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../../testing';
import { AuditLogStore } from '../audit-log.store';
import { SystemLogStore } from '../system-log.store';
import { TenantStore } from '../tenant.store';

/** Database.atomically: several stores' transactions, in several scopes, as one. */
describe.each<TestDatabaseKind>(['postgres', 'embedded'])('Database.atomically on %s', (kind) => {
  let t: TestDatabase;
  let logs: SystemLogStore;
  let audit: AuditLogStore;
  let tenants: TenantStore;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    logs = new SystemLogStore(t.db);
    audit = new AuditLogStore(t.db);
    tenants = new TenantStore(t.db);
  }, 60_000);
  afterAll(() => t?.close());

  const log = (message: string) => ({ level: 'info' as const, source: 'uow', message });
  const countOf = async (sql: string, params: unknown[]) => Number((await t.asOwner<{ n: string }>(sql, params))[0].n);

  it('commits the writes of every store and scope together', async () => {
    const a = (await tenants.createTenant(`a-${randomUUID()}`, 'none')).tenant_id;
    const b = (await tenants.createTenant(`b-${randomUUID()}`, 'none')).tenant_id;
    await t.db.atomically(async () => {
      await logs.insertMany({ tenantId: a }, [log('a')]);
      // Each joined call sees its own scope only: b's list does not show a's log, the platform's neither.
      expect((await logs.list({ tenantId: b }, { limit: 10, offset: 0, sort: 'timestamp', order: 'desc' })).items).toEqual([]);
      await logs.insertMany({ platform: true }, [log('platform')]);
      expect((await logs.list({ platform: true }, { limit: 10, offset: 0, sort: 'timestamp', order: 'desc' })).items.map((l) => l.message)).toContain('platform');
      await audit.insert(b, { actor_id: randomUUID(), actor_type: 'user', action: 'trace_viewed', resource_type: 'trace' });
      // A scope-less query after a scoped call runs without that tenant's scope.
      expect(await tenants.getTenant(a)).toMatchObject({ tenant_id: a });
    });
    expect(await countOf(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1`, [a])).toBe(1);
    expect(await countOf(`SELECT count(*) AS n FROM audit_logs WHERE tenant_id = $1`, [b])).toBe(1);
  });

  it('rolls every write back when any step fails, and joins a nested call', async () => {
    const name = `gone-${randomUUID()}`;
    const failure = t.db.atomically(async () => {
      const tenant = await tenants.createTenant(name, 'none');
      await t.db.atomically(() => logs.insertMany({ tenantId: tenant.tenant_id }, [log('inner')]));
      await audit.insert(tenant.tenant_id, { actor_id: randomUUID(), actor_type: 'user', action: 'trace_viewed', resource_type: 'trace' });
      throw new Error('crash before the end');
    });
    await expect(failure).rejects.toThrow('crash before the end');
    expect(await countOf(`SELECT count(*) AS n FROM tenants WHERE name = $1`, [name])).toBe(0);
    expect(await countOf(`SELECT count(*) AS n FROM system_logs WHERE message = 'inner'`, [])).toBe(0);
  });
});

/** Database.stream: a server-side cursor in one scoped snapshot. */
describe.each<TestDatabaseKind>(['postgres', 'embedded'])('Database.stream on %s', (kind) => {
  let t: TestDatabase;
  let logs: SystemLogStore;
  let tenant: string;
  let other: string;
  const series = `SELECT n FROM generate_series(1, 1050) AS n ORDER BY n`;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    logs = new SystemLogStore(t.db);
    const tenants = new TenantStore(t.db);
    tenant = (await tenants.createTenant(`s-${randomUUID()}`, 'none')).tenant_id;
    other = (await tenants.createTenant(`o-${randomUUID()}`, 'none')).tenant_id;
    await logs.insertMany({ tenantId: tenant }, [1, 2, 3].map((i) => ({ level: 'info' as const, source: 'stream', message: `m${i}` })));
  }, 60_000);
  afterAll(() => t?.close());

  it('hands over every row once, in order, across batches', async () => {
    const seen: number[] = [];
    for await (const row of t.db.stream<{ n: number }>({ tenantId: tenant }, series, [], 100)) seen.push(row.n);
    expect(seen).toEqual(Array.from({ length: 1050 }, (_, i) => i + 1));
  });

  it('reads in the caller\'s tenant scope only', async () => {
    const messages = async (tenantId: string) => {
      const out: string[] = [];
      for await (const row of t.db.stream<{ message: string }>({ tenantId }, `SELECT message FROM system_logs WHERE source = 'stream' ORDER BY message`)) {
        out.push(row.message);
      }
      return out;
    };
    expect(await messages(tenant)).toEqual(['m1', 'm2', 'm3']);
    expect(await messages(other)).toEqual([]);
  });

  it('closes the cursor and frees its connection when the caller stops early', async () => {
    for (let round = 0; round < 12; round++) {
      for await (const row of t.db.stream<{ n: number }>({ tenantId: tenant }, series, [], 100)) {
        expect(row.n).toBe(1);
        break;
      }
    }
    // More early stops than the pool has connections: each one was given back, healthy.
    expect((await logs.list({ tenantId: tenant }, { limit: 10, offset: 0, sort: 'timestamp', order: 'desc' })).items).toHaveLength(3);
  });

  it('fails with the query\'s error and frees the connection', async () => {
    const run = async () => {
      for await (const _row of t.db.stream({ tenantId: tenant }, `SELECT 1 / (n - 600) FROM generate_series(1, 1050) AS n`, [], 100)) {
        // drains until the division by zero
      }
    };
    await expect(run()).rejects.toThrow(/division by zero/);
    expect((await logs.list({ tenantId: tenant }, { limit: 10, offset: 0, sort: 'timestamp', order: 'desc' })).items).toHaveLength(3);
  });

  it('snapshot: several statements see one instant, in the caller\'s scope, and write nothing', async () => {
    const count = (sql: { query<T>(q: string): Promise<T[]> }) =>
      sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM system_logs WHERE source = 'stream'`).then((r) => r[0].n);
    const seen = await t.db.snapshot({ tenantId: tenant }, async (sql) => {
      const before = await count(sql);
      // PGlite is one backend (one session at a time): a concurrent writer is the real server's case.
      if (kind === 'postgres') await logs.insertMany({ tenantId: tenant }, [{ level: 'info' as const, source: 'stream', message: 'm4' }]);
      return [before, await count(sql)];
    });
    expect(seen).toEqual([3, 3]);
    expect(await t.db.snapshot({ tenantId: other }, count)).toBe(0);
    await expect(t.db.snapshot({ tenantId: tenant }, (sql) => sql.query(`INSERT INTO system_logs (tenant_id, level, source, message) VALUES ('${tenant}', 'info', 'stream', 'x')`))).rejects.toThrow(/read-only/);
  });
});
