import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { UnavailableError } from '@aos/logs-domain';
import type { EvidencePdfPayload } from './evidence-pdf.job';
import type { PdfJobDispatcher, PdfQueueHealth } from './pdf-job-queue';
import { DEFAULT_QUEUE_PREFIX, EVIDENCE_PDF_JOB_NAME, EVIDENCE_PDF_QUEUE, PDF_JOB_OPTIONS, redisConnection } from './queue';

export interface BullMqPdfDispatcherOptions {
  redisUrl: string;
  /** Redis key prefix (default `aos`); the worker must use the same. */
  prefix?: string;
  /** Longest a dispatch may wait for Redis before answering 503, ms (default 3 000). */
  timeoutMs?: number;
}

/**
 * Adds PDF jobs to the BullMQ queue `evidence-pdf`. The BullMQ job id is the
 * export job id (a UUID: neither an integer nor containing ':', which BullMQ
 * refuses in custom ids), so a job that is waiting, delayed or active is not
 * added twice; a finished one still in Redis's history is replaced.
 */
export class BullMqPdfDispatcher implements PdfJobDispatcher {
  private readonly logger = new Logger(BullMqPdfDispatcher.name);
  private readonly connection: Redis;
  private readonly timeoutMs: number;
  readonly queue: Queue;

  constructor(options: BullMqPdfDispatcherOptions) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.connection = redisConnection(options.redisUrl, 'producer');
    // ioredis reports connection errors as events; without a listener they would be thrown.
    this.connection.on('error', (err) => this.logger.debug(`Redis: ${err.message}`));
    this.queue = new Queue(EVIDENCE_PDF_QUEUE, { connection: this.connection, prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX });
    this.queue.on('error', (err) => this.logger.debug(`queue: ${err.message}`));
  }

  async dispatch(payload: EvidencePdfPayload): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      // BullMQ waits for a connection that may never come: fail fast instead.
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from Redis within ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      await Promise.race([this.add(payload), deadline]);
    } catch (err) {
      this.logger.warn(`Could not queue PDF job ${payload.job_id}: ${err instanceof Error ? err.message : String(err)}`);
      throw new UnavailableError('the job queue is not reachable; the export job is recorded and will be queued again when asked or when a worker starts', {
        job_id: payload.job_id,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private async add(payload: EvidencePdfPayload): Promise<void> {
    const existing = await this.queue.getJob(payload.job_id);
    if (existing) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
      // Asked again after it finished (a failed job retried, an expired file renewed).
      await existing.remove();
    }
    await this.queue.add(EVIDENCE_PDF_JOB_NAME, payload, { ...PDF_JOB_OPTIONS, jobId: payload.job_id });
  }

  async health(): Promise<PdfQueueHealth> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const pong = await Promise.race([
        this.connection.ping(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 1_000))),
      ]);
      return { kind: 'bullmq', status: pong === 'PONG' ? 'up' : 'down' };
    } catch {
      return { kind: 'bullmq', status: 'down' };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue.close(), new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]).catch(() => undefined);
    clearTimeout(timer);
    this.connection.disconnect();
  }
}
