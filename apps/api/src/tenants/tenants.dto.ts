import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { API_KEY_ROLES, type ApiKeyRole, COMPLIANCE_PROFILES, type ComplianceProfile } from '@aos/logs-domain';

// eslint-disable-next-line no-control-regex -- names must not carry control characters
const NAME = /^[^\u0000-\u001f]+$/;

export class CreateTenantDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'acme' })
  @IsString() @MinLength(1) @MaxLength(200) @Matches(NAME, { message: 'must not contain control characters' }) name: string;

  @ApiPropertyOptional({ enum: COMPLIANCE_PROFILES, default: 'none', description: 'Selects the retention minimums (spec 10.3).' })
  @IsOptional() @IsIn(COMPLIANCE_PROFILES) compliance?: ComplianceProfile;
}

export class CreateApiKeyDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'ingest from agent-runner' })
  @IsString() @MinLength(1) @MaxLength(200) @Matches(NAME, { message: 'must not contain control characters' }) name: string;

  @ApiProperty({ enum: API_KEY_ROLES })
  @IsIn(API_KEY_ROLES) role: ApiKeyRole;
}

export class TenantDto {
  @ApiProperty({ format: 'uuid' }) tenant_id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: COMPLIANCE_PROFILES }) compliance: ComplianceProfile;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: API_KEY_ROLES }) role: ApiKeyRole;
  @ApiProperty({ description: 'First characters of the key, to recognise it.' }) key_prefix: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revoked_at: string | null;
  @ApiPropertyOptional({ description: 'The secret: present only in the answer that creates the key. Only its hash is stored.' })
  key?: string;
}

export class ApiKeyCreatedDto {
  @ApiProperty({ type: ApiKeyDto }) api_key: ApiKeyDto;
}

export class TenantCreatedDto {
  @ApiProperty({ type: TenantDto }) tenant: TenantDto;
  @ApiProperty({ type: ApiKeyDto, description: "The tenant's first admin key (shown once)." }) api_key: ApiKeyDto;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] }) items: ApiKeyDto[];
}
