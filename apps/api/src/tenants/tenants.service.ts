import { Injectable } from '@nestjs/common';
import type { ApiKeyRole, ComplianceProfile } from '@aos/logs-domain';
import { AuditLogService } from '@aos/audit';
import { type ApiKey, Database, TenantStore } from '@aos/traces-store';
import type { RequestActor, RequestOrigin } from '../auth/request-actor';
import type { TenantCreatedDto } from './tenants.dto';

/** The platform operator as an audit actor: its key is configuration, not a stored key. */
export const PLATFORM_ACTOR_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Tenants and API keys (DESIGN.md 6); each change is audited in the tenant's
 * trail, in the same transaction as the change: both are stored or neither.
 */
@Injectable()
export class TenantsService {
  constructor(
    private readonly store: TenantStore,
    private readonly audit: AuditLogService,
    private readonly db: Database,
  ) {}

  createTenant(name: string, compliance: ComplianceProfile, origin: RequestOrigin): Promise<TenantCreatedDto> {
    return this.db.atomically(async () => {
      const tenant = await this.store.createTenant(name, compliance);
      const api_key = await this.store.createApiKey(tenant.tenant_id, { name: 'initial admin', role: 'admin' });
      const by = { tenantId: tenant.tenant_id, actorId: PLATFORM_ACTOR_ID, actorType: 'system' as const, ...origin };
      await this.record(by, 'tenant_created', 'tenant', tenant.tenant_id, { name, compliance });
      await this.record(by, 'api_key_created', 'api_key', api_key.id, { name: api_key.name, role: api_key.role });
      return { tenant, api_key };
    });
  }

  listKeys(who: RequestActor): Promise<ApiKey[]> {
    return this.store.listApiKeys(who.tenantId);
  }

  createKey(who: RequestActor, input: { name: string; role: ApiKeyRole }): Promise<ApiKey> {
    return this.db.atomically(async () => {
      const key = await this.store.createApiKey(who.tenantId, { ...input, created_by: who.actorId });
      await this.record(who, 'api_key_created', 'api_key', key.id, { name: key.name, role: key.role });
      return key;
    });
  }

  /** Revokes a key; revoking it again answers the revoked key, and only the revocation itself is audited. */
  revokeKey(who: RequestActor, keyId: string): Promise<ApiKey> {
    return this.db.atomically(async () => {
      const { key, revoked } = await this.store.revokeApiKey(who.tenantId, keyId);
      if (revoked) await this.record(who, 'api_key_revoked', 'api_key', key.id, { name: key.name, role: key.role, revoked_at: key.revoked_at });
      return key;
    });
  }

  private async record(
    who: Pick<RequestActor, 'tenantId' | 'actorId' | 'ipAddress' | 'userAgent'> & { actorType: 'api_key' | 'system' },
    action: string,
    resourceType: string,
    resourceId: string,
    details: Record<string, string | null>,
  ): Promise<void> {
    await this.audit.logAction({
      tenantId: who.tenantId,
      actor_id: who.actorId,
      actor_type: who.actorType,
      action,
      resource_type: resourceType,
      resource_id: resourceId,
      details,
      ip_address: who.ipAddress,
      user_agent: who.userAgent,
    });
  }
}
