import { randomUUID } from 'node:crypto';
import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NotFoundError, ValidationError } from '@aos/logs-domain';
import { type Scope, SystemLogSearchIndexer, SystemLogStore, TenantStore } from '@aos/traces-store';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '@aos/traces-store/testing';
import { PlatformLogger } from './platform-logger';
import { runWithRequestContext } from './request-context';
import { SystemLogService } from './system-log.service';
import { SystemLogsModule } from './system-logs.module';

/** What TracesStoreModule provides, over the test database. */
function storeModule(store: SystemLogStore): DynamicModule {
  @Module({})
  class TestStoreModule {}
  return { module: TestStoreModule, global: true, providers: [{ provide: SystemLogStore, useValue: store }], exports: [SystemLogStore] };
}

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('SystemLogService on %s', (kind) => {
  let t: TestDatabase;
  let store: SystemLogStore;
  let service: SystemLogService;
  let tenant: Scope;
  let other: Scope;
  const platform: Scope = { platform: true };

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    store = new SystemLogStore(t.db);
    service = new SystemLogService(store);
    const tenants = new TenantStore(t.db);
    tenant = { tenantId: (await tenants.createTenant('a', 'none')).tenant_id };
    other = { tenantId: (await tenants.createTenant('b', 'none')).tenant_id };
  }, 60_000);
  afterAll(() => t?.close());

  it('logs one event (spec `log`) and a batch (`logMany`), and searches them newest first by default', async () => {
    const trace = randomUUID();
    const one = await service.log(tenant, { level: 'error', source: 'checkout', message: 'card declined by issuer', trace_id: trace, context: { code: 51 } });
    expect(one).toMatchObject({ tenant_id: (tenant as { tenantId: string }).tenantId, level: 'error', trace_id: trace, context: { code: 51 } });
    const many = await service.logMany(tenant, [
      { level: 'info', source: 'checkout', message: 'order placed', timestamp: '2026-01-20T10:00:00.000Z' },
      { level: 'info', source: 'checkout', message: 'order shipped', timestamp: '2026-01-20T11:00:00.000Z' },
    ]);
    expect(many.map((l) => l.message)).toEqual(['order placed', 'order shipped']);
    await new SystemLogSearchIndexer(t.db).drain(); // full text is indexed off the write path

    const all = await service.searchLogs(tenant);
    expect(all.items.map((l) => l.message)).toEqual(['card declined by issuer', 'order shipped', 'order placed']);
    expect(all.total).toBe(3);
    expect((await service.searchLogs(tenant, { search: 'declined', trace_id: trace })).items).toEqual([one]);
    expect((await service.searchLogs(tenant, { order: 'asc', limit: 1 })).items[0].message).toBe('order placed');
    await expect(service.get(tenant, one.log_id)).resolves.toEqual(one);
    await expect(service.get(other, one.log_id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses bad input naming the field', async () => {
    await expect(service.logMany(tenant, [])).rejects.toThrow(/logs: must contain at least one log/);
    const err = (await service.log(tenant, { level: 'fatal' as never, source: '', message: 'm' }).catch((e) => e)) as ValidationError;
    expect(err.errors.map((e) => e.field)).toEqual(['level', 'source']);
    await expect(service.searchLogs(tenant, { limit: 1001 })).rejects.toThrow(/limit/);
    await expect(service.searchLogs(tenant, { sort: 'level' as never })).rejects.toThrow(/sort/);
  });

  it('keeps platform logs and tenant logs apart', async () => {
    const ops = await service.log(platform, { level: 'critical', source: 'Bootstrap', message: 'disk almost full' });
    expect(ops.tenant_id).toBeNull();
    await new SystemLogSearchIndexer(t.db).drain();
    expect((await service.searchLogs(tenant, { search: 'disk' })).items).toEqual([]);
    expect((await service.searchLogs(other)).items).toEqual([]);
    expect((await service.searchLogs(platform, { search: 'disk' })).items).toEqual([ops]);
    expect((await service.searchLogs(platform)).items.every((l) => l.tenant_id === null)).toBe(true);
  });

  it('writes the application logger to platform system logs in batches and flushes them on shutdown', async () => {
    @Module({ imports: [storeModule(store), SystemLogsModule.forRoot({ logger: { echo: false, flushIntervalMs: 60_000 } })] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const logger = app.get(PlatformLogger);
    app.useLogger(logger);
    const marker = randomUUID();
    const trace = randomUUID();
    new Logger('RetentionPurge').error(`purge ${marker} failed`, 'Error: boom\n    at purge (purge.ts:1:1)');
    await runWithRequestContext({ request_id: `req-${marker}`, trace_id: trace }, async () => {
      new Logger('TraceStore').warn(`slow query ${marker}`);
    });
    expect((await service.searchLogs(platform, { search: marker })).items).toEqual([]);
    expect(logger.pending).toBe(2);

    await app.close();
    await new SystemLogSearchIndexer(t.db).drain();
    const stored = (await service.searchLogs(platform, { search: marker, order: 'asc' })).items;
    expect(stored).toEqual([
      expect.objectContaining({ tenant_id: null, level: 'error', source: 'RetentionPurge', message: `purge ${marker} failed`, request_id: null }),
      expect.objectContaining({ tenant_id: null, level: 'warning', source: 'TraceStore', request_id: `req-${marker}`, trace_id: trace }),
    ]);
    expect(stored[0].context).toMatchObject({ stack: 'Error: boom\n    at purge (purge.ts:1:1)', pid: process.pid });
    expect((await service.searchLogs(tenant, { search: marker })).items).toEqual([]);
  });
});
