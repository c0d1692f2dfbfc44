import { Body, Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CONTENT_TYPES, encodeRows, EvidenceSigner, EXPORT_SEARCH_CATCH_UP_MS, LogExportService } from '@aos/export';
import { DSSE_MEDIA_TYPE } from '@aos/evidence-pdf';
import { type BundleType, ConflictError } from '@aos/logs-domain';
import { AUDITORS, Roles } from '../auth/principal';
import { CurrentActor, type RequestActor } from '../auth/request-actor';
import { UuidParamPipe } from '../http';
import { toTraceStep } from '../llm-runs/llm-runs.presenter';
import { type BulkExportRequest, BulkExportPipe } from './bulk-export.pipe';
import { BulkExportDto, type BundleFormat, EvidenceExportDto, EvidenceExportRequestDto, Soc2ExportRequestDto, TraceExportDto, TraceExportRequestDto } from './exports.dto';
import { toEvidenceExport } from './exports.presenter';
import { PdfExports } from './pdf-exports';

/** Exports and evidence bundles (spec 4.4; roles auditor and admin). Every export is audited. */
@ApiTags('exports')
@ApiBearerAuth()
@Roles(...AUDITORS)
@Controller('api/v1/logs')
export class ExportsController {
  constructor(
    private readonly exports: LogExportService,
    private readonly pdf: PdfExports,
    private readonly signer: EvidenceSigner,
  ) {}

  @Post('export')
  @HttpCode(200)
  @ApiOperation({ summary: 'Export every matching record of a topic, streamed (json, jsonl, csv, xlsx)' })
  @ApiBody({ type: BulkExportDto })
  @ApiProduces(...Object.values(CONTENT_TYPES))
  @ApiOkResponse({ description: 'The file, streamed from a database cursor' })
  @ApiServiceUnavailableResponse({ description: `With 'search': the search index did not take in the writes made before the request within ${EXPORT_SEARCH_CATCH_UP_MS / 1000} s` })
  async exportLogs(@CurrentActor() actor: RequestActor, @Body(BulkExportPipe) body: BulkExportRequest, @Res() reply: FastifyReply): Promise<void> {
    const file = await this.exports.exportLogs(actor, body.topic, body.filters, body.format);
    reply.status(200).header('content-type', file.contentType).header('content-disposition', `attachment; filename="${file.filename}"`).send(file.stream);
  }

  @Post('llm-runs/:trace_id/export')
  @HttpCode(200)
  @ApiOperation({ summary: 'Export one trace: summary, every step with content and hash, recomputed integrity' })
  @ApiOkResponse({ type: TraceExportDto })
  @ApiNotFoundResponse()
  async exportTrace(
    @CurrentActor() actor: RequestActor,
    @Param('trace_id', UuidParamPipe) traceId: string,
    @Body() body: TraceExportRequestDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const exported = await this.exports.exportTrace(actor, traceId);
    const steps = exported.steps.map((s) => toTraceStep(s, exported.trace));
    if (body.format !== 'csv') {
      reply.status(200).send({ ...exported, steps } satisfies TraceExportDto);
      return;
    }
    async function* rows() {
      yield* steps as unknown as Record<string, unknown>[];
    }
    reply
      .status(200)
      .header('content-type', CONTENT_TYPES.csv)
      .header('content-disposition', `attachment; filename="trace-${traceId}.csv"`)
      .send(encodeRows(rows(), 'csv', STEP_COLUMNS));
  }

  @Post('llm-runs/:trace_id/export/evidence')
  @HttpCode(200)
  @ApiOperation({ summary: 'Evidence (or executive) bundle, spec 6.3, with the EvidenceExportData of spec 11.4; format pdf answers 202 with a job' })
  @ApiOkResponse({ type: EvidenceExportDto })
  @ApiAcceptedResponse({ description: 'PDF job queued (format: pdf)' })
  @ApiNotFoundResponse()
  async evidence(
    @CurrentActor() actor: RequestActor,
    @Param('trace_id', UuidParamPipe) traceId: string,
    @Body() body: EvidenceExportRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    const bundleType = body.bundle_type ?? 'evidence';
    if (body.format === 'pdf') return this.pdf.request(actor, traceId, bundleType, reply);
    return this.bundle(actor, traceId, bundleType, body.format, reply);
  }

  @Post('llm-runs/:trace_id/export/soc2')
  @HttpCode(200)
  @ApiOperation({ summary: 'SOC2 bundle: the evidence bundle with CC7.2–CC7.4 control mappings and an attestation; format pdf answers 202' })
  @ApiOkResponse({ type: EvidenceExportDto })
  @ApiAcceptedResponse({ description: 'PDF job queued (format: pdf)' })
  @ApiNotFoundResponse()
  async soc2(
    @CurrentActor() actor: RequestActor,
    @Param('trace_id', UuidParamPipe) traceId: string,
    @Body() body: Soc2ExportRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    if (body.format === 'pdf') return this.pdf.request(actor, traceId, 'soc2', reply);
    return this.bundle(actor, traceId, 'soc2', body.format, reply);
  }

  /** The audited bundle, signed: EvidenceExportData (json), or the DSSE envelope alone (dsse) as a file. */
  private async bundle(actor: RequestActor, traceId: string, type: BundleType, format: BundleFormat | undefined, reply: FastifyReply): Promise<unknown> {
    const bundle = await this.exports.exportEvidenceBundle(actor, traceId, type);
    const envelope = await this.signer.sign(actor.tenantId, bundle);
    if (format !== 'dsse') return toEvidenceExport(bundle, envelope);
    if (!envelope) throw new ConflictError(`trace ${traceId} is open: only a sealed trace has signed evidence`);
    reply
      .header('content-type', DSSE_MEDIA_TYPE)
      .header('content-disposition', `attachment; filename="aos-${type}-${traceId}.dsse.json"`);
    return envelope;
  }
}

const STEP_COLUMNS = [
  'trace_id', 'step_id', 'step_index', 'step_type', 'level', 'source', 'timestamp', 'tokens', 'cost_cents', 'duration_ms',
  'input_data', 'output_data', 'metadata', 'content_hash', 'is_inflection_point', 'created_at',
];
