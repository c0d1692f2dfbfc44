import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assembleEvidenceBundle,
  hashLeaf,
  IntegrityError,
  openCheckpoint,
  systemLogLeafData,
  verifyConsistency,
  verifyInclusion,
  verifySignedBundle,
} from '@aos/logs-domain';
import { AuditLogStore, LedgerStore, type Scope, SystemLogStore, TenantStore, TraceStore } from '@aos/traces-store';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '@aos/traces-store/testing';
import { CheckpointPublisher } from './checkpoint-publisher';
import { LedgerSigner } from './ledger-signer';
import { LedgerService } from './ledger.service';

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('LedgerService on %s', (kind) => {
  let t: TestDatabase;
  let dir: string;
  let ledger: LedgerService;
  let signer: LedgerSigner;
  let logs: SystemLogStore;
  let audit: AuditLogStore;
  let traces: TraceStore;
  let tenants: TenantStore;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'aos-ledger-'));
    const store = new LedgerStore(t.db);
    logs = new SystemLogStore(t.db, store);
    audit = new AuditLogStore(t.db, store);
    traces = new TraceStore(t.db, store);
    tenants = new TenantStore(t.db);
    signer = LedgerSigner.load({ keyName: 'logs.test/aos', keyFile: join(dir, 'key.pem') });
    ledger = new LedgerService(store, traces, signer, new CheckpointPublisher({ directory: join(dir, 'checkpoints') }));
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const newTenant = async () => (await tenants.createTenant(`t-${randomUUID()}`, 'soc2')).tenant_id;
  const syslog = (i: number) => ({ level: 'info' as const, source: 'svc', message: `event ${i}`, context: { i } });
  const auditRow = () => ({ actor_id: randomUUID(), actor_type: 'user' as const, action: 'trace_viewed', resource_type: 'trace' });
  const sealedTrace = async (tenantId: string, steps = 3) => {
    const { trace } = await traces.createTrace(tenantId, { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'bot' });
    await traces.addSteps(
      tenantId,
      trace.trace_id,
      Array.from({ length: steps }, (_, i) => ({
        step_index: i,
        step_type: i === 0 ? ('input' as const) : ('llm_call' as const),
        timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(),
        input_data: { prompt: `p${i}` },
        output_data: { text: `o${i}` },
        tokens: 10 + i,
        cost_cents: 1,
      })),
    );
    return traces.completeTrace(tenantId, trace.trace_id, { status: 'completed' });
  };
  const owner = (sql: string, params: unknown[] = []) => t.asOwner(sql, params);
  /** A superuser edit with the guard triggers off: what the ledger exists to expose. */
  const tamper = async (table: string, sql: string, params: unknown[] = []) => {
    await owner(`ALTER TABLE ${table} DISABLE TRIGGER ALL`);
    try {
      await owner(sql, params);
    } finally {
      await owner(`ALTER TABLE ${table} ENABLE TRIGGER ALL`);
    }
  };

  it('generates the key once, publishes it, and signs checkpoints the published key verifies', async () => {
    const again = LedgerSigner.load({ keyName: 'logs.test/aos', keyFile: join(dir, 'key.pem') });
    expect(again.published).toEqual(signer.published);
    expect(signer.published.verifier_key).toMatch(/^logs\.test\/aos\+[0-9a-f]{8}\+/);
    expect(signer.published.public_key_pem).toContain('BEGIN PUBLIC KEY');

    const tenantId = await newTenant();
    const scope: Scope = { tenantId };
    await logs.insertMany(scope, [syslog(1), syslog(2), syslog(3)]);
    const cp = await ledger.checkpoint(scope);
    expect(cp.tree_size).toBe(3);
    const opened = openCheckpoint(cp.note, signer.published.verifier_key, `logs.test/aos/${tenantId}`);
    expect(opened.size).toBe(3);
    expect(opened.rootHash.toString('base64')).toBe(cp.root_hash);
    // Written outside the database too.
    expect(readFileSync(join(dir, 'checkpoints', tenantId, 'latest.note'), 'utf8')).toBe(cp.note);
    expect(readFileSync(join(dir, 'checkpoints', tenantId, '3.note'), 'utf8')).toBe(cp.note);
    // Nothing new: the same checkpoint.
    expect((await ledger.checkpoint(scope)).note).toBe(cp.note);
  });

  it('serves inclusion proofs for each record type and consistency proofs between checkpoints', async () => {
    const tenantId = await newTenant();
    const scope: Scope = { tenantId };
    const written = await logs.insertMany(scope, Array.from({ length: 20 }, (_, i) => syslog(i)));
    const first = await ledger.checkpoint(scope);
    const action = await audit.insert(tenantId, auditRow());
    const trace = await sealedTrace(tenantId);
    await logs.insertMany(scope, Array.from({ length: 13 }, (_, i) => syslog(100 + i)));
    const second = await ledger.signNow(scope);
    expect(second?.tree_size).toBe(35);

    const p = await ledger.inclusionProof(scope, 'system_log', written[7].log_id);
    expect(p).toMatchObject({ leaf_index: 7, tree_size: 35 });
    const root = Buffer.from(p.checkpoint.root_hash, 'base64');
    expect(() => verifyInclusion(7, 35, hashLeaf(systemLogLeafData(written[7])), p.hashes.map((h) => Buffer.from(h, 'base64')), root)).not.toThrow();
    for (const [type, id, index] of [['audit_log', action.log_id, 20], ['trace', trace.trace_id, 21]] as const) {
      const q = await ledger.inclusionProof(scope, type, id);
      expect(q.leaf_index).toBe(index);
      expect(() => verifyInclusion(index, 35, Buffer.from(q.leaf_hash, 'base64'), q.hashes.map((h) => Buffer.from(h, 'base64')), root)).not.toThrow();
    }
    // Against the earlier checkpoint, by size.
    const old = await ledger.inclusionProof(scope, 'system_log', written[3].log_id, 20);
    expect(old.checkpoint.note).toBe(first.note);
    await expect(ledger.inclusionProof(scope, 'audit_log', action.log_id, 20)).rejects.toThrow(/tree_size/);
    await expect(ledger.inclusionProof(scope, 'system_log', written[3].log_id, 21)).rejects.toThrow(/no signed checkpoint of size 21/);

    const c = await ledger.consistencyProof(scope, 20, 35);
    expect(c.from_checkpoint?.note).toBe(first.note);
    expect(() =>
      verifyConsistency(20, 35, c.hashes.map((h) => Buffer.from(h, 'base64')), Buffer.from(first.root_hash, 'base64'), root),
    ).not.toThrow();
    await expect(ledger.consistencyProof(scope, 0, 5)).rejects.toThrow(/from/);
    await expect(ledger.consistencyProof(scope, 5, 99)).rejects.toThrow(/size 35/);
  });

  it('proves nothing about another tenant: its records are not found', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const [log] = await logs.insertMany({ tenantId: a }, [syslog(1)]);
    await expect(ledger.inclusionProof({ tenantId: b }, 'system_log', log.log_id)).rejects.toThrow(/not in this ledger/);
    await expect(ledger.checkpoint({ tenantId: b })).rejects.toThrow(/no leaves/);
  });

  it('signs evidence that the offline verifier accepts', async () => {
    const tenantId = await newTenant();
    await audit.insert(tenantId, auditRow());
    const trace = await sealedTrace(tenantId, 5);
    const { steps } = await traces.getTraceWithSteps(tenantId, trace.trace_id);
    const bundle = assembleEvidenceBundle({
      bundleId: randomUUID(),
      bundleType: 'evidence',
      generatedAt: new Date().toISOString(),
      trace,
      steps,
      policySnapshot: null,
      incident: null,
    });
    const envelope = await ledger.signEvidence(tenantId, bundle, trace, steps);
    const result = verifySignedBundle(JSON.stringify(envelope), { verifierKey: signer.published.verifier_key, expectedOrigin: `logs.test/aos/${tenantId}` });
    expect(result).toMatchObject({ ok: true });
  });

  it('audits a clean log as verified, then names every record altered behind its back', async () => {
    const tenantId = await newTenant();
    const scope: Scope = { tenantId };
    const written = await logs.insertMany(scope, Array.from({ length: 40 }, (_, i) => syslog(i)));
    const action = await audit.insert(tenantId, auditRow());
    const trace = await sealedTrace(tenantId);
    const stepTrace = await sealedTrace(tenantId);
    await ledger.signNow(scope);
    const clean = await ledger.audit(scope);
    expect(clean).toMatchObject({ verified: true, tree_size: 43, verified_leaves: 43, purged_leaves: 0, mismatch_count: 0, checkpoints_checked: 1 });

    await tamper('audit_logs', `UPDATE audit_logs SET details = '{"forged": true}' WHERE log_id = $1`, [action.log_id]);
    await tamper('aos_traces', `UPDATE aos_traces SET total_tokens = total_tokens + 1000 WHERE trace_id = $1`, [trace.trace_id]);
    await tamper('aos_trace_steps', `UPDATE aos_trace_steps SET output_data = '{"text":"forged"}' WHERE trace_id = $1 AND step_index = 1`, [stepTrace.trace_id]);
    await tamper('system_logs', `DELETE FROM system_logs WHERE log_id = $1`, [written[5].log_id]);
    // Two entries swapped: each record now sits at the other's index (a third id keeps the unique index happy).
    const parked = randomUUID();
    await tamper(
      'aos_ledger_leaves',
      `UPDATE aos_ledger_leaves SET record_id = $2 WHERE log_id = $1 AND record_id = $3;
       UPDATE aos_ledger_leaves SET record_id = $3 WHERE log_id = $1 AND record_id = $4;
       UPDATE aos_ledger_leaves SET record_id = $4 WHERE log_id = $1 AND record_id = $2`.replace(/\$(\d)/g, (_, n) => `'${[tenantId, parked, written[10].log_id, written[11].log_id][Number(n) - 1]}'::uuid`),
    );
    await tamper(
      'system_logs',
      `INSERT INTO system_logs (log_id, tenant_id, level, source, message, "timestamp") VALUES ($1, $2, 'info', 'svc', 'slipped in', now())`,
      [randomUUID(), tenantId],
    );

    const report = await ledger.audit(scope);
    expect(report.verified).toBe(false);
    const found = report.mismatches.map((m) => [m.kind, m.record_id, m.leaf_index, m.step_index ?? null]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['modified', action.log_id, 40, null],
        ['modified', trace.trace_id, 41, null],
        ['step-modified', stepTrace.trace_id, 42, 1],
        ['missing', written[5].log_id, 5, null],
        ['reordered', written[11].log_id, 10, null],
        ['reordered', written[10].log_id, 11, null],
        ['unledgered', expect.any(String), null, null],
      ]),
    );
    expect(report.mismatch_count).toBe(7);
  });

  it('names a rewritten ledger entry, and refuses to sign over rewritten tree nodes', async () => {
    const tenantId = await newTenant();
    const scope: Scope = { tenantId };
    const written = await logs.insertMany(scope, Array.from({ length: 20 }, (_, i) => syslog(i)));
    await ledger.signNow(scope);
    await tamper('aos_ledger_leaves', `UPDATE aos_ledger_leaves SET leaf_hash = sha256(leaf_hash) WHERE log_id = $1 AND leaf_index = 3`, [tenantId]);
    const report = await ledger.audit(scope);
    expect(report.mismatches).toEqual([
      expect.objectContaining({ kind: 'modified', leaf_index: 3, record_id: written[3].log_id }),
      expect.objectContaining({ kind: 'ledger-altered', leaf_index: 19, detail: expect.stringMatching(/checkpoint of size 20/) }),
      // The rebuilt tree disagrees with what the head and the stored nodes say.
      expect.objectContaining({ kind: 'ledger-altered', leaf_index: null, detail: expect.stringMatching(/head/) }),
      expect.objectContaining({ kind: 'ledger-altered', leaf_index: null, detail: expect.stringMatching(/stored nodes/) }),
    ]);

    await tamper('aos_ledger_nodes', `UPDATE aos_ledger_nodes SET hash = sha256(hash) WHERE log_id = $1 AND level = 4 AND node_index = 0`, [tenantId]);
    await logs.insertMany(scope, [syslog(99)]);
    await expect(ledger.signNow(scope)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('does not mistake a checkpoint published while it ran for a truncated tail', async () => {
    const tenantId = await newTenant();
    const scope: Scope = { tenantId };
    const store = (ledger as unknown as { store: LedgerStore }).store;
    await logs.insertMany(scope, Array.from({ length: 10 }, (_, i) => syslog(i)));
    const before = await store.head(scope);
    // Between the audit's read of the head and its look at the published checkpoint,
    // writers append and the scheduler signs and publishes the larger log.
    await logs.insertMany(scope, Array.from({ length: 5 }, (_, i) => syslog(10 + i)));
    await ledger.signNow(scope);
    jest.spyOn(store, 'head').mockResolvedValueOnce(before);
    const report = await ledger.audit(scope);
    expect(report).toMatchObject({ verified: true, mismatch_count: 0, tree_size: 10 });
  });

  it('catches a truncated tail against the checkpoint published outside the database', async () => {
    const tenantId = await newTenant();
    const scope: Scope = { tenantId };
    await logs.insertMany(scope, Array.from({ length: 10 }, (_, i) => syslog(i)));
    await ledger.signNow(scope);
    // Published elsewhere: a checkpoint of size 12 the database no longer reaches.
    const forged = signer.signCheckpoint({ origin: ledger.origin(scope), size: 12, rootHash: Buffer.alloc(32, 7), extensions: [] });
    writeFileSync(join(dir, 'checkpoints', tenantId, 'latest.note'), forged);
    const report = await ledger.audit(scope);
    expect(report.mismatches).toEqual([expect.objectContaining({ kind: 'ledger-altered', detail: expect.stringMatching(/truncated/) })]);
  });
});
