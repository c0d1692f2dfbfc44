import { Logger } from '@nestjs/common';
import type { Database } from './database/database';

export interface StepSearchIndexerOptions {
  /** Pause between runs while the queue is empty, ms. */
  intervalMs?: number;
  /** Batches indexed per database call. */
  batchLimit?: number;
}

/**
 * Keeps the full-text index of step content up to date, off the ingestion
 * path: it drains `aos_step_search_queue` through `aos_index_step_search()`.
 * Any number of instances may run (they skip each other's batches).
 */
export class StepSearchIndexer {
  private readonly logger = new Logger(StepSearchIndexer.name);
  private readonly intervalMs: number;
  private readonly batchLimit: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = true;

  constructor(
    private readonly db: Database,
    options: StepSearchIndexerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 250;
    this.batchLimit = options.batchLimit ?? 200;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** Indexes until the queue is empty (tests, and `drain` before a search that must be complete). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.runOnce();
      total += n;
      if (n === 0) return total;
    }
  }

  /** One call to the indexer; answers the batches indexed. */
  runOnce(): Promise<number> {
    const run = (this.running ?? Promise.resolve(0)).catch(() => 0).then(async () => {
      const [row] = await this.db.query<{ n: number }>(`SELECT aos_index_step_search($1) AS n`, [this.batchLimit]);
      return Number(row?.n ?? 0);
    });
    this.running = run;
    return run;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .then((n) => this.schedule(n >= this.batchLimit ? 0 : this.intervalMs))
        .catch((err) => {
          this.logger.warn(`step search indexing failed, retrying: ${err instanceof Error ? err.message : String(err)}`);
          this.schedule(this.intervalMs * 8);
        });
    }, delay);
    this.timer.unref();
  }
}
