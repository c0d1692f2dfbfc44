import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type RetentionActor, RetentionService } from '@aos/audit';
import { ADMINS, Roles } from '../auth/principal';
import { CurrentActor, type RequestActor } from '../auth/request-actor';
import { UuidParamPipe } from '../http';
import { CreateLegalHoldDto, LegalHoldDto, LegalHoldListDto, PurgeReportDto, PurgeRequestDto, RetentionOverridesDto, RetentionPolicyDto } from './retention.dto';

const actorOf = (who: RequestActor): RetentionActor => ({ actorId: who.actorId, actorType: who.actorType, ipAddress: who.ipAddress, userAgent: who.userAgent });

/** Retention policies, legal holds and the purge (spec 10, DESIGN.md 6 and 8): admin only. */
@ApiTags('retention')
@ApiBearerAuth()
@Roles(...ADMINS)
@Controller('api/v1/retention')
export class RetentionController {
  constructor(private readonly retention: RetentionService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's retention: effective policy, overrides and compliance minimums" })
  @ApiOkResponse({ type: RetentionPolicyDto })
  get(@CurrentActor() who: RequestActor): Promise<RetentionPolicyDto> {
    return this.retention.getPolicy(who.tenantId);
  }

  @Put()
  @ApiOperation({ summary: "Replace the tenant's overrides (audited); shortening below the compliance minimum is 400 naming the minimum" })
  @ApiOkResponse({ type: RetentionPolicyDto })
  @ApiBadRequestResponse({ description: 'Malformed, or shorter than the compliance minimum' })
  put(@CurrentActor() who: RequestActor, @Body() body: RetentionOverridesDto): Promise<RetentionPolicyDto> {
    // Plain JSON (nulls kept, absent fields dropped) for the domain check.
    return this.retention.putPolicy(who.tenantId, actorOf(who), JSON.parse(JSON.stringify(body)));
  }

  @Get('holds')
  @ApiOperation({ summary: "The tenant's legal holds, newest first (released ones too)" })
  @ApiOkResponse({ type: LegalHoldListDto })
  async holds(@CurrentActor() who: RequestActor): Promise<LegalHoldListDto> {
    return { items: await this.retention.listHolds(who.tenantId) };
  }

  @Post('holds')
  @ApiOperation({ summary: 'Place a legal hold on the tenant, a trace or an incident (audited); nothing under it is purged' })
  @ApiCreatedResponse({ type: LegalHoldDto })
  @ApiNotFoundResponse({ description: 'The trace is not found' })
  placeHold(@CurrentActor() who: RequestActor, @Body() body: CreateLegalHoldDto): Promise<LegalHoldDto> {
    return this.retention.placeHold(who.tenantId, actorOf(who), body);
  }

  @Post('holds/:hold_id/release')
  @HttpCode(200)
  @ApiOperation({ summary: 'Release a legal hold (audited; releasing twice answers the released hold)' })
  @ApiOkResponse({ type: LegalHoldDto })
  @ApiNotFoundResponse()
  release(@CurrentActor() who: RequestActor, @Param('hold_id', UuidParamPipe) holdId: string): Promise<LegalHoldDto> {
    return this.retention.releaseHold(who.tenantId, actorOf(who), holdId);
  }

  @Post('purge')
  @HttpCode(200)
  @ApiOperation({ summary: "Purge the tenant's expired records now (audited), or with dry_run report what would go" })
  @ApiOkResponse({ type: PurgeReportDto })
  async purge(@CurrentActor() who: RequestActor, @Body() body: PurgeRequestDto): Promise<PurgeReportDto> {
    const report = await this.retention.purge({ tenantId: who.tenantId, dryRun: body?.dry_run === true, actor: actorOf(who) });
    const [tenant] = report.tenants;
    return {
      dry_run: report.dry_run,
      now: report.now,
      tenant_id: who.tenantId,
      removed: tenant.removed,
      removed_hash: tenant.removed_hash,
      audit_log_id: tenant.audit_log_id,
      targets: tenant.targets,
    };
  }
}
