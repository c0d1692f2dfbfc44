import { randomBytes, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  BundleSource,
  type BundleType,
  ConflictError,
  type EvidenceBundle,
  type NewStep,
  NotFoundError,
} from '@aos/logs-domain';
import { Database, ExportJobStore, TenantStore, TraceStore, TracesStoreModule } from '@aos/traces-store';
import { createTestDatabaseUrl, dropTestDatabase } from '@aos/traces-store/testing';
import { pdfText } from '../testing/pdf-text';
import { BullMqPdfDispatcher } from './bullmq-pdf-dispatcher';
import { EvidencePdfJob, parseEvidencePdfPayload, PermanentJobError } from './evidence-pdf.job';
import { EvidencePdfModule } from './evidence-pdf.module';
import { InProcessPdfDispatcher } from './in-process-pdf-dispatcher';
import { PdfJobQueue } from './pdf-job-queue';
import { EVIDENCE_PDF_QUEUE } from './queue';
import { TraceStoreBundleSource } from '../testing/trace-store-bundle-source';

const REDIS_URL = process.env['REDIS_TEST_URL'] ?? 'redis://127.0.0.1:6379';

const steps = (n: number, extra: (i: number) => Partial<NewStep> = () => ({})): NewStep[] =>
  Array.from({ length: n }, (_, i) => ({
    step_index: i,
    step_type: i === 0 ? 'input' : 'llm_call',
    timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(),
    tokens: 10,
    input_data: { q: i },
    output_data: { a: `answer ${i}` },
    ...extra(i),
  }));

/** A BundleSource the tests steer: fail the next N loads, or fail for good. */
class SteerableSource extends BundleSource {
  failNext = 0;
  failWith: Error | null = null;
  loads = 0;
  constructor(private readonly inner: BundleSource) {
    super();
  }
  async load(tenantId: string, traceId: string, bundleType: BundleType): Promise<EvidenceBundle> {
    this.loads++;
    if (this.failWith) throw this.failWith;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('transient: bundle source unavailable');
    }
    return this.inner.load(tenantId, traceId, bundleType);
  }
}

describe('EvidencePdfJob (in-process queue, PostgreSQL)', () => {
  let databaseUrl: string;
  let moduleRef: TestingModule;
  let queue: PdfJobQueue;
  let jobs: ExportJobStore;
  let traces: TraceStore;
  let source: SteerableSource;
  let dispatcher: InProcessPdfDispatcher;
  let tenantA: string;
  let tenantB: string;

  const build = async () => {
    const ref = await Test.createTestingModule({
      imports: [
        TracesStoreModule.forRoot({ databaseUrl, poolSize: 4 }),
        EvidencePdfModule.forRoot({
          bundleSource: { useFactory: (t: TraceStore) => (source = new SteerableSource(new TraceStoreBundleSource(t))), inject: [TraceStore] },
          inProcess: { backoffMs: 20 },
          cleanupIntervalMs: 0,
        }),
      ],
    }).compile();
    await ref.init();
    return ref;
  };

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    databaseUrl = await createTestDatabaseUrl();
    moduleRef = await build();
    queue = moduleRef.get(PdfJobQueue);
    jobs = moduleRef.get(ExportJobStore);
    traces = moduleRef.get(TraceStore);
    dispatcher = moduleRef.get(InProcessPdfDispatcher);
    const tenants = moduleRef.get(TenantStore);
    tenantA = (await tenants.createTenant('a', 'soc2')).tenant_id;
    tenantB = (await tenants.createTenant('b', 'none')).tenant_id;
  }, 60_000);

  afterAll(async () => {
    await moduleRef?.close();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  const sealedTrace = async (n = 5, violationAt: number | null = 3, tenant = tenantA) => {
    const { trace } = await traces.createTrace(tenant, { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'refund-assistant' });
    await traces.addSteps(tenant, trace.trace_id, steps(n));
    if (violationAt !== null) {
      await traces.markViolation(tenant, trace.trace_id, { step_index: violationAt, policy_id: randomUUID(), reason: 'refund above limit' });
    }
    return traces.completeTrace(tenant, trace.trace_id, { status: 'failed' });
  };
  const settle = () => dispatcher.queue.onIdle();

  it('makes one job when asked twice for the same PDF, renders it once and stores the file', async () => {
    const trace = await sealedTrace(50, 37);
    const first = await queue.enqueue(tenantA, trace.trace_id, 'soc2');
    const second = await queue.enqueue(tenantA, trace.trace_id, 'soc2');
    expect(second.job_id).toBe(first.job_id);
    expect(first.status).toBe('queued');
    await settle();
    const rows = await moduleRef.get(Database).transaction({ tenantId: tenantA }, (sql) =>
      sql.query(`SELECT job_id FROM export_jobs WHERE trace_id = $1`, [trace.trace_id]),
    );
    expect(rows).toHaveLength(1);

    const job = await jobs.getJob(tenantA, first.job_id);
    expect(job).toMatchObject({ status: 'completed', attempts: 1, error: null, content_hash: trace.content_hash });
    expect(job.file).toMatchObject({ content_type: 'application/pdf' });
    const file = await jobs.getFile(tenantA, first.job_id);
    const text = pdfText(file.bytes);
    expect(text).toContain(trace.trace_id);
    expect(text).toContain(trace.content_hash!);
    expect(text).toMatch(/Inflection point\s+step 37/);
    for (const c of ['CC7.2', 'CC7.3', 'CC7.4']) expect(text).toContain(c);

    // Once completed, asking again answers the finished job and renders nothing.
    const loads = source.loads;
    const again = await queue.enqueue(tenantA, trace.trace_id, 'soc2');
    expect(again).toMatchObject({ job_id: first.job_id, status: 'completed' });
    await settle();
    expect(source.loads).toBe(loads);
  }, 60_000);

  it('gives each bundle type its own job', async () => {
    const trace = await sealedTrace();
    const ids = await Promise.all((['evidence', 'soc2', 'executive'] as const).map((t) => queue.enqueue(tenantA, trace.trace_id, t)));
    expect(new Set(ids.map((j) => j.job_id)).size).toBe(3);
    await settle();
  }, 60_000);

  it('refuses an open trace (409) and an unknown or foreign trace (404)', async () => {
    const { trace } = await traces.createTrace(tenantA, { run_id: randomUUID(), agent_id: randomUUID() });
    await expect(queue.enqueue(tenantA, trace.trace_id, 'evidence')).rejects.toBeInstanceOf(ConflictError);
    await expect(queue.enqueue(tenantA, randomUUID(), 'evidence')).rejects.toBeInstanceOf(NotFoundError);
    const sealed = await sealedTrace();
    await expect(queue.enqueue(tenantB, sealed.trace_id, 'evidence')).rejects.toBeInstanceOf(NotFoundError);
    const job = await queue.enqueue(tenantA, sealed.trace_id, 'evidence');
    await expect(jobs.getJob(tenantB, job.job_id)).rejects.toBeInstanceOf(NotFoundError);
    await settle();
  }, 60_000);

  it('retries a failing attempt with backoff and completes, recording the attempts', async () => {
    const trace = await sealedTrace();
    source.failNext = 2;
    const job = await queue.enqueue(tenantA, trace.trace_id, 'executive');
    await settle();
    expect(await jobs.getJob(tenantA, job.job_id)).toMatchObject({ status: 'completed', attempts: 3, error: null });
  }, 60_000);

  it('fails at once when the trace is gone, and a new ask retries the same job', async () => {
    const trace = await sealedTrace();
    source.failWith = new NotFoundError('trace gone');
    const job = await queue.enqueue(tenantA, trace.trace_id, 'evidence');
    await settle();
    source.failWith = null;
    expect(await jobs.getJob(tenantA, job.job_id)).toMatchObject({ status: 'failed', attempts: 1, error: 'trace gone' });
    await expect(jobs.getFile(tenantA, job.job_id)).rejects.toBeInstanceOf(ConflictError);

    const again = await queue.enqueue(tenantA, trace.trace_id, 'evidence');
    expect(again).toMatchObject({ job_id: job.job_id, status: 'queued', attempts: 0 });
    await settle();
    expect((await jobs.getJob(tenantA, job.job_id)).status).toBe('completed');
  }, 60_000);

  it('queues again, on start, the jobs a previous process left queued or running', async () => {
    const t1 = await sealedTrace();
    const t2 = await sealedTrace();
    // Recorded but never dispatched (the process died before), one of them mid-attempt.
    const { job: queued } = await jobs.enqueueOrGet(tenantA, { trace_id: t1.trace_id, bundle_type: 'evidence', content_hash: t1.content_hash! });
    const { job: running } = await jobs.enqueueOrGet(tenantA, { trace_id: t2.trace_id, bundle_type: 'soc2', content_hash: t2.content_hash! });
    await jobs.start(tenantA, running.job_id);

    const restarted = await build();
    try {
      await restarted.get(InProcessPdfDispatcher).queue.onIdle();
      expect(await jobs.getJob(tenantA, queued.job_id)).toMatchObject({ status: 'completed', attempts: 1 });
      expect(await jobs.getJob(tenantA, running.job_id)).toMatchObject({ status: 'completed', attempts: 2 });
    } finally {
      await restarted.close();
    }
  }, 60_000);

  it('validates its payload at the boundary', async () => {
    const job = moduleRef.get(EvidencePdfJob);
    const trace = await sealedTrace();
    const key = { trace_id: trace.trace_id, bundle_type: 'evidence' as const, content_hash: trace.content_hash! };
    const good = { job_id: ExportJobStore.jobIdFor(tenantA, key), tenant_id: tenantA, ...key };
    expect(parseEvidencePdfPayload(good)).toEqual(good);
    await expect(job.handle(null)).rejects.toBeInstanceOf(PermanentJobError);
    await expect(job.handle({ ...good, bundle_type: 'pdf' })).rejects.toThrow(/bundle_type/);
    await expect(job.handle({ ...good, content_hash: 'ABC' })).rejects.toThrow(/content_hash/);
    await expect(job.handle({ ...good, extra: 1 })).rejects.toThrow(/extra/);
    // A payload cannot aim its file at another job's row.
    await expect(job.handle({ ...good, job_id: randomUUID() })).rejects.toThrow(/does not match its key/);
    await expect(job.handle({ ...good, tenant_id: tenantB })).rejects.toThrow(/does not match its key/);
    // A well-formed payload for a job that was never recorded does nothing.
    await expect(job.handle(good)).resolves.toMatchObject({ status: 'skipped' });
  }, 60_000);

  it('fails a job for good when the trace hash no longer matches the one it was queued for', async () => {
    const trace = await sealedTrace();
    const { job } = await jobs.enqueueOrGet(tenantA, { trace_id: trace.trace_id, bundle_type: 'evidence', content_hash: 'e'.repeat(64) });
    await dispatcher.dispatch({ job_id: job.job_id, tenant_id: tenantA, trace_id: trace.trace_id, bundle_type: 'evidence', content_hash: 'e'.repeat(64) });
    await settle();
    const failed = await jobs.getJob(tenantA, job.job_id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
    expect(failed.error).toMatch(/not the e{64} the job was queued for/);
  }, 60_000);

  describe('with REDIS_URL (BullMQ producer)', () => {
    const prefix = `aos-test-${randomBytes(4).toString('hex')}`;
    let bull: BullMqPdfDispatcher;
    let producer: PdfJobQueue;

    beforeAll(() => {
      bull = new BullMqPdfDispatcher({ redisUrl: REDIS_URL, prefix });
      producer = new PdfJobQueue(traces, jobs, bull);
    });
    afterAll(async () => {
      await bull.queue.obliterate({ force: true }).catch(() => undefined);
      await bull.close();
    });

    it('adds one BullMQ job per export job: its id, 5 attempts with exponential backoff, bounded history', async () => {
      const trace = await sealedTrace();
      const a = await producer.enqueue(tenantA, trace.trace_id, 'soc2');
      const b = await producer.enqueue(tenantA, trace.trace_id, 'soc2');
      expect(b.job_id).toBe(a.job_id);
      expect(await bull.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
      const queued = (await bull.queue.getJob(a.job_id))!;
      expect(queued.data).toEqual({ job_id: a.job_id, tenant_id: tenantA, trace_id: trace.trace_id, bundle_type: 'soc2', content_hash: trace.content_hash });
      expect(queued.opts).toMatchObject({
        attempts: 5,
        backoff: { type: 'exponential', delay: 2000 },
        removeOnComplete: { age: 86400, count: 1000 },
        removeOnFail: { age: 604800, count: 5000 },
      });
      expect(bull.queue.name).toBe(EVIDENCE_PDF_QUEUE);
    });

    it('answers 503 when Redis is unreachable, and the job stays recorded as queued', async () => {
      const down = new BullMqPdfDispatcher({ redisUrl: 'redis://127.0.0.1:1', prefix });
      try {
        const trace = await sealedTrace();
        await expect(new PdfJobQueue(traces, jobs, down).enqueue(tenantA, trace.trace_id, 'evidence')).rejects.toMatchObject({ status: 503 });
        expect(await new PdfJobQueue(traces, jobs, down).health()).toEqual({ kind: 'bullmq', status: 'down' });
        expect(await producer.health()).toEqual({ kind: 'bullmq', status: 'up' });
        expect(await queue.health()).toEqual({ kind: 'in-process', status: 'up' });
        const [unfinished] = (await jobs.listUnfinished()).filter((j) => j.trace_id === trace.trace_id);
        expect(unfinished).toMatchObject({ status: 'queued', tenant_id: tenantA });
      } finally {
        await down.close();
      }
    }, 30_000);

    it('keys its queue under the given prefix, so test runs do not collide', async () => {
      const redis = new Redis(REDIS_URL);
      try {
        expect((await redis.keys(`${prefix}:${EVIDENCE_PDF_QUEUE}:*`)).length).toBeGreaterThan(0);
        expect(await redis.exists(`aos:${EVIDENCE_PDF_QUEUE}:${(await bull.queue.getJobs(['waiting']))[0].id}`)).toBe(0);
      } finally {
        redis.disconnect();
      }
    });
  });
});

describe('EvidencePdfJob on the embedded database (the default `npm start`)', () => {
  let moduleRef: TestingModule;

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    moduleRef = await Test.createTestingModule({
      imports: [TracesStoreModule.forRoot({}), EvidencePdfModule.forRoot({
          cleanupIntervalMs: 0,
          bundleSource: { useFactory: (t: TraceStore) => new TraceStoreBundleSource(t), inject: [TraceStore] },
        })],
    }).compile();
    await moduleRef.init();
  }, 60_000);
  afterAll(() => moduleRef?.close());

  it('renders PDFs in-process and stores them in PGlite', async () => {
    const traces = moduleRef.get(TraceStore);
    const tenantId = (await moduleRef.get(TenantStore).createTenant('embedded', 'none')).tenant_id;
    const { trace } = await traces.createTrace(tenantId, { run_id: randomUUID(), agent_id: randomUUID() });
    await traces.addSteps(tenantId, trace.trace_id, steps(50));
    const sealed = await traces.completeTrace(tenantId, trace.trace_id, { status: 'completed' });
    const queue = moduleRef.get(PdfJobQueue);
    const jobs = await Promise.all((['evidence', 'soc2', 'executive'] as const).map((t) => queue.enqueue(tenantId, trace.trace_id, t)));
    await moduleRef.get(InProcessPdfDispatcher).queue.onIdle();
    for (const j of jobs) {
      const file = await moduleRef.get(ExportJobStore).getFile(tenantId, j.job_id);
      expect(pdfText(file.bytes)).toContain(sealed.content_hash!);
    }
  }, 60_000);
});
