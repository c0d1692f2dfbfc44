import type { JobAttempt } from './evidence-pdf.job';

export interface InProcessQueueOptions {
  /** Jobs running at once (default 2). */
  concurrency?: number;
  /** Attempts per job, the first included (default 5). */
  attempts?: number;
  /** First retry delay, ms; doubles each retry (default 2 000). */
  backoffMs?: number;
}

type Handler<T> = (data: T, attempt: JobAttempt) => Promise<unknown>;

interface Entry<T> {
  data: T;
  attemptsMade: number;
  state: 'waiting' | 'delayed' | 'active';
  timer?: NodeJS.Timeout;
}

/**
 * The BullMQ semantics the embedded mode needs, in memory: a job id is queued
 * once while it waits, waits to retry or runs; failures retry with exponential
 * backoff up to `attempts` unless `isPermanent(error)`; at most `concurrency`
 * jobs run at once. Nothing is persisted here: the caller records jobs in
 * PostgreSQL and queues the unfinished ones again after a restart.
 */
export class InProcessQueue<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly waiting: string[] = [];
  private readonly concurrency: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private active = 0;
  private closed = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly handler: Handler<T>,
    private readonly isPermanent: (err: unknown) => boolean = () => false,
    options: InProcessQueueOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 2;
    this.attempts = options.attempts ?? 5;
    this.backoffMs = options.backoffMs ?? 2_000;
    if (!(this.concurrency >= 1 && this.attempts >= 1 && this.backoffMs >= 0)) throw new RangeError('invalid in-process queue options');
  }

  /** Queues a job; false (and nothing happens) if this id is already waiting, delayed or running. */
  add(id: string, data: T): boolean {
    if (this.closed) throw new Error('the in-process queue is closed');
    if (this.entries.has(id)) return false;
    this.entries.set(id, { data, attemptsMade: 0, state: 'waiting' });
    this.waiting.push(id);
    this.pump();
    return true;
  }

  counts(): { waiting: number; delayed: number; active: number } {
    let delayed = 0;
    for (const e of this.entries.values()) if (e.state === 'delayed') delayed++;
    return { waiting: this.waiting.length, delayed, active: this.active };
  }

  /** Resolves once nothing waits, waits to retry or runs. */
  onIdle(): Promise<void> {
    if (this.entries.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops taking jobs, drops pending retries and waits for running jobs to end. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [id, e] of this.entries) {
      if (e.state !== 'active') {
        clearTimeout(e.timer);
        this.entries.delete(id);
      }
    }
    this.waiting.length = 0;
    await this.onIdle();
  }

  private pump(): void {
    while (!this.closed && this.active < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      const entry = this.entries.get(id);
      if (!entry) continue;
      entry.state = 'active';
      this.active++;
      void this.runOne(id, entry);
    }
    if (this.entries.size === 0) {
      const waiters = this.idle;
      this.idle = [];
      waiters.forEach((resolve) => resolve());
    }
  }

  private async runOne(id: string, entry: Entry<T>): Promise<void> {
    try {
      await this.handler(entry.data, { attemptsMade: entry.attemptsMade, maxAttempts: this.attempts });
      this.entries.delete(id);
    } catch (err) {
      entry.attemptsMade++;
      if (this.closed || this.isPermanent(err) || entry.attemptsMade >= this.attempts) {
        this.entries.delete(id);
      } else {
        entry.state = 'delayed';
        const delay = this.backoffMs * 2 ** (entry.attemptsMade - 1);
        entry.timer = setTimeout(() => {
          entry.state = 'waiting';
          this.waiting.push(id);
          this.pump();
        }, delay);
        entry.timer.unref?.();
      }
    } finally {
      this.active--;
      this.pump();
    }
  }
}
