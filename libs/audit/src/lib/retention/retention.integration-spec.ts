import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { type ComplianceProfile, ManualClock, type NewStep, NotFoundError, ValidationError } from '@aos/logs-domain';
import { AuditLogStore, RetentionStore, SystemLogStore, TenantStore, TraceStore } from '@aos/traces-store';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '@aos/traces-store/testing';
import { ApiKeyActorDirectory } from '../actor-directory';
import { AuditLogService } from '../audit-log.service';
import { type RetentionActor, RetentionService } from './retention.service';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const DAY = 86_400_000;
const step = (i: number): NewStep => ({ step_index: i, step_type: 'llm_call', timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(), input_data: { i } });

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('RetentionService with a moved clock on %s', (kind) => {
  let t: TestDatabase;
  let clock: ManualClock;
  let service: RetentionService;
  let auditService: AuditLogService;
  let traces: TraceStore;
  let logs: SystemLogStore;
  let tenants: TenantStore;
  const admin: RetentionActor = { actorId: randomUUID(), actorType: 'api_key', ipAddress: '203.0.113.9', userAgent: 'jest' };

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    t = await openTestDatabase(kind);
    const auditStore = new AuditLogStore(t.db);
    auditService = new AuditLogService(auditStore, new ApiKeyActorDirectory(auditStore));
    traces = new TraceStore(t.db);
    logs = new SystemLogStore(t.db);
    tenants = new TenantStore(t.db);
    clock = new ManualClock();
    service = new RetentionService(new RetentionStore(t.db), tenants, auditService, clock, { batchSize: 3 });
  }, 60_000);
  afterAll(() => t?.close());
  beforeEach(() => clock.set(Date.now()));

  const newTenant = async (compliance: ComplianceProfile = 'none') => (await tenants.createTenant(`t-${randomUUID().slice(0, 8)}`, compliance)).tenant_id;
  const sealedTrace = async (tenantId: string) => {
    const { trace } = await traces.createTrace(tenantId, { run_id: randomUUID(), agent_id: randomUUID() });
    await traces.addSteps(tenantId, trace.trace_id, [step(0), step(1)]);
    return traces.completeTrace(tenantId, trace.trace_id, { status: 'completed' });
  };
  const count = async (table: string, tenantId: string, extra = '') =>
    Number((await t.asOwner<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = $1 ${extra}`, [tenantId]))[0].n);
  const auditRows = async (tenantId: string, action: string) => (await auditService.searchLogs(tenantId, { action, limit: 100 })).items;
  // The database's floor follows the moved clock (an owner-only knob the serving role cannot touch).
  const purge = async (tenantId: string, dryRun = false) => {
    await t.setDatabaseClock(clock.now());
    return service.purge({ tenantId, dryRun, actor: admin });
  };

  it('answers the effective policy with the compliance minimums, and audits a change', async () => {
    const tenantId = await newTenant('soc2');
    const view = await service.getPolicy(tenantId);
    expect(view).toMatchObject({ compliance: 'soc2', minimums: { traces: 365, audit_logs: 2557 }, overrides: {}, effective: { traces: 365, audit_logs: 2557 } });
    const err = (await service.putPolicy(tenantId, admin, { traces: 100 }).catch((e) => e)) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.errors).toEqual([{ field: 'traces', message: expect.stringContaining('at least 365 days') }]);
    expect(await auditRows(tenantId, 'retention_policy_updated')).toEqual([]);

    const updated = await service.putPolicy(tenantId, admin, { traces: 500, system_logs: { debug: 2 } });
    expect(updated.effective).toMatchObject({ traces: 500, audit_logs: 2557, system_logs: { debug: 2, critical: null } });
    expect(updated.updated_by).toBe(admin.actorId);
    const [row] = await auditRows(tenantId, 'retention_policy_updated');
    expect(row).toMatchObject({ actor_id: admin.actorId, resource_type: 'retention_policy', ip_address: '203.0.113.9', details: { previous_overrides: {}, overrides: { traces: 500 } } });
    await expect(service.getPolicy(randomUUID())).rejects.toBeInstanceOf(NotFoundError);
  });

  it('changes no policy and places or releases no hold whose audit row could not be written', async () => {
    const tenantId = await newTenant('none');
    const trace = await sealedTrace(tenantId);
    const held = await service.placeHold(tenantId, admin, { scope: 'trace', target_id: trace.trace_id, reason: 'litigation' });
    // The audit write fails, as a crash between the change and its audit row would.
    const failing = jest.spyOn(auditService, 'logAction').mockRejectedValue(new Error('audit store down'));
    try {
      await expect(service.putPolicy(tenantId, admin, { traces: 400 })).rejects.toThrow('audit store down');
      await expect(service.placeHold(tenantId, admin, { scope: 'tenant', reason: 'another' })).rejects.toThrow('audit store down');
      await expect(service.releaseHold(tenantId, admin, held.hold_id)).rejects.toThrow('audit store down');
    } finally {
      failing.mockRestore();
    }
    expect((await service.getPolicy(tenantId)).overrides).toEqual({});
    expect((await service.listHolds(tenantId)).map((h) => [h.hold_id, h.released_at])).toEqual([[held.hold_id, null]]);
    expect(await auditRows(tenantId, 'legal_hold_placed')).toHaveLength(1);
    expect(await auditRows(tenantId, 'legal_hold_released')).toHaveLength(0);
    expect(await auditRows(tenantId, 'retention_policy_updated')).toHaveLength(0);
  });

  it('purges DEBUG logs after 24 hours and never CRITICAL ones', async () => {
    const tenantId = await newTenant();
    await logs.insertMany({ tenantId }, [
      ...Array.from({ length: 4 }, (_, i) => ({ level: 'debug' as const, source: 'api', message: `d${i}` })),
      { level: 'info', source: 'api', message: 'i' },
      { level: 'critical', source: 'api', message: 'c' },
    ]);
    clock.advance(23 * 3_600_000);
    expect((await purge(tenantId)).tenants[0].removed).toBe(0);
    expect(await count('system_logs', tenantId)).toBe(6);

    clock.advance(2 * 3_600_000);
    const report = await purge(tenantId);
    const debug = report.tenants[0].targets.find((x) => x.type === 'system_logs' && x.level === 'debug')!;
    // Four rows with batches of three: two batches, both hashed.
    expect(debug).toMatchObject({ removed: 4, retention_days: 1 });
    expect(debug.batch_hashes).toHaveLength(2);
    expect(debug.removed_hash).toBe(sha256(debug.batch_hashes.join('')));
    expect(await count('system_logs', tenantId, `AND level = 'debug'`)).toBe(0);
    expect(await count('system_logs', tenantId)).toBe(2);

    clock.advanceDays(100 * 365);
    await purge(tenantId);
    expect(await count('system_logs', tenantId, `AND level = 'critical'`)).toBe(1);
    expect(await count('system_logs', tenantId, `AND level = 'info'`)).toBe(0);
  });

  it('keeps a SOC2 tenant\u2019s audit rows past 365 days while a default tenant\u2019s go', async () => {
    const soc2 = await newTenant('soc2');
    const plain = await newTenant('none');
    for (const tenantId of [soc2, plain]) {
      await auditService.logAction({ tenantId, actor_id: randomUUID(), actor_type: 'user', action: 'login', resource_type: 'session' });
    }
    clock.advanceDays(400);
    await purge(soc2);
    await purge(plain);
    expect(await count('audit_logs', soc2, `AND action = 'login'`)).toBe(1);
    expect(await count('audit_logs', plain, `AND action = 'login'`)).toBe(0);
    clock.advanceDays(7 * 365 + 2);
    await purge(soc2);
    expect(await count('audit_logs', soc2, `AND action = 'login'`)).toBe(0);
  });

  it('keeps a HIPAA tenant\u2019s traces for 6 years; the traces that remain still verify', async () => {
    const hipaa = await newTenant('hipaa');
    const soc2 = await newTenant('soc2');
    const h = await sealedTrace(hipaa);
    const s = await sealedTrace(soc2);
    clock.advanceDays(2 * 365);
    await purge(hipaa);
    const report = await purge(soc2);
    expect(report.tenants[0].targets.find((x) => x.type === 'traces')).toMatchObject({ removed: 1, steps_removed: 2, removed_hash: sha256(sha256(s.content_hash!)) });
    await expect(traces.getTrace(soc2, s.trace_id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await traces.verifyTrace(hipaa, h.trace_id)).verified).toBe(true);

    clock.advanceDays(4 * 365 - 10); // about 6 years minus two weeks after completion
    await purge(hipaa);
    expect((await traces.verifyTrace(hipaa, h.trace_id)).verified).toBe(true);
    clock.advanceDays(20);
    await purge(hipaa);
    await expect(traces.getTrace(hipaa, h.trace_id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('skips records under a hold, audits placing and releasing it, and the next purge after release removes them', async () => {
    const tenantId = await newTenant();
    const held = await sealedTrace(tenantId);
    const free = await sealedTrace(tenantId);
    const hold = await service.placeHold(tenantId, admin, { scope: 'trace', target_id: held.trace_id, reason: '  litigation  ' });
    expect(hold.reason).toBe('litigation');
    await expect(service.placeHold(tenantId, admin, { scope: 'tenant', reason: '' })).rejects.toBeInstanceOf(ValidationError);
    expect(await auditRows(tenantId, 'legal_hold_placed')).toEqual([expect.objectContaining({ resource_id: hold.hold_id, details: expect.objectContaining({ scope: 'trace', target_id: held.trace_id }) })]);

    clock.advanceDays(91);
    await purge(tenantId);
    await expect(traces.getTrace(tenantId, free.trace_id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await traces.verifyTrace(tenantId, held.trace_id)).verified).toBe(true);

    const released = await service.releaseHold(tenantId, admin, hold.hold_id);
    expect(released.released_by).toBe(admin.actorId);
    await service.releaseHold(tenantId, admin, hold.hold_id);
    expect(await auditRows(tenantId, 'legal_hold_released')).toHaveLength(1);
    expect((await service.listHolds(tenantId, { activeOnly: true })).length).toBe(0);

    await purge(tenantId);
    await expect(traces.getTrace(tenantId, held.trace_id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a dry run reports what would go and changes nothing (no audit row either)', async () => {
    const tenantId = await newTenant();
    const trace = await sealedTrace(tenantId);
    await logs.insertMany({ tenantId }, [{ level: 'debug', source: 'api', message: 'd' }]);
    clock.advanceDays(91);
    const dry = await purge(tenantId, true);
    expect(dry.dry_run).toBe(true);
    const r = dry.tenants[0];
    expect(r.audit_log_id).toBeNull();
    expect(r.targets.find((x) => x.type === 'traces')).toMatchObject({ removed: 1, steps_removed: 2 });
    expect(r.targets.find((x) => x.level === 'debug')).toMatchObject({ removed: 1 });
    expect((await traces.verifyTrace(tenantId, trace.trace_id)).verified).toBe(true);
    expect(await count('system_logs', tenantId)).toBe(1);
    expect(await auditRows(tenantId, 'retention_purged')).toEqual([]);
  });

  it('leaves one retention_purged audit row per tenant purge with counts, ranges and removed_hash', async () => {
    const tenantId = await newTenant();
    const trace = await sealedTrace(tenantId);
    await logs.insertMany({ tenantId }, [{ level: 'debug', source: 'api', message: 'd' }, { level: 'info', source: 'api', message: 'i' }]);
    clock.advanceDays(91);
    const report = await purge(tenantId);
    const r = report.tenants[0];
    expect(r.removed).toBe(3);
    const rows = await auditRows(tenantId, 'retention_purged');
    expect(rows).toHaveLength(1);
    expect(rows[0].log_id).toBe(r.audit_log_id);
    expect(rows[0]).toMatchObject({ actor_id: admin.actorId, actor_type: 'api_key', resource_type: 'tenant', resource_id: tenantId });
    const details = rows[0].details as { removed: number; removed_hash: string; trigger: string; targets: Array<Record<string, unknown>> };
    expect(details).toMatchObject({ removed: 3, removed_hash: r.removed_hash, trigger: 'request' });
    expect(details.targets.find((x) => x['type'] === 'traces')).toMatchObject({
      removed: 1,
      steps_removed: 2,
      first_at: trace.completed_at,
      last_at: trace.completed_at,
      removed_hash: sha256(sha256(trace.content_hash!)),
      cutoff: new Date(clock.now().getTime() - 90 * DAY).toISOString(),
    });
    // CRITICAL is permanent: it has no cutoff and is not listed.
    expect(details.targets.some((x) => x['level'] === 'critical')).toBe(false);
    expect(r.removed_hash).toBe(sha256(r.targets.map((x) => x.removed_hash).join('')));
  });

  it('a scheduled run walks every tenant and the platform logs, auditing only tenants it removed something from', async () => {
    const busy = await newTenant();
    const idle = await newTenant();
    await logs.insertMany({ tenantId: busy }, [{ level: 'debug', source: 'api', message: 'd' }]);
    await logs.insertMany({ platform: true }, [{ level: 'debug', source: 'platform', message: 'p' }]);
    clock.advanceDays(2);
    await t.setDatabaseClock(clock.now());
    const report = await service.purge();
    expect(report.tenants.find((r) => r.tenant_id === busy)).toMatchObject({ removed: 1 });
    expect(report.tenants.find((r) => r.tenant_id === idle)).toMatchObject({ removed: 0, audit_log_id: null });
    expect(report.tenants.find((r) => r.tenant_id === null)!.removed).toBeGreaterThan(0);
    const [row] = await auditRows(busy, 'retention_purged');
    expect(row).toMatchObject({ actor_type: 'system', actor_id: '00000000-0000-0000-0000-000000000000', details: expect.objectContaining({ trigger: 'schedule' }) });
    expect(await auditRows(idle, 'retention_purged')).toEqual([]);
    expect(await auditRows(idle, 'retention_purge_started')).toEqual([]);
  });

  (kind === 'postgres' ? it : it.skip)('runs purges asked at once one after another, so that waiting for a lock holds one connection, not one each', async () => {
    const tenantId = await newTenant();
    await t.setDatabaseClock(clock.now());
    // A hold being placed holds the tenant's purge lock: every purge batch waits for it.
    const holder = new Client({ connectionString: t.ownerUrl! });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended('aos.retention.purge/' || $1::text, 0))`, [tenantId]);
      const purges = Array.from({ length: 4 }, () => service.purge({ tenantId, actor: admin }));
      const waiting = async () =>
        Number((await holder.query(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).rows[0].n);
      for (let i = 0; i < 100 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      expect(await waiting()).toBe(1);
      await holder.query('COMMIT');
      const reports = await Promise.all(purges);
      expect(reports.map((r) => r.tenants[0].tenant_id)).toEqual([tenantId, tenantId, tenantId, tenantId]);
      expect(await auditRows(tenantId, 'retention_purged')).toHaveLength(4);
    } finally {
      await holder.end();
    }
  }, 60_000);

  it('writes the purge\u2019s intent row before deleting, and the result row names it', async () => {
    const tenantId = await newTenant();
    await logs.insertMany({ tenantId }, [{ level: 'debug', source: 'api', message: 'd' }]);
    clock.advanceDays(2);
    const report = await purge(tenantId);
    const [started] = await auditRows(tenantId, 'retention_purge_started');
    const [result] = await auditRows(tenantId, 'retention_purged');
    expect(started).toMatchObject({ actor_id: admin.actorId, resource_type: 'tenant', resource_id: tenantId, details: expect.objectContaining({ trigger: 'request' }) });
    const debugCutoff = report.tenants[0].targets.find((x) => x.level === 'debug')!.cutoff;
    expect((started.details as { targets: unknown[] }).targets).toContainEqual({ type: 'system_logs', level: 'debug', retention_days: 1, cutoff: debugCutoff });
    expect(result.details).toMatchObject({ started_log_id: started.log_id, removed: 1 });
    expect(Date.parse(started.timestamp)).toBeLessThanOrEqual(Date.parse(result.timestamp));
  });

  it('a purge that dies between batches has already left its intent row', async () => {
    const tenantId = await newTenant();
    await logs.insertMany({ tenantId }, Array.from({ length: 5 }, (_, i) => ({ level: 'debug' as const, source: 'api', message: `d${i}` })));
    clock.advanceDays(2);
    await t.setDatabaseClock(clock.now());
    const real = new RetentionStore(t.db);
    let deleting = 0;
    const dying = Object.assign(Object.create(real) as RetentionStore, {
      purgeBatch: async (req: Parameters<RetentionStore['purgeBatch']>[0]) => {
        if (!req.dryRun && ++deleting === 2) throw new Error('worker killed');
        return real.purgeBatch(req);
      },
    });
    const fragile = new RetentionService(dying, tenants, auditService, clock, { batchSize: 3 });
    await expect(fragile.purge({ tenantId, actor: admin })).rejects.toThrow(/worker killed/);
    expect(await count('system_logs', tenantId)).toBe(2);
    expect(await auditRows(tenantId, 'retention_purge_started')).toHaveLength(1);
    expect(await auditRows(tenantId, 'retention_purged')).toEqual([]);
    // The database refuses a deleting batch that names no intent row.
    await expect(real.purgeBatch({ tenantId, type: 'system_logs', level: 'debug', before: new Date(Date.now() - DAY), limit: 10, dryRun: false })).rejects.toThrow(/retention_purge_started/);
  });

  it('an application clock ahead of the database\u2019s is held to the database\u2019s floor, not refused', async () => {
    const tenantId = await newTenant();
    await logs.insertMany({ tenantId }, [{ level: 'debug', source: 'api', message: 'd' }]);
    await t.setDatabaseClock(null);
    clock.advanceDays(3);
    const report = await service.purge({ tenantId, actor: admin });
    const debug = report.tenants[0].targets.find((x) => x.level === 'debug')!;
    expect(debug.removed).toBe(0);
    expect(Date.parse(debug.cutoff!)).toBeLessThanOrEqual(Date.now() - DAY);
    expect(Date.parse(debug.cutoff!)).toBeGreaterThan(Date.now() - DAY - 60_000);
    expect(await count('system_logs', tenantId)).toBe(1);
  });
});
