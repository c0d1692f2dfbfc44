import { Body, Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { TraceStore } from '@aos/traces-store';
import { CurrentTenant, Roles, type TenantPrincipal, WRITERS } from '../auth/principal';
import { UuidParamPipe } from '../http';
import { type StepsBody, StepsBodyPipe } from './steps-body.pipe';
import {
  CompleteTraceDto,
  CreateTraceDto,
  LinkIncidentDto,
  RecordedStepsDto,
  StepBatchDto,
  StepDto,
  STEPS_BODY_SCHEMA,
  TraceDto,
  ViolationDto,
} from './trace.dto';

/** The trace write routes of DESIGN.md 5 (role `ingest` or `admin`). */
@ApiTags('traces')
@ApiBearerAuth()
@ApiExtraModels(StepDto, StepBatchDto)
@Roles(...WRITERS)
@Controller('api/v1/traces')
export class TracesController {
  constructor(private readonly traces: TraceStore) {}

  @Post()
  @ApiOperation({ summary: 'Start recording a trace', description: 'Re-sending an identical trace with the same trace_id answers 200 with the stored trace.' })
  @ApiCreatedResponse({ type: TraceDto })
  @ApiOkResponse({ type: TraceDto, description: 'Identical re-send' })
  @ApiConflictResponse({ description: 'trace_id taken by another trace' })
  async create(@CurrentTenant() who: TenantPrincipal, @Body() body: CreateTraceDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<TraceDto> {
    const { trace, created } = await this.traces.createTrace(who.tenantId, body);
    reply.status(created ? 201 : 200);
    return trace;
  }

  @Post(':trace_id/steps')
  @ApiOperation({
    summary: 'Append one step or a batch',
    description: 'step_index starts at 0 without gaps. An identical re-send answers 200 with the stored steps; other content at a taken index, a gap, or a new step on a sealed trace is 409.',
  })
  @ApiBody({ schema: STEPS_BODY_SCHEMA })
  @ApiCreatedResponse({ type: RecordedStepsDto })
  @ApiOkResponse({ type: RecordedStepsDto, description: 'Identical re-send' })
  @ApiNotFoundResponse()
  @ApiConflictResponse()
  async addSteps(
    @CurrentTenant() who: TenantPrincipal,
    @Param('trace_id', UuidParamPipe) traceId: string,
    // Typed by an interface so the global pipe leaves the union body to StepsBodyPipe.
    @Body(StepsBodyPipe) body: StepsBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RecordedStepsDto> {
    const result = await this.traces.addSteps(who.tenantId, traceId, body.steps);
    reply.status(result.created ? 201 : 200);
    return { steps: result.steps };
  }

  @Post(':trace_id/violation')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record the policy violation of an open trace (once)' })
  @ApiOkResponse({ type: TraceDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Step not recorded, trace sealed, or another violation recorded' })
  markViolation(@CurrentTenant() who: TenantPrincipal, @Param('trace_id', UuidParamPipe) traceId: string, @Body() body: ViolationDto): Promise<TraceDto> {
    return this.traces.markViolation(who.tenantId, traceId, body);
  }

  @Post(':trace_id/complete')
  @HttpCode(200)
  @ApiOperation({ summary: 'Seal the trace: totals, completed_at and content_hash are computed, and it becomes immutable' })
  @ApiOkResponse({ type: TraceDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Already sealed with another status' })
  complete(@CurrentTenant() who: TenantPrincipal, @Param('trace_id', UuidParamPipe) traceId: string, @Body() body: CompleteTraceDto): Promise<TraceDto> {
    return this.traces.completeTrace(who.tenantId, traceId, body);
  }

  @Post(':trace_id/incident')
  @HttpCode(200)
  @ApiOperation({ summary: 'Link the trace to an incident (write-once, also on a sealed trace)' })
  @ApiOkResponse({ type: TraceDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Already linked to another incident' })
  linkIncident(@CurrentTenant() who: TenantPrincipal, @Param('trace_id', UuidParamPipe) traceId: string, @Body() body: LinkIncidentDto): Promise<TraceDto> {
    return this.traces.linkIncident(who.tenantId, traceId, body.incident_id);
  }
}
