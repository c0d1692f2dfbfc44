import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import {
  SEARCH_MAX_LENGTH,
  SORT_ORDERS,
  type SortOrder,
  STEP_LEVELS,
  STEP_TYPES,
  TRACE_SORT_FIELDS,
  TRACE_STATUSES,
  type TraceSortField,
  type TraceStatus,
} from '@aos/logs-domain';
import { ANY_JSON_SCHEMA, IsNotBefore, IsRfc3339, IsSearchTerm, ToBoolean, ToInteger } from '../common/validators';
import { TraceDto } from '../traces/trace.dto';

export const MAX_LIMIT = 1000;

/** Paging of every list (DESIGN.md 5): `limit`/`offset`, or the opaque keyset `cursor`. */
export class PageQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 50 })
  @IsOptional() @ToInteger() @IsInt() @Min(1) @Max(MAX_LIMIT) limit?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0, description: 'Ignored with a cursor.' })
  @IsOptional() @ToInteger() @IsInt() @Min(0) @Max(10_000_000) offset?: number;

  @ApiPropertyOptional({ description: "next_cursor of the previous page (keyset: page 10,000 costs what page 1 costs). It belongs to its sort and order." })
  @IsOptional() @IsString() @MaxLength(1000) cursor?: string;

  @ApiPropertyOptional({ enum: SORT_ORDERS, default: 'desc' })
  @IsOptional() @IsIn(SORT_ORDERS) order?: SortOrder;
}

/** A trace's steps: paged like every list, but in step order by default. */
export class StepsPageQueryDto extends OmitType(PageQueryDto, ['order'] as const) {
  @ApiPropertyOptional({ enum: SORT_ORDERS, default: 'asc', description: 'By step_index.' })
  @IsOptional() @IsIn(SORT_ORDERS) order?: SortOrder;
}

/** Spec 4.5: the common and LLM-run filters, as query parameters or a search body. */
export class TraceFiltersDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional() @IsUUID() run_id?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional() @IsUUID() agent_id?: string;

  @ApiPropertyOptional({ enum: TRACE_STATUSES })
  @IsOptional() @IsIn(TRACE_STATUSES) status?: TraceStatus;

  @ApiPropertyOptional({ type: Boolean, description: 'Only traces with (true) or without (false) a violation.' })
  @IsOptional() @ToBoolean() @IsBoolean() has_violation?: boolean;

  @ApiPropertyOptional({ format: 'uuid', description: 'Violated policy.' })
  @IsOptional() @IsUUID() policy_id?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'started_at >= start_time (RFC 3339 with offset).' })
  @IsOptional() @IsRfc3339() start_time?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'started_at < end_time (half-open range).' })
  @IsOptional() @IsRfc3339() @IsNotBefore('start_time') end_time?: string;

  @ApiPropertyOptional({ maxLength: SEARCH_MAX_LENGTH, description: 'Full text over step input/output and violation reason (websearch syntax); an id matches ids exactly. Step content is indexed in the background: searchable about a second after its write, or up to AOS_SEARCH_INDEX_MAX_LAG_SECONDS (60 s) during a burst of writes.' })
  @IsOptional() @IsString() @IsSearchTerm() search?: string;

  @ApiPropertyOptional({ enum: TRACE_SORT_FIELDS, default: 'started_at' })
  @IsOptional() @IsIn(TRACE_SORT_FIELDS) sort?: TraceSortField;
}

export class PaginationDto {
  @ApiProperty({ type: 'integer', description: 'Matching rows; a lower bound when total_exact is false.' }) total: number;
  @ApiProperty({ type: 'integer', description: '1-based page number.' }) page: number;
  @ApiProperty({ type: 'integer' }) page_size: number;
  @ApiProperty({ description: 'False when counting stopped at the cap (1,000), or, for a search its index matches cannot count, after the first 2,000 traces that pass the other filters.' }) total_exact: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last page.' }) next_cursor: string | null;
}

/** Spec 11.1 list item. */
export class LlmRunItemDto {
  @ApiProperty({ format: 'uuid' }) trace_id: string;
  @ApiProperty({ format: 'uuid' }) run_id: string;
  @ApiProperty({ format: 'uuid' }) agent_id: string;
  @ApiProperty({ description: 'The agent name, or its id when none was recorded.' }) agent_name: string;
  @ApiProperty({ enum: TRACE_STATUSES }) status: TraceStatus;
  @ApiProperty({ type: 'integer' }) step_count: number;
  @ApiProperty({ type: 'integer' }) total_tokens: number;
  @ApiProperty({ type: 'integer' }) total_cost_cents: number;
  @ApiProperty({ type: 'integer' }) total_duration_ms: number;
  @ApiProperty() has_violation: boolean;
  @ApiPropertyOptional({ format: 'uuid' }) violation_policy_id?: string;
  @ApiProperty() is_synthetic: boolean;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiPropertyOptional({ format: 'date-time' }) completed_at?: string;
}

/** Spec 11.1 LLMRunsListData. */
export class LlmRunsListDto {
  @ApiProperty({ type: [LlmRunItemDto] }) items: LlmRunItemDto[];
  @ApiProperty({ type: PaginationDto }) pagination: PaginationDto;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) filters_applied: Record<string, string>;
}

export class TraceDetailTraceDto {
  @ApiProperty({ format: 'uuid' }) trace_id: string;
  @ApiProperty({ format: 'uuid' }) run_id: string;
  @ApiProperty({ format: 'uuid' }) agent_id: string;
  @ApiPropertyOptional({ description: 'Absent when none was recorded (as every absent field of this panel, spec 11.2).' }) agent_name?: string;
  @ApiProperty({ enum: TRACE_STATUSES }) status: string;
  @ApiProperty({ type: 'integer' }) step_count: number;
  @ApiProperty({ type: 'integer' }) total_tokens: number;
  @ApiProperty({ type: 'integer' }) total_cost_cents: number;
  @ApiProperty({ type: 'integer' }) total_duration_ms: number;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiPropertyOptional({ format: 'date-time' }) completed_at?: string;
  @ApiPropertyOptional() content_hash?: string;
  @ApiPropertyOptional({ format: 'uuid' }) incident_id?: string;
  @ApiPropertyOptional({ type: 'integer' }) violation_step_index?: number;
  @ApiPropertyOptional({ format: 'uuid' }) violation_policy_id?: string;
  @ApiPropertyOptional() violation_reason?: string;
  @ApiPropertyOptional({ format: 'date-time' }) violation_timestamp?: string;
}

export class TraceDetailStepDto {
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ enum: STEP_TYPES }) step_type: string;
  @ApiProperty({ enum: STEP_LEVELS }) level: string;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty({ type: 'integer' }) tokens: number;
  @ApiProperty({ type: 'integer' }) cost_cents: number;
  @ApiProperty({ type: 'integer' }) duration_ms: number;
  @ApiProperty({ description: 'The step where the violation occurred.' }) is_inflection_point: boolean;
  @ApiProperty() content_hash: string;
}

export class PanelActionDto {
  @ApiProperty({ example: 'replay' }) action: string;
  @ApiProperty({ example: 'Replay run' }) label: string;
  @ApiProperty() enabled: boolean;
}

/** Spec 11.2 TraceDetailData. */
export class TraceDetailDto {
  @ApiProperty({ type: TraceDetailTraceDto }) trace: TraceDetailTraceDto;
  @ApiProperty({ type: [TraceDetailStepDto] }) steps: TraceDetailStepDto[];
  @ApiProperty({ type: [PanelActionDto] }) actions: PanelActionDto[];
}

export class TraceStepDto {
  @ApiProperty({ format: 'uuid' }) step_id: string;
  @ApiProperty({ format: 'uuid' }) trace_id: string;
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ enum: STEP_TYPES }) step_type: string;
  @ApiProperty({ enum: STEP_LEVELS }) level: string;
  @ApiProperty({ nullable: true, type: String }) source: string | null;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty({ type: 'integer' }) tokens: number;
  @ApiProperty({ type: 'integer' }) cost_cents: number;
  @ApiProperty({ type: 'integer' }) duration_ms: number;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) input_data: unknown;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) output_data: unknown;
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true }) metadata: unknown;
  @ApiProperty() content_hash: string;
  @ApiProperty() is_inflection_point: boolean;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class StepsPageDto {
  @ApiProperty({ type: [TraceStepDto] }) items: TraceStepDto[];
  @ApiProperty({ type: PaginationDto }) pagination: PaginationDto;
}

export class StepVerificationDto {
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ description: 'Hash stored at write time.' }) stored: string;
  @ApiProperty({ description: 'Hash recomputed from the stored content now.' }) computed: string;
  @ApiProperty() ok: boolean;
}

export class VerificationDto {
  @ApiProperty() verified: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'Sealed trace hash (null while open).' }) content_hash: string | null;
  @ApiProperty({ description: 'Trace hash recomputed from the step contents.' }) computed_hash: string;
  @ApiProperty({ type: [StepVerificationDto] }) steps: StepVerificationDto[];
}

export { TraceDto };
