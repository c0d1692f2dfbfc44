import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { Clock } from '@aos/logs-domain';
import { type E2eApp, PLATFORM_KEY, startE2eApp } from '../testing/e2e-app';
import { answerOf, ownerClient, serverErrors, statuses, times, together } from '../testing/race';

/**
 * Legal holds and the purge under concurrency (DESIGN.md 6): a hold released
 * many times at once is released and audited once; purges run at once remove
 * each expired record once, each leaving its own intent and result rows, and
 * what remains verifies; and a hold placed while a purge runs either finds its
 * trace already purged (404) or keeps it: a hold that was answered 201 never
 * sees its records go.
 *
 * Both clocks (the application's and the database's retention floor) run 200
 * days ahead: sealed traces (90 days) and INFO system logs (7) have expired,
 * audit rows (365) have not.
 */
const SKEW_MS = 200 * 24 * 3600 * 1000;
const ROUNDS = 120;

describe('Legal holds and purges sent at once', () => {
  let e: E2eApp;
  let db: Client;
  let admin: string;
  let tenantId: string;

  beforeAll(async () => {
    e = await startE2eApp();
    db = await ownerClient(e);
    const created = await answerOf(await e.request('POST', '/api/v1/tenants', { key: PLATFORM_KEY, body: { name: 'purged', compliance: 'none' } }));
    admin = created.body.api_key.key;
    tenantId = created.body.tenant.tenant_id;
    const clock = e.app.get(Clock);
    jest.spyOn(clock, 'now').mockImplementation(() => new Date(Date.now() + SKEW_MS));
    await db.query(
      `INSERT INTO aos_retention_test_clock (singleton, skew) VALUES (true, make_interval(secs => $1))
       ON CONFLICT (singleton) DO UPDATE SET skew = EXCLUDED.skew`,
      [SKEW_MS / 1000],
    );
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await e?.close();
  });

  const post = (path: string, body?: unknown): [string, string, { key: string; body?: unknown }] => ['POST', path, { key: admin, body }];
  /** A sealed trace of the tenant (expired at once under the skewed clocks), optionally linked to an incident. */
  const sealedTrace = async (incident_id?: string) => {
    const created = await answerOf(await e.request(...post('/api/v1/traces', { run_id: randomUUID(), agent_id: randomUUID(), ...(incident_id ? { incident_id } : {}) })));
    const id = created.body.trace_id as string;
    expect((await e.request(...post(`/api/v1/traces/${id}/steps`, { step_index: 0, step_type: 'input', timestamp: new Date().toISOString(), input_data: { q: id } }))).status).toBe(201);
    expect((await e.request(...post(`/api/v1/traces/${id}/complete`, { status: 'completed' }))).status).toBe(200);
    return id;
  };
  /**
   * A purge, and a hold sent `delayMs` into it; `thereWhenHeld`: whether the
   * trace was still there just after the hold was answered. A purge spends its
   * first milliseconds on the policy, the floors, its intent row and the system
   * logs, so the rounds sweep the delay to land the hold on each part, the
   * trace batch too.
   */
  const holdDuringPurge = async (hold: object, traceId: string, delayMs: number) => {
    const purge = together(e, [post('/api/v1/retention/purge', {})]);
    await new Promise((r) => setTimeout(r, delayMs));
    const [held] = await together(e, [post('/api/v1/retention/holds', hold)]);
    const thereWhenHeld = await traceExists(traceId);
    return { hold: held, purge: (await purge)[0], thereWhenHeld };
  };
  const traceExists = async (id: string) => (await db.query(`SELECT 1 FROM aos_traces WHERE trace_id = $1`, [id])).rowCount === 1;
  const auditCount = async (action: string, resourceId?: string) =>
    (
      await db.query(`SELECT count(*)::int AS n FROM audit_logs WHERE tenant_id = $1 AND action = $2 AND ($3::uuid IS NULL OR resource_id = $3::uuid)`, [
        tenantId,
        action,
        resourceId ?? null,
      ])
    ).rows[0].n as number;

  it('releases a hold once under identical releases sent at once: the same released hold to all, one audit row', async () => {
    for (let round = 0; round < ROUNDS / 4; round++) {
      const placed = await answerOf(await e.request(...post('/api/v1/retention/holds', { scope: 'tenant', reason: `round ${round}` })));
      expect(placed.status).toBe(201);
      const answers = await together(e, times(4, ...post(`/api/v1/retention/holds/${placed.body.hold_id}/release`)));
      expect(statuses(answers)).toEqual([200, 200, 200, 200]);
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
      expect(await auditCount('legal_hold_released', placed.body.hold_id)).toBe(1);
    }
  }, 60_000);

  it('removes each expired record once when purges run at once, each purge with its own intent and result rows', async () => {
    const traces = await Promise.all(Array.from({ length: 30 }, () => sealedTrace()));
    const logs = Array.from({ length: 200 }, (_, i) => ({ level: 'info', source: 'purge-race', message: `log ${i}` }));
    expect((await e.request(...post('/api/v1/logs/system', { logs }))).status).toBe(201);
    const startedBefore = await auditCount('retention_purge_started');

    const answers = await together(e, times(4, ...post('/api/v1/retention/purge', {})));
    expect(serverErrors(answers)).toEqual([]);
    expect(statuses(answers)).toEqual([200, 200, 200, 200]);
    const removedOf = (type: string, level: string | null) =>
      answers.reduce((n, a) => n + a.body.targets.find((t: any) => t.type === type && t.level === level).removed, 0);
    expect(removedOf('traces', null)).toBe(traces.length);
    expect(removedOf('system_logs', 'info')).toBeGreaterThanOrEqual(logs.length);
    for (const id of traces) expect(await traceExists(id)).toBe(false);

    // Each purge: its intent row, and its result row naming it.
    expect((await auditCount('retention_purge_started')) - startedBefore).toBe(4);
    for (const a of answers) {
      const { rows } = await db.query(`SELECT details FROM audit_logs WHERE log_id = $1 AND action = 'retention_purged'`, [a.body.audit_log_id]);
      expect(rows).toHaveLength(1);
      expect(rows[0].details).toMatchObject({ removed: a.body.removed, removed_hash: a.body.removed_hash });
    }
    const report = await answerOf(await e.request(...post('/api/v1/integrity/audit')));
    expect(report.body).toMatchObject({ verified: true, mismatch_count: 0 });
  }, 60_000);

  it('never purges a trace whose hold was answered 201, when hold and purge are sent at once (trace holds)', async () => {
    const lost: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const id = await sealedTrace();
      const { hold, purge, thereWhenHeld } = await holdDuringPurge({ scope: 'trace', target_id: id, reason: 'race' }, id, round % 30);
      expect(serverErrors([hold, purge])).toEqual([]);
      expect(purge.status).toBe(200);
      expect([201, 404]).toContain(hold.status);
      const there = await traceExists(id);
      if (hold.status === 201 && !there) lost.push(`round ${round}: hold ${hold.body.hold_id} answered 201 (trace there: ${thereWhenHeld}), trace ${id} purged`);
      if (hold.status === 404) expect(there).toBe(false);
      if (hold.status === 201) expect((await e.request(...post(`/api/v1/retention/holds/${hold.body.hold_id}/release`))).status).toBe(200);
    }
    expect(lost).toEqual([]);
  }, 60_000);

  it('never purges a trace that was there when its incident or tenant hold was answered, when hold and purge are sent at once', async () => {
    const lost: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const incident = randomUUID();
      const id = await sealedTrace(incident);
      const scope = round % 2 === 0 ? 'incident' : 'tenant';
      const { hold, purge, thereWhenHeld } = await holdDuringPurge({ scope, ...(scope === 'incident' ? { target_id: incident } : {}), reason: 'race' }, id, (round >> 1) % 30);
      expect(serverErrors([hold, purge])).toEqual([]);
      expect([hold.status, purge.status, hold.text, purge.text]).toEqual([201, 200, hold.text, purge.text]);
      // The trace may have gone before the hold (the purge came first); once the hold is answered, it stays.
      if (thereWhenHeld && !(await traceExists(id))) lost.push(`round ${round}: ${scope} hold ${hold.body.hold_id} answered 201 with trace ${id} there, which the purge then removed`);
      expect((await e.request(...post(`/api/v1/retention/holds/${hold.body.hold_id}/release`))).status).toBe(200);
    }
    expect(lost).toEqual([]);
  }, 60_000);
});
