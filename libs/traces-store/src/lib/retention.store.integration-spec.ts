import { createHash, randomUUID } from 'node:crypto';
import {
  type ComplianceProfile,
  ConflictError,
  effectiveRetention,
  NotFoundError,
  type NewStep,
  type RetentionOverrides,
  retentionTargets,
  ValidationError,
} from '@aos/logs-domain';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import { AuditLogStore } from './audit-log.store';
import { ExportJobStore } from './export-job.store';
import { type PurgeBatchRequest, RetentionStore } from './retention.store';
import { StepSearchIndexer } from './step-search-indexer';
import { SystemLogStore } from './system-log.store';
import { TenantStore } from './tenant.store';
import { TraceStore } from './trace.store';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const DAY = 86_400_000;
const FUTURE = new Date(Date.now() + 3_600_000);

const step = (i: number): NewStep => ({
  step_index: i,
  step_type: i === 0 ? 'input' : 'llm_call',
  timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(),
  input_data: { prompt: `question ${i}` },
  output_data: { text: `answer ${i}` },
});

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('RetentionStore and aos_retention_purge on %s', (kind) => {
  let t: TestDatabase;
  let store: RetentionStore;
  let traces: TraceStore;
  let logs: SystemLogStore;
  let audit: AuditLogStore;
  let tenants: TenantStore;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    store = new RetentionStore(t.db);
    traces = new TraceStore(t.db);
    logs = new SystemLogStore(t.db);
    audit = new AuditLogStore(t.db);
    tenants = new TenantStore(t.db);
    // These cases pass cutoffs up to an hour ahead: move the floor's clock (owner-only)
    // 400 days on, past every default retention, so only the cutoffs given here decide.
    await t.setDatabaseClock(new Date(Date.now() + 400 * DAY));
  }, 60_000);
  afterAll(() => t?.close());

  /** A tenant's retention_purge_started row, which every deleting batch must name (one per tenant here). */
  const intents = new Map<string, string>();
  const intentFor = async (tenantId: string) => {
    if (!intents.has(tenantId)) {
      const row = await audit.insert(tenantId, { actor_id: randomUUID(), actor_type: 'system', action: 'retention_purge_started', resource_type: 'tenant', resource_id: tenantId });
      intents.set(tenantId, row.log_id);
    }
    return intents.get(tenantId)!;
  };
  const purgeBatch = async (req: PurgeBatchRequest) =>
    store.purgeBatch({ ...req, auditLogId: req.dryRun || req.tenantId === null ? null : await intentFor(req.tenantId) });

  const newTenant = async () => (await tenants.createTenant(`t-${randomUUID().slice(0, 8)}`, 'none')).tenant_id;
  const sealedTrace = async (tenantId: string, extra: { incident_id?: string } = {}) => {
    const { trace } = await traces.createTrace(tenantId, { run_id: randomUUID(), agent_id: randomUUID(), started_at: '2026-01-20T10:00:00.000Z', policy_snapshot: { policy: 'p' }, ...extra });
    await traces.addSteps(tenantId, trace.trace_id, [step(0), step(1)]);
    return traces.completeTrace(tenantId, trace.trace_id, { status: 'completed' });
  };
  const count = async (sql: string, params: unknown[]) => Number((await t.asOwner<{ n: string }>(sql, params))[0].n);
  /** The documented hash of removed log rows, computed independently as the owner. */
  const logHash = async (table: string, where: string, params: unknown[], timeColumn = 'created_at') => {
    const rows = await t.asOwner<{ h: string }>(
      `SELECT encode(sha256(convert_to((to_jsonb(x) - 'search_vector')::text, 'UTF8')), 'hex') AS h FROM ${table} x WHERE ${where} ORDER BY x.${timeColumn}, x.log_id`,
      params,
    );
    return sha256(rows.map((r) => r.h).join(''));
  };

  it('stores overrides per tenant (RLS-scoped) and answers {} before any', async () => {
    const a = await newTenant();
    const b = await newTenant();
    expect(await store.getPolicy(a)).toEqual({ tenant_id: a, overrides: {}, updated_at: null, updated_by: null });
    const actor = randomUUID();
    const first = await store.putPolicy(a, { traces: 120 }, actor);
    expect(first.previous).toEqual({});
    expect(first.policy).toMatchObject({ tenant_id: a, overrides: { traces: 120 }, updated_by: actor });
    const second = await store.putPolicy(a, { system_logs: { debug: 2 } }, actor);
    expect(second.previous).toEqual({ traces: 120 });
    expect((await store.getPolicy(a)).overrides).toEqual({ system_logs: { debug: 2 } });
    expect((await store.getPolicy(b)).overrides).toEqual({});
  });

  it('places, lists and releases holds once; a released hold is frozen; another tenant sees none', async () => {
    const a = await newTenant();
    const trace = await sealedTrace(a);
    const placer = randomUUID();
    await expect(store.placeHold(a, { scope: 'trace', target_id: randomUUID(), reason: 'r', placed_by: placer })).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.placeHold(a, { scope: 'incident', reason: 'r', placed_by: placer })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.placeHold(a, { scope: 'tenant', target_id: randomUUID(), reason: 'r', placed_by: placer })).rejects.toBeInstanceOf(ValidationError);
    const hold = await store.placeHold(a, { scope: 'trace', target_id: trace.trace_id, reason: 'litigation 42', placed_by: placer });
    expect(hold).toMatchObject({ scope: 'trace', target_id: trace.trace_id, reason: 'litigation 42', placed_by: placer, released_at: null });
    expect((await store.listHolds(a, { activeOnly: true })).map((h) => h.hold_id)).toEqual([hold.hold_id]);
    expect(await store.listHolds(await newTenant())).toEqual([]);
    await expect(store.releaseHold(await newTenant(), hold.hold_id, placer)).rejects.toBeInstanceOf(NotFoundError);

    const releaser = randomUUID();
    const released = await store.releaseHold(a, hold.hold_id, releaser);
    expect(released.released).toBe(true);
    expect(released.hold).toMatchObject({ released_by: releaser });
    expect(released.hold.released_at).not.toBeNull();
    const again = await store.releaseHold(a, hold.hold_id, randomUUID());
    expect(again).toEqual({ hold: released.hold, released: false });
    expect(await store.listHolds(a, { activeOnly: true })).toEqual([]);
    // Even the owner cannot un-release or delete a hold.
    await expect(t.asOwner(`UPDATE legal_holds SET released_at = NULL, released_by = NULL WHERE hold_id = $1`, [hold.hold_id])).rejects.toThrow(/already released/);
    await expect(t.asOwner(`DELETE FROM legal_holds WHERE hold_id = $1`, [hold.hold_id])).rejects.toThrow(/never deleted/);
  });

  it('purges system logs of one level before the cutoff, in bounded batches, with the documented hash', async () => {
    const a = await newTenant();
    const other = await newTenant();
    await logs.insertMany({ tenantId: a }, Array.from({ length: 5 }, (_, i) => ({ level: 'debug' as const, source: 'api', message: `debug ${i}` })));
    await logs.insertMany({ tenantId: a }, [{ level: 'critical', source: 'api', message: 'on fire' }, { level: 'info', source: 'api', message: 'hello' }]);
    await logs.insertMany({ tenantId: other }, [{ level: 'debug', source: 'api', message: 'elsewhere' }]);

    const past = new Date(Date.now() - 3_600_000);
    expect((await purgeBatch({ tenantId: a, type: 'system_logs', level: 'debug', before: past, limit: 100, dryRun: false })).removed).toBe(0);

    const dry = await purgeBatch({ tenantId: a, type: 'system_logs', level: 'debug', before: FUTURE, limit: null, dryRun: true });
    const expectedHash = await logHash('system_logs', `x.tenant_id = $1 AND x.level = 'debug'`, [a]);
    expect(dry).toMatchObject({ removed: 5, removed_hash: expectedHash });
    // A dry run given a limit counts at most that many (the schedule asks "anything due?" with 1).
    expect((await purgeBatch({ tenantId: a, type: 'system_logs', level: 'debug', before: FUTURE, limit: 1, dryRun: true })).removed).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1`, [a])).toBe(7);

    const firstTwo = await logHash('system_logs', `x.log_id IN (SELECT log_id FROM system_logs WHERE tenant_id = $1 AND level = 'debug' ORDER BY created_at, log_id LIMIT 2)`, [a]);
    const batch = await purgeBatch({ tenantId: a, type: 'system_logs', level: 'debug', before: FUTURE, limit: 2, dryRun: false });
    expect(batch).toMatchObject({ removed: 2, steps_removed: 0, removed_hash: firstTwo });
    expect(batch.first_at).not.toBeNull();
    expect((await purgeBatch({ tenantId: a, type: 'system_logs', level: 'debug', before: FUTURE, limit: 100, dryRun: false })).removed).toBe(3);
    const empty = await purgeBatch({ tenantId: a, type: 'system_logs', level: 'debug', before: FUTURE, limit: 100, dryRun: false });
    expect(empty).toEqual({ removed: 0, steps_removed: 0, first_at: null, last_at: null, removed_hash: sha256('') });
    expect(await count(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1`, [a])).toBe(2);
    expect(await count(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1`, [other])).toBe(1);
  });

  it('purges platform system logs (no tenant) apart from tenant logs', async () => {
    await logs.insertMany({ platform: true }, [{ level: 'debug', source: 'platform', message: 'p' }]);
    const before = await count(`SELECT count(*) AS n FROM system_logs WHERE tenant_id IS NULL`, []);
    expect(before).toBeGreaterThan(0);
    const res = await purgeBatch({ tenantId: null, type: 'system_logs', level: 'debug', before: FUTURE, limit: 1000, dryRun: false });
    expect(res.removed).toBeGreaterThan(0);
    expect(await count(`SELECT count(*) AS n FROM system_logs WHERE tenant_id IS NULL AND level = 'debug'`, [])).toBe(0);
    await expect(purgeBatch({ tenantId: null, type: 'traces', before: FUTURE, limit: 1, dryRun: false })).rejects.toThrow(/belong to a tenant/);
  });

  it('purges sealed traces with their steps, snapshot and search rows; never active ones; the rest still verify', async () => {
    const a = await newTenant();
    const gone = await sealedTrace(a);
    const kept = await sealedTrace(a);
    const { trace: open } = await traces.createTrace(a, { run_id: randomUUID(), agent_id: randomUUID(), policy_snapshot: { p: 1 } } as never);
    await traces.addSteps(a, open.trace_id, [step(0)]);
    await new StepSearchIndexer(t.db).drain();
    const cutoff = new Date(Date.parse(gone.completed_at!) + 1);
    // A rendered PDF of the trace goes with it (cascade), file and all.
    const exportsStore = new ExportJobStore(t.db);
    const { job } = await exportsStore.enqueueOrGet(a, { trace_id: gone.trace_id, bundle_type: 'evidence', content_hash: gone.content_hash! });
    await exportsStore.start(a, job.job_id);
    await exportsStore.complete(a, job.job_id, { content_type: 'application/pdf', bytes: Buffer.from('%PDF-1.7 test') });

    const res = await purgeBatch({ tenantId: a, type: 'traces', before: cutoff, limit: 100, dryRun: false });
    expect(res).toMatchObject({ removed: 1, steps_removed: 2, first_at: gone.completed_at, last_at: gone.completed_at, removed_hash: sha256(gone.content_hash!) });
    for (const table of ['aos_traces', 'aos_trace_steps', 'aos_step_search', 'policy_snapshots']) {
      expect({ table, n: await count(`SELECT count(*) AS n FROM ${table} WHERE trace_id = $1`, [gone.trace_id]) }).toEqual({ table, n: 0 });
    }
    expect(await count(`SELECT count(*) AS n FROM export_jobs WHERE trace_id = $1`, [gone.trace_id])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM export_files WHERE job_id = $1`, [job.job_id])).toBe(0);
    expect((await traces.verifyTrace(a, kept.trace_id)).verified).toBe(true);

    const all = await purgeBatch({ tenantId: a, type: 'traces', before: FUTURE, limit: 100, dryRun: false });
    expect(all.removed).toBe(1);
    expect((await traces.getTrace(a, open.trace_id)).status).toBe('active');
    await expect(traces.getTrace(a, kept.trace_id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('skips everything under a legal hold (tenant, trace, incident) until it is released', async () => {
    const a = await newTenant();
    const incident = randomUUID();
    const held = await sealedTrace(a);
    const byIncident = await sealedTrace(a, { incident_id: incident });
    const free = await sealedTrace(a);
    await logs.insertMany({ tenantId: a }, [
      { level: 'debug', source: 'api', message: 'about the held trace', trace_id: held.trace_id },
      { level: 'debug', source: 'api', message: 'unrelated' },
    ]);
    const by = randomUUID();
    const tenantHold = await store.placeHold(a, { scope: 'tenant', reason: 'regulator', placed_by: by });
    const traceHold = await store.placeHold(a, { scope: 'trace', target_id: held.trace_id, reason: 'case 1', placed_by: by });
    const incidentHold = await store.placeHold(a, { scope: 'incident', target_id: incident, reason: 'case 2', placed_by: by });

    for (const type of ['traces', 'audit_logs'] as const) {
      expect((await purgeBatch({ tenantId: a, type, before: FUTURE, limit: 100, dryRun: false })).removed).toBe(0);
    }
    expect((await purgeBatch({ tenantId: a, type: 'system_logs', level: 'debug', before: FUTURE, limit: 100, dryRun: false })).removed).toBe(0);

    await store.releaseHold(a, tenantHold.hold_id, by);
    const traceRes = await purgeBatch({ tenantId: a, type: 'traces', before: FUTURE, limit: 100, dryRun: false });
    expect(traceRes).toMatchObject({ removed: 1, removed_hash: sha256(free.content_hash!) });
    expect((await purgeBatch({ tenantId: a, type: 'system_logs', level: 'debug', before: FUTURE, limit: 100, dryRun: false })).removed).toBe(1);

    await store.releaseHold(a, incidentHold.hold_id, by);
    expect((await purgeBatch({ tenantId: a, type: 'traces', before: FUTURE, limit: 100, dryRun: false })).removed).toBe(1);
    await expect(traces.getTrace(a, byIncident.trace_id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await traces.verifyTrace(a, held.trace_id)).verified).toBe(true);

    await store.releaseHold(a, traceHold.hold_id, by);
    expect((await purgeBatch({ tenantId: a, type: 'traces', before: FUTURE, limit: 100, dryRun: false })).removed).toBe(1);
    expect((await purgeBatch({ tenantId: a, type: 'system_logs', level: 'debug', before: FUTURE, limit: 100, dryRun: false })).removed).toBe(1);
  });

  it('never removes what a hold placed during a purge batch covers: the hold waits for the batch, or the batch for the hold', async () => {
    // A hold and a batch sent at once, a few milliseconds apart, so the hold lands on each part of
    // the batch. A trace hold answered (not NotFound) keeps its trace; a trace of an
    // incident, or of the tenant, that was still there when its hold was answered stays.
    const rounds = kind === 'postgres' ? 120 : 10;
    const lost: string[] = [];
    const a = await newTenant();
    const by = randomUUID();
    for (let round = 0; round < rounds; round++) {
      const incident = randomUUID();
      const scope = (['trace', 'incident', 'tenant'] as const)[round % 3];
      const trace = await sealedTrace(a, { incident_id: incident });
      // The hold starts up to 2 ms before the batch or up to 3 ms after it.
      const offset = (Math.floor(round / 3) % 6) - 2;
      const later = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const batch = later(Math.max(0, -offset)).then(() => purgeBatch({ tenantId: a, type: 'traces', before: FUTURE, limit: 100, dryRun: false }));
      await later(Math.max(0, offset));
      const hold = await store
        .placeHold(a, { scope, target_id: scope === 'trace' ? trace.trace_id : scope === 'incident' ? incident : null, reason: 'race', placed_by: by })
        .catch((err: unknown) => err);
      const thereWhenHeld = await count(`SELECT count(*) AS n FROM aos_traces WHERE trace_id = $1`, [trace.trace_id]);
      await batch;
      const there = await count(`SELECT count(*) AS n FROM aos_traces WHERE trace_id = $1`, [trace.trace_id]);
      if (hold instanceof Error) {
        expect(hold).toBeInstanceOf(NotFoundError);
        expect(scope).toBe('trace');
        expect(there).toBe(0);
        continue;
      }
      if ((scope === 'trace' || thereWhenHeld === 1) && there === 0) lost.push(`round ${round}: ${scope} hold placed, trace ${trace.trace_id} purged`);
      await store.releaseHold(a, (hold as { hold_id: string }).hold_id, by);
    }
    expect(lost).toEqual([]);
  }, 60_000);

  it('purges a trace while the step-search indexer takes its last batch without a deadlock on either side', async () => {
    // The indexer deletes the queued batch and inserts its search row (whose foreign key waits for the
    // trace); a batch locks the trace and deletes its queued batch. The two a few ms apart, either first.
    const rounds = kind === 'postgres' ? 30 : 5;
    const a = await newTenant();
    const indexer = new StepSearchIndexer(t.db);
    await indexer.drain();
    const failures: string[] = [];
    // Steps with text enough that indexing their batch takes a few ms: the window the race needs.
    const text = Array.from({ length: 40 }, (_, i) => `refund request ${i} approved by the assistant`).join('. ');
    const big = Array.from({ length: 200 }, (_, i) => ({ ...step(i), input_data: { prompt: text }, output_data: { text } }));
    for (let round = 0; round < rounds; round++) {
      const { trace } = await traces.createTrace(a, { run_id: randomUUID(), agent_id: randomUUID() });
      await traces.addSteps(a, trace.trace_id, big);
      await traces.completeTrace(a, trace.trace_id, { status: 'completed' });
      const offset = (round % 5) - 2;
      const later = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const results = await Promise.allSettled([
        later(Math.max(0, offset)).then(() => indexer.runOnce()),
        later(Math.max(0, -offset)).then(() => purgeBatch({ tenantId: a, type: 'traces', before: FUTURE, limit: 100, dryRun: false })),
      ]);
      for (const r of results) if (r.status === 'rejected') failures.push(`round ${round}: ${String(r.reason)}`);
      await indexer.drain();
      await purgeBatch({ tenantId: a, type: 'traces', before: FUTURE, limit: 100, dryRun: false });
      for (const table of ['aos_traces', 'aos_step_search', 'aos_step_search_queue']) {
        expect({ table, n: await count(`SELECT count(*) AS n FROM ${table} WHERE trace_id = $1`, [trace.trace_id]) }).toEqual({ table, n: 0 });
      }
    }
    expect(failures).toEqual([]);
  }, 60_000);

  it('purges audit rows by timestamp, sparing rows about a held trace', async () => {
    const a = await newTenant();
    const trace = await sealedTrace(a);
    const row = (resource_id: string | null) => ({ actor_id: randomUUID(), actor_type: 'user' as const, action: 'login', resource_type: 'session', resource_id });
    await audit.insert(a, row(null));
    await audit.insert(a, row(trace.trace_id));
    await store.placeHold(a, { scope: 'trace', target_id: trace.trace_id, reason: 'hold', placed_by: randomUUID() });
    const expected = await logHash('audit_logs', `x.tenant_id = $1 AND x.resource_id IS NULL`, [a], 'timestamp');
    const res = await purgeBatch({ tenantId: a, type: 'audit_logs', before: FUTURE, limit: 100, dryRun: false });
    expect(res).toMatchObject({ removed: 1, removed_hash: expected });
    // The held row stays, and so does the intent row the purge ran under.
    expect(await count(`SELECT count(*) AS n FROM audit_logs WHERE tenant_id = $1 AND action <> 'retention_purge_started'`, [a])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM audit_logs WHERE log_id = $1`, [await intentFor(a)])).toBe(1);
  });

  it('leaves the application role unable to delete, even with aos.purge set; only the function deletes', async () => {
    const a = await newTenant();
    const trace = await sealedTrace(a);
    await logs.insertMany({ tenantId: a }, [{ level: 'debug', source: 'api', message: 'x' }]);
    // The serving role holds no DELETE privilege.
    await expect(t.db.transaction({ tenantId: a }, (sql) => sql.query(`DELETE FROM system_logs WHERE tenant_id = $1`, [a]))).rejects.toThrow(/permission denied/);
    await expect(
      t.db.transaction({ tenantId: a }, async (sql) => {
        await sql.query(`SELECT set_config('aos.purge', 'on', true)`);
        await sql.query(`DELETE FROM aos_traces WHERE trace_id = $1`, [trace.trace_id]);
      }),
    ).rejects.toThrow(/permission denied/);
    // A role that does hold DELETE (and sets the GUC) still meets the trigger: it is not the function's owner.
    await t.asOwner(`DO $$ BEGIN CREATE ROLE aos_tamper NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await t.asOwner(`GRANT SELECT, DELETE ON system_logs, aos_traces, aos_trace_steps TO aos_tamper`);
    const tamper = async (sql: string) => {
      const err = await t
        .asOwner(`SET ROLE aos_tamper; SELECT set_config('aos.tenant_id', '${a}', false); SELECT set_config('aos.purge', 'on', false); ${sql}`)
        .then(
          () => null,
          (e: unknown) => e as { code?: string; message: string },
        );
      await t.asOwner(`RESET ROLE; RESET aos.purge; RESET aos.tenant_id`);
      return err;
    };
    expect(await tamper(`DELETE FROM system_logs WHERE tenant_id = '${a}'`)).toMatchObject({ code: 'AOS01' });
    expect(await tamper(`DELETE FROM aos_trace_steps WHERE trace_id = '${trace.trace_id}'`)).toMatchObject({ code: 'AOS01' });
    // The owner itself, outside the function, is refused too (no GUC).
    await expect(t.asOwner(`DELETE FROM system_logs WHERE tenant_id = $1`, [a])).rejects.toThrow(/Immutable record/);
    await expect(t.asOwner(`TRUNCATE system_logs`)).rejects.toThrow(/Immutable record/);
    expect(await count(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1`, [a])).toBe(1);
    // The GUC does not outlive the function: a later DELETE in the same transaction (one simple query) by the owner fails.
    await expect(
      t.asOwner(`SELECT * FROM aos_retention_purge('${a}', 'system_logs', 'info', now(), 10, false, '${await intentFor(a)}'); DELETE FROM system_logs WHERE tenant_id = '${a}'`),
    ).rejects.toThrow(/Immutable record/);
    expect(await count(`SELECT count(*) AS n FROM policy_snapshots WHERE trace_id = $1`, [trace.trace_id])).toBe(1);
  });

  describe('the database floor (the database\u2019s clock, not the caller\u2019s cutoff, decides what has expired)', () => {
    beforeAll(() => t.setDatabaseClock(null));
    afterAll(() => t.setDatabaseClock(new Date(Date.now() + 400 * DAY)));

    const tenantOf = async (compliance: ComplianceProfile, overrides?: RetentionOverrides) => {
      const id = (await tenants.createTenant(`f-${randomUUID().slice(0, 8)}`, compliance)).tenant_id;
      // Written by the serving role without the service's check: the floor must not trust it either.
      if (overrides) await store.putPolicy(id, overrides, randomUUID());
      return id;
    };
    const days = async (tenantId: string | null, type: string, level: string | null) =>
      (await t.db.query<{ d: number | null }>(`SELECT aos_retention_days($1::uuid, $2, $3) AS d`, [tenantId, type, level]))[0].d;
    /** Calls the function as the serving role, with a cutoff given as SQL relative to the database's now(). */
    const purgeAt = (tenantId: string, type: string, level: string | null, cutoffSql: string, dryRun = false) =>
      intentFor(tenantId).then((intent) =>
        t.db.query<{ removed: number }>(`SELECT removed FROM aos_retention_purge($1::uuid, $2, $3, ${cutoffSql}, 100, $4, $5::uuid)`, [tenantId, type, level, dryRun, intent]),
      );

    it('computes the same retention as effectiveRetention() from the stored profile and overrides', async () => {
      const cases: Array<[ComplianceProfile, RetentionOverrides | undefined]> = [
        ['none', undefined],
        ['soc2', undefined],
        ['hipaa', undefined],
        ['soc2', { traces: 10, audit_logs: 3000, system_logs: { debug: 5, critical: 400 } }],
        ['hipaa', { traces: 1, audit_logs: 100, system_logs: { error: null } }],
        ['none', { traces: null, audit_logs: 1, system_logs: { info: 2 } }],
      ];
      for (const [profile, overrides] of cases) {
        const id = await tenantOf(profile, overrides);
        const policy = effectiveRetention(profile, overrides);
        for (const target of retentionTargets(policy)) {
          expect({ profile, overrides, ...target, db: await days(id, target.type, target.level) }).toEqual({ profile, overrides, ...target, db: target.days });
        }
      }
      expect(await days(null, 'system_logs', 'debug')).toBe(1);
      expect(await days(null, 'system_logs', 'critical')).toBeNull();
    });

    it('refuses the serving role a cutoff later than the floor, whatever the type, profile or override', async () => {
      const plain = await tenantOf('none');
      await logs.insertMany({ tenantId: plain }, [
        { level: 'debug', source: 'api', message: 'fresh debug' },
        { level: 'critical', source: 'api', message: 'kept for ever' },
      ]);
      const soc2 = await tenantOf('soc2', { traces: 1 });
      await audit.insert(soc2, { actor_id: randomUUID(), actor_type: 'user', action: 'login', resource_type: 'session' });
      const hipaa = await tenantOf('hipaa');
      const trace = await sealedTrace(hipaa);

      const refused: Array<[string, string, string | null, string, boolean?]> = [
        [plain, 'system_logs', 'debug', `now()`],
        [plain, 'system_logs', 'debug', `now() - interval '23 hours'`],
        [plain, 'system_logs', 'debug', `now()`, true],
        [plain, 'system_logs', 'critical', `'-infinity'::timestamptz`],
        [plain, 'traces', null, `now() - interval '89 days'`],
        [plain, 'audit_logs', null, `now() - interval '364 days'`],
        [soc2, 'audit_logs', null, `now() - interval '400 days'`],
        [soc2, 'traces', null, `now() - interval '2 days'`],
        [hipaa, 'traces', null, `now() - interval '3 years'`],
        [hipaa, 'audit_logs', null, `now() - interval '2000 days'`],
      ];
      for (const [tenantId, type, level, cutoff, dry] of refused) {
        const err = await purgeAt(tenantId, type, level, cutoff, dry).then(() => null, (e: unknown) => e);
        expect({ type, level, cutoff, dry, err }).toEqual({ type, level, cutoff, dry, err: expect.any(ConflictError) });
        expect((err as Error).message).toMatch(/retention floor|kept permanently/);
      }
      expect(await count(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1`, [plain])).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM audit_logs WHERE tenant_id = $1 AND action = 'login'`, [soc2])).toBe(1);
      expect((await traces.verifyTrace(hipaa, trace.trace_id)).verified).toBe(true);

      // At or before the floor the call goes through (and finds nothing expired).
      expect((await purgeAt(plain, 'system_logs', 'debug', `now() - interval '1 day'`))[0].removed).toBe(0);
      expect((await purgeAt(soc2, 'traces', null, `now() - interval '365 days'`))[0].removed).toBe(0);
      expect((await purgeAt(hipaa, 'traces', null, `now() - interval '2192 days'`))[0].removed).toBe(0);
      // The store's floor is the one the function applies.
      const floor = await store.retentionFloor(plain, 'system_logs', 'debug');
      expect(Math.abs(floor!.getTime() - (Date.now() - DAY))).toBeLessThan(60_000);
      expect(await store.retentionFloor(plain, 'system_logs', 'critical')).toBeNull();
    });

    it('leaves the floor\u2019s clock to the owner: the serving role can neither read nor move it', async () => {
      for (const sql of [
        `INSERT INTO aos_retention_test_clock (singleton, skew) VALUES (true, interval '10 years')`,
        `UPDATE aos_retention_test_clock SET skew = interval '10 years'`,
        `DELETE FROM aos_retention_test_clock`,
        `SELECT * FROM aos_retention_test_clock`,
      ]) {
        await expect(t.db.query(sql)).rejects.toThrow(/permission denied/);
      }
    });

    it('refuses a deleting batch that does not name the tenant\u2019s intent row', async () => {
      const a = await tenantOf('none');
      const b = await tenantOf('none');
      const other = await audit.insert(a, { actor_id: randomUUID(), actor_type: 'user', action: 'login', resource_type: 'session' });
      const call = (auditId: string | null) =>
        t.db.query(`SELECT removed FROM aos_retention_purge($1::uuid, 'system_logs', 'debug', now() - interval '2 days', 10, false, $2::uuid)`, [a, auditId]);
      for (const id of [null, randomUUID(), other.log_id, await intentFor(b)]) {
        await expect(call(id)).rejects.toThrow(/retention_purge_started/);
      }
      expect(await call(await intentFor(a))).toEqual([{ removed: 0 }]);
      // A dry run deletes nothing and needs none.
      await expect(t.db.query(`SELECT removed FROM aos_retention_purge($1::uuid, 'system_logs', 'debug', now() - interval '2 days', NULL, true)`, [a])).resolves.toEqual([{ removed: 0 }]);
    });
  });
});
