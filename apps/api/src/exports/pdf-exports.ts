import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { BundleType, ExportJob } from '@aos/logs-domain';
import { AuditLogService } from '@aos/audit';
import { PdfJobQueue } from '@aos/evidence-pdf';
import type { RequestActor } from '../auth/request-actor';

/**
 * `format: pdf` on a bundle route: the job is queued (or the existing one for
 * the same sealed trace and bundle type answered), the request audited, and
 * the answer is 202 with the job and where to poll.
 */
@Injectable()
export class PdfExports {
  constructor(
    private readonly queue: PdfJobQueue,
    private readonly audit: AuditLogService,
  ) {}

  async request(actor: RequestActor, traceId: string, bundleType: BundleType, reply: FastifyReply): Promise<ExportJob & { status_url: string; file_url: string }> {
    const job = await this.queue.enqueue(actor.tenantId, traceId, bundleType);
    await this.audit.logAction({
      tenantId: actor.tenantId,
      actor_id: actor.actorId,
      actor_type: actor.actorType,
      action: 'evidence_bundle_exported',
      resource_type: 'trace',
      resource_id: traceId,
      details: { bundle_type: bundleType, format: 'pdf', job_id: job.job_id, content_hash: job.content_hash },
      ip_address: actor.ipAddress,
      user_agent: actor.userAgent,
    });
    const statusUrl = `/api/v1/exports/${job.job_id}`;
    reply.status(202).header('location', statusUrl);
    return { ...job, status_url: statusUrl, file_url: `${statusUrl}/file` };
  }
}
