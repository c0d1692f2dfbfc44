import { Inject, Injectable } from '@nestjs/common';
import { BUNDLE_TYPES, type BundleType, ConflictError, type ExportJob, ValidationError } from '@aos/logs-domain';
import { ExportJobStore, TraceStore } from '@aos/traces-store';
import { type EvidencePdfPayload, evidencePdfPayload } from './evidence-pdf.job';

/** Hands a recorded job to whatever runs it: BullMQ (REDIS_URL) or the in-process queue. */
export interface PdfJobDispatcher {
  /** Queues the job unless it is already queued or running; adding it twice is harmless. */
  dispatch(payload: EvidencePdfPayload): Promise<void>;
  /** Where jobs go, and whether it answers (for /health/ready). */
  health(): Promise<PdfQueueHealth>;
}

/** `bullmq`: Redis answers (`up`) or not (`down`); `in-process`: no Redis, jobs run in this process. */
export interface PdfQueueHealth {
  kind: 'bullmq' | 'in-process';
  status: 'up' | 'down';
}

export const PDF_JOB_DISPATCHER = Symbol('PDF_JOB_DISPATCHER');

/**
 * The producer side of PDF jobs (used by the API's export routes): one job per
 * (tenant, sealed trace, bundle type, trace hash), recorded in `export_jobs`
 * before it is queued, so nothing is lost if the queue is down or a worker dies.
 */
@Injectable()
export class PdfJobQueue {
  constructor(
    private readonly traces: TraceStore,
    private readonly jobs: ExportJobStore,
    @Inject(PDF_JOB_DISPATCHER) private readonly dispatcher: PdfJobDispatcher,
  ) {}

  /**
   * The PDF job of a trace's bundle: created and queued the first time, the
   * same job (same id) every later time. 404 for an unknown trace (or another
   * tenant's), 409 while the trace is open (it has no hash yet), 503 when the
   * queue is unreachable (the job stays recorded and is queued again on the
   * next ask or when a worker starts).
   */
  async enqueue(tenantId: string, traceId: string, bundleType: BundleType): Promise<ExportJob> {
    if (!(BUNDLE_TYPES as readonly string[]).includes(bundleType)) {
      throw ValidationError.field('bundle_type', `must be one of ${BUNDLE_TYPES.join(', ')}`);
    }
    const trace = await this.traces.getTrace(tenantId, traceId);
    if (trace.status === 'active' || trace.content_hash === null) {
      throw new ConflictError(`trace ${traceId} is still open: complete it before exporting a PDF of its evidence`);
    }
    const { job, needsDispatch } = await this.jobs.enqueueOrGet(tenantId, {
      trace_id: trace.trace_id,
      bundle_type: bundleType,
      content_hash: trace.content_hash,
    });
    if (needsDispatch) await this.dispatcher.dispatch(evidencePdfPayload(job));
    return job;
  }

  /** For /health/ready: with REDIS_URL, whether Redis answers. */
  health(): Promise<PdfQueueHealth> {
    return this.dispatcher.health();
  }

  /** The job's status (404 if unknown, another tenant's or expired). */
  getJob(tenantId: string, jobId: string): Promise<ExportJob> {
    return this.jobs.getJob(tenantId, jobId);
  }
}
