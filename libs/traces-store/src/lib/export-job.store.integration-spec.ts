import { createHash, randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, type NewStep } from '@aos/logs-domain';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../testing';
import { ExportJobStore, type ExportJobKey } from './export-job.store';
import { TenantStore } from './tenant.store';
import { TraceStore } from './trace.store';

const step = (i: number): NewStep => ({
  step_index: i,
  step_type: 'llm_call',
  timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(),
  input_data: { n: i },
});

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const PDF = Buffer.from('%PDF-1.7\nnot really a pdf\n%%EOF\n');

describe.each<TestDatabaseKind>(['postgres', 'embedded'])('ExportJobStore on %s', (kind) => {
  let t: TestDatabase;
  let jobs: ExportJobStore;
  let traces: TraceStore;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
    jobs = new ExportJobStore(t.db);
    traces = new TraceStore(t.db);
    const tenants = new TenantStore(t.db);
    tenantA = (await tenants.createTenant('a', 'soc2')).tenant_id;
    tenantB = (await tenants.createTenant('b', 'none')).tenant_id;
  }, 60_000);
  afterAll(() => t?.close());

  /** A sealed trace of tenant A and the key of its evidence PDF. */
  const sealedKey = async (bundle_type: ExportJobKey['bundle_type'] = 'evidence', tenant = tenantA): Promise<ExportJobKey> => {
    const { trace } = await traces.createTrace(tenant, { run_id: randomUUID(), agent_id: randomUUID() });
    await traces.addSteps(tenant, trace.trace_id, [step(0), step(1)]);
    const sealed = await traces.completeTrace(tenant, trace.trace_id, { status: 'completed' });
    return { trace_id: trace.trace_id, bundle_type, content_hash: sealed.content_hash! };
  };
  /** Backdates a job and its file (as the owner: stored files are otherwise never updated). */
  const expire = async (jobId: string) => {
    if (!/^[0-9a-f-]{36}$/.test(jobId)) throw new Error('not a uuid');
    await t.asOwner(`UPDATE export_jobs SET expires_at = now() - interval '1 second' WHERE job_id = '${jobId}'`);
    await t.asOwner(
      `ALTER TABLE export_files DISABLE TRIGGER export_files_immutable;
       UPDATE export_files SET expires_at = now() - interval '1 second' WHERE job_id = '${jobId}';
       ALTER TABLE export_files ENABLE TRIGGER export_files_immutable;`,
    );
  };

  it('answers the same job when asked twice for the same document, and records one row', async () => {
    const key = await sealedKey();
    const first = await jobs.enqueueOrGet(tenantA, key);
    const second = await jobs.enqueueOrGet(tenantA, key);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.job.job_id).toBe(first.job.job_id);
    expect(first.job).toMatchObject({ status: 'queued', attempts: 0, trace_id: key.trace_id, bundle_type: 'evidence', file: null });
    expect(first.needsDispatch).toBe(true);
    expect(first.job.job_id).toBe(ExportJobStore.jobIdFor(tenantA, key));
    const rows = await t.asOwner(`SELECT count(*)::int AS n FROM export_jobs WHERE trace_id = $1`, [key.trace_id]);
    expect(rows[0]['n']).toBe(1);
  });

  it('makes one job under concurrent asks', async () => {
    const key = await sealedKey('soc2');
    const results = await Promise.all(Array.from({ length: 5 }, () => jobs.enqueueOrGet(tenantA, key)));
    expect(new Set(results.map((r) => r.job.job_id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('makes one job per document when asks for it race each other', async () => {
    // Two asks that both pass the insert's conflict check used to fail on the job_id primary key,
    // which the insert did not arbitrate: a double-clicked PDF export answered 500.
    const { trace_id } = await sealedKey();
    const rounds = kind === 'postgres' ? 120 : 2;
    for (let round = 0; round < rounds; round++) {
      // Distinct documents of one trace (the store does not compare the hash with the trace's).
      const keys = Array.from({ length: 5 }, (_, i): ExportJobKey => ({ trace_id, bundle_type: 'evidence', content_hash: sha256Hex(`${round}/${i}`) }));
      const results = await Promise.all(keys.flatMap((key) => [jobs.enqueueOrGet(tenantA, key), jobs.enqueueOrGet(tenantA, key)]));
      expect(results.filter((r) => r.created)).toHaveLength(keys.length);
    }
    // Out of the restart-recovery list that a later test reads.
    await t.asOwner(`DELETE FROM export_jobs WHERE trace_id = $1`, [trace_id]);
  }, 60_000);

  it('gives each bundle type and each tenant its own job id', async () => {
    const key = await sealedKey();
    const ids = new Set([
      ExportJobStore.jobIdFor(tenantA, key),
      ExportJobStore.jobIdFor(tenantA, { ...key, bundle_type: 'soc2' }),
      ExportJobStore.jobIdFor(tenantA, { ...key, bundle_type: 'executive' }),
      ExportJobStore.jobIdFor(tenantB, key),
      ExportJobStore.jobIdFor(tenantA, { ...key, content_hash: 'f'.repeat(64) }),
    ]);
    expect(ids.size).toBe(5);
    expect(ExportJobStore.jobIdFor(tenantA, { ...key, trace_id: key.trace_id.toUpperCase() })).toBe(ExportJobStore.jobIdFor(tenantA, key));
  });

  it('moves a job through running to completed with its file, stored with size and sha256', async () => {
    const key = await sealedKey();
    const { job } = await jobs.enqueueOrGet(tenantA, key);
    await expect(jobs.getFile(tenantA, job.job_id)).rejects.toBeInstanceOf(ConflictError);

    const running = await jobs.start(tenantA, job.job_id);
    expect(running).toMatchObject({ status: 'running', attempts: 1 });
    await expect(jobs.getFile(tenantA, job.job_id)).rejects.toThrow(/running: its file is not ready/);

    const done = await jobs.complete(tenantA, job.job_id, { content_type: 'application/pdf', bytes: PDF });
    expect(done.status).toBe('completed');
    expect(done.completed_at).not.toBeNull();
    expect(done.file).toEqual({ content_type: 'application/pdf', size: PDF.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const file = await jobs.getFile(tenantA, job.job_id);
    expect(Buffer.compare(file.bytes, PDF)).toBe(0);
    expect(file.sha256).toBe(done.file!.sha256);

    // A late duplicate delivery neither restarts nor re-renders a completed job.
    expect(await jobs.start(tenantA, job.job_id)).toBeNull();
    const again = await jobs.enqueueOrGet(tenantA, key);
    expect(again).toMatchObject({ created: false, needsDispatch: false });
    expect(again.job.status).toBe('completed');
  });

  it('counts attempts, keeps the last error, and lets a failed job be asked for again under the same id', async () => {
    const key = await sealedKey('executive');
    const { job } = await jobs.enqueueOrGet(tenantA, key);
    await jobs.start(tenantA, job.job_id);
    await jobs.retryLater(tenantA, job.job_id, 'browser crashed');
    expect(await jobs.getJob(tenantA, job.job_id)).toMatchObject({ status: 'queued', attempts: 1, error: 'browser crashed' });
    await jobs.start(tenantA, job.job_id);
    await jobs.fail(tenantA, job.job_id, 'x'.repeat(5000));
    const failed = await jobs.getJob(tenantA, job.job_id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 2 });
    expect(failed.error!.length).toBeLessThanOrEqual(2000);
    expect(await jobs.start(tenantA, job.job_id)).toBeNull();

    const retried = await jobs.enqueueOrGet(tenantA, key);
    expect(retried).toMatchObject({ created: true, needsDispatch: true });
    expect(retried.job).toMatchObject({ job_id: job.job_id, status: 'queued', attempts: 0, error: null });
  });

  it("hides another tenant's job and file (404), also from row-level security alone", async () => {
    const key = await sealedKey();
    const { job } = await jobs.enqueueOrGet(tenantA, key);
    await jobs.start(tenantA, job.job_id);
    await jobs.complete(tenantA, job.job_id, { content_type: 'application/pdf', bytes: PDF });
    await expect(jobs.getJob(tenantB, job.job_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(jobs.getFile(tenantB, job.job_id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await jobs.start(tenantB, job.job_id)).toBeNull();
    const seen = await t.db.transaction({ tenantId: tenantB }, (sql) =>
      sql.query(`SELECT job_id FROM export_jobs UNION ALL SELECT job_id FROM export_files`),
    );
    expect(seen).toEqual([]);
    // Tenant B cannot attach a job to tenant A's trace either.
    await expect(jobs.enqueueOrGet(tenantB, key)).rejects.toThrow();
  });

  it('refuses a file whose size or hash does not match its bytes, and any change to a stored file', async () => {
    const key = await sealedKey();
    const { job } = await jobs.enqueueOrGet(tenantA, key);
    await t.db.transaction({ tenantId: tenantA }, async (sql) => {
      await expect(
        sql.query(
          `INSERT INTO export_files (job_id, tenant_id, content_type, bytes, size, sha256, expires_at)
           VALUES ($1, $2, 'application/pdf', $3, $4, $5, now() + interval '1 day')`,
          [job.job_id, tenantA, PDF, PDF.length, 'a'.repeat(64)],
        ),
      ).rejects.toThrow(/export_files_sha256/);
    });
    await jobs.start(tenantA, job.job_id);
    await jobs.complete(tenantA, job.job_id, { content_type: 'application/pdf', bytes: PDF });
    await expect(
      t.db.transaction({ tenantId: tenantA }, (sql) => sql.query(`UPDATE export_files SET content_type = 'text/html' WHERE job_id = $1`, [job.job_id])),
    ).rejects.toThrow();
    // The serving role cannot delete a live file, nor change a job's identity.
    await t.db.transaction({ tenantId: tenantA }, (sql) => sql.query(`DELETE FROM export_files WHERE job_id = $1`, [job.job_id]));
    expect((await jobs.getFile(tenantA, job.job_id)).size).toBe(PDF.length);
    await expect(
      t.db.transaction({ tenantId: tenantA }, (sql) =>
        sql.query(`UPDATE export_jobs SET content_hash = $2 WHERE job_id = $1`, [job.job_id, 'b'.repeat(64)]),
      ),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      t.db.transaction({ tenantId: tenantA }, (sql) => sql.query(`DELETE FROM export_jobs WHERE job_id = $1`, [job.job_id])),
    ).rejects.toThrow(/permission denied/);
    // The guards are ENABLE ALWAYS: the owner in replica mode (restore and replication tooling) meets them too.
    for (const change of [
      `UPDATE export_files SET content_type = 'text/html' WHERE job_id = '${job.job_id}'`,
      `UPDATE export_jobs SET content_hash = '${'b'.repeat(64)}' WHERE job_id = '${job.job_id}'`,
    ]) {
      await expect(t.asOwner(`DO $$ BEGIN SET LOCAL session_replication_role = replica; ${change}; END $$`)).rejects.toThrow(/Immutable record/);
    }
    expect(await t.asOwner(`SELECT content_type, content_hash FROM export_files JOIN export_jobs USING (job_id) WHERE job_id = $1`, [job.job_id])).toEqual([
      { content_type: 'application/pdf', content_hash: key.content_hash },
    ]);
  });

  it('treats an expired job as gone, renders it afresh when asked again, and purges expired jobs with their files', async () => {
    const key = await sealedKey();
    const { job } = await jobs.enqueueOrGet(tenantA, key);
    await jobs.start(tenantA, job.job_id);
    await jobs.complete(tenantA, job.job_id, { content_type: 'application/pdf', bytes: PDF });
    await expire(job.job_id);
    await expect(jobs.getJob(tenantA, job.job_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(jobs.getFile(tenantA, job.job_id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await jobs.start(tenantA, job.job_id)).toBeNull();

    const again = await jobs.enqueueOrGet(tenantA, key);
    expect(again).toMatchObject({ created: true, needsDispatch: true });
    expect(again.job).toMatchObject({ job_id: job.job_id, status: 'queued', file: null });
    expect(await t.asOwner(`SELECT 1 FROM export_files WHERE job_id = $1`, [job.job_id])).toEqual([]);

    const other = await sealedKey();
    const { job: stale } = await jobs.enqueueOrGet(tenantA, other);
    await jobs.start(tenantA, stale.job_id);
    await jobs.complete(tenantA, stale.job_id, { content_type: 'application/pdf', bytes: PDF });
    await expire(stale.job_id);
    expect(await jobs.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await t.asOwner(`SELECT 1 FROM export_jobs WHERE job_id = $1 UNION ALL SELECT 1 FROM export_files WHERE job_id = $1`, [stale.job_id])).toEqual([]);
    // The re-queued job is not expired and stays.
    expect((await jobs.getJob(tenantA, job.job_id)).status).toBe('queued');
  });

  it('lists every tenant’s unfinished jobs for restart recovery', async () => {
    const a = await jobs.enqueueOrGet(tenantA, await sealedKey());
    const b = await jobs.enqueueOrGet(tenantB, await sealedKey('soc2', tenantB));
    await jobs.start(tenantB, b.job.job_id);
    const unfinished = await jobs.listUnfinished();
    const byId = new Map(unfinished.map((j) => [j.job_id, j]));
    expect(byId.get(a.job.job_id)).toMatchObject({ tenant_id: tenantA, status: 'queued', bundle_type: 'evidence', attempts: 0 });
    expect(byId.get(b.job.job_id)).toMatchObject({ tenant_id: tenantB, status: 'running', bundle_type: 'soc2', attempts: 1 });
    expect(byId.get(b.job.job_id)!.content_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(unfinished.every((j) => j.status === 'queued' || j.status === 'running')).toBe(true);
  });
});
