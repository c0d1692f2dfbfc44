import { Body, Controller, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { EvidenceContextStore, type IncidentRecord } from '@aos/traces-store';
import { CurrentTenant, Roles, type TenantPrincipal, WRITERS } from '../auth/principal';
import { IsRfc3339 } from '../common/validators';
import { UuidParamPipe } from '../http';

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const STATUSES = ['open', 'acknowledged', 'resolved'] as const;

export class IncidentInputDto {
  @ApiPropertyOptional({ maxLength: 500 }) @IsOptional() @IsString() @MaxLength(500) title?: string;
  @ApiPropertyOptional({ enum: SEVERITIES }) @IsOptional() @IsIn(SEVERITIES) severity?: (typeof SEVERITIES)[number];
  @ApiPropertyOptional({ enum: STATUSES }) @IsOptional() @IsIn(STATUSES) status?: (typeof STATUSES)[number];
  @ApiPropertyOptional({ format: 'date-time' }) @IsOptional() @IsRfc3339() opened_at?: string;
}

export class IncidentDto {
  @ApiProperty({ format: 'uuid' }) incident_id: string;
  @ApiProperty({ nullable: true, type: String }) title: string | null;
  @ApiProperty({ nullable: true, enum: SEVERITIES }) severity: string | null;
  @ApiProperty({ nullable: true, enum: STATUSES }) status: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) opened_at: string | null;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
}

/**
 * The incidents mirror (Incidents domain → this service), read by evidence
 * bundles as `incident_context`. Link a trace with POST /traces/{id}/incident.
 */
@ApiTags('incidents')
@ApiBearerAuth()
@Roles(...WRITERS)
@Controller('api/v1/incidents')
export class IncidentsController {
  constructor(private readonly context: EvidenceContextStore) {}

  @Put(':incident_id')
  @ApiOperation({ summary: "Record an incident's current state (fields left out keep their value)" })
  @ApiOkResponse({ type: IncidentDto })
  @ApiConflictResponse({ description: 'The id belongs to another tenant' })
  upsert(@CurrentTenant() who: TenantPrincipal, @Param('incident_id', UuidParamPipe) id: string, @Body() body: IncidentInputDto): Promise<IncidentRecord> {
    return this.context.upsertIncident(who.tenantId, id, body);
  }
}
