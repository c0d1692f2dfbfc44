import { type BeforeApplicationShutdown, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { LedgerService } from './ledger.service';

/** Default checkpoint interval: every 10 seconds. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;

/**
 * Signs checkpoints for every log with new leaves on a timer (unref'd; a run
 * never overlaps the previous one), and once more before shutdown so the last
 * writes are covered. Any number of instances may run it: two signers of the
 * same size store one checkpoint. `intervalMs` 0 turns the timer off
 * (checkpoints are then signed on demand, by proofs and evidence).
 */
export class CheckpointScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CheckpointScheduler');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | null = null;

  constructor(
    private readonly ledger: LedgerService,
    private readonly intervalMs: number,
  ) {}

  onApplicationBootstrap(): void {
    if (this.intervalMs <= 0 || !this.ledger.enabled) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    if (this.intervalMs > 0 && this.ledger.enabled) await this.runOnce();
  }

  runOnce(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.ledger
      .signPending()
      .catch((err: unknown) => {
        this.logger.warn(`checkpoint signing failed: ${err instanceof Error ? err.message : String(err)}`);
        return 0;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }
}
