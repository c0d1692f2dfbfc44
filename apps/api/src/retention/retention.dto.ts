import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';
import {
  COMPLIANCE_PROFILES,
  type ComplianceProfile,
  LEGAL_HOLD_SCOPES,
  type LegalHoldScope,
  MAX_RETENTION_DAYS,
  RETENTION_TYPES,
  type RetentionType,
  SYSTEM_LOG_LEVELS,
  type SystemLogLevel,
} from '@aos/logs-domain';

const DAYS = { type: Number, nullable: true, minimum: 1, maximum: MAX_RETENTION_DAYS, description: 'Days; null keeps the records for ever.' } as const;

/** Days per system log level; null: permanent. */
export class SystemLogRetentionDto {
  @ApiPropertyOptional(DAYS) @IsOptional() @IsInt() @Min(1) @Max(MAX_RETENTION_DAYS) debug?: number | null;
  @ApiPropertyOptional(DAYS) @IsOptional() @IsInt() @Min(1) @Max(MAX_RETENTION_DAYS) info?: number | null;
  @ApiPropertyOptional(DAYS) @IsOptional() @IsInt() @Min(1) @Max(MAX_RETENTION_DAYS) warning?: number | null;
  @ApiPropertyOptional(DAYS) @IsOptional() @IsInt() @Min(1) @Max(MAX_RETENTION_DAYS) error?: number | null;
  @ApiPropertyOptional(DAYS) @IsOptional() @IsInt() @Min(1) @Max(MAX_RETENTION_DAYS) critical?: number | null;
}

/** `PUT /api/v1/retention`: the tenant's overrides (replacing the previous ones). Absent: the profile's value. */
export class RetentionOverridesDto {
  @ApiPropertyOptional({ ...DAYS, description: "LLM traces, days after completion; may not be shorter than the compliance profile's minimum." })
  @IsOptional() @IsInt() @Min(1) @Max(MAX_RETENTION_DAYS) traces?: number | null;

  @ApiPropertyOptional({ ...DAYS, description: "Audit logs, days; may not be shorter than the compliance profile's minimum." })
  @IsOptional() @IsInt() @Min(1) @Max(MAX_RETENTION_DAYS) audit_logs?: number | null;

  @ApiPropertyOptional({ type: SystemLogRetentionDto, description: 'System logs by level, days after created_at.' })
  @IsOptional() @ValidateNested() @Type(() => SystemLogRetentionDto) system_logs?: SystemLogRetentionDto;
}

export class RetentionValuesDto {
  @ApiProperty({ type: Number, nullable: true }) traces: number | null;
  @ApiProperty({ type: Number, nullable: true }) audit_logs: number | null;
  @ApiProperty({ type: SystemLogRetentionDto }) system_logs: Record<SystemLogLevel, number | null>;
}

export class RetentionMinimumsDto {
  @ApiPropertyOptional() traces?: number;
  @ApiPropertyOptional() audit_logs?: number;
}

export class RetentionPolicyDto {
  @ApiProperty({ format: 'uuid' }) tenant_id: string;
  @ApiProperty({ enum: COMPLIANCE_PROFILES }) compliance: ComplianceProfile;
  @ApiProperty({ type: RetentionValuesDto, description: "The profile's retention before overrides (spec 10.1-10.3)." }) defaults: RetentionValuesDto;
  @ApiProperty({ type: RetentionMinimumsDto, description: 'The shortest retention the compliance profile allows, days.' }) minimums: RetentionMinimumsDto;
  @ApiProperty({ type: RetentionOverridesDto }) overrides: RetentionOverridesDto;
  @ApiProperty({ type: RetentionValuesDto, description: 'What the purge applies.' }) effective: RetentionValuesDto;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) updated_at: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) updated_by: string | null;
}

export class CreateLegalHoldDto {
  @ApiProperty({ enum: LEGAL_HOLD_SCOPES, description: 'tenant: everything of the tenant; trace: one trace; incident: every trace linked to the incident.' })
  @IsIn(LEGAL_HOLD_SCOPES) scope: LegalHoldScope;

  @ApiPropertyOptional({ format: 'uuid', description: 'The trace or incident id; absent for a tenant hold.' })
  @IsOptional() @IsUUID() target_id?: string;

  @ApiProperty({ minLength: 1, maxLength: 2000, example: 'Litigation hold, case 2026-17' })
  @IsString() @MinLength(1) @MaxLength(2000) reason: string;
}

export class LegalHoldDto {
  @ApiProperty({ format: 'uuid' }) hold_id: string;
  @ApiProperty({ format: 'uuid' }) tenant_id: string;
  @ApiProperty({ enum: LEGAL_HOLD_SCOPES }) scope: LegalHoldScope;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) target_id: string | null;
  @ApiProperty() reason: string;
  @ApiProperty({ format: 'uuid' }) placed_by: string;
  @ApiProperty({ format: 'date-time' }) placed_at: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) released_at: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) released_by: string | null;
}

export class LegalHoldListDto {
  @ApiProperty({ type: [LegalHoldDto] }) items: LegalHoldDto[];
}

export class PurgeRequestDto {
  @ApiPropertyOptional({ default: false, description: 'Report what would go; delete nothing.' })
  @IsOptional() @IsBoolean() dry_run?: boolean;
}

export class PurgeTargetDto {
  @ApiProperty({ enum: RETENTION_TYPES }) type: RetentionType;
  @ApiProperty({ enum: SYSTEM_LOG_LEVELS, nullable: true, type: String }) level: SystemLogLevel | null;
  @ApiProperty({ type: Number, nullable: true }) retention_days: number | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Records that expired before it go; null: permanent.' }) cutoff: string | null;
  @ApiProperty() removed: number;
  @ApiProperty() steps_removed: number;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) first_at: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) last_at: string | null;
  @ApiProperty({ description: 'hex(sha256(concatenation of batch_hashes)); see README "Retention".' }) removed_hash: string;
  @ApiProperty({ type: [String] }) batch_hashes: string[];
}

export class PurgeReportDto {
  @ApiProperty() dry_run: boolean;
  @ApiProperty({ format: 'date-time' }) now: string;
  @ApiProperty({ format: 'uuid' }) tenant_id: string;
  @ApiProperty() removed: number;
  @ApiProperty() removed_hash: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The retention_purged audit row (null on a dry run).' }) audit_log_id: string | null;
  @ApiProperty({ type: [PurgeTargetDto] }) targets: PurgeTargetDto[];
}
