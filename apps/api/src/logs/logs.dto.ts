import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import {
  ACTOR_TYPES,
  type ActorType,
  AUDIT_ACTION_PATTERN,
  AUDIT_DETAILS_MAX_BYTES,
  AUDIT_FAILURE_REASON_MAX_LENGTH,
  AUDIT_LOG_SORT_FIELDS,
  AUDIT_RESOURCE_TYPE_MAX_LENGTH,
  type AuditLogSortField,
  CORRELATION_ID_MAX_LENGTH,
  type JsonValue,
  MAX_SYSTEM_LOGS_PER_BATCH,
  SEARCH_MAX_LENGTH,
  SYSTEM_LOG_LEVELS,
  SYSTEM_LOG_MESSAGE_MAX_LENGTH,
  SYSTEM_LOG_SORT_FIELDS,
  SYSTEM_LOG_SOURCE_MAX_LENGTH,
  type SystemLogLevel,
  type SystemLogSortField,
} from '@aos/logs-domain';
import { ANY_JSON_SCHEMA, IsNotBefore, IsRfc3339, IsSearchTerm, ToBoolean } from '../common/validators';
import { PageQueryDto, PaginationDto, TraceFiltersDto } from '../llm-runs/llm-runs.dto';
import { TraceDto } from '../traces/trace.dto';

// ---------------------------------------------------------------- writes

/** One system log to record (spec 3.2). */
export class SystemLogInputDto {
  @ApiProperty({ enum: SYSTEM_LOG_LEVELS })
  @IsIn(SYSTEM_LOG_LEVELS, { message: `must be one of ${SYSTEM_LOG_LEVELS.join(', ')}` }) level: SystemLogLevel;

  @ApiProperty({ minLength: 1, maxLength: SYSTEM_LOG_SOURCE_MAX_LENGTH, description: 'Component name.', example: 'billing-worker' })
  @IsString() @MinLength(1) @MaxLength(SYSTEM_LOG_SOURCE_MAX_LENGTH) source: string;

  @ApiProperty({ minLength: 1, maxLength: SYSTEM_LOG_MESSAGE_MAX_LENGTH })
  @IsString() @MinLength(1) @MaxLength(SYSTEM_LOG_MESSAGE_MAX_LENGTH) message: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Event time, RFC 3339 with offset; stored at millisecond precision. Defaults to now.' })
  @IsOptional() @IsRfc3339() timestamp?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Additional context (searched as full text).' })
  @IsOptional() @IsObject() context?: Record<string, JsonValue>;

  @ApiPropertyOptional({ maxLength: CORRELATION_ID_MAX_LENGTH, description: 'Correlation id.' })
  @IsOptional() @IsString() @MaxLength(CORRELATION_ID_MAX_LENGTH) trace_id?: string;

  @ApiPropertyOptional({ maxLength: CORRELATION_ID_MAX_LENGTH, description: 'HTTP request id.' })
  @IsOptional() @IsString() @MaxLength(CORRELATION_ID_MAX_LENGTH) request_id?: string;
}

export class SystemLogBatchDto {
  @ApiProperty({ type: [SystemLogInputDto], minItems: 1, maxItems: MAX_SYSTEM_LOGS_PER_BATCH })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_SYSTEM_LOGS_PER_BATCH) @ValidateNested({ each: true }) @Type(() => SystemLogInputDto)
  logs: SystemLogInputDto[];
}

/** OpenAPI: one log, or a batch. */
export const SYSTEM_LOGS_BODY_SCHEMA = { oneOf: [{ $ref: getSchemaPath(SystemLogInputDto) }, { $ref: getSchemaPath(SystemLogBatchDto) }] };

export class RecordedLogDto {
  @ApiProperty({ format: 'uuid' }) log_id: string;
}

export class RecordedLogsDto {
  @ApiProperty({ type: [RecordedLogDto] }) logs: RecordedLogDto[];
}

/** An audited action (DESIGN.md 5); ip_address and user_agent come from the request, the time from the server. */
export class AuditLogInputDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Who acted; defaults to the calling API key.' })
  @IsOptional() @IsUUID() actor_id?: string;

  @ApiPropertyOptional({ enum: ACTOR_TYPES, description: 'Defaults to api_key when actor_id is absent; required with actor_id.' })
  @IsOptional() @IsIn(ACTOR_TYPES, { message: `must be one of ${ACTOR_TYPES.join(', ')}` }) actor_type?: ActorType;

  @ApiProperty({ example: 'policy_approved', description: 'An action of the catalog (spec 3.3 and DESIGN.md 8); another is 400 listing the valid ones.' })
  @IsString() @Matches(AUDIT_ACTION_PATTERN, { message: 'must be a lower snake case action name' }) action: string;

  @ApiProperty({ minLength: 1, maxLength: AUDIT_RESOURCE_TYPE_MAX_LENGTH, example: 'policy' })
  @IsString() @MinLength(1) @MaxLength(AUDIT_RESOURCE_TYPE_MAX_LENGTH) resource_type: string;

  @ApiPropertyOptional({ format: 'uuid', nullable: true })
  @IsOptional() @IsUUID() resource_id?: string | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: `At most ${AUDIT_DETAILS_MAX_BYTES} bytes as JSON.` })
  @IsOptional() @IsObject() details?: Record<string, JsonValue>;

  @ApiPropertyOptional({ default: true })
  @IsOptional() @IsBoolean() success?: boolean;

  @ApiPropertyOptional({ maxLength: AUDIT_FAILURE_REASON_MAX_LENGTH, nullable: true, description: 'Only with success: false.' })
  @IsOptional() @IsString() @MaxLength(AUDIT_FAILURE_REASON_MAX_LENGTH) failure_reason?: string | null;
}

// ---------------------------------------------------------------- list queries

/** Spec 4.5 common filters plus the system-log ones, as query parameters or a search body. */
export class SystemLogFiltersDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: SYSTEM_LOG_LEVELS, description: 'One log level.' })
  @IsOptional() @IsIn(SYSTEM_LOG_LEVELS, { message: `must be one of ${SYSTEM_LOG_LEVELS.join(', ')}` }) level?: SystemLogLevel;

  @ApiPropertyOptional({ maxLength: SYSTEM_LOG_SOURCE_MAX_LENGTH, description: 'Exact component name.' })
  @IsOptional() @IsString() @MaxLength(SYSTEM_LOG_SOURCE_MAX_LENGTH) source?: string;

  @ApiPropertyOptional({ maxLength: CORRELATION_ID_MAX_LENGTH })
  @IsOptional() @IsString() @MaxLength(CORRELATION_ID_MAX_LENGTH) trace_id?: string;

  @ApiPropertyOptional({ maxLength: CORRELATION_ID_MAX_LENGTH })
  @IsOptional() @IsString() @MaxLength(CORRELATION_ID_MAX_LENGTH) request_id?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'timestamp >= start_time (RFC 3339 with offset).' })
  @IsOptional() @IsRfc3339() start_time?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'timestamp < end_time (half-open range).' })
  @IsOptional() @IsRfc3339() @IsNotBefore('start_time') end_time?: string;

  @ApiPropertyOptional({ maxLength: SEARCH_MAX_LENGTH, description: 'Full text over message and context (websearch syntax); an id-shaped term also matches log_id, trace_id and request_id exactly. Indexed in the background: searchable about a second after the write, or up to AOS_SEARCH_INDEX_MAX_LAG_SECONDS (60 s) during a burst of writes.' })
  @IsOptional() @IsString() @IsSearchTerm() search?: string;

  @ApiPropertyOptional({ enum: SYSTEM_LOG_SORT_FIELDS, default: 'timestamp' })
  @IsOptional() @IsIn(SYSTEM_LOG_SORT_FIELDS) sort?: SystemLogSortField;
}

/** Spec 4.5 common filters plus the audit ones, as query parameters or a search body. */
export class AuditLogFiltersDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional() @IsUUID() actor_id?: string;

  @ApiPropertyOptional({ enum: ACTOR_TYPES })
  @IsOptional() @IsIn(ACTOR_TYPES, { message: `must be one of ${ACTOR_TYPES.join(', ')}` }) actor_type?: ActorType;

  @ApiPropertyOptional({ maxLength: 64, example: 'policy_approved' })
  @IsOptional() @IsString() @MaxLength(64) action?: string;

  @ApiPropertyOptional({ maxLength: AUDIT_RESOURCE_TYPE_MAX_LENGTH })
  @IsOptional() @IsString() @MaxLength(AUDIT_RESOURCE_TYPE_MAX_LENGTH) resource_type?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional() @IsUUID() resource_id?: string;

  @ApiPropertyOptional({ type: Boolean, description: 'Only successful (true) or failed (false) actions.' })
  @IsOptional() @ToBoolean() @IsBoolean() success?: boolean;

  @ApiPropertyOptional({ format: 'date-time', description: 'timestamp >= start_time (RFC 3339 with offset).' })
  @IsOptional() @IsRfc3339() start_time?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'timestamp < end_time (half-open range).' })
  @IsOptional() @IsRfc3339() @IsNotBefore('start_time') end_time?: string;

  @ApiPropertyOptional({ maxLength: SEARCH_MAX_LENGTH, description: 'Full text over action and details (websearch syntax); a UUID also matches log_id, actor_id and resource_id exactly.' })
  @IsOptional() @IsString() @IsSearchTerm() search?: string;

  @ApiPropertyOptional({ enum: AUDIT_LOG_SORT_FIELDS, default: 'timestamp' })
  @IsOptional() @IsIn(AUDIT_LOG_SORT_FIELDS) sort?: AuditLogSortField;
}

/** `topic` plus the filters of that topic's list (GET /api/v1/logs/, POST /api/v1/logs/search). */
export class LlmRunsTopicFiltersDto extends TraceFiltersDto {
  @ApiProperty({ enum: ['llm_runs'] }) @IsIn(['llm_runs']) topic: 'llm_runs';
}
export class SystemTopicFiltersDto extends SystemLogFiltersDto {
  @ApiProperty({ enum: ['system'] }) @IsIn(['system']) topic: 'system';
}
export class AuditTopicFiltersDto extends AuditLogFiltersDto {
  @ApiProperty({ enum: ['audit'] }) @IsIn(['audit']) topic: 'audit';
}
export type TopicFiltersDto = LlmRunsTopicFiltersDto | SystemTopicFiltersDto | AuditTopicFiltersDto;

export const TOPIC_FILTERS_BODY_SCHEMA = {
  oneOf: [getSchemaPath(LlmRunsTopicFiltersDto), getSchemaPath(SystemTopicFiltersDto), getSchemaPath(AuditTopicFiltersDto)].map(($ref) => ({ $ref })),
  discriminator: { propertyName: 'topic' },
};

// ---------------------------------------------------------------- answers

/** Spec 3.2 SystemLog as the API answers it. */
export class SystemLogDto {
  @ApiProperty({ format: 'uuid' }) log_id: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'Null for the platform’s own logs.' }) tenant_id: string | null;
  @ApiProperty({ enum: SYSTEM_LOG_LEVELS }) level: SystemLogLevel;
  @ApiProperty() source: string;
  @ApiProperty() message: string;
  @ApiProperty({ format: 'date-time', description: 'Event time as the writer reported it.' }) timestamp: string;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) context: JsonValue | null;
  @ApiProperty({ nullable: true, type: String }) trace_id: string | null;
  @ApiProperty({ nullable: true, type: String }) request_id: string | null;
  @ApiProperty({ format: 'date-time', description: 'When the service recorded it.' }) created_at: string;
}

export class SystemLogListDto {
  @ApiProperty({ type: [SystemLogDto] }) items: SystemLogDto[];
  @ApiProperty({ type: PaginationDto }) pagination: PaginationDto;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) filters_applied: Record<string, string>;
}

/** Spec 3.3 AuditLog as the API answers it. */
export class AuditLogDto {
  @ApiProperty({ format: 'uuid' }) log_id: string;
  @ApiProperty({ format: 'uuid' }) tenant_id: string;
  @ApiProperty({ format: 'uuid' }) actor_id: string;
  @ApiProperty({ enum: ACTOR_TYPES }) actor_type: ActorType;
  @ApiProperty() action: string;
  @ApiProperty() resource_type: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) resource_id: string | null;
  @ApiProperty({ format: 'date-time', description: "The server's time of recording." }) timestamp: string;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) details: JsonValue | null;
  @ApiProperty({ nullable: true, type: String }) ip_address: string | null;
  @ApiProperty({ nullable: true, type: String }) user_agent: string | null;
  @ApiProperty() success: boolean;
  @ApiProperty({ nullable: true, type: String }) failure_reason: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

/** Spec 11.3 list item (plus actor_id and actor_type). */
export class AuditLogItemDto {
  @ApiProperty({ format: 'uuid' }) log_id: string;
  @ApiProperty({ format: 'uuid' }) actor_id: string;
  @ApiProperty({ enum: ACTOR_TYPES }) actor_type: ActorType;
  @ApiProperty({ description: "The actor's display name (an API key's name), or its id." }) actor_name: string;
  @ApiProperty() action: string;
  @ApiProperty() resource_type: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) resource_id: string | null;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty() success: boolean;
}

/** Spec 11.3 AuditLogListData. */
export class AuditLogListDto {
  @ApiProperty({ type: [AuditLogItemDto] }) items: AuditLogItemDto[];
  @ApiProperty({ type: PaginationDto }) pagination: PaginationDto;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) filters_applied: Record<string, string>;
}

/** GET /api/v1/logs/{log_id}: an entry of any topic, with `topic`. */
export class SystemLogEntryDto extends SystemLogDto {
  @ApiProperty({ enum: ['system'] }) topic: 'system';
}
export class AuditLogEntryDto extends AuditLogDto {
  @ApiProperty({ enum: ['audit'] }) topic: 'audit';
  @ApiProperty() actor_name: string;
}
export class LlmRunEntryDto extends TraceDto {
  @ApiProperty({ enum: ['llm_runs'] }) topic: 'llm_runs';
}
export type LogEntryDto = SystemLogEntryDto | AuditLogEntryDto | LlmRunEntryDto;

export const LOG_ENTRY_SCHEMA = {
  oneOf: [getSchemaPath(SystemLogEntryDto), getSchemaPath(AuditLogEntryDto), getSchemaPath(LlmRunEntryDto)].map(($ref) => ({ $ref })),
  discriminator: { propertyName: 'topic' },
};

