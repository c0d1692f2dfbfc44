import { Injectable } from '@nestjs/common';
import type { ApiKeyRole, ComplianceProfile } from '@aos/logs-domain';
import { type ApiKey, TenantStore } from '@aos/traces-store';
import type { TenantPrincipal } from '../auth/principal';
import type { TenantCreatedDto } from './tenants.dto';

/** Tenants and API keys (DESIGN.md 6). */
@Injectable()
export class TenantsService {
  constructor(private readonly store: TenantStore) {}

  async createTenant(name: string, compliance: ComplianceProfile): Promise<TenantCreatedDto> {
    const tenant = await this.store.createTenant(name, compliance);
    const api_key = await this.store.createApiKey(tenant.tenant_id, { name: 'initial admin', role: 'admin' });
    return { tenant, api_key };
  }

  listKeys(who: TenantPrincipal): Promise<ApiKey[]> {
    return this.store.listApiKeys(who.tenantId);
  }

  createKey(who: TenantPrincipal, input: { name: string; role: ApiKeyRole }): Promise<ApiKey> {
    return this.store.createApiKey(who.tenantId, { ...input, created_by: who.keyId });
  }

  revokeKey(who: TenantPrincipal, keyId: string): Promise<ApiKey> {
    return this.store.revokeApiKey(who.tenantId, keyId);
  }
}
