import { Controller, Get, Param, Res, StreamableFile } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ExportJobStore } from '@aos/traces-store';
import { AUDITORS, CurrentTenant, Roles, type TenantPrincipal } from '../auth/principal';
import { UuidParamPipe } from '../http';
import { ExportJobDto, toExportJobDto } from './export-jobs.dto';

/** PDF export jobs: their status and, once completed, their file (roles auditor and admin; DESIGN.md 8). */
@ApiTags('exports')
@ApiBearerAuth()
@Roles(...AUDITORS)
@Controller('api/v1/exports')
export class ExportJobsController {
  constructor(private readonly jobs: ExportJobStore) {}

  @Get(':job_id')
  @ApiOperation({ summary: 'Status of a PDF export job' })
  @ApiOkResponse({ type: ExportJobDto })
  @ApiNotFoundResponse({ description: 'Unknown, another tenant’s, or expired' })
  async status(@CurrentTenant() who: TenantPrincipal, @Param('job_id', UuidParamPipe) jobId: string): Promise<ExportJobDto> {
    return toExportJobDto(await this.jobs.getJob(who.tenantId, jobId));
  }

  @Get(':job_id/file')
  @ApiOperation({ summary: 'The rendered PDF of a completed job' })
  @ApiProduces('application/pdf')
  @ApiOkResponse({ description: 'The PDF; Repr-Digest and ETag carry its SHA-256' })
  @ApiConflictResponse({ description: 'The job is not completed yet (queued, running or failed); `job_status` says which' })
  @ApiNotFoundResponse({ description: 'Unknown, another tenant’s, or expired' })
  async file(
    @CurrentTenant() who: TenantPrincipal,
    @Param('job_id', UuidParamPipe) jobId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    const job = await this.jobs.getJob(who.tenantId, jobId);
    const file = await this.jobs.getFile(who.tenantId, jobId);
    reply
      .header('content-type', file.content_type)
      .header('content-length', String(file.size))
      .header('content-disposition', `attachment; filename="aos-${job.bundle_type}-bundle-${job.trace_id}.pdf"`)
      .header('repr-digest', `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`)
      .header('etag', `"${file.sha256}"`)
      .header('cache-control', 'private, no-store');
    return new StreamableFile(file.bytes);
  }
}
