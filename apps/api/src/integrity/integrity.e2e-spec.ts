import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { hashLeaf, openCheckpoint, systemLogLeafData, verifyConsistency, verifyInclusion, verifySignedBundle } from '@aos/logs-domain';
import { LedgerStore, SystemLogStore } from '@aos/traces-store';
import { type E2eApp, PLATFORM_KEY, startE2eApp } from '../testing/e2e-app';

const step = (i: number) => ({
  step_index: i,
  step_type: i === 0 ? 'input' : 'llm_call',
  timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(),
  tokens: 100 + i,
  cost_cents: 3,
  input_data: { q: `question ${i}` },
  output_data: { a: `answer ${i}` },
});
const b64 = (s: string) => Buffer.from(s, 'base64');

/** The tamper-evident ledger over HTTP (issue 7): key, checkpoints, proofs, audit, signed evidence. */
describe('Integrity routes', () => {
  let e: E2eApp;
  let a: { tenantId: string; key: string };
  let b: { tenantId: string; key: string };
  let vkey: string;

  beforeAll(async () => {
    e = await startE2eApp();
    a = await e.newTenant('admin');
    b = await e.newTenant('admin');
    vkey = ((await (await e.request('GET', '/api/v1/integrity/public-key', { key: null })).json()) as { verifier_key: string }).verifier_key;
  }, 60_000);
  afterAll(() => e?.close());

  const json = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await e.request(method, path, { key, body });
    return { status: res.status, body: (await res.json()) as any, headers: res.headers };
  };
  const sealedTrace = async (key: string) => {
    const { body: created } = await json('POST', '/api/v1/traces', key, { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'refund-assistant' });
    expect((await e.request('POST', `/api/v1/traces/${created.trace_id}/steps`, { key, body: { steps: [0, 1, 2].map(step) } })).status).toBe(201);
    const { body: sealed } = await json('POST', `/api/v1/traces/${created.trace_id}/complete`, key, { status: 'completed' });
    return sealed as { trace_id: string; content_hash: string };
  };
  /** A superuser edit with the guard triggers off: what the ledger exists to expose. */
  const tamper = async (table: string, sql: string, params: unknown[]) => {
    const c = new Client({ connectionString: e.databaseUrl });
    await c.connect();
    try {
      await c.query(`ALTER TABLE ${table} DISABLE TRIGGER ALL`);
      await c.query(sql, params);
      await c.query(`ALTER TABLE ${table} ENABLE TRIGGER ALL`);
    } finally {
      await c.end();
    }
  };

  it('publishes the signing key without a key, in both forms', async () => {
    const res = await json('GET', '/api/v1/integrity/public-key', '');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ algorithm: 'Ed25519', key_name: 'aos.local/ledger', key_id: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(res.body.verifier_key).toBe(vkey);
    expect(res.body.public_key_pem).toContain('-----BEGIN PUBLIC KEY-----');
  });

  it('signs checkpoints of the tenant log and proves a sealed trace, a system log and an audit row in it', async () => {
    const trace = await sealedTrace(a.key);
    const { body: logs } = await json('POST', '/api/v1/logs/system', a.key, { logs: [{ level: 'info', source: 'svc', message: 'hello' }] });
    const cp = await json('GET', '/api/v1/integrity/checkpoint', a.key);
    expect(cp.status).toBe(200);
    const opened = openCheckpoint(cp.body.note, vkey, `aos.local/ledger/${a.tenantId}`);
    expect(opened.size).toBe(cp.body.tree_size);
    const root = b64(cp.body.root_hash);

    const proof = await json('GET', `/api/v1/integrity/proof/inclusion?record_type=trace&record_id=${trace.trace_id}`, a.key);
    expect(proof.status).toBe(200);
    expect(() => verifyInclusion(proof.body.leaf_index, proof.body.tree_size, b64(proof.body.leaf_hash), proof.body.hashes.map(b64), root)).not.toThrow();

    const log = await e.app.get(SystemLogStore).get({ tenantId: a.tenantId }, logs.logs[0].log_id);
    const logProof = await json('GET', `/api/v1/integrity/proof/inclusion?record_type=system_log&record_id=${log.log_id}`, a.key);
    expect(logProof.status).toBe(200);
    // The leaf is the RFC 8785 form of the record as stored.
    expect(b64(logProof.body.leaf_hash).equals(hashLeaf(systemLogLeafData(log)))).toBe(true);

    const { body: action } = await json('POST', '/api/v1/logs/audit', a.key, { action: 'policy_updated', resource_type: 'policy', resource_id: randomUUID() });
    const auditProof = await json('GET', `/api/v1/integrity/proof/inclusion?record_type=audit_log&record_id=${action.log_id}`, a.key);
    expect(auditProof.status).toBe(200);

    // More leaves: the checkpoint covers them at once; and the consistency proof between the two.
    await sealedTrace(a.key);
    const later = await json('GET', '/api/v1/integrity/checkpoint', a.key);
    const head = await e.app.get(LedgerStore).head({ tenantId: a.tenantId });
    expect(later.body.tree_size).toBe(head.tree_size);
    expect(later.body.tree_size).toBeGreaterThan(cp.body.tree_size);
    const consistency = await json('GET', `/api/v1/integrity/proof/consistency?from=${cp.body.tree_size}&to=${later.body.tree_size}`, a.key);
    expect(consistency.status).toBe(200);
    expect(consistency.body.from_checkpoint.note).toBe(cp.body.note);
    expect(() =>
      verifyConsistency(cp.body.tree_size, later.body.tree_size, consistency.body.hashes.map(b64), root, b64(later.body.root_hash)),
    ).not.toThrow();
  });

  it('delivers evidence bundles signed: in EvidenceExportData, and as the bare DSSE file the verifier takes', async () => {
    const trace = await sealedTrace(a.key);
    for (const [route, body] of [['evidence', {}], ['evidence', { bundle_type: 'executive' }], ['soc2', {}]] as const) {
      const res = await json('POST', `/api/v1/logs/llm-runs/${trace.trace_id}/export/${route}`, a.key, body);
      expect(res.status).toBe(200);
      expect(verifySignedBundle(JSON.stringify(res.body.signed_envelope), { verifierKey: vkey, expectedOrigin: `aos.local/ledger/${a.tenantId}` })).toMatchObject({ ok: true });
    }
    const dsse = await e.request('POST', `/api/v1/logs/llm-runs/${trace.trace_id}/export/soc2`, { key: a.key, body: { format: 'dsse' } });
    expect(dsse.status).toBe(200);
    expect(dsse.headers.get('content-type')).toContain('application/vnd.dsse.envelope.v1+json');
    expect(dsse.headers.get('content-disposition')).toBe(`attachment; filename="aos-soc2-${trace.trace_id}.dsse.json"`);
    const text = await dsse.text();
    expect(verifySignedBundle(text, { verifierKey: vkey })).toMatchObject({ ok: true });
    // Another key's signature is refused.
    const other = 'other.example/ledger+12345678+AYpe2v3JLGudJ7Gj9RjejlY/mgfqheHIxSAOokBA554m';
    expect(verifySignedBundle(text, { verifierKey: other })).toMatchObject({ ok: false });

    // An open trace has no leaf yet: no signed envelope, and dsse is a 409.
    const { body: open } = await json('POST', '/api/v1/traces', a.key, { run_id: randomUUID(), agent_id: randomUUID() });
    expect((await json('POST', `/api/v1/logs/llm-runs/${open.trace_id}/export/evidence`, a.key, {})).body.signed_envelope).toBeNull();
    expect((await json('POST', `/api/v1/logs/llm-runs/${open.trace_id}/export/evidence`, a.key, { format: 'dsse' })).status).toBe(409);
  });

  it('audits the tenant log: verified when untouched, naming a record altered behind the service', async () => {
    const t = await sealedTrace(b.key);
    const clean = await json('POST', '/api/v1/integrity/audit', b.key);
    expect(clean.status).toBe(200);
    expect(clean.body).toMatchObject({ verified: true, mismatch_count: 0, origin: `aos.local/ledger/${b.tenantId}` });
    expect(clean.body.verified_leaves).toBe(clean.body.tree_size);

    await tamper('aos_traces', `UPDATE aos_traces SET total_tokens = 1 WHERE trace_id = $1`, [t.trace_id]);
    const report = await json('POST', '/api/v1/integrity/audit', b.key);
    expect(report.body.verified).toBe(false);
    expect(report.body.mismatches).toEqual([expect.objectContaining({ kind: 'modified', record_type: 'trace', record_id: t.trace_id })]);
    // The audit itself is audited.
    const { body: audits } = await json('GET', '/api/v1/logs/audit?action=ledger_audited', b.key);
    expect(audits.items.length).toBeGreaterThanOrEqual(2);
  });

  it('records who ran the audit: the acting key, its address and user agent', async () => {
    const t = await e.newTenant('admin');
    const { body: keys } = await json('GET', '/api/v1/api-keys', t.key);
    expect(keys.items).toHaveLength(1);
    const ran = await e.request('POST', '/api/v1/integrity/audit', { key: t.key, headers: { 'user-agent': 'integrity-e2e/1.0' } });
    expect(ran.status).toBe(200);
    const { body: audits } = await json('GET', '/api/v1/logs/audit?action=ledger_audited', t.key);
    expect(audits.items).toHaveLength(1);
    const { body: row } = await json('GET', `/api/v1/logs/${audits.items[0].log_id}`, t.key);
    expect(row).toMatchObject({
      topic: 'audit',
      actor_id: keys.items[0].id,
      actor_type: 'api_key',
      resource_type: 'ledger',
      ip_address: '127.0.0.1',
      user_agent: 'integrity-e2e/1.0',
      success: true,
    });
  });

  it('explains records removed by the retention purge as gaps: the log still verifies', async () => {
    const t = await e.newTenant('admin');
    const old = new Date(Date.now() - 3 * 24 * 3_600_000).toISOString();
    const { body } = await json('POST', '/api/v1/logs/system', t.key, {
      logs: [0, 1, 2].map((i) => ({ level: 'debug', source: 'svc', message: `old ${i}`, timestamp: old })),
    });
    // Retention runs on the database's clock (created_at): age the rows as if written 3 days ago.
    await tamper('system_logs', `UPDATE system_logs SET created_at = $2 WHERE tenant_id = $1`, [t.tenantId, old]);
    const purged = await json('POST', '/api/v1/retention/purge', t.key, {});
    expect(purged.status).toBe(200);
    expect(purged.body.removed).toBeGreaterThanOrEqual(3);
    const report = await json('POST', '/api/v1/integrity/audit', t.key);
    expect(report.body).toMatchObject({ verified: true, purged_leaves: 3, mismatch_count: 0 });
    // The purged log's leaf is still provable: the ledger keeps its hash.
    const proof = await json('GET', `/api/v1/integrity/proof/inclusion?record_type=system_log&record_id=${body.logs[0].log_id}`, t.key);
    expect(proof.status).toBe(200);
  });

  it("keeps tenants apart: another tenant's records are not in the caller's log", async () => {
    const trace = await sealedTrace(a.key);
    const res = await json('GET', `/api/v1/integrity/proof/inclusion?record_type=trace&record_id=${trace.trace_id}`, b.key);
    expect(res.status).toBe(404);
    const report = await json('POST', '/api/v1/integrity/audit', b.key);
    expect(JSON.stringify(report.body)).not.toContain(trace.trace_id);
    const cpB = await json('GET', '/api/v1/integrity/checkpoint', b.key);
    expect(cpB.body.origin).toBe(`aos.local/ledger/${b.tenantId}`);
  });

  it("gives the platform key the platform's own log", async () => {
    expect((await e.request('POST', '/api/v1/logs/system', { key: PLATFORM_KEY, body: { level: 'info', source: 'ops', message: 'platform event' } })).status).toBe(201);
    const cp = await json('GET', '/api/v1/integrity/checkpoint', PLATFORM_KEY);
    expect(cp.status).toBe(200);
    expect(cp.body.origin).toBe('aos.local/ledger/platform');
    const audit = await json('POST', '/api/v1/integrity/audit', PLATFORM_KEY);
    expect(audit.status).toBe(200);
    expect(audit.body).toMatchObject({ verified: true, mismatch_count: 0, origin: 'aos.local/ledger/platform' });
    expect(audit.body.tree_size).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['record_type=bogus&record_id=' + randomUUID(), 'record_type'],
    ['record_type=trace&record_id=not-a-uuid', 'record_id'],
    ['record_type=trace', 'record_id'],
    [`record_type=trace&record_id=${randomUUID()}&tree_size=abc`, 'tree_size'],
    [`record_type=trace&record_id=${randomUUID()}&tree_size=0`, 'tree_size'],
    [`record_type=trace&record_id=${randomUUID()}&extra=1`, 'extra'],
  ])('answers 400 naming the field for inclusion?%s', async (query, field) => {
    const res = await json('GET', `/api/v1/integrity/proof/inclusion?${query}`, a.key);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain(field);
  });

  it.each([
    ['from=0&to=1', 'from'],
    ['from=3&to=2', 'to'],
    ['from=1&to=99999999', 'to'],
    ['from=x&to=1', 'from'],
    ['to=1', 'from'],
  ])('answers 400 naming the field for consistency?%s', async (query, field) => {
    const res = await json('GET', `/api/v1/integrity/proof/consistency?${query}`, a.key);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain(field);
  });
});
