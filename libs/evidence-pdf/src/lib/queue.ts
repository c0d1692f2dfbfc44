import { Redis, type RedisOptions } from 'ioredis';

/** The BullMQ queue of PDF jobs (issue 4). */
export const EVIDENCE_PDF_QUEUE = 'evidence-pdf';
/** BullMQ job name of a render. */
export const EVIDENCE_PDF_JOB_NAME = 'render-evidence-pdf';
/** Key prefix of the queues in Redis; a test run or a second deployment uses its own. */
export const DEFAULT_QUEUE_PREFIX = 'aos';

/** Retries and bounds shared by the BullMQ queue and the in-process queue. */
export const PDF_JOB_ATTEMPTS = 5;
/** First retry delay; doubles each time (2 s, 4 s, 8 s, 16 s). */
export const PDF_JOB_BACKOFF_MS = 2_000;

/** BullMQ options of every PDF job: retries with exponential backoff, bounded history in Redis. */
export const PDF_JOB_OPTIONS = {
  attempts: PDF_JOB_ATTEMPTS,
  backoff: { type: 'exponential' as const, delay: PDF_JOB_BACKOFF_MS },
  // The outcome lives in PostgreSQL (export_jobs); Redis keeps only a bounded history.
  removeOnComplete: { age: 24 * 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5_000 },
};

/**
 * An ioredis connection for BullMQ. Producers (behind HTTP) fail fast when Redis
 * is down (no offline queue); workers block on Redis and need
 * `maxRetriesPerRequest: null`.
 */
export function redisConnection(url: string, role: 'producer' | 'worker', extra: RedisOptions = {}): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, ...extra }
      : { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5_000, ...extra };
  return new Redis(url, options);
}
