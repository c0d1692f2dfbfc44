import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { LOG_TOPICS, type NewSystemLog } from '@aos/logs-domain';
import {
  AllowPlatform,
  CurrentPrincipal,
  CurrentTenant,
  type Principal,
  READERS,
  Roles,
  type TenantPrincipal,
  WRITERS,
} from '../auth/principal';
import { CurrentActor, type RequestActor } from '../auth/request-actor';
import { UuidParamPipe } from '../http';
import { LlmRunsListDto } from '../llm-runs/llm-runs.dto';
import {
  AuditLogDto,
  AuditLogEntryDto,
  AuditLogFiltersDto,
  AuditLogInputDto,
  AuditLogListDto,
  AuditTopicFiltersDto,
  LlmRunEntryDto,
  LlmRunsTopicFiltersDto,
  LOG_ENTRY_SCHEMA,
  type LogEntryDto,
  RecordedLogsDto,
  SystemLogBatchDto,
  SystemLogEntryDto,
  SystemLogFiltersDto,
  SystemLogInputDto,
  SystemLogListDto,
  SYSTEM_LOGS_BODY_SCHEMA,
  SystemTopicFiltersDto,
  TOPIC_FILTERS_BODY_SCHEMA,
  type TopicFiltersDto,
} from './logs.dto';
import { SystemLogsBodyPipe, TopicFiltersPipe } from './logs.pipes';
import { LogsService } from './logs.service';

const TOPIC_LIST_SCHEMA = { oneOf: [LlmRunsListDto, SystemLogListDto, AuditLogListDto].map((m) => ({ $ref: getSchemaPath(m) })) };

/**
 * System and audit logs, and the cross-topic routes of spec section 4
 * (`/api/v1/logs/llm-runs/...` is LlmRunsController). Readers read, writers
 * write; the platform key reads and writes platform system logs only.
 */
@ApiTags('logs')
@ApiBearerAuth()
@ApiExtraModels(
  SystemLogInputDto,
  SystemLogBatchDto,
  LlmRunsTopicFiltersDto,
  SystemTopicFiltersDto,
  AuditTopicFiltersDto,
  LlmRunsListDto,
  SystemLogListDto,
  AuditLogListDto,
  SystemLogEntryDto,
  AuditLogEntryDto,
  LlmRunEntryDto,
)
@ApiBadRequestResponse({ description: 'Problem details naming each bad field' })
@Controller('api/v1/logs')
export class LogsController {
  constructor(private readonly logs: LogsService) {}

  @Get()
  @Roles(...READERS)
  @AllowPlatform()
  @ApiOperation({
    summary: 'List logs of one topic (topic required)',
    description: "Takes `topic` and the query parameters of that topic's list (GET /api/v1/logs/llm-runs, /system, /audit). The platform key may ask for topic=system only.",
  })
  @ApiQuery({ name: 'topic', enum: LOG_TOPICS, required: true })
  @ApiOkResponse({ schema: TOPIC_LIST_SCHEMA })
  list(@CurrentPrincipal() who: Principal, @Query(new TopicFiltersPipe('query')) query: TopicFiltersDto) {
    return this.logs.listTopic(who, query);
  }

  @Post('search')
  @HttpCode(200)
  @Roles(...READERS)
  @AllowPlatform()
  @ApiOperation({ summary: "Search logs: `topic` and that topic's filters in a JSON body" })
  @ApiBody({ schema: TOPIC_FILTERS_BODY_SCHEMA })
  @ApiOkResponse({ schema: TOPIC_LIST_SCHEMA })
  search(@CurrentPrincipal() who: Principal, @Body(new TopicFiltersPipe('body')) body: TopicFiltersDto) {
    return this.logs.listTopic(who, body);
  }

  @Get('system')
  @Roles(...READERS)
  @AllowPlatform()
  @ApiOperation({ summary: "List system logs (the platform key: the platform's own logs)" })
  @ApiOkResponse({ type: SystemLogListDto })
  listSystem(@CurrentPrincipal() who: Principal, @Query() query: SystemLogFiltersDto): Promise<SystemLogListDto> {
    return this.logs.listSystem(who, query);
  }

  @Post('system')
  @Roles(...WRITERS)
  @AllowPlatform()
  @ApiOperation({
    summary: 'Record one system log or a batch of up to 1000',
    description: 'All or none. The event timestamp is the writer’s (default now); created_at is the server’s. The platform key writes platform logs (tenant_id null).',
  })
  @ApiBody({ schema: SYSTEM_LOGS_BODY_SCHEMA })
  @ApiCreatedResponse({ type: RecordedLogsDto })
  // Typed by an object literal type so the global pipe leaves the union body to SystemLogsBodyPipe.
  recordSystem(@CurrentPrincipal() who: Principal, @Body(SystemLogsBodyPipe) body: { logs: NewSystemLog[] }): Promise<RecordedLogsDto> {
    return this.logs.recordSystemLogs(who, body.logs);
  }

  @Get('audit')
  @Roles(...READERS)
  @ApiOperation({ summary: 'List the audit trail (spec 11.3 AuditLogListData)' })
  @ApiOkResponse({ type: AuditLogListDto })
  @ApiForbiddenResponse({ description: 'The platform key' })
  listAudit(@CurrentTenant() who: TenantPrincipal, @Query() query: AuditLogFiltersDto): Promise<AuditLogListDto> {
    return this.logs.listAudit(who, query);
  }

  @Post('audit')
  @Roles(...WRITERS)
  @ApiOperation({
    summary: 'Record an audited action',
    description: "The time is the server's; ip_address and user_agent come from the request (X-Forwarded-For only from a proxy named in AOS_TRUST_PROXY).",
  })
  @ApiCreatedResponse({ type: AuditLogDto })
  recordAudit(@CurrentActor() caller: RequestActor, @Body() body: AuditLogInputDto): Promise<AuditLogDto> {
    return this.logs.recordAuditLog(caller, body);
  }

  @Post('audit/search')
  @HttpCode(200)
  @Roles(...READERS)
  @ApiOperation({ summary: 'Search the audit trail: the list filters in a JSON body' })
  @ApiOkResponse({ type: AuditLogListDto })
  searchAudit(@CurrentTenant() who: TenantPrincipal, @Body() body: AuditLogFiltersDto): Promise<AuditLogListDto> {
    return this.logs.listAudit(who, body);
  }

  @Get(':log_id')
  @Roles(...READERS)
  @AllowPlatform()
  @ApiOperation({ summary: 'One entry of any topic (system log, audit log, or LLM-run trace by trace_id), with its topic' })
  @ApiOkResponse({ schema: LOG_ENTRY_SCHEMA })
  @ApiNotFoundResponse()
  detail(@CurrentPrincipal() who: Principal, @Param('log_id', UuidParamPipe) logId: string): Promise<LogEntryDto> {
    return this.logs.findById(who, logId);
  }
}
