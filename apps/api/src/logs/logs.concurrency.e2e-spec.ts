import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { type E2eApp, PLATFORM_KEY, startE2eApp, sampleStep } from '../testing/e2e-app';
import { answerOf, ownerClient, serverErrors, statuses, times, together } from '../testing/race';

/**
 * Log writes, replays and the integrity audit under concurrency: system and
 * audit logs sent at once are each stored and ledgered once (a log is an
 * event: identical sends are separate events); RERUN replays that emit a
 * trace, run at once, each emit one sealed, verifiable trace and one audit
 * row; and integrity audits run at once, while every kind of ledgered record
 * is being written, all verify.
 */
const ROUNDS = 30;

const step = (i: number) => sampleStep(i);

describe('Log writes, replays and integrity audits at once', () => {
  let e: E2eApp;
  let db: Client;
  let tenantId: string;
  let admin: string;
  let ingest: string;

  beforeAll(async () => {
    e = await startE2eApp();
    db = await ownerClient(e);
    const t = await e.newTenant('admin');
    tenantId = t.tenantId;
    admin = t.key;
    ingest = await e.newKey(tenantId, 'ingest');
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await e?.close();
  });

  const post = (key: string, path: string, body?: unknown): [string, string, { key: string; body?: unknown }] => ['POST', path, { key, body }];
  /** How many ledger leaves each record has (every record: exactly one). */
  const leavesOf = async (ids: string[]) =>
    (await db.query(`SELECT count(*)::int AS n FROM aos_ledger_leaves WHERE record_id = ANY($1::uuid[]) GROUP BY record_id`, [ids])).rows.map((r) => r.n);
  const sealedTrace = async () => {
    const id = (await answerOf(await e.request(...post(ingest, '/api/v1/traces', { run_id: randomUUID(), agent_id: randomUUID() })))).body.trace_id as string;
    expect((await e.request(...post(ingest, `/api/v1/traces/${id}/steps`, { steps: [0, 1, 2].map(step) }))).status).toBe(201);
    expect((await e.request(...post(ingest, `/api/v1/traces/${id}/complete`, { status: 'completed' }))).status).toBe(200);
    return id;
  };

  it('stores and ledgers each of 8 identical system logs (tenant and platform) and audit logs sent at once', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const tenantLogs = await together(e, times(8, ...post(ingest, '/api/v1/logs/system', { level: 'info', source: 'race', message: `round ${round}` })));
      const platformLogs = await together(e, times(8, ...post(PLATFORM_KEY, '/api/v1/logs/system', { logs: [{ level: 'info', source: 'race', message: `round ${round}` }] })));
      const audits = await together(e, times(8, ...post(ingest, '/api/v1/logs/audit', { action: 'policy_approved', resource_type: 'policy', resource_id: randomUUID() })));
      for (const answers of [tenantLogs, platformLogs, audits]) {
        expect(serverErrors(answers)).toEqual([]);
        expect(statuses(answers)).toEqual(Array(8).fill(201));
      }
      const ids = [...tenantLogs, ...platformLogs].map((a) => a.body.logs[0].log_id as string).concat(audits.map((a) => a.body.log_id as string));
      expect(new Set(ids).size).toBe(24);
      expect(await leavesOf(ids)).toEqual(Array(24).fill(1));
    }
  }, 60_000);

  it('emits one sealed, verifiable trace per RERUN replay run at once, each audited once', async () => {
    for (let round = 0; round < ROUNDS / 3; round++) {
      const id = await sealedTrace();
      const answers = await together(e, [
        ...times(3, ...post(admin, `/api/v1/traces/${id}/replay`, { mode: 'RERUN', emit_traces: true })),
        ...times(2, ...post(admin, `/api/v1/traces/${id}/replay`, { mode: 'AUDIT' })),
      ]);
      expect(serverErrors(answers)).toEqual([]);
      expect(statuses(answers)).toEqual([200, 200, 200, 200, 200]);
      const emitted = answers.slice(0, 3).map((a) => a.body.new_trace_id as string);
      expect(new Set(emitted).size).toBe(3);
      for (const newId of emitted) {
        const verified = await answerOf(await e.request('GET', `/api/v1/logs/llm-runs/${newId}/verify`, { key: admin }));
        expect([verified.status, verified.body.verified]).toEqual([200, true]);
      }
      expect(await leavesOf(emitted)).toEqual([1, 1, 1]);
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM audit_logs WHERE tenant_id = $1 AND action = 'trace_replayed' AND resource_id = $2`, [tenantId, id]);
      expect(rows[0].n).toBe(5);
    }
  }, 60_000);

  it('verifies the ledger in every integrity audit run at once while records of every kind are written', async () => {
    for (let round = 0; round < ROUNDS / 3; round++) {
      const writes = together(e, [
        ...times(4, ...post(ingest, '/api/v1/logs/system', { level: 'info', source: 'race', message: 'during the audit' })),
        ...times(2, ...post(ingest, '/api/v1/logs/audit', { action: 'policy_approved', resource_type: 'policy' })),
        ...times(2, ...post(PLATFORM_KEY, '/api/v1/logs/system', { level: 'info', source: 'race', message: 'platform, during the audit' })),
      ]);
      const seals = Promise.all([sealedTrace(), sealedTrace()]);
      const audits = await together(e, [...times(3, ...post(admin, '/api/v1/integrity/audit')), ...times(2, ...post(PLATFORM_KEY, '/api/v1/integrity/audit'))]);
      expect(serverErrors([...audits, ...(await writes)])).toEqual([]);
      await seals;
      // The mismatches themselves are compared, so a failure says what the audit saw.
      expect(audits.map((a) => [a.status, a.body.verified, a.body.mismatch_count, a.body.mismatches])).toEqual(Array(5).fill([200, true, 0, []]));
    }
    // Each audit run by a tenant key is audited once (`ledger_audited`); the platform key has no trail.
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM audit_logs WHERE tenant_id = $1 AND action = 'ledger_audited'`, [tenantId]);
    expect(rows[0].n).toBe((ROUNDS / 3) * 3);
  }, 60_000);
});
