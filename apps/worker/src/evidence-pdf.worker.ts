import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  BullMqPdfDispatcher,
  EVIDENCE_PDF_QUEUE,
  EvidencePdfJob,
  type EvidencePdfPayload,
  type EvidencePdfResult,
  isPermanentJobError,
  redisConnection,
} from '@aos/evidence-pdf';
import { ExportJobStore } from '@aos/traces-store';
import { WORKER_CONFIG, type WorkerConfig } from './config/worker-config';

/** How often the worker re-queues jobs recorded in PostgreSQL that Redis lost (a flushed or failed-over Redis). */
const RECONCILE_INTERVAL_MS = 5 * 60_000;

/**
 * Hosts the BullMQ Worker of the `evidence-pdf` queue around `EvidencePdfJob`.
 * A job whose worker dies (even by SIGKILL) keeps its lock only for
 * `lockDurationMs`; BullMQ's stalled-job check then hands it to a live worker.
 * At start, and every few minutes, jobs recorded as unfinished in PostgreSQL are
 * added again (a no-op for those Redis still holds), so a lost Redis loses no job.
 */
@Injectable()
export class EvidencePdfWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('EvidencePdfWorker');
  private worker: Worker | null = null;
  private connection: Redis | null = null;
  private producer: BullMqPdfDispatcher | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly pdf: EvidencePdfJob,
    private readonly jobs: ExportJobStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    if (!c.redisUrl) throw new Error('EvidencePdfWorker needs REDIS_URL');
    this.connection = redisConnection(c.redisUrl, 'worker');
    this.connection.on('error', (err) => this.logger.warn(`Redis: ${err.message}`));
    this.producer = new BullMqPdfDispatcher({ redisUrl: c.redisUrl, prefix: c.queuePrefix });
    this.worker = new Worker<EvidencePdfPayload, EvidencePdfResult>(EVIDENCE_PDF_QUEUE, (job) => this.process(job), {
      connection: this.connection,
      prefix: c.queuePrefix,
      concurrency: c.pdfRendering.concurrency,
      lockDuration: c.lockDurationMs,
      stalledInterval: c.stalledIntervalMs,
      // A job may lose its worker twice (crash, OOM kill, deploy) before it counts as failed.
      maxStalledCount: 2,
      autorun: false,
    });
    this.worker.on('error', (err) => this.logger.error(`worker: ${err.message}`));
    this.worker.on('stalled', (jobId) => this.logger.warn(`PDF job ${jobId} lost its worker; it is queued again`));
    this.worker.on('failed', (job, err) => void this.onFailed(job, err));
    await this.reconcile();
    void this.worker.run().catch((err: unknown) => this.logger.error(`worker stopped: ${String(err)}`));
    this.timer = setInterval(() => void this.reconcile(), RECONCILE_INTERVAL_MS);
    this.timer.unref();
    this.logger.log(
      `Processing queue ${EVIDENCE_PDF_QUEUE} (prefix ${c.queuePrefix}), concurrency ${c.pdfRendering.concurrency}, Chromium recycled every ${c.pdfRendering.recycleAfter} renders`,
    );
  }

  /** Lets running jobs finish (BullMQ waits for them), then stops; the renderer and database close after. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    if (this.worker) {
      this.logger.log('Stopping: waiting for running jobs to finish');
      await this.worker.close();
    }
    await this.producer?.close();
    this.connection?.disconnect();
  }

  private async process(job: Job<EvidencePdfPayload, EvidencePdfResult>): Promise<EvidencePdfResult> {
    try {
      const result = await this.pdf.run(job.data, { attemptsMade: job.attemptsMade, maxAttempts: job.opts.attempts ?? 1 });
      const hold = this.config.testCompleteDelayMs;
      if (hold > 0 && result.status === 'completed') {
        this.logger.warn(`Test hook: PDF job ${result.job_id} is stored; BullMQ records it done in ${hold} ms`);
        await new Promise((resolve) => setTimeout(resolve, hold));
      }
      return result;
    } catch (err) {
      // BullMQ retries everything but an UnrecoverableError.
      if (isPermanentJobError(err)) throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  /** A job BullMQ failed without running it (it stalled too often): record that in PostgreSQL too. */
  private async onFailed(job: Job<EvidencePdfPayload> | undefined, err: Error): Promise<void> {
    if (!job || !/stalled more than allowable limit/i.test(err.message)) return;
    const d = job.data;
    await this.jobs.fail(d.tenant_id, d.job_id, err.message).catch(() => undefined);
  }

  /** Adds every unfinished job of the table to the queue again (those still queued there are left alone). */
  private async reconcile(): Promise<void> {
    try {
      const unfinished = await this.jobs.listUnfinished();
      for (const j of unfinished) {
        await this.producer!.dispatch({ job_id: j.job_id, tenant_id: j.tenant_id, trace_id: j.trace_id, bundle_type: j.bundle_type, content_hash: j.content_hash });
      }
      if (unfinished.length > 0) this.logger.log(`Checked ${unfinished.length} unfinished PDF job(s) against the queue`);
    } catch (err) {
      this.logger.warn(`Could not reconcile unfinished PDF jobs: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
