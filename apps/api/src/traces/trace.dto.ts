import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import {
  type JsonValue,
  STEP_LEVELS,
  STEP_TYPES,
  type StepLevel,
  type StepType,
  TERMINAL_TRACE_STATUSES,
  type TerminalTraceStatus,
  TRACE_STATUSES,
  type TraceStatus,
} from '@aos/logs-domain';
import { MAX_STEPS_PER_BATCH } from '@aos/traces-store';
import { ANY_JSON_SCHEMA, INT32_MAX, IsRfc3339 } from '../common/validators';

export class CreateTraceDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Client-chosen id; generated (UUIDv7) when absent. Re-sending the same trace is idempotent.' })
  @IsOptional() @IsUUID() trace_id?: string;

  @ApiProperty({ format: 'uuid', description: 'The run this trace records (Activity domain).' })
  @IsUUID() run_id: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID() agent_id: string;

  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional() @IsString() @MaxLength(200) agent_name?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'RFC 3339 with offset; defaults to now.' })
  @IsOptional() @IsRfc3339() started_at?: string;

  @ApiPropertyOptional({ default: false, description: 'SDSR test marker.' })
  @IsOptional() @IsBoolean() is_synthetic?: boolean;

  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional() @IsString() @MaxLength(200) synthetic_scenario_id?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Incident link; may also be set once later.' })
  @IsOptional() @IsUUID() incident_id?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'The policy in force for this run (write-once).' })
  @IsOptional() @IsObject() policy_snapshot?: Record<string, JsonValue>;
}

export class StepDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Starts at 0, no gaps.' })
  @IsInt() @Min(0) @Max(INT32_MAX) step_index: number;

  @ApiProperty({ enum: STEP_TYPES })
  @IsIn(STEP_TYPES) step_type: StepType;

  @ApiPropertyOptional({ enum: STEP_LEVELS, default: 'info' })
  @IsOptional() @IsIn(STEP_LEVELS) level?: StepLevel;

  @ApiPropertyOptional({ maxLength: 200, description: 'Component that created the step.' })
  @IsOptional() @IsString() @MaxLength(200) source?: string;

  @ApiProperty({ format: 'date-time', description: 'RFC 3339 with offset; hashed at millisecond precision in UTC.' })
  @IsRfc3339() timestamp: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0 })
  @IsOptional() @IsInt() @Min(0) @Max(INT32_MAX) tokens?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0 })
  @IsOptional() @IsInt() @Min(0) @Max(INT32_MAX) cost_cents?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0 })
  @IsOptional() @IsInt() @Min(0) @Max(INT32_MAX) duration_ms?: number;

  @ApiPropertyOptional({ ...ANY_JSON_SCHEMA, description: 'Any JSON value; covered by the step hash.' })
  @Allow() input_data?: JsonValue;

  @ApiPropertyOptional({ ...ANY_JSON_SCHEMA, description: 'Any JSON value; covered by the step hash.' })
  @Allow() output_data?: JsonValue;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional() @IsObject() metadata?: Record<string, JsonValue>;
}

export class StepBatchDto {
  @ApiProperty({ type: [StepDto], minItems: 1, maxItems: MAX_STEPS_PER_BATCH })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_STEPS_PER_BATCH) @ValidateNested({ each: true }) @Type(() => StepDto)
  steps: StepDto[];
}

/** OpenAPI: one step, or a batch. */
export const STEPS_BODY_SCHEMA = { oneOf: [{ $ref: getSchemaPath(StepDto) }, { $ref: getSchemaPath(StepBatchDto) }] };

export class ViolationDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'A recorded step.' })
  @IsInt() @Min(0) @Max(INT32_MAX) step_index: number;

  @ApiProperty({ format: 'uuid' })
  @IsUUID() policy_id: string;

  @ApiProperty({ minLength: 1, maxLength: 2000 })
  @IsString() @MinLength(1) @MaxLength(2000) reason: string;

  @ApiPropertyOptional({ format: 'date-time', description: "Defaults to the step's timestamp." })
  @IsOptional() @IsRfc3339() timestamp?: string;
}

export class CompleteTraceDto {
  @ApiProperty({ enum: TERMINAL_TRACE_STATUSES })
  @IsIn(TERMINAL_TRACE_STATUSES, { message: `must be one of ${TERMINAL_TRACE_STATUSES.join(', ')}` })
  status: TerminalTraceStatus;
}

export class LinkIncidentDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID() incident_id: string;
}

/** Spec 3.1 TraceSummary as the API answers it. */
export class TraceDto {
  @ApiProperty({ format: 'uuid' }) trace_id: string;
  @ApiProperty({ format: 'uuid' }) run_id: string;
  @ApiProperty({ format: 'uuid' }) tenant_id: string;
  @ApiProperty({ format: 'uuid' }) agent_id: string;
  @ApiProperty({ nullable: true, type: String }) agent_name: string | null;
  @ApiProperty({ enum: TRACE_STATUSES }) status: TraceStatus;
  @ApiProperty({ type: 'integer' }) step_count: number;
  @ApiProperty({ type: 'integer' }) total_tokens: number;
  @ApiProperty({ type: 'integer' }) total_cost_cents: number;
  @ApiProperty({ type: 'integer', description: 'Wall-clock: completed_at - started_at (live while open).' }) total_duration_ms: number;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) completed_at: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'SHA-256 over the step hashes; null while open.' }) content_hash: string | null;
  @ApiProperty() is_synthetic: boolean;
  @ApiProperty({ nullable: true, type: String }) synthetic_scenario_id: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) incident_id: string | null;
  @ApiProperty({ nullable: true, type: 'integer' }) violation_step_index: number | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) violation_timestamp: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) violation_policy_id: string | null;
  @ApiProperty({ nullable: true, type: String }) violation_reason: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class RecordedStepDto {
  @ApiProperty({ format: 'uuid' }) step_id: string;
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ description: 'hex(sha256(JCS({step_index, step_type, input_data, output_data, timestamp})))' }) content_hash: string;
}

export class RecordedStepsDto {
  @ApiProperty({ type: [RecordedStepDto] }) steps: RecordedStepDto[];
}
