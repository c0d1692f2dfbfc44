import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ADMINS, AllowPlatform, Roles } from '../auth/principal';
import { CurrentActor, CurrentOrigin, type RequestActor, type RequestOrigin } from '../auth/request-actor';
import { UuidParamPipe } from '../http';
import { ApiKeyCreatedDto, ApiKeyDto, ApiKeyListDto, CreateApiKeyDto, CreateTenantDto, TenantCreatedDto } from './tenants.dto';
import { TenantsService } from './tenants.service';

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('api/v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @Roles()
  @AllowPlatform()
  @ApiOperation({ summary: 'Create a tenant and its first admin key (platform operator key only)' })
  @ApiCreatedResponse({ type: TenantCreatedDto })
  create(@Body() body: CreateTenantDto, @CurrentOrigin() origin: RequestOrigin): Promise<TenantCreatedDto> {
    return this.tenants.createTenant(body.name, body.compliance ?? 'none', origin);
  }
}

@ApiTags('api-keys')
@ApiBearerAuth()
@Roles(...ADMINS)
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly tenants: TenantsService) {}

  @Get()
  @ApiOperation({ summary: "List the tenant's API keys (never their secrets)" })
  @ApiOkResponse({ type: ApiKeyListDto })
  async list(@CurrentActor() who: RequestActor): Promise<ApiKeyListDto> {
    return { items: await this.tenants.listKeys(who) };
  }

  @Post()
  @ApiOperation({ summary: 'Create an API key; its secret is answered once' })
  @ApiCreatedResponse({ type: ApiKeyCreatedDto })
  async create(@CurrentActor() who: RequestActor, @Body() body: CreateApiKeyDto): Promise<ApiKeyCreatedDto> {
    return { api_key: await this.tenants.createKey(who, body) };
  }

  @Delete(':key_id')
  @ApiOperation({ summary: 'Revoke an API key, effective at once (audited once; revoking it again answers 200 with the revoked key)' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: "The tenant's last active admin key" })
  revoke(@CurrentActor() who: RequestActor, @Param('key_id', UuidParamPipe) keyId: string): Promise<ApiKeyDto> {
    return this.tenants.revokeKey(who, keyId);
  }
}
