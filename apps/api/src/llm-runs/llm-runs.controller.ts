import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TraceStore } from '@aos/traces-store';
import { CurrentPrincipal, CurrentTenant, type Principal, READERS, Roles, type TenantPrincipal } from '../auth/principal';
import { UuidParamPipe } from '../http';
import { LlmRunsListDto, StepsPageDto, StepsPageQueryDto, TraceDetailDto, TraceFiltersDto, VerificationDto } from './llm-runs.dto';
import { filtersApplied, pagination, toLlmRunItem, toTraceDetail, toTraceStep } from './llm-runs.presenter';

/** LLM-run reads of spec 4.1–4.3 (viewer, auditor, admin). */
@ApiTags('llm-runs')
@ApiBearerAuth()
@Roles(...READERS)
@Controller('api/v1/logs/llm-runs')
export class LlmRunsController {
  constructor(private readonly traces: TraceStore) {}

  @Get()
  @ApiOperation({ summary: 'List LLM runs (spec 11.1 LLMRunsListData)' })
  @ApiOkResponse({ type: LlmRunsListDto })
  list(@CurrentTenant() who: TenantPrincipal, @Query() query: TraceFiltersDto): Promise<LlmRunsListDto> {
    return this.listTraces(who, query);
  }

  @Post('search')
  @HttpCode(200)
  @ApiOperation({ summary: 'Search LLM runs: the list filters in a JSON body' })
  @ApiOkResponse({ type: LlmRunsListDto })
  search(@CurrentTenant() who: TenantPrincipal, @Body() body: TraceFiltersDto): Promise<LlmRunsListDto> {
    return this.listTraces(who, body);
  }

  @Get(':trace_id')
  @ApiOperation({ summary: 'Trace detail (spec 11.2 TraceDetailData) with every step summary' })
  @ApiOkResponse({ type: TraceDetailDto })
  @ApiNotFoundResponse()
  async detail(
    @CurrentTenant() who: TenantPrincipal,
    @CurrentPrincipal() principal: Principal,
    @Param('trace_id', UuidParamPipe) traceId: string,
  ): Promise<TraceDetailDto> {
    const { trace, steps } = await this.traces.getTraceWithStepSummaries(who.tenantId, traceId);
    return toTraceDetail(trace, steps, principal);
  }

  @Get(':trace_id/steps')
  @ApiOperation({ summary: 'Steps with full content, paged by step_index' })
  @ApiOkResponse({ type: StepsPageDto })
  @ApiNotFoundResponse()
  async steps(
    @CurrentTenant() who: TenantPrincipal,
    @Param('trace_id', UuidParamPipe) traceId: string,
    @Query() query: StepsPageQueryDto,
  ): Promise<StepsPageDto> {
    const limit = query.limit ?? 50;
    const trace = await this.traces.getTrace(who.tenantId, traceId);
    const page = await this.traces.listSteps(who.tenantId, traceId, {
      limit,
      offset: query.offset ?? 0,
      cursor: query.cursor,
      order: query.order ?? 'asc',
    });
    return { items: page.items.map((s) => toTraceStep(s, trace)), pagination: pagination(page, limit) };
  }

  @Get(':trace_id/verify')
  @ApiOperation({ summary: 'Recompute every step hash and the trace hash from stored content' })
  @ApiOkResponse({ type: VerificationDto })
  @ApiNotFoundResponse()
  verify(@CurrentTenant() who: TenantPrincipal, @Param('trace_id', UuidParamPipe) traceId: string): Promise<VerificationDto> {
    return this.traces.verifyTrace(who.tenantId, traceId);
  }

  private async listTraces(who: TenantPrincipal, q: TraceFiltersDto): Promise<LlmRunsListDto> {
    const limit = q.limit ?? 50;
    const page = await this.traces.listTraces(who.tenantId, {
      ...q,
      limit,
      offset: q.offset ?? 0,
      sort: q.sort ?? 'started_at',
      order: q.order ?? 'desc',
    });
    return {
      items: page.items.map(toLlmRunItem),
      pagination: pagination(page, limit),
      filters_applied: filtersApplied({ ...q, sort: q.sort ?? 'started_at', order: q.order ?? 'desc' }),
    };
  }
}
