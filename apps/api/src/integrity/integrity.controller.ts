import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditLogService } from '@aos/audit';
import { LedgerService } from '@aos/ledger';
import { AllowPlatform, AUDITORS, CurrentPrincipal, type Principal, Public, READERS, Roles, scopeOf } from '../auth/principal';
import { CurrentActorOrPlatform, type RequestActor } from '../auth/request-actor';
import {
  CheckpointDto,
  ConsistencyProofDto,
  ConsistencyQueryDto,
  InclusionProofDto,
  InclusionQueryDto,
  IntegrityAuditDto,
  PublicKeyDto,
} from './integrity.dto';

/**
 * The tamper-evident ledger (issue 7, libs/logs-domain/LEDGER.md): the signing
 * key, signed checkpoints, inclusion and consistency proofs of the caller's log
 * (a tenant key: its tenant's; the platform key: the platform's system logs),
 * and the integrity audit.
 */
@ApiTags('integrity')
@ApiBearerAuth()
@Controller('api/v1/integrity')
export class IntegrityController {
  constructor(
    private readonly ledger: LedgerService,
    private readonly audit: AuditLogService,
  ) {}

  @Get('public-key')
  @Public()
  @ApiOperation({ summary: 'The Ed25519 key that signs checkpoints and evidence (no key needed)' })
  @ApiOkResponse({ type: PublicKeyDto })
  publicKey(): PublicKeyDto {
    return this.ledger.publicKey();
  }

  @Get('checkpoint')
  @Roles(...READERS)
  @AllowPlatform()
  @ApiOperation({ summary: "The signed checkpoint of the caller's log as it is now (signed on the spot when records were added since the last one)" })
  @ApiOkResponse({ type: CheckpointDto })
  @ApiNotFoundResponse({ description: 'The log has no leaves yet' })
  checkpoint(@CurrentPrincipal() who: Principal): Promise<CheckpointDto> {
    return this.ledger.currentCheckpoint(scopeOf(who));
  }

  @Get('proof/inclusion')
  @Roles(...READERS)
  @AllowPlatform()
  @ApiOperation({ summary: "Inclusion proof of a trace, audit log or system log in the caller's log, against a signed checkpoint" })
  @ApiOkResponse({ type: InclusionProofDto })
  @ApiBadRequestResponse({ description: 'Bad record type, id or tree size' })
  @ApiNotFoundResponse({ description: 'Not in this log (another tenant’s, unsealed, or unknown), or no checkpoint of that size' })
  inclusion(@CurrentPrincipal() who: Principal, @Query() q: InclusionQueryDto): Promise<InclusionProofDto> {
    return this.ledger.inclusionProof(scopeOf(who), q.record_type, q.record_id, q.tree_size);
  }

  @Get('proof/consistency')
  @Roles(...READERS)
  @AllowPlatform()
  @ApiOperation({ summary: 'Consistency proof that the log of size `from` is a prefix of the log of size `to` (RFC 9162 2.1.4)' })
  @ApiOkResponse({ type: ConsistencyProofDto })
  @ApiBadRequestResponse({ description: 'from < 1, to < from, or to beyond the current size' })
  consistency(@CurrentPrincipal() who: Principal, @Query() q: ConsistencyQueryDto): Promise<ConsistencyProofDto> {
    return this.ledger.consistencyProof(scopeOf(who), q.from, q.to);
  }

  @Post('audit')
  @HttpCode(200)
  @Roles(...AUDITORS)
  @AllowPlatform()
  @ApiOperation({
    summary: "Recheck every leaf of the caller's log against the stored records",
    description:
      'Recomputes each record’s leaf (and each sealed trace’s step hashes), rebuilds the tree against every signed checkpoint and the copy ' +
      'published outside the database, and lists records never ledgered. Purged records are explained gaps. Audited as `ledger_audited`.',
  })
  @ApiOkResponse({ type: IntegrityAuditDto })
  async runAudit(@CurrentPrincipal() who: Principal, @CurrentActorOrPlatform() actor: RequestActor | null): Promise<IntegrityAuditDto> {
    const report = await this.ledger.audit(scopeOf(who));
    // The platform key has no tenant trail to record its audit in.
    if (actor) {
      await this.audit.logAction({
        tenantId: actor.tenantId,
        actor_id: actor.actorId,
        actor_type: actor.actorType,
        action: 'ledger_audited',
        resource_type: 'ledger',
        resource_id: null,
        details: { tree_size: report.tree_size, verified: report.verified, mismatch_count: report.mismatch_count, purged_leaves: report.purged_leaves },
        ip_address: actor.ipAddress,
        user_agent: actor.userAgent,
        success: true,
        failure_reason: null,
      });
    }
    return report;
  }
}
