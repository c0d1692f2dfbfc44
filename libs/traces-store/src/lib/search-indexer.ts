import { Logger } from '@nestjs/common';
import type { Database } from './database/database';

export interface SearchIndexerOptions {
  /** Pause between runs while the queue is empty, ms. */
  intervalMs?: number;
  /** Queued batches indexed per database call. */
  batchLimit?: number;
}

/**
 * Keeps a full-text index up to date off the ingestion path: calls an indexing
 * function (SECURITY DEFINER, `fn(p_limit) RETURNS integer`, answering the queued
 * batches it took) until its queue is empty, then every `intervalMs`. Any number
 * of instances may run (the functions skip each other's batches).
 */
export abstract class SearchIndexer {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly batchLimit: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = true;

  protected constructor(
    private readonly db: Database,
    private readonly fn: string,
    private readonly what: string,
    options: SearchIndexerOptions,
    defaults: Required<SearchIndexerOptions>,
  ) {
    this.logger = new Logger(new.target.name);
    this.intervalMs = options.intervalMs ?? defaults.intervalMs;
    this.batchLimit = options.batchLimit ?? defaults.batchLimit;
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
      const [row] = await this.db.query<{ n: number }>(`SELECT ${this.fn}($1) AS n`, [this.batchLimit]);
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
          this.logger.warn(`${this.what} indexing failed, retrying: ${err instanceof Error ? err.message : String(err)}`);
          this.schedule(this.intervalMs * 8);
        });
    }, delay);
    this.timer.unref();
  }
}
