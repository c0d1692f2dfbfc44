import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { BUNDLE_TYPES, type BundleType, type EvidenceBundle, LOG_TOPICS, type LogTopic } from '@aos/logs-domain';
import { EXPORT_FORMATS, type ExportFormat } from '@aos/export';
import { TraceDto } from '../traces/trace.dto';
import { TraceStepDto, VerificationDto } from '../llm-runs/llm-runs.dto';

export class BulkExportDto {
  @ApiProperty({ enum: LOG_TOPICS }) topic: LogTopic;
  @ApiProperty({ enum: EXPORT_FORMATS, description: 'json: one array; jsonl: one object per line; csv: RFC 4180 with BOM; xlsx' }) format: ExportFormat;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: "The topic's search filters (no paging: every matching row is exported)." })
  filters?: Record<string, unknown>;
}

export class TraceExportRequestDto {
  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json', description: 'json: summary, steps with content and hashes, integrity; csv: one row per step' })
  @IsOptional() @IsIn(['json', 'csv']) format?: 'json' | 'csv';
}

const BUNDLE_FORMATS = ['json', 'dsse', 'pdf'] as const;
export type BundleFormat = (typeof BUNDLE_FORMATS)[number];
const BUNDLE_FORMAT_HELP =
  'json: EvidenceExportData with the bundle and its signed envelope; dsse: the signed envelope alone (the file aos-verify checks); ' +
  'pdf: 202 with a job rendered in the background (the PDF carries the signed envelope as an attached file)';

class DsseSignatureDto {
  @ApiProperty({ description: 'Signing key id (hex), as published at /api/v1/integrity/public-key.' }) keyid: string;
  @ApiProperty({ description: 'Base64 Ed25519 signature over the DSSE PAE of the payload.' }) sig: string;
}

/** DSSE envelope around an in-toto Statement v1 (libs/logs-domain/LEDGER.md). */
export class DsseEnvelopeDto {
  @ApiProperty({ example: 'application/vnd.in-toto+json' }) payloadType: string;
  @ApiProperty({ description: 'Base64 of the Statement JSON: subject trace:<id> with its content hash; predicate bundle, trace, inclusion_proof, checkpoint, steps_content.' })
  payload: string;
  @ApiProperty({ type: [DsseSignatureDto] }) signatures: DsseSignatureDto[];
}

export class EvidenceExportRequestDto {
  @ApiPropertyOptional({ enum: ['evidence', 'executive'], default: 'evidence' })
  @IsOptional() @IsIn(['evidence', 'executive']) bundle_type?: 'evidence' | 'executive';

  @ApiPropertyOptional({ enum: BUNDLE_FORMATS, default: 'json', description: BUNDLE_FORMAT_HELP })
  @IsOptional() @IsIn(BUNDLE_FORMATS) format?: BundleFormat;
}

export class Soc2ExportRequestDto {
  @ApiPropertyOptional({ enum: BUNDLE_FORMATS, default: 'json', description: BUNDLE_FORMAT_HELP })
  @IsOptional() @IsIn(BUNDLE_FORMATS) format?: BundleFormat;
}

export class TraceExportDto {
  @ApiProperty({ type: TraceDto }) trace: TraceDto;
  @ApiProperty({ type: [TraceStepDto] }) steps: TraceStepDto[];
  @ApiProperty({ type: VerificationDto }) integrity: VerificationDto;
  @ApiProperty({ format: 'date-time' }) exported_at: string;
}

class ExportSourceDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['trace', 'incident'] }) type: 'trace' | 'incident';
}
class EvidenceStepDto {
  @ApiProperty({ type: 'integer', description: 'Equals step_index (0-based).' }) step_number: number;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty() type: string;
  @ApiProperty() is_inflection_point: boolean;
}
class EvidenceTraceDto {
  @ApiProperty() trace_id: string;
  @ApiProperty({ type: [EvidenceStepDto] }) steps: EvidenceStepDto[];
}
class ExportLinkDto {
  @ApiProperty({ enum: ['json', 'csv', 'pdf'] }) format: 'json' | 'csv' | 'pdf';
  @ApiProperty({ enum: BUNDLE_TYPES }) bundle_type: BundleType;
  @ApiProperty({ description: 'Route that produces it (POST, with the format in the body).' }) url: string;
}
class IntegrityDto {
  @ApiProperty({ nullable: true, type: String }) content_hash: string | null;
  @ApiProperty() verified: boolean;
}

/** Spec 11.4 EvidenceExportData, with the whole bundle (spec 6.3). */
export class EvidenceExportDto {
  @ApiProperty({ type: ExportSourceDto }) source: ExportSourceDto;
  @ApiProperty({ type: EvidenceTraceDto }) trace: EvidenceTraceDto;
  @ApiProperty({ type: [ExportLinkDto] }) exports: ExportLinkDto[];
  @ApiProperty({ type: IntegrityDto }) integrity: IntegrityDto;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The evidence bundle of spec 6.3.' }) bundle: EvidenceBundle;
  @ApiProperty({
    type: DsseEnvelopeDto,
    nullable: true,
    description: 'The bundle as signed evidence (verify offline with aos-verify); null while the trace is open (no ledger leaf yet).',
  })
  signed_envelope: DsseEnvelopeDto | null;
}
