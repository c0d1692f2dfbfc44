import { ApiProperty } from '@nestjs/swagger';
import { BUNDLE_TYPES, EXPORT_JOB_STATUSES, type ExportJob } from '@aos/logs-domain';

export class ExportFileInfoDto {
  @ApiProperty({ example: 'application/pdf' }) content_type: string;
  @ApiProperty({ type: 'integer', description: 'Size in bytes' }) size: number;
  @ApiProperty({ description: 'Lowercase hex SHA-256 of the file (also sent as Repr-Digest and ETag with the file)' }) sha256: string;
}

/** A PDF export job (`GET /api/v1/exports/{job_id}`, and the 202 answer of `format: pdf`). */
export class ExportJobDto {
  @ApiProperty({ format: 'uuid', description: 'Deterministic: the same for the same tenant, sealed trace, bundle type and trace hash' })
  job_id: string;
  @ApiProperty({ format: 'uuid' }) tenant_id: string;
  @ApiProperty({ format: 'uuid' }) trace_id: string;
  @ApiProperty({ enum: BUNDLE_TYPES }) bundle_type: string;
  @ApiProperty({ enum: ['pdf'] }) format: 'pdf';
  @ApiProperty({ description: 'The sealed trace hash the document is rendered from' }) content_hash: string;
  @ApiProperty({ enum: EXPORT_JOB_STATUSES, description: 'queued → running → completed | failed (a failed job is retried when asked for again)' })
  status: string;
  @ApiProperty({ type: 'integer', description: 'Attempts started so far' }) attempts: number;
  @ApiProperty({ type: String, nullable: true, description: 'The last attempt’s error' }) error: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
  @ApiProperty({ format: 'date-time', nullable: true }) completed_at: string | null;
  @ApiProperty({ format: 'date-time', description: 'After this the job and its file are gone (404); asking again renders afresh' })
  expires_at: string;
  @ApiProperty({ type: ExportFileInfoDto, nullable: true, description: 'Set once completed' }) file: ExportFileInfoDto | null;
  @ApiProperty({ example: '/api/v1/exports/5f0c...' }) status_url: string;
  @ApiProperty({ example: '/api/v1/exports/5f0c.../file', description: '409 until the job is completed' }) file_url: string;
}

/** The wire shape of a job: the record plus where to poll and where the file will be. */
export function toExportJobDto(job: ExportJob): ExportJobDto {
  const statusUrl = `/api/v1/exports/${job.job_id}`;
  return { ...job, format: 'pdf', status_url: statusUrl, file_url: `${statusUrl}/file` };
}
