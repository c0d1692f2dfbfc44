import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type PurgeReport, RetentionService } from '@aos/audit';
import { redisConnection } from '@aos/evidence-pdf';
import { WORKER_CONFIG, type WorkerConfig } from './config/worker-config';

/** The BullMQ queue of the retention purge. */
export const RETENTION_QUEUE = 'retention';
/** One job scheduler for the whole deployment: every worker upserts the same one. */
export const RETENTION_SCHEDULER_ID = 'retention-purge';

/** What a purge job answers (kept small in Redis; the audit trail has the details). */
export interface RetentionJobResult {
  now: string;
  removed: number;
  tenants: number;
  failed: number;
}

export function summarise(report: PurgeReport): RetentionJobResult {
  return {
    now: report.now,
    removed: report.tenants.reduce((n, t) => n + t.removed, 0),
    tenants: report.tenants.filter((t) => t.tenant_id !== null).length,
    failed: report.tenants.filter((t) => t.error !== undefined).length,
  };
}

/**
 * The scheduled retention purge (spec 10, DESIGN.md 7): a BullMQ repeatable job
 * (a job scheduler, every `AOS_RETENTION_INTERVAL_MS`, hourly by default). Any
 * number of workers upsert the same scheduler, so one purge runs per interval;
 * concurrency 1 per worker, and the purge itself works in bounded batches
 * (SKIP LOCKED), so two overlapping runs would not remove anything twice.
 */
@Injectable()
export class RetentionWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RetentionWorker');
  private queue: Queue | null = null;
  private worker: Worker | null = null;
  private connection: Redis | null = null;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly retention: RetentionService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    if (!c.redisUrl || c.retentionIntervalMs <= 0) return;
    this.connection = redisConnection(c.redisUrl, 'worker');
    this.connection.on('error', (err) => this.logger.warn(`Redis: ${err.message}`));
    this.queue = new Queue(RETENTION_QUEUE, { connection: this.connection, prefix: c.queuePrefix });
    await this.queue.upsertJobScheduler(
      RETENTION_SCHEDULER_ID,
      { every: c.retentionIntervalMs },
      { name: RETENTION_SCHEDULER_ID, opts: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
    );
    this.worker = new Worker<unknown, RetentionJobResult>(RETENTION_QUEUE, () => this.run(), {
      connection: this.connection,
      prefix: c.queuePrefix,
      concurrency: 1,
      // A purge of a large backlog takes a while: keep the lock renewed generously.
      lockDuration: Math.max(c.lockDurationMs, 60_000),
      autorun: true,
    });
    this.worker.on('error', (err) => this.logger.error(`retention worker: ${err.message}`));
    this.worker.on('failed', (_job, err) => this.logger.warn(`Retention purge failed: ${err.message}`));
    this.logger.log(`Retention purge scheduled every ${c.retentionIntervalMs} ms (queue ${RETENTION_QUEUE}, prefix ${c.queuePrefix})`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
    this.connection?.disconnect();
  }

  /** One purge over every tenant (what the job runs). */
  async run(): Promise<RetentionJobResult> {
    const result = summarise(await this.retention.purge());
    if (result.removed > 0 || result.failed > 0) this.logger.log(`Retention purge: ${result.removed} record(s) removed, ${result.failed} tenant(s) failed`);
    return result;
  }
}
