import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';

export interface CheckpointPublisherOptions {
  /** Directory the signed checkpoints are written to, one folder per log. Unset: none. */
  directory?: string;
  /** URL each new checkpoint is POSTed to as JSON. Unset: none. */
  webhookUrl?: string;
  /** Webhook timeout, ms. */
  webhookTimeoutMs?: number;
}

export interface PublishedCheckpoint {
  log_id: string;
  origin: string;
  tree_size: number;
  note: string;
}

/**
 * Copies every signed checkpoint outside the database (a directory, ideally
 * on other storage, and/or a webhook such as a witness or an archive): whoever
 * truncates or rewrites the database's tail cannot also take back what was
 * published, so the next audit (or an auditor's saved note) sees the fork.
 */
export class CheckpointPublisher {
  private readonly logger = new Logger('CheckpointPublisher');

  constructor(private readonly options: CheckpointPublisherOptions) {}

  get directory(): string | undefined {
    return this.options.directory;
  }

  /** Writes `<dir>/<log>/<size>.note` and `latest.note` (each atomically), then calls the webhook. */
  async publish(cp: PublishedCheckpoint): Promise<void> {
    if (this.options.directory) {
      const dir = join(this.options.directory, cp.log_id);
      await mkdir(dir, { recursive: true });
      await writeAtomically(join(dir, `${cp.tree_size}.note`), cp.note);
      await writeAtomically(join(dir, 'latest.note'), cp.note);
    }
    if (this.options.webhookUrl) {
      try {
        const res = await fetch(this.options.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(cp),
          signal: AbortSignal.timeout(this.options.webhookTimeoutMs ?? 5000),
        });
        if (!res.ok) this.logger.warn(`checkpoint webhook answered ${res.status} for ${cp.origin} size ${cp.tree_size}`);
      } catch (err) {
        // The checkpoint is signed and stored; the next one carries the same history.
        this.logger.warn(`checkpoint webhook failed for ${cp.origin} size ${cp.tree_size}: ${(err as Error).message}`);
      }
    }
  }

  /** The latest checkpoint note written for a log, if the directory has one. */
  async latest(logId: string): Promise<string | null> {
    if (!this.options.directory) return null;
    try {
      return await readFile(join(this.options.directory, logId, 'latest.note'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}

/**
 * Replaces a file at once: written beside it, then renamed over it. The
 * temporary name is this write's own, since two requests of one process may
 * publish the same checkpoint at the same time.
 */
async function writeAtomically(path: string, data: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  await writeFile(tmp, data);
  await rename(tmp, path);
}
