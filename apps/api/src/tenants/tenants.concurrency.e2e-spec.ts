import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { type E2eApp, PLATFORM_KEY, startE2eApp } from '../testing/e2e-app';
import { type Answer, answerOf, ownerClient, serverErrors, statuses, times, together } from '../testing/race';

/**
 * Tenants and API keys under concurrency (DESIGN.md 6 and 8): keys and
 * tenants created at once are each recorded and audited once; revoking one
 * key many times at once answers the same revoked key and audits one
 * revocation (as releasing a legal hold does); two revocations at once never
 * take a tenant's last admin key; a request racing the revocation of its own
 * key is answered or refused, never a 5xx, and the key is refused afterwards.
 */
const ROUNDS = 120;

describe('Tenant and API key writes sent at once', () => {
  let e: E2eApp;
  let db: Client;

  beforeAll(async () => {
    e = await startE2eApp();
    db = await ownerClient(e);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await e?.close();
  });

  /** A new tenant through the API: its id and its first admin key. */
  const tenant = async (name = 'racer'): Promise<{ id: string; admin: { id: string; key: string } }> => {
    const res = await answerOf(await e.request('POST', '/api/v1/tenants', { key: PLATFORM_KEY, body: { name } }));
    expect(res.status).toBe(201);
    return { id: res.body.tenant.tenant_id, admin: res.body.api_key };
  };
  const newKey = async (admin: string, role: string) => {
    const res = await answerOf(await e.request('POST', '/api/v1/api-keys', { key: admin, body: { name: `racer-${role}`, role } }));
    expect(res.status).toBe(201);
    return res.body.api_key as { id: string; key: string };
  };
  /** Audit rows of an action about one resource, straight from the table. */
  const auditRows = async (tenantId: string, action: string, resourceId?: string) =>
    (
      await db.query(
        `SELECT log_id, resource_id, details FROM audit_logs WHERE tenant_id = $1 AND action = $2 AND ($3::uuid IS NULL OR resource_id = $3::uuid)`,
        [tenantId, action, resourceId ?? null],
      )
    ).rows;

  it('creates one tenant per request sent at once, each audited once with its first key', async () => {
    const answers = await together(e, times(6, 'POST', '/api/v1/tenants', { key: PLATFORM_KEY, body: { name: 'same name', compliance: 'soc2' } }));
    expect(serverErrors(answers)).toEqual([]);
    expect(statuses(answers)).toEqual([201, 201, 201, 201, 201, 201]);
    const ids = answers.map((a) => a.body.tenant.tenant_id as string);
    expect(new Set(ids).size).toBe(6);
    for (const [i, id] of ids.entries()) {
      expect((await auditRows(id, 'tenant_created', id)).length).toBe(1);
      expect((await auditRows(id, 'api_key_created', answers[i].body.api_key.id)).length).toBe(1);
      expect((await e.request('GET', '/api/v1/api-keys', { key: answers[i].body.api_key.key })).status).toBe(200);
    }
  });

  it('creates one key per request sent at once, each audited once', async () => {
    const t = await tenant();
    const answers = await together(e, times(8, 'POST', '/api/v1/api-keys', { key: t.admin.key, body: { name: 'same', role: 'viewer' } }));
    expect(statuses(answers)).toEqual(Array(8).fill(201));
    const keyIds = answers.map((a) => a.body.api_key.id as string);
    expect(new Set(keyIds).size).toBe(8);
    const audited = (await auditRows(t.id, 'api_key_created')).map((r) => r.resource_id as string).filter((id) => id !== t.admin.id);
    expect(audited.sort()).toEqual([...keyIds].sort());
  });

  it('revokes a key once under identical revocations sent at once: the same revoked key to all, one audit row', async () => {
    const t = await tenant();
    for (let round = 0; round < ROUNDS / 4; round++) {
      const victim = await newKey(t.admin.key, 'viewer');
      const answers = await together(e, times(4, 'DELETE', `/api/v1/api-keys/${victim.id}`, { key: t.admin.key }));
      expect(statuses(answers)).toEqual([200, 200, 200, 200]);
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
      expect(answers[0].body.revoked_at).not.toBeNull();
      expect((await auditRows(t.id, 'api_key_revoked', victim.id)).length).toBe(1);
    }
    // Revoking an already revoked key later answers it as it is, and audits nothing more.
    const victim = await newKey(t.admin.key, 'viewer');
    const first = await answerOf(await e.request('DELETE', `/api/v1/api-keys/${victim.id}`, { key: t.admin.key }));
    const again = await answerOf(await e.request('DELETE', `/api/v1/api-keys/${victim.id}`, { key: t.admin.key }));
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.body).toEqual(first.body);
    expect((await auditRows(t.id, 'api_key_revoked', victim.id)).length).toBe(1);
  }, 60_000);

  it("never revokes a tenant's last admin key, even when its two admin keys are revoked at once", async () => {
    const lockedOut: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t = await tenant();
      const second = await newKey(t.admin.key, 'admin');
      // Each admin key revokes the other, at once.
      const answers: Answer[] = await together(e, [
        ['DELETE', `/api/v1/api-keys/${second.id}`, { key: t.admin.key }],
        ['DELETE', `/api/v1/api-keys/${t.admin.id}`, { key: second.key }],
      ]);
      expect(serverErrors(answers)).toEqual([]);
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1 AND role = 'admin' AND revoked_at IS NULL`, [t.id]);
      if (rows[0].n === 0) lockedOut.push(`${t.id}: ${answers.map((a) => a.status).join(', ')}`);
      // One revocation went through; the other names why it was refused (409), or its own key was
      // already revoked when it arrived (401).
      const [won, lost] = [...answers].sort((x, y) => x.status - y.status);
      expect(won.status).toBe(200);
      expect([401, 409]).toContain(lost.status);
      if (lost.status === 409) expect(lost.body.detail).toMatch(/last active admin key/);
    }
    expect(lockedOut).toEqual([]);
  }, 60_000);

  it('answers a request racing the revocation of its own key, or refuses it with 401; never a 5xx, and refuses the key afterwards', async () => {
    const t = await tenant();
    const outcomes = new Set<number>();
    for (let round = 0; round < ROUNDS / 2; round++) {
      const ingest = await newKey(t.admin.key, 'ingest');
      const trace = { trace_id: randomUUID(), run_id: randomUUID(), agent_id: randomUUID() };
      const answers = await together(e, [
        ['POST', '/api/v1/traces', { key: ingest.key, body: trace }],
        ['POST', '/api/v1/logs/system', { key: ingest.key, body: { level: 'info', source: 'racer', message: 'racing my revocation' } }],
        ['DELETE', `/api/v1/api-keys/${ingest.id}`, { key: t.admin.key }],
      ]);
      expect(serverErrors(answers)).toEqual([]);
      expect(answers[2].status).toBe(200);
      expect([201, 401]).toContain(answers[0].status);
      expect([201, 401]).toContain(answers[1].status);
      outcomes.add(answers[0].status);
      // Refused, at once, once the revocation was answered.
      expect((await e.request('POST', '/api/v1/traces', { key: ingest.key, body: { run_id: randomUUID(), agent_id: randomUUID() } })).status).toBe(401);
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM aos_traces WHERE trace_id = $1`, [trace.trace_id]);
      expect(rows[0].n).toBe(answers[0].status === 201 ? 1 : 0);
    }
    expect([...outcomes].every((s) => s === 201 || s === 401)).toBe(true);
  }, 60_000);
});
