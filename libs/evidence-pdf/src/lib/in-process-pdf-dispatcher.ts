import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import { ExportJobStore } from '@aos/traces-store';
import { EvidencePdfJob, type EvidencePdfPayload, isPermanentJobError } from './evidence-pdf.job';
import { InProcessQueue, type InProcessQueueOptions } from './in-process-queue';
import type { PdfJobDispatcher, PdfQueueHealth } from './pdf-job-queue';
import { PDF_JOB_ATTEMPTS, PDF_JOB_BACKOFF_MS } from './queue';

export const IN_PROCESS_QUEUE_OPTIONS = Symbol('IN_PROCESS_QUEUE_OPTIONS');

/**
 * Runs PDF jobs inside this process when there is no Redis (the embedded
 * default): the same `EvidencePdfJob`, with the queue semantics of BullMQ
 * (idempotent by job id, retries with backoff, bounded concurrency). Jobs live
 * in `export_jobs`, so on start every queued or running job is queued again:
 * a restart mid-render loses nothing.
 */
@Injectable()
export class InProcessPdfDispatcher implements PdfJobDispatcher, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(InProcessPdfDispatcher.name);
  readonly queue: InProcessQueue<EvidencePdfPayload>;

  constructor(
    job: EvidencePdfJob,
    private readonly jobs: ExportJobStore,
    @Optional() @Inject(IN_PROCESS_QUEUE_OPTIONS) options: InProcessQueueOptions | null = null,
  ) {
    this.queue = new InProcessQueue<EvidencePdfPayload>((data, attempt) => job.run(data, attempt), isPermanentJobError, {
      attempts: PDF_JOB_ATTEMPTS,
      backoffMs: PDF_JOB_BACKOFF_MS,
      ...(options ?? {}),
    });
  }

  async dispatch(payload: EvidencePdfPayload): Promise<void> {
    this.queue.add(payload.job_id, payload);
  }

  async health(): Promise<PdfQueueHealth> {
    return { kind: 'in-process', status: 'up' };
  }

  /** Queues again what a previous run of this process left unfinished. */
  async recover(): Promise<number> {
    const unfinished = await this.jobs.listUnfinished();
    let added = 0;
    for (const j of unfinished) {
      const payload: EvidencePdfPayload = {
        job_id: j.job_id,
        tenant_id: j.tenant_id,
        trace_id: j.trace_id,
        bundle_type: j.bundle_type,
        content_hash: j.content_hash,
      };
      if (this.queue.add(j.job_id, payload)) added++;
    }
    if (added > 0) this.logger.log(`Queued ${added} unfinished PDF job(s) again after a restart`);
    return added;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.recover().catch((err: unknown) => this.logger.error(`Could not recover unfinished PDF jobs: ${String(err)}`));
  }

  /** Before the renderer and the database close: let running jobs end (pending ones stay queued in the table). */
  async onModuleDestroy(): Promise<void> {
    await this.queue.close();
  }
}
