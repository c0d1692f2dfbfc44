import { Inject, Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { IsIn, IsUUID, Matches, validateSync } from 'class-validator';
import {
  BUNDLE_TYPES,
  BundleSource,
  type BundleType,
  type ExportJob,
  NotFoundError,
  ValidationError,
} from '@aos/logs-domain';
import { ExportJobStore } from '@aos/traces-store';
import { attachSignedEvidence, evidenceAttachmentName } from './attach-evidence';
import { PdfRenderer } from './pdf-renderer';

/** The payload of a PDF job, as it travels through Redis (or the in-process queue). */
export class EvidencePdfJobData {
  /** = ExportJobStore.jobIdFor(tenant_id, key): the export_jobs row and the BullMQ job id. */
  @IsUUID('all') job_id: string;
  @IsUUID('all') tenant_id: string;
  @IsUUID('all') trace_id: string;
  @IsIn(BUNDLE_TYPES) bundle_type: BundleType;
  /** The sealed trace hash the job was queued for. */
  @Matches(/^[0-9a-f]{64}$/) content_hash: string;
}

export type EvidencePdfPayload = Pick<EvidencePdfJobData, keyof EvidencePdfJobData>;

/** An error that no retry can cure (bad payload, trace gone, hash changed): the job fails at once. */
export class PermanentJobError extends Error {
  readonly permanent = true;
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

export function isPermanentJobError(err: unknown): boolean {
  return err instanceof PermanentJobError || err instanceof NotFoundError || err instanceof ValidationError;
}

/** Where an attempt stands: attempts that already ended, and how many there may be. */
export interface JobAttempt {
  attemptsMade: number;
  maxAttempts: number;
}

export type EvidencePdfResult =
  | { status: 'completed'; job_id: string; size: number; sha256: string }
  | { status: 'skipped'; job_id: string; reason: string };

/** The payload of a job: a job id made from its key, from the data's own fields, or a PermanentJobError. */
export function parseEvidencePdfPayload(data: unknown): EvidencePdfPayload {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new PermanentJobError('invalid job payload: not an object');
  const payload = plainToInstance(EvidencePdfJobData, data);
  const errors = validateSync(payload, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const fields = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join(', ') || 'invalid'}`);
    throw new PermanentJobError(`invalid job payload: ${fields.join('; ')}`);
  }
  const expected = ExportJobStore.jobIdFor(payload.tenant_id, payload);
  // A payload cannot point one job's file at another job's row.
  if (payload.job_id.toLowerCase() !== expected) throw new PermanentJobError('invalid job payload: job_id does not match its key');
  return {
    job_id: expected,
    tenant_id: payload.tenant_id.toLowerCase(),
    trace_id: payload.trace_id.toLowerCase(),
    bundle_type: payload.bundle_type,
    content_hash: payload.content_hash,
  };
}

/** The payload of a recorded job. */
export function evidencePdfPayload(job: ExportJob): EvidencePdfPayload {
  return { job_id: job.job_id, tenant_id: job.tenant_id, trace_id: job.trace_id, bundle_type: job.bundle_type, content_hash: job.content_hash };
}

/**
 * The one PDF job (issue 4): validates its payload at the boundary, marks the
 * job running, assembles the bundle through `BundleSource`, renders it and
 * stores the file with the completion in one transaction. Runs in the worker
 * (BullMQ) or in the API's in-process queue; the same code either way.
 * Idempotent: a completed job is not rendered again.
 */
@Injectable()
export class EvidencePdfJob {
  private readonly logger = new Logger(EvidencePdfJob.name);

  constructor(
    private readonly jobs: ExportJobStore,
    @Inject(BundleSource) private readonly source: BundleSource,
    private readonly renderer: PdfRenderer,
  ) {}

  async handle(data: unknown): Promise<EvidencePdfResult> {
    const payload = parseEvidencePdfPayload(data);
    const job = await this.jobs.start(payload.tenant_id, payload.job_id);
    if (!job) return { status: 'skipped', job_id: payload.job_id, reason: 'the job is completed, failed, expired or unknown' };
    const started = Date.now();
    this.logger.log(`Rendering ${payload.bundle_type} PDF job ${payload.job_id} (trace ${payload.trace_id}, attempt ${job.attempts})`);
    const bundle = await this.source.load(payload.tenant_id, payload.trace_id, payload.bundle_type);
    if (bundle.integrity.content_hash !== payload.content_hash) {
      throw new PermanentJobError(
        `the trace hash is ${bundle.integrity.content_hash ?? 'null'}, not the ${payload.content_hash} the job was queued for`,
      );
    }
    // The signed evidence goes inside the PDF, so the PDF alone is verifiable.
    const envelope = (await this.source.sign?.(payload.tenant_id, bundle)) ?? null;
    const attachment = envelope ? evidenceAttachmentName(payload.trace_id) : undefined;
    const rendered = await this.renderer.render(bundle, { signedAttachment: attachment });
    const pdf = envelope ? await attachSignedEvidence(rendered, envelope, payload.trace_id) : rendered;
    const done = await this.jobs.complete(payload.tenant_id, payload.job_id, { content_type: 'application/pdf', bytes: pdf });
    this.logger.log(`Completed PDF job ${payload.job_id}: ${pdf.length} bytes in ${Date.now() - started} ms`);
    return { status: 'completed', job_id: payload.job_id, size: done.file?.size ?? pdf.length, sha256: done.file?.sha256 ?? '' };
  }

  /**
   * One attempt as a queue runs it: `handle`, and on failure the job's row
   * records the error, back to `queued` if a retry follows, else `failed`.
   * Rethrows so the queue schedules the retry (or not: see isPermanentJobError).
   */
  async run(data: unknown, attempt: JobAttempt): Promise<EvidencePdfResult> {
    try {
      return await this.handle(data);
    } catch (err) {
      const permanent = isPermanentJobError(err);
      const final = permanent || attempt.attemptsMade + 1 >= attempt.maxAttempts;
      const message = err instanceof Error ? err.message : String(err);
      let payload: EvidencePdfPayload | null = null;
      try {
        payload = parseEvidencePdfPayload(data);
      } catch {
        /* nothing to record for a payload that names no job */
      }
      if (payload) {
        await (final ? this.jobs.fail(payload.tenant_id, payload.job_id, message) : this.jobs.retryLater(payload.tenant_id, payload.job_id, message)).catch(
          (e: unknown) => this.logger.error(`Could not record the failure of job ${payload!.job_id}: ${String(e)}`),
        );
      }
      this.logger.warn(
        `PDF job ${payload?.job_id ?? '(invalid payload)'} attempt ${attempt.attemptsMade + 1}/${attempt.maxAttempts} failed${final ? ' for good' : ''}: ${message}`,
      );
      throw err;
    }
  }
}
