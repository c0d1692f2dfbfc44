import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { BullMqPdfDispatcher, PdfJobQueue } from '@aos/evidence-pdf';
import type { NewStep } from '@aos/logs-domain';
import { type Database, ExportJobStore, openDatabase, TenantStore, TraceStore } from '@aos/traces-store';
import { createTestDatabaseUrl, dropTestDatabase } from '@aos/traces-store/testing';

/**
 * The real worker (`node dist/apps/worker/main.js`, built here) against real
 * Redis and PostgreSQL: a worker killed with SIGKILL in the middle of a render
 * loses nothing, and the next worker completes the job; asks while no worker
 * runs keep the one job; a worker killed after storing the file, before BullMQ
 * recorded the job done, leaves nothing to render again.
 */
const ROOT = resolve(__dirname, '../../..');
const ENTRY = resolve(ROOT, 'dist/apps/worker/main.js');
const REDIS_URL = process.env['REDIS_TEST_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = `aos-kill-test-${randomBytes(4).toString('hex')}`;

interface RunningWorker {
  child: ChildProcess;
  output: () => string;
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const WORKER_DATA_DIR = mkdtempSync(join(tmpdir(), 'aos-worker-'));
afterAll(() => rmSync(WORKER_DATA_DIR, { recursive: true, force: true }));

function startWorker(env: Record<string, string>): RunningWorker {
  const { NODE_OPTIONS: _ignored, ...parentEnv } = process.env;
  const child = spawn(process.execPath, [ENTRY], {
    cwd: ROOT,
    // The ledger key and published checkpoints go to a scratch directory, not the checkout's ./data.
    env: { ...parentEnv, NO_COLOR: '1', LOG_LEVEL: 'log', AOS_DATA_DIR: WORKER_DATA_DIR, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    listeners.forEach((l) => l());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => {
      listeners.forEach((l) => l());
      res({ code, signal });
    }),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor(pattern, ms = 60_000) {
      return new Promise((res, rej) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            res(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            listeners.delete(check);
            clearTimeout(timer);
            rej(new Error(`worker exited before printing ${pattern}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          rej(new Error(`timed out waiting for ${pattern}:\n${out}`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
  };
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(probe: () => Promise<T | null | undefined | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('apps/worker (real process, Redis and PostgreSQL)', () => {
  let databaseUrl: string;
  let db: Database;
  let traces: TraceStore;
  let jobs: ExportJobStore;
  let dispatcher: BullMqPdfDispatcher;
  let producer: PdfJobQueue;
  let tenantId: string;

  beforeAll(async () => {
    // Build what `npm run start:worker` runs.
    execFileSync('npx', ['nx', 'run', 'worker:build', '--skip-nx-cache'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
      stdio: 'pipe',
      timeout: 240_000,
    });
    expect(existsSync(ENTRY)).toBe(true);
    databaseUrl = await createTestDatabaseUrl();
    db = await openDatabase({ databaseUrl, poolSize: 4 });
    traces = new TraceStore(db);
    jobs = new ExportJobStore(db);
    dispatcher = new BullMqPdfDispatcher({ redisUrl: REDIS_URL, prefix: PREFIX });
    producer = new PdfJobQueue(traces, jobs, dispatcher);
    tenantId = (await new TenantStore(db).createTenant('kill-test', 'soc2')).tenant_id;
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await dispatcher?.queue.obliterate({ force: true }).catch(() => undefined);
    await dispatcher?.close();
    await db?.close();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  /** A sealed trace big enough that its PDF takes seconds to render. */
  const bigSealedTrace = async (n: number) => {
    const { trace } = await traces.createTrace(tenantId, { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'refund-assistant' });
    const all: NewStep[] = Array.from({ length: n }, (_, i) => ({
      step_index: i,
      step_type: i === 0 ? 'input' : 'llm_call',
      timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, 0, i * 10)).toISOString(),
      tokens: 5,
      input_data: { q: i },
      output_data: { a: `answer ${i}` },
    }));
    for (let i = 0; i < n; i += 1000) await traces.addSteps(tenantId, trace.trace_id, all.slice(i, i + 1000));
    await traces.markViolation(tenantId, trace.trace_id, { step_index: Math.floor(n / 2), policy_id: randomUUID(), reason: 'refund above limit' });
    return traces.completeTrace(tenantId, trace.trace_id, { status: 'failed' });
  };

  const workerEnv = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    AOS_QUEUE_PREFIX: PREFIX,
    // Short locks so a dead worker's job is taken up again in seconds, not 30 s.
    AOS_QUEUE_LOCK_MS: '2000',
    AOS_QUEUE_STALLED_INTERVAL_MS: '1000',
    ...extra,
  });

  it('loses nothing when a worker is killed with SIGKILL mid-render: the next worker completes the job', async () => {
    const trace = await bigSealedTrace(1500);
    const job = await producer.enqueue(tenantId, trace.trace_id, 'soc2');
    expect(job.status).toBe('queued');

    const first = startWorker(workerEnv({ AOS_WORKER_TEST_RENDER_DELAY_MS: '500' }));
    await first.waitFor(new RegExp(`Rendering soc2 PDF job ${job.job_id}`));
    expect(await jobs.getJob(tenantId, job.job_id)).toMatchObject({ status: 'running', attempts: 1 });
    const [, chromiumPid] = await first.waitFor(/Chromium launched \(pid (\d+)/);
    await new Promise((r) => setTimeout(r, 400));
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(first.output()).not.toContain('Completed PDF job');
    expect((await jobs.getJob(tenantId, job.job_id)).status).toBe('running');
    // Chromium talks to its worker over a pipe: with the worker gone, it exits too.
    await until(async () => !isAlive(Number(chromiumPid)), 15_000, `Chromium ${chromiumPid} to exit`);

    const second = startWorker(workerEnv());
    const done = await until(
      async () => {
        const j = await jobs.getJob(tenantId, job.job_id);
        return j.status === 'completed' ? j : null;
      },
      90_000,
      'the job to complete on the second worker',
    );
    expect(done.attempts).toBe(2);
    expect(done.file).toMatchObject({ content_type: 'application/pdf' });
    const file = await jobs.getFile(tenantId, job.job_id);
    expect(file.bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const text = execFileSync('pdftotext', ['-layout', '-', '-'], { input: file.bytes }).toString();
    expect(text).toContain(trace.trace_id);
    expect(text).toContain(trace.content_hash!);
    for (const c of ['CC7.2', 'CC7.3', 'CC7.4']) expect(text).toContain(c);
    expect(second.output()).toContain(`Completed PDF job ${job.job_id}`);

    // Asking again answers the same, completed job.
    expect(await producer.enqueue(tenantId, trace.trace_id, 'soc2')).toMatchObject({ job_id: job.job_id, status: 'completed' });

    // SIGTERM: a graceful stop (the worker, Chromium and the database close), exit code 0.
    second.child.kill('SIGTERM');
    const exit = await second.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    expect(second.output()).toContain('Stopping: waiting for running jobs to finish');
  }, 180_000);

  it('keeps one job through asks while its worker is dead, and renders it once when a worker dies after storing the file', async () => {
    const owner = new Client({ connectionString: databaseUrl });
    await owner.connect();
    const ownerCount = async (sql: string, params: unknown[] = []) => Number((await owner.query<{ n: string }>(sql, params)).rows[0].n);
    try {
      const auditRows = await ownerCount(`SELECT count(*) AS n FROM audit_logs`);
      const trace = await bigSealedTrace(300);
      // Asks at once (what the API's PDF routes call): one job.
      const asks = await Promise.all([0, 1, 2].map(() => producer.enqueue(tenantId, trace.trace_id, 'executive')));
      const jobId = asks[0].job_id;
      expect(asks.map((j) => j.job_id)).toEqual([jobId, jobId, jobId]);

      const first = startWorker(workerEnv({ AOS_WORKER_TEST_RENDER_DELAY_MS: '3000' }));
      await first.waitFor(new RegExp(`Rendering executive PDF job ${jobId}`));
      first.child.kill('SIGKILL');
      await first.exited;

      // Asked again at once while no worker runs: the same running job, still one BullMQ job.
      const again = await Promise.all([0, 1, 2].map(() => producer.enqueue(tenantId, trace.trace_id, 'executive')));
      expect(again.map((j) => [j.job_id, j.status])).toEqual(Array(3).fill([jobId, 'running']));
      const inRedis = await dispatcher.queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed']);
      expect(inRedis.filter((j) => j.data?.job_id === jobId).map((j) => j.id)).toEqual([jobId]);

      // The next worker stores the file, and dies before BullMQ has recorded the job done.
      const second = startWorker(workerEnv({ AOS_WORKER_TEST_COMPLETE_DELAY_MS: '60000' }));
      await second.waitFor(new RegExp(`Test hook: PDF job ${jobId} is stored`), 60_000);
      second.child.kill('SIGKILL');
      await second.exited;
      const stored = await jobs.getJob(tenantId, jobId);
      expect(stored).toMatchObject({ status: 'completed', attempts: 2 });
      const file = await jobs.getFile(tenantId, jobId);

      // A third worker is handed the job again (its lock died with its worker) and renders nothing.
      const third = startWorker(workerEnv());
      const redelivered = await until(
        async () => {
          const j = await dispatcher.queue.getJob(jobId);
          return j && (await j.getState()) === 'completed' ? j : null;
        },
        30_000,
        'BullMQ to record the job done on the third worker',
      );
      expect(redelivered.returnvalue).toMatchObject({ status: 'skipped', job_id: jobId });
      expect(third.output()).not.toMatch(new RegExp(`Rendering executive PDF job ${jobId}`));
      expect(await jobs.getJob(tenantId, jobId)).toEqual(stored);
      expect((await jobs.getFile(tenantId, jobId)).sha256).toBe(file.sha256);
      expect(await ownerCount(`SELECT count(*) AS n FROM export_jobs WHERE trace_id = $1`, [trace.trace_id])).toBe(1);
      expect(await ownerCount(`SELECT count(*) AS n FROM export_files WHERE job_id = $1`, [jobId])).toBe(1);
      // The API audits each ask; workers, killed or not, audit nothing.
      expect(await ownerCount(`SELECT count(*) AS n FROM audit_logs`)).toBe(auditRows);
      third.child.kill('SIGTERM');
      await third.exited;
    } finally {
      await owner.end();
    }
  }, 120_000);

  it('waits for the API to migrate the database, and gives up naming what is pending', async () => {
    const empty = await createTestDatabaseUrl();
    try {
      const w = startWorker({ ...workerEnv(), DATABASE_URL: empty, AOS_WORKER_DATABASE_WAIT_MS: '1500' });
      await w.waitFor(/Waiting for the API to migrate the database/);
      expect((await w.exited).code).toBe(1);
      expect(w.output()).toContain('InitialSchema1769000000000');
    } finally {
      await dropTestDatabase(empty);
    }
  }, 30_000);

  it('says it has nothing to do without REDIS_URL and exits 0', async () => {
    const w = startWorker({ REDIS_URL: '', DATABASE_URL: '' });
    expect((await w.exited).code).toBe(0);
    expect(w.output()).toContain('REDIS_URL is not set');
  }, 30_000);

  it('refuses REDIS_URL without DATABASE_URL (exit 2, naming the setting)', async () => {
    const w = startWorker({ REDIS_URL, DATABASE_URL: '' });
    expect((await w.exited).code).toBe(2);
    expect(w.output()).toContain('DATABASE_URL is required with REDIS_URL');
  }, 30_000);
});
