import { randomUUID } from 'node:crypto';
import {
  AUDIT_LEAF_TYPE,
  auditLogLeafData,
  consistencyProofRanges,
  hashLeaf,
  inclusionProofRanges,
  merkleRoot,
  SYSTEM_LOG_LEAF_TYPE,
  systemLogLeafData,
  TRACE_LEAF_TYPE,
  traceLeafData,
  verifyConsistency,
  verifyInclusion,
} from '@aos/logs-domain';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import type { Scope } from './database/database';
import { AuditLogStore } from './audit-log.store';
import { LedgerStore, MIN_STORED_LEVEL, PLATFORM_LOG_ID } from './ledger.store';
import { SystemLogStore } from './system-log.store';
import { TenantStore } from './tenant.store';
import { TraceStore } from './trace.store';

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('LedgerStore on %s', (kind) => {
  let t: TestDatabase;
  let ledger: LedgerStore;
  let logs: SystemLogStore;
  let audit: AuditLogStore;
  let traces: TraceStore;
  let tenants: TenantStore;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    ledger = new LedgerStore(t.db);
    logs = new SystemLogStore(t.db, ledger);
    audit = new AuditLogStore(t.db, ledger);
    traces = new TraceStore(t.db, ledger);
    tenants = new TenantStore(t.db);
  }, 60_000);
  afterAll(() => t?.close());

  const newTenant = async (): Promise<{ tenantId: string }> => ({ tenantId: (await tenants.createTenant(`t-${Date.now()}-${Math.random()}`, 'none')).tenant_id });
  const syslog = (i: number) => ({ level: 'info' as const, source: 'ledger-test', message: `event ${i}`, context: { i, text: 'é "q"' } });

  it('ledgers every written record, in order, and its root is the RFC 9162 root of the recomputed leaves', async () => {
    const scope = await newTenant();
    const written = await logs.insertMany(scope, Array.from({ length: 37 }, (_, i) => syslog(i)));
    const action = await audit.insert(scope.tenantId, { actor_id: randomUUID(), actor_type: 'user', action: 'trace_viewed', resource_type: 'trace' });
    const trace = await traces.createTrace(scope.tenantId, { run_id: randomUUID(), agent_id: randomUUID() });
    const traceId = trace.trace.trace_id;
    await traces.addSteps(scope.tenantId, traceId, [
      { step_index: 0, step_type: 'llm_call', timestamp: '2026-01-20T10:00:00.000Z', input_data: { prompt: 'hi' }, output_data: { text: 'yo' }, tokens: 7, cost_cents: 2 },
    ]);
    const sealed = await traces.completeTrace(scope.tenantId, traceId, { status: 'completed' });

    const expected = [
      ...written.map((l) => hashLeaf(systemLogLeafData(l))),
      hashLeaf(auditLogLeafData(action)),
      hashLeaf(traceLeafData(sealed, (await traces.getTraceWithStepSummaries(scope.tenantId, traceId)).steps.map((s) => s.content_hash))),
    ];
    const head = await ledger.head(scope);
    expect(head.tree_size).toBe(39);
    expect(head.root_hash.equals(merkleRoot(expected))).toBe(true);

    const entries = await ledger.entries(scope, 0, 100);
    expect(entries.map((e) => e.leaf_type)).toEqual([...written.map(() => SYSTEM_LOG_LEAF_TYPE), AUDIT_LEAF_TYPE, TRACE_LEAF_TYPE]);
    expect(entries.map((e) => e.record_id)).toEqual([...written.map((l) => l.log_id), action.log_id, traceId]);
    expect(await ledger.findEntry(scope, TRACE_LEAF_TYPE, traceId)).toMatchObject({ leaf_index: 38 });
    // Nodes are stored only from level MIN_STORED_LEVEL up: 32 leaves make 2 + 1 of them (levels 4 and 5).
    const [{ n }] = await t.asOwner<{ n: string }>(`SELECT count(*) AS n FROM aos_ledger_nodes WHERE log_id = $1`, [scope.tenantId]);
    expect(Number(n)).toBe(3);
    expect(MIN_STORED_LEVEL).toBe(4);
  });

  it('serves inclusion and consistency proofs at every size from stored nodes', async () => {
    const scope = await newTenant();
    const leaves: Buffer[] = [];
    const roots: Buffer[] = [];
    for (let batch = 0; batch < 7; batch++) {
      const written = await logs.insertMany(scope, Array.from({ length: 11 }, (_, i) => syslog(batch * 100 + i)));
      leaves.push(...written.map((l) => hashLeaf(systemLogLeafData(l))));
      roots[leaves.length] = merkleRoot(leaves);
    }
    const size = leaves.length; // 77
    for (const index of [0, 1, 15, 16, 33, 63, 64, 76]) {
      const proof = await ledger.rangeHashes(scope, inclusionProofRanges(index, size));
      expect(() => verifyInclusion(index, size, leaves[index], proof, roots[size])).not.toThrow();
    }
    for (const from of [11, 22, 33, 44, 55, 66]) {
      const proof = await ledger.rangeHashes(scope, consistencyProofRanges(from, size));
      expect(() => verifyConsistency(from, size, proof, roots[from], roots[size])).not.toThrow();
    }
    await expect(ledger.rangeHashes(scope, inclusionProofRanges(3, 200))).rejects.toThrow(/not stored/);
  });

  it('keeps commit order under concurrent writers: no index taken twice, no hole', async () => {
    const scope = await newTenant();
    await Promise.all(Array.from({ length: 8 }, (_, w) => logs.insertMany(scope, Array.from({ length: 25 }, (_, i) => syslog(w * 1000 + i)))));
    const entries = await ledger.entries(scope, 0, 1000);
    expect(entries.map((e) => e.leaf_index)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // Each batch's leaves are contiguous (one transaction holds the head to commit).
    const stored = await Promise.all(entries.map((e) => logs.get(scope, e.record_id)));
    const writerOf = stored.map((l) => Math.floor((l.context as { i: number }).i / 1000));
    for (let b = 0; b < 8; b++) expect(new Set(writerOf.slice(b * 25, b * 25 + 25)).size).toBe(1);
    const head = await ledger.head(scope);
    expect(head.root_hash.equals(merkleRoot(stored.map((l) => hashLeaf(systemLogLeafData(l)))))).toBe(true);
  });

  it('keeps the platform log apart from every tenant log', async () => {
    const platform: Scope = { platform: true };
    const scope = await newTenant();
    const before = (await ledger.head(platform)).tree_size;
    await logs.insertMany(platform, [syslog(1), syslog(2)]);
    expect((await ledger.head(platform)).tree_size).toBe(before + 2);
    expect((await ledger.head(scope)).tree_size).toBe(0);
    const [row] = await ledger.entries(platform, before, before + 1);
    expect(row.log_id).toBe(PLATFORM_LOG_ID);
    // A tenant cannot read the platform's or another tenant's entries.
    expect(await ledger.findEntry(scope, SYSTEM_LOG_LEAF_TYPE, row.record_id)).toBeNull();
    expect(await ledger.entries(scope, 0, 1000)).toEqual([]);
  });

  it('refuses to change or delete ledger entries, nodes and checkpoints, even as the owner', async () => {
    const scope = await newTenant();
    await logs.insertMany(scope, Array.from({ length: 16 }, (_, i) => syslog(i)));
    await expect(t.asOwner(`UPDATE aos_ledger_leaves SET leaf_hash = leaf_hash WHERE log_id = $1`, [scope.tenantId])).rejects.toThrow(/Immutable/);
    await expect(t.asOwner(`DELETE FROM aos_ledger_leaves WHERE log_id = $1`, [scope.tenantId])).rejects.toThrow(/Immutable/);
    await expect(t.asOwner(`DELETE FROM aos_ledger_nodes WHERE log_id = $1`, [scope.tenantId])).rejects.toThrow(/Immutable/);
    await expect(t.asOwner(`DELETE FROM aos_ledger_heads WHERE log_id = $1`, [scope.tenantId])).rejects.toThrow(/Immutable/);
    await expect(t.asOwner(`TRUNCATE aos_ledger_leaves`)).rejects.toThrow(/Immutable/);
    // The serving role has no UPDATE on entries at all.
    await expect(
      t.db.transaction(scope, (sql) => sql.query(`UPDATE aos_ledger_leaves SET leaf_index = leaf_index + 1 WHERE log_id = $1`, [scope.tenantId])),
    ).rejects.toThrow(/permission denied|Immutable/);
  });
});
