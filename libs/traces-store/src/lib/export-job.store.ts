import { v5 as uuidv5 } from 'uuid';
import {
  type BundleType,
  ConflictError,
  type ExportFile,
  type ExportJob,
  type ExportJobStatus,
  NotFoundError,
  sha256Hex,
} from '@aos/logs-domain';
import type { Database, Sql } from './database/database';
import { iso } from './rows';

/** What a rendered document is made from; one job per key (DESIGN.md 8 "Exports"). */
export interface ExportJobKey {
  trace_id: string;
  bundle_type: BundleType;
  /** The sealed trace hash. */
  content_hash: string;
}

export interface EnqueueResult {
  job: ExportJob;
  /** True when this call made the row (first ask, or a failed/expired job asked for again). */
  created: boolean;
  /** True when the job still has to run: hand it to the queue (adding it twice is harmless). */
  needsDispatch: boolean;
}

/** An unfinished job as restart recovery sees it (any tenant). */
export interface UnfinishedExportJob {
  job_id: string;
  tenant_id: string;
  trace_id: string;
  bundle_type: BundleType;
  content_hash: string;
  status: Extract<ExportJobStatus, 'queued' | 'running'>;
  attempts: number;
}

export interface ExportJobStoreOptions {
  /** How long a job and its file live, seconds (default 7 days). Counted again from completion. */
  ttlSeconds?: number;
}

export const DEFAULT_EXPORT_TTL_SECONDS = 7 * 24 * 3600;

/** Namespace of the deterministic export job ids (UUID v5). Never change it: ids would change. */
export const EXPORT_JOB_NAMESPACE = '5d0f3a8e-6c1b-4f0e-9a53-0b7e2f4c9d11';

/** The longest error text kept on a job. */
const MAX_ERROR_LENGTH = 2000;

const JOB_COLUMNS = `j.job_id, j.tenant_id, j.trace_id, j.bundle_type, j.content_hash, j.status, j.attempts, j.error,
  j.created_at, j.updated_at, j.completed_at, j.expires_at, f.content_type AS file_content_type, f.size AS file_size,
  f.sha256 AS file_sha256`;
const JOB_FROM = `export_jobs j LEFT JOIN export_files f ON f.job_id = j.job_id`;

/**
 * PDF export jobs and their files (table `export_jobs`, `export_files`). Every
 * call is scoped to one tenant (row-level security); an expired job is gone
 * (404) and asking for it again starts it afresh under the same id.
 */
export class ExportJobStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly db: Database,
    options: ExportJobStoreOptions = {},
  ) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_EXPORT_TTL_SECONDS;
    if (!Number.isInteger(this.ttlSeconds) || this.ttlSeconds < 1) throw new RangeError('ttlSeconds must be a positive integer');
  }

  /** The job id of a key: UUID v5 over (tenant, trace, bundle type, hash), the same in every process. */
  static jobIdFor(tenantId: string, key: ExportJobKey): string {
    const name = [tenantId, key.trace_id, key.bundle_type, key.content_hash, 'pdf'].map((s) => s.toLowerCase()).join('/');
    return uuidv5(name, EXPORT_JOB_NAMESPACE);
  }

  /**
   * The job for this key: made if absent, answered as it is if queued, running
   * or completed, and reset to `queued` (same id, attempts from 0) if it failed
   * or expired, so asking again retries it.
   */
  async enqueueOrGet(tenantId: string, key: ExportJobKey): Promise<EnqueueResult> {
    const jobId = ExportJobStore.jobIdFor(tenantId, key);
    return this.db.transaction({ tenantId }, async (sql) => {
      // No conflict target: the key and the job id derived from it (primary key, and with the
      // tenant) all arbitrate. Naming the key alone let two concurrent asks for one document
      // fail on the primary key with a unique violation.
      const inserted = await sql.query<{ job_id: string }>(
        `INSERT INTO export_jobs (job_id, tenant_id, trace_id, bundle_type, content_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
         ON CONFLICT DO NOTHING
         RETURNING job_id`,
        [jobId, tenantId, key.trace_id, key.bundle_type, key.content_hash.toLowerCase(), this.ttlSeconds],
      );
      let created = inserted.length === 1;
      if (!created) {
        // Lock the row: a concurrent ask must not reset it twice.
        const [row] = await sql.query<{ status: string; expired: boolean }>(
          `SELECT status, expires_at <= now() AS expired FROM export_jobs WHERE job_id = $1 FOR UPDATE`,
          [jobId],
        );
        if (!row) throw new ConflictError('the export job could not be recorded; retry');
        if (row.expired || row.status === 'failed') {
          if (row.expired) await sql.query(`DELETE FROM export_files WHERE job_id = $1`, [jobId]);
          await sql.query(
            `UPDATE export_jobs SET status = 'queued', attempts = 0, error = NULL, completed_at = NULL,
               updated_at = now(), expires_at = now() + make_interval(secs => $2)
             WHERE job_id = $1`,
            [jobId, this.ttlSeconds],
          );
          created = true;
        }
      }
      const job = await this.findJob(sql, jobId);
      if (!job) throw new ConflictError('the export job could not be recorded; retry');
      return { job, created, needsDispatch: job.status === 'queued' || job.status === 'running' };
    });
  }

  /**
   * Marks an attempt as started (status `running`, attempts + 1). Answers null
   * when there is nothing to do: the job completed, failed for good, expired or
   * is unknown, so a duplicate or stale delivery ends quietly.
   */
  async start(tenantId: string, jobId: string): Promise<ExportJob | null> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const updated = await sql.query(
        `UPDATE export_jobs SET status = 'running', attempts = attempts + 1, updated_at = now()
         WHERE job_id = $1 AND status IN ('queued', 'running') AND expires_at > now()
         RETURNING job_id`,
        [jobId],
      );
      return updated.length === 1 ? this.findJob(sql, jobId) : null;
    });
  }

  /**
   * Stores the file and completes the job in one transaction: a job is never
   * completed without its file. A second completion (a duplicate delivery that
   * rendered too) keeps the first file.
   */
  async complete(tenantId: string, jobId: string, file: { content_type: string; bytes: Buffer }): Promise<ExportJob> {
    const sha256 = sha256Hex(file.bytes);
    return this.db.transaction({ tenantId }, async (sql) => {
      const [job] = await sql.query<{ status: string }>(`SELECT status FROM export_jobs WHERE job_id = $1 FOR UPDATE`, [jobId]);
      if (!job) throw new NotFoundError(`export job ${jobId} not found`);
      if (job.status !== 'completed') {
        await sql.query(
          `UPDATE export_jobs SET status = 'completed', error = NULL, completed_at = now(), updated_at = now(),
             expires_at = now() + make_interval(secs => $2)
           WHERE job_id = $1`,
          [jobId, this.ttlSeconds],
        );
        await sql.query(
          `INSERT INTO export_files (job_id, tenant_id, content_type, bytes, size, sha256, expires_at)
           SELECT $1, $2, $3, $4, $5, $6, expires_at FROM export_jobs WHERE job_id = $1
           ON CONFLICT (job_id) DO NOTHING`,
          [jobId, tenantId, file.content_type, file.bytes, file.bytes.length, sha256],
        );
      }
      return (await this.findJob(sql, jobId))!;
    });
  }

  /** An attempt failed and another will follow: back to `queued`, the error kept. */
  async retryLater(tenantId: string, jobId: string, error: string): Promise<void> {
    await this.db.transaction({ tenantId }, (sql) =>
      sql.query(
        `UPDATE export_jobs SET status = 'queued', error = $2, updated_at = now()
         WHERE job_id = $1 AND status IN ('queued', 'running')`,
        [jobId, clip(error)],
      ),
    );
  }

  /** The last attempt failed, or the job cannot succeed: `failed` for good (asking again retries it). */
  async fail(tenantId: string, jobId: string, error: string): Promise<void> {
    await this.db.transaction({ tenantId }, (sql) =>
      sql.query(
        `UPDATE export_jobs SET status = 'failed', error = $2, updated_at = now()
         WHERE job_id = $1 AND status IN ('queued', 'running')`,
        [jobId, clip(error)],
      ),
    );
  }

  /** The job (with its file's size and hash once completed); 404 if unknown, another tenant's, or expired. */
  async getJob(tenantId: string, jobId: string): Promise<ExportJob> {
    const job = await this.db.transaction({ tenantId }, (sql) => this.findJob(sql, jobId));
    if (!job) throw new NotFoundError(`export job ${jobId} not found`);
    return job;
  }

  /** The rendered file: 404 as for the job; 409 while the job is not completed. */
  async getFile(tenantId: string, jobId: string): Promise<ExportFile> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const job = await this.findJob(sql, jobId);
      if (!job) throw new NotFoundError(`export job ${jobId} not found`);
      if (job.status !== 'completed') {
        throw new ConflictError(`export job ${jobId} is ${job.status}: its file is not ready`, { job_status: job.status });
      }
      const [row] = await sql.query<Record<string, any>>(
        `SELECT job_id, content_type, bytes, size, sha256, created_at, expires_at FROM export_files WHERE job_id = $1`,
        [jobId],
      );
      if (!row) throw new NotFoundError(`the file of export job ${jobId} is gone`);
      return {
        job_id: row.job_id,
        content_type: row.content_type,
        bytes: row.bytes as Buffer,
        size: row.size,
        sha256: row.sha256,
        created_at: iso(row.created_at)!,
        expires_at: iso(row.expires_at)!,
      };
    });
  }

  /** Every tenant's queued or running jobs, oldest first (restart recovery). */
  async listUnfinished(limit = 1000): Promise<UnfinishedExportJob[]> {
    const rows = await this.db.query<Record<string, any>>(`SELECT * FROM aos_unfinished_export_jobs($1)`, [limit]);
    return rows.map((r) => ({
      job_id: r.job_id,
      tenant_id: r.tenant_id,
      trace_id: r.trace_id,
      bundle_type: r.bundle_type,
      content_hash: r.content_hash,
      status: r.status,
      attempts: r.attempts,
    }));
  }

  /** Removes up to `limit` expired jobs of every tenant with their files (the privileged cleanup); answers how many. */
  async purgeExpired(limit = 1000): Promise<number> {
    const [row] = await this.db.query<{ removed: number }>(`SELECT aos_purge_expired_exports($1) AS removed`, [limit]);
    return Number(row?.removed ?? 0);
  }

  private async findJob(sql: Sql, jobId: string): Promise<ExportJob | null> {
    const [row] = await sql.query<Record<string, any>>(
      `SELECT ${JOB_COLUMNS} FROM ${JOB_FROM} WHERE j.job_id = $1 AND j.expires_at > now()`,
      [jobId],
    );
    return row ? toExportJob(row) : null;
  }
}

function toExportJob(row: Record<string, any>): ExportJob {
  return {
    job_id: row.job_id,
    tenant_id: row.tenant_id,
    trace_id: row.trace_id,
    bundle_type: row.bundle_type,
    content_hash: row.content_hash,
    status: row.status,
    attempts: row.attempts,
    error: row.error,
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
    completed_at: iso(row.completed_at),
    expires_at: iso(row.expires_at)!,
    file:
      row.status === 'completed' && row.file_sha256
        ? { content_type: row.file_content_type, size: row.file_size, sha256: row.file_sha256 }
        : null,
  };
}

function clip(error: string): string {
  return error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH - 1)}…` : error;
}

