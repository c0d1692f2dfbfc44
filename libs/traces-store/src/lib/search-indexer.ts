import { Logger } from '@nestjs/common';
import type { Database } from './database/database';

export interface SearchIndexerOptions {
  /** Pause between runs while the queue is empty, ms. */
  intervalMs?: number;
  /** Queued batches indexed per database call. */
  batchLimit?: number;
  /**
   * How far the index may fall behind the writes while they keep arriving, ms
   * (default 60 s; 0: never yield). Until then the indexer yields the CPU to
   * the writes: it works `yieldShare` of the time, in calls of a tenth of
   * `batchLimit`. Beyond it, and once the writes pause, it runs flat out.
   */
  maxLagMs?: number;
  /** Share of wall time the indexer works while it yields (default 0.25). */
  yieldShare?: number;
}

/** The writes count as arriving while the newest queued batch is younger than this, ms. */
const WRITES_ARRIVING_MS = 1_000;

interface Backlog {
  oldest_age_ms: number | null;
  newest_age_ms: number | null;
}

/**
 * Keeps a full-text index up to date off the ingestion path: calls an indexing
 * function (SECURITY DEFINER, `fn(p_limit) RETURNS integer`, answering the queued
 * batches it took) until its queue is empty, then every `intervalMs`. Any number
 * of instances may run (the functions skip each other's batches).
 *
 * Indexing costs the database more CPU than the write it follows (a step's
 * text-search parse is ~3x its insert, docs/benchmarks.md section 1), so under a
 * burst of writes a flat-out indexer takes the CPU the writes need. It paces
 * itself instead, as autovacuum's cost delay does: while batches keep arriving
 * (the backlog function: the ages of the oldest and newest queued batch) and the
 * oldest is younger than `maxLagMs`, it works `yieldShare` of the time, and the
 * backlog waits for the burst to end. A search meanwhile finds what is indexed.
 */
export abstract class SearchIndexer {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly batchLimit: number;
  private readonly maxLagMs: number;
  private readonly yieldShare: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  /** The scheduled round in flight (its backlog query included), which stop() awaits. */
  private scheduled: Promise<number> | null = null;
  private stopped = true;
  /** Set while the backlog is over `maxLagMs`, until the queue is empty again: one warning per episode. */
  private behind = false;

  protected constructor(
    private readonly db: Database,
    private readonly fn: string,
    private readonly backlogFn: string,
    private readonly what: string,
    options: SearchIndexerOptions,
    defaults: Required<Pick<SearchIndexerOptions, 'intervalMs' | 'batchLimit'>>,
  ) {
    this.logger = new Logger(new.target.name);
    this.intervalMs = options.intervalMs ?? defaults.intervalMs;
    this.batchLimit = options.batchLimit ?? defaults.batchLimit;
    this.maxLagMs = options.maxLagMs ?? 60_000;
    this.yieldShare = options.yieldShare ?? 0.25;
    if (!(this.yieldShare > 0 && this.yieldShare <= 1)) throw new RangeError(`yieldShare must be in (0, 1], got ${this.yieldShare}`);
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
    await this.scheduled?.catch(() => undefined);
    await this.running?.catch(() => undefined);
  }

  /** Indexes until the queue is empty, flat out (tests, and `drain` before a search that must be complete). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.runOnce();
      total += n;
      if (n === 0) return total;
    }
  }

  /**
   * Indexes flat out until every batch queued before this call is indexed, so a
   * search run next sees every write committed before it (an export with a search
   * term must not miss records still waiting while the indexer yields to a burst).
   * Answers false when that takes longer than `timeoutMs`. The ages the backlog
   * function answers are durations on the database's clock; the wait's own
   * duration, read before each query, is compared with them, so no two clocks
   * need agree.
   */
  async catchUp(timeoutMs: number): Promise<boolean> {
    const started = performance.now();
    for (;;) {
      const waited = performance.now() - started;
      const b = await this.backlog();
      // The oldest batch left was queued after this call began: everything before it is indexed.
      // (Less 1 ms: `queued_at` is rounded to the millisecond, up as well as down.)
      if (b?.oldest_age_ms == null || b.oldest_age_ms < waited - 1) return true;
      if (waited > timeoutMs) return false;
      // The deadline holds even while one call runs long (a huge document): the call goes on.
      const call = this.runOnce();
      call.catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<number>((r) => (timer = setTimeout(() => r(-1), timeoutMs - waited + 1)));
      const indexed = await Promise.race([call, deadline]).finally(() => clearTimeout(timer));
      // None taken: another indexer holds them (SKIP LOCKED); its call ends soon.
      if (indexed === 0) await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** One call to the indexer, of up to `limit` batches; answers the batches indexed. */
  runOnce(limit = this.batchLimit): Promise<number> {
    const run = (this.running ?? Promise.resolve(0)).catch(() => 0).then(async () => {
      const [row] = await this.db.query<{ n: number }>(`SELECT ${this.fn}($1) AS n`, [limit]);
      return Number(row?.n ?? 0);
    });
    this.running = run;
    return run;
  }

  /** Whether to yield to the writes now: 'idle' (nothing queued), 'yield' or 'full'. */
  async pace(): Promise<'idle' | 'yield' | 'full'> {
    if (this.maxLagMs === 0) return 'full';
    const b = await this.backlog();
    if (b?.oldest_age_ms == null || b.newest_age_ms == null) {
      if (this.behind) this.logger.log(`${this.what} index caught up with the writes`);
      this.behind = false;
      return 'idle';
    }
    if (b.oldest_age_ms >= this.maxLagMs) {
      if (!this.behind) {
        this.logger.warn(
          `${this.what} index is ${Math.round(b.oldest_age_ms / 1000)} s behind the writes (allowed ${this.maxLagMs / 1000} s): indexing flat out, beside them`,
        );
      }
      this.behind = true;
      return 'full';
    }
    return b.newest_age_ms < WRITES_ARRIVING_MS ? 'yield' : 'full';
  }

  /** The ages of the oldest and newest queued batch, ms (null when none is queued). */
  private async backlog(): Promise<Backlog | undefined> {
    const [b] = await this.db.query<Backlog>(`SELECT oldest_age_ms, newest_age_ms FROM ${this.backlogFn}()`);
    return b;
  }

  /** One round of the schedule (public for tests): paces, indexes, and answers the pause before the next round, ms. */
  async round(): Promise<number> {
    const pace = await this.pace();
    if (pace === 'idle') return this.intervalMs;
    const limit = pace === 'yield' ? Math.max(1, Math.ceil(this.batchLimit / 10)) : this.batchLimit;
    const started = performance.now();
    const n = await this.runOnce(limit);
    if (pace === 'yield' && n > 0) return Math.max(this.intervalMs, (performance.now() - started) * (1 / this.yieldShare - 1));
    return n >= limit ? 0 : this.intervalMs;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.scheduled = this.round();
      this.scheduled
        .then((next) => this.schedule(next))
        .catch((err) => {
          this.logger.warn(`${this.what} indexing failed, retrying: ${err instanceof Error ? err.message : String(err)}`);
          this.schedule(this.intervalMs * 8);
        });
    }, delay);
    this.timer.unref();
  }
}
