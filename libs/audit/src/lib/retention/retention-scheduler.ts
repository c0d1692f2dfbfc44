import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { PurgeReport, RetentionService } from './retention.service';

/** Default interval of the scheduled purge: hourly. */
export const DEFAULT_RETENTION_INTERVAL_MS = 3_600_000;

/**
 * Runs the retention purge in this process on a timer (unref'd, like the step
 * search indexer): the embedded default, without Redis. With Redis the worker
 * runs it as a BullMQ repeatable job instead. `intervalMs` 0 turns it off.
 * A run never overlaps the previous one.
 */
export class RetentionScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RetentionScheduler');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PurgeReport | null> | null = null;

  constructor(
    private readonly retention: RetentionService,
    private readonly intervalMs: number,
  ) {}

  onApplicationBootstrap(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One scheduled purge over every tenant (skipped while the previous one runs). */
  runOnce(): Promise<PurgeReport | null> {
    if (this.running) return this.running;
    this.running = this.retention
      .purge()
      .catch((err: unknown) => {
        this.logger.warn(`Retention purge failed: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }
}
