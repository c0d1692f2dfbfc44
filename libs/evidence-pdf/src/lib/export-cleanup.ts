import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import { ExportJobStore } from '@aos/traces-store';

export const EXPORT_CLEANUP_INTERVAL_MS = Symbol('EXPORT_CLEANUP_INTERVAL_MS');

/**
 * Removes expired export jobs and their files, every tenant's, through the
 * privileged `aos_purge_expired_exports()` (the serving role cannot delete a
 * live file). Runs where the jobs run: in the worker, or in the API without
 * Redis. Several copies running at once is harmless (SKIP LOCKED).
 */
@Injectable()
export class ExportCleanup implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ExportCleanup.name);
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;

  constructor(
    private readonly jobs: ExportJobStore,
    @Optional() @Inject(EXPORT_CLEANUP_INTERVAL_MS) intervalMs: number | null = null,
  ) {
    this.intervalMs = intervalMs ?? 3_600_000;
  }

  /** One pass: removes expired jobs in batches; answers how many. */
  async purgeExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const removed = await this.jobs.purgeExpired(1000);
      total += removed;
      if (removed < 1000) break;
    }
    if (total > 0) this.logger.log(`Removed ${total} expired export job(s) and their files`);
    return total;
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs <= 0) return;
    const tick = () => void this.purgeExpired().catch((err: unknown) => this.logger.warn(`Export cleanup failed: ${String(err)}`));
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
