import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';
import { type JsonValue, REPLAY_MODES, type ReplayMode, STEP_LEVELS, STEP_TYPES, type StepLevel, type StepType } from '@aos/logs-domain';
import { MAX_LISTED_BAD_STEPS, MAX_MESSAGES, MAX_SPEED, MAX_STREAM_WAIT_MS, RECENT_STEPS } from '@aos/replay';
import { ANY_JSON_SCHEMA, INT32_MAX, ToInteger } from '../common/validators';
import { TraceDto } from '../traces/trace.dto';

/** Query-string decimals: digits with an optional fraction (so `1e3`, `0x10`, `Infinity` and `` stay invalid). */
const ToDecimal = () =>
  Transform(({ value }) => (typeof value === 'string' && /^\d{1,7}(\.\d{1,6})?$/.test(value) ? Number(value) : value), { toClassOnly: true });

const STREAM_MODES = ['AUDIT', 'DEBUG'] as const;

export class ReplayRequestDto {
  @ApiPropertyOptional({
    enum: REPLAY_MODES,
    default: 'AUDIT',
    description:
      'AUDIT: the schedule and integrity, no content. DEBUG: with every step content. RERUN: re-execute every step ' +
      '(refused with 409 when the trace fails its integrity check).',
  })
  @IsOptional()
  @IsIn(REPLAY_MODES)
  mode?: ReplayMode;

  @ApiPropertyOptional({
    default: false,
    description:
      'RERUN only (400 with AUDIT or DEBUG): write the re-execution as a new trace (admin role). RERUN without it is a dry ' +
      're-execution that writes nothing.',
  })
  @IsOptional()
  @IsBoolean()
  emit_traces?: boolean;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_SPEED,
    default: 1,
    description: 'Playback speed: offset_ms is the recorded gap divided by it; 0 puts every step at offset 0.',
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_SPEED)
  speed?: number;
}

export class StateQueryDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'The step after which the state is wanted (0-based); beyond the trace is 404.' })
  @ToInteger()
  @IsInt()
  @Min(0)
  @Max(INT32_MAX)
  step_index: number;
}

export class ReplayStreamQueryDto {
  @ApiPropertyOptional({ enum: STREAM_MODES, default: 'AUDIT', description: 'DEBUG adds every step content to its event.' })
  @IsOptional()
  @IsIn(STREAM_MODES)
  mode?: (typeof STREAM_MODES)[number];

  @ApiPropertyOptional({
    type: Number,
    minimum: 0,
    maximum: MAX_SPEED,
    default: 1,
    description: `Steps are sent at their recorded gaps divided by speed (each wait capped at ${MAX_STREAM_WAIT_MS} ms); 0 sends them at once.`,
  })
  @IsOptional()
  @ToDecimal()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_SPEED)
  speed?: number;
}

export class ReplayIntegrityDto {
  @ApiProperty({ description: 'Every step hash and the sealed trace hash recompute, with no gap in step_index.' }) verified: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'Sealed trace hash (null while open).' }) content_hash: string | null;
  @ApiProperty({ description: 'Trace hash recomputed from the step contents.' }) computed_hash: string;
  @ApiProperty({ description: 'The sealed trace hash matches (true while open).' }) trace_hash_ok: boolean;
  @ApiProperty({ nullable: true, type: 'integer', description: 'Lowest altered or missing step.' }) first_bad_step: number | null;
  @ApiProperty({ type: [Number], description: `Altered or missing steps (at most ${MAX_LISTED_BAD_STEPS}).` }) bad_steps: number[];
}

export class PrefixIntegrityDto {
  @ApiProperty({ description: 'Steps 0..N are all present and each recomputes to its stored hash.' }) verified: boolean;
  @ApiProperty({ type: 'integer' }) steps_checked: number;
  @ApiProperty({ nullable: true, type: 'integer' }) first_bad_step: number | null;
  @ApiProperty({ type: [Number], description: `At most ${MAX_LISTED_BAD_STEPS}.` }) bad_steps: number[];
  @ApiProperty({ description: 'Answered from an earlier recomputation whose rows are unchanged (same PostgreSQL row versions).' })
  from_cache: boolean;
}

export class StepCountsDto {
  @ApiProperty({ type: 'integer' }) input: number;
  @ApiProperty({ type: 'integer' }) llm_call: number;
  @ApiProperty({ type: 'integer' }) tool_call: number;
  @ApiProperty({ type: 'integer' }) output: number;
  @ApiProperty({ type: 'integer' }) policy_check: number;
  @ApiProperty({ type: 'integer' }) violation: number;
}

export class ConversationMessageDto {
  @ApiProperty({ type: 'integer', description: 'The llm_call step it comes from.' }) step_index: number;
  @ApiProperty({ example: 'user' }) role: string;
  @ApiProperty({ nullable: true, description: 'Text, or structured content as recorded.' }) content: JsonValue;
  @ApiPropertyOptional({ description: 'Tool calls the model asked for (as recorded).' }) tool_calls?: JsonValue;
}

export class ConversationDto {
  @ApiProperty({ type: [ConversationMessageDto], description: `Oldest first; at most ${MAX_MESSAGES}, the latest kept.` })
  messages: ConversationMessageDto[];
  @ApiProperty({ type: 'integer', description: 'llm_call steps up to N.' }) llm_calls: number;
  @ApiProperty({ type: 'integer', description: `llm_call steps the messages come from (the latest ${RECENT_STEPS}).` }) llm_calls_included: number;
  @ApiProperty({ description: 'Earlier llm_calls or messages were left out.' }) truncated: boolean;
}

export class ToolCallDto {
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty({ enum: STEP_LEVELS }) level: StepLevel;
  @ApiProperty({ nullable: true, type: String }) tool: string | null;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) arguments: JsonValue | null;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) result: JsonValue | null;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) error: JsonValue | null;
  @ApiProperty() ok: boolean;
  @ApiProperty({ type: 'integer' }) duration_ms: number;
}

export class ToolCallsDto {
  @ApiProperty({ type: [ToolCallDto], description: `The latest ${RECENT_STEPS}, oldest first.` }) items: ToolCallDto[];
  @ApiProperty({ type: 'integer' }) total: number;
  @ApiProperty() truncated: boolean;
}

export class PolicyOutcomesDto {
  @ApiProperty({ type: 'integer' }) pass: number;
  @ApiProperty({ type: 'integer' }) fail: number;
  @ApiProperty({ type: 'integer' }) unknown: number;
}

export class PolicyCheckDto {
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty({ enum: STEP_LEVELS }) level: StepLevel;
  @ApiProperty({ nullable: true, type: String }) policy_id: string | null;
  @ApiProperty({ enum: ['pass', 'fail', 'unknown'] }) outcome: 'pass' | 'fail' | 'unknown';
  @ApiProperty({ nullable: true, type: String }) reason: string | null;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) input_data: JsonValue | null;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) output_data: JsonValue | null;
}

export class PolicyChecksDto {
  @ApiProperty({ type: [PolicyCheckDto], description: `The latest ${RECENT_STEPS}, oldest first.` }) items: PolicyCheckDto[];
  @ApiProperty({ type: 'integer' }) total: number;
  @ApiProperty() truncated: boolean;
  @ApiProperty({ type: PolicyOutcomesDto, description: 'Outcomes of the listed checks.' }) outcomes: PolicyOutcomesDto;
}

export class StateStepDto {
  @ApiProperty({ format: 'uuid' }) step_id: string;
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ enum: STEP_TYPES }) step_type: StepType;
  @ApiProperty({ enum: STEP_LEVELS }) level: StepLevel;
  @ApiProperty({ nullable: true, type: String }) source: string | null;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty({ type: 'integer' }) tokens: number;
  @ApiProperty({ type: 'integer' }) cost_cents: number;
  @ApiProperty({ type: 'integer' }) duration_ms: number;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) input_data: JsonValue | null;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) output_data: JsonValue | null;
  @ApiProperty({ ...ANY_JSON_SCHEMA, nullable: true, description: 'Any JSON' }) metadata: JsonValue | null;
  @ApiProperty() content_hash: string;
  @ApiProperty({ description: 'The stored hash recomputes from the content.' }) hash_ok: boolean;
  @ApiProperty({ description: 'The violation occurred at this step.' }) is_inflection_point: boolean;
}

export class ViolationAtStepDto {
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) policy_id: string | null;
  @ApiProperty({ nullable: true, type: String }) reason: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) timestamp: string | null;
}

/** The state of a recorded run after step N. */
export class ExecutionStateDto {
  @ApiProperty({ format: 'uuid' }) trace_id: string;
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty({ type: StateStepDto }) step: StateStepDto;
  @ApiProperty({ type: 'integer', description: 'Steps 0..N present.' }) steps_so_far: number;
  @ApiProperty({ type: 'integer' }) steps_total: number;
  @ApiProperty() is_last_step: boolean;
  @ApiProperty({ type: StepCountsDto }) step_counts: StepCountsDto;
  @ApiProperty({ type: 'integer' }) cumulative_tokens: number;
  @ApiProperty({ type: 'integer' }) cumulative_cost_cents: number;
  @ApiProperty({ type: 'integer', description: 'Sum of duration_ms over steps 0..N.' }) cumulative_duration_ms: number;
  @ApiProperty({ type: 'integer', description: 'Wall clock from the trace start to the latest end of steps 0..N.' }) elapsed_ms: number;
  @ApiProperty({ type: ConversationDto }) conversation: ConversationDto;
  @ApiProperty({ type: ToolCallsDto }) tool_calls: ToolCallsDto;
  @ApiProperty({ type: PolicyChecksDto }) policy_checks: PolicyChecksDto;
  @ApiProperty() violation_occurred: boolean;
  @ApiProperty({ nullable: true, type: 'integer', description: 'Set only when the violation is at or before N.' }) violation_step_index: number | null;
  @ApiProperty({ nullable: true, type: ViolationAtStepDto }) violation: ViolationAtStepDto | null;
  @ApiProperty({ type: PrefixIntegrityDto }) integrity: PrefixIntegrityDto;
}

export class RerunStepDto {
  @ApiProperty({ description: 'Hash of the re-executed step.' }) content_hash: string;
  @ApiProperty() matches_original: boolean;
}

export class ReplayStepDto {
  @ApiProperty({ type: 'integer' }) step_index: number;
  @ApiProperty({ enum: STEP_TYPES }) step_type: StepType;
  @ApiProperty({ enum: STEP_LEVELS }) level: StepLevel;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty({ type: 'integer', description: "(timestamp - first step's timestamp) / speed, never before the previous step; 0 at speed 0." })
  offset_ms: number;
  @ApiProperty({ type: 'integer' }) tokens: number;
  @ApiProperty({ type: 'integer' }) cost_cents: number;
  @ApiProperty({ type: 'integer' }) duration_ms: number;
  @ApiProperty() content_hash: string;
  @ApiProperty({ description: 'The stored hash recomputes from the content.' }) hash_ok: boolean;
  @ApiProperty({ description: 'The violation occurred at this step.' }) is_inflection_point: boolean;
  @ApiPropertyOptional({ format: 'uuid', description: 'DEBUG only.' }) step_id?: string;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'DEBUG only.' }) source?: string | null;
  @ApiPropertyOptional({ ...ANY_JSON_SCHEMA, nullable: true, description: 'DEBUG only. Any JSON.' }) input_data?: JsonValue | null;
  @ApiPropertyOptional({ ...ANY_JSON_SCHEMA, nullable: true, description: 'DEBUG only. Any JSON.' }) output_data?: JsonValue | null;
  @ApiPropertyOptional({ ...ANY_JSON_SCHEMA, nullable: true, description: 'DEBUG only. Any JSON.' }) metadata?: JsonValue | null;
  @ApiPropertyOptional({ type: RerunStepDto, description: 'RERUN only.' }) rerun?: RerunStepDto;
}

export class RerunOutcomeDto {
  @ApiProperty({ description: 'False for a dry re-execution (nothing written).' }) emitted: boolean;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) new_trace_id: string | null;
  @ApiProperty({ nullable: true, type: TraceDto, description: 'The new sealed trace (emitted only).' }) new_trace: TraceDto | null;
  @ApiProperty({ description: 'Trace hash of the re-execution.' }) content_hash: string;
  @ApiProperty({ description: 'Every step hash and the trace hash were reproduced.' }) matches_original: boolean;
  @ApiProperty({ type: 'integer' }) steps_matching: number;
  @ApiProperty({ nullable: true, type: 'integer' }) first_divergent_step: number | null;
}

export class ReplayResultDto {
  @ApiProperty({ type: TraceDto }) trace: TraceDto;
  @ApiProperty({ enum: REPLAY_MODES }) mode: ReplayMode;
  @ApiProperty() emit_traces: boolean;
  @ApiProperty() speed: number;
  @ApiProperty({ type: 'integer' }) step_count: number;
  @ApiProperty({ type: 'integer', description: "The last step's offset_ms." }) duration_ms: number;
  @ApiProperty({ type: [ReplayStepDto] }) steps: ReplayStepDto[];
  @ApiProperty({ nullable: true, type: ExecutionStateDto, description: 'State after the last step; null without steps.' })
  final_state: ExecutionStateDto | null;
  @ApiProperty({ type: ReplayIntegrityDto }) integrity: ReplayIntegrityDto;
  @ApiProperty({ nullable: true, type: RerunOutcomeDto, description: 'RERUN only.' }) rerun: RerunOutcomeDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'The trace a RERUN with emit_traces wrote.' })
  new_trace_id: string | null;
}
