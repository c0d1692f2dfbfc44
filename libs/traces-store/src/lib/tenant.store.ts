import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { type ApiKeyRole, type ComplianceProfile, ConflictError, NotFoundError } from '@aos/logs-domain';
import type { Database } from './database/database';
import { iso } from './rows';

export interface Tenant {
  tenant_id: string;
  name: string;
  compliance: ComplianceProfile;
  created_at: string;
}

/** An API key as listed; `key` is present only in the answer that creates it. */
export interface ApiKey {
  id: string;
  name: string;
  role: ApiKeyRole;
  key_prefix: string;
  created_at: string;
  revoked_at: string | null;
  key?: string;
}

/** Who a valid key acts for. */
export interface KeyPrincipal {
  key_id: string;
  tenant_id: string;
  role: ApiKeyRole;
  name: string;
}

export const DEVELOPMENT_TENANT_NAME = 'development';

/** Keys are stored as SHA-256 of the secret: high-entropy secrets need no slow hash. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): string {
  return `aos_${randomBytes(32).toString('base64url')}`;
}

/** Tenants and their API keys (DESIGN.md 6). */
export class TenantStore {
  constructor(private readonly db: Database) {}

  async createTenant(name: string, compliance: ComplianceProfile): Promise<Tenant> {
    const tenantId = uuidv7();
    const [row] = await this.db.query<Record<string, any>>(
      `INSERT INTO tenants (tenant_id, name, compliance) VALUES ($1, $2, $3) RETURNING tenant_id, name, compliance, created_at`,
      [tenantId, name, compliance],
    );
    return { ...row, created_at: iso(row.created_at)! } as Tenant;
  }

  async getTenant(tenantId: string): Promise<Tenant | null> {
    const [row] = await this.db.query<Record<string, any>>(
      `SELECT tenant_id, name, compliance, created_at FROM tenants WHERE tenant_id = $1`,
      [tenantId],
    );
    return row ? ({ ...row, created_at: iso(row.created_at)! } as Tenant) : null;
  }

  /** Creates a key; the secret is answered once and stored only as its hash. */
  async createApiKey(
    tenantId: string,
    input: { name: string; role: ApiKeyRole; created_by?: string | null; key?: string },
  ): Promise<ApiKey & { key: string }> {
    const key = input.key ?? generateApiKey();
    const [row] = await this.db.transaction({ tenantId }, (sql) =>
      sql.query<Record<string, any>>(
        `INSERT INTO api_keys (id, tenant_id, name, role, key_hash, key_prefix, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, name, role, key_prefix, created_at, revoked_at`,
        [uuidv7(), tenantId, input.name, input.role, hashApiKey(key), key.slice(0, 8), input.created_by ?? null],
      ),
    );
    return { ...toApiKey(row), key };
  }

  /** Keys of a tenant, oldest first; secrets are never stored, so never listed. */
  async listApiKeys(tenantId: string): Promise<ApiKey[]> {
    const rows = await this.db.transaction({ tenantId }, (sql) =>
      sql.query<Record<string, any>>(`SELECT id, name, role, key_prefix, created_at, revoked_at FROM api_keys ORDER BY created_at, id`),
    );
    return rows.map(toApiKey);
  }

  /**
   * Revokes a key at once. Revoking it again answers the revoked key as it is
   * with `revoked: false`, so the caller audits the one revocation (as
   * `releaseHold` does). The tenant's last active admin key cannot be revoked:
   * it would lock the tenant out.
   *
   * Revocations of one tenant take turns (a transaction-scoped advisory lock on
   * the tenant, taken first): two admin keys revoked at once each counted the
   * other as the admin that remains, both went, and the tenant was locked out.
   */
  async revokeApiKey(tenantId: string, keyId: string): Promise<{ key: ApiKey; revoked: boolean }> {
    return this.db.transaction({ tenantId }, async (sql) => {
      await sql.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`aos.api_keys.revoke/${tenantId}`]);
      const [key] = await sql.query<Record<string, any>>(
        `SELECT id, name, role, key_prefix, created_at, revoked_at FROM api_keys WHERE id = $1 FOR UPDATE`,
        [keyId],
      );
      if (!key) throw new NotFoundError(`API key ${keyId} not found`);
      if (key.revoked_at) return { key: toApiKey(key), revoked: false };
      if (key.role === 'admin') {
        const [{ n }] = await sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL AND id <> $1`,
          [keyId],
        );
        if (n === 0) throw new ConflictError('this is the last active admin key of the tenant; create another admin key first');
      }
      const [row] = await sql.query<Record<string, any>>(
        `UPDATE api_keys SET revoked_at = now() WHERE id = $1 RETURNING id, name, role, key_prefix, created_at, revoked_at`,
        [keyId],
      );
      return { key: toApiKey(row), revoked: true };
    });
  }

  /** The principal of a valid, unrevoked key; null otherwise. */
  async authenticate(key: string): Promise<KeyPrincipal | null> {
    const [row] = await this.db.query<{ id: string; tenant_id: string; role: ApiKeyRole; name: string; revoked_at: Date | null }>(
      `SELECT id, tenant_id, role, name, revoked_at FROM aos_authenticate($1)`,
      [hashApiKey(key)],
    );
    if (!row || row.revoked_at) return null;
    return { key_id: row.id, tenant_id: row.tenant_id, role: row.role, name: row.name };
  }

  /**
   * First start: the development tenant with an admin key (the given one, or a
   * random one answered once). A given key unknown to an existing database is
   * added to the development tenant, so scripts can always log in with it.
   */
  async ensureDevelopmentTenant(bootstrapKey?: string): Promise<{ tenant: Tenant; key: string | null; created: boolean }> {
    const [existing] = await this.db.query<Record<string, any>>(
      `SELECT tenant_id, name, compliance, created_at FROM tenants WHERE name = $1 ORDER BY created_at LIMIT 1`,
      [DEVELOPMENT_TENANT_NAME],
    );
    if (existing) {
      const tenant = { ...existing, created_at: iso(existing.created_at)! } as Tenant;
      if (bootstrapKey && !(await this.authenticate(bootstrapKey))) {
        await this.createApiKey(tenant.tenant_id, { name: 'bootstrap', role: 'admin', key: bootstrapKey });
        return { tenant, key: null, created: false };
      }
      return { tenant, key: null, created: false };
    }
    const tenant = await this.createTenant(DEVELOPMENT_TENANT_NAME, 'none');
    const { key } = await this.createApiKey(tenant.tenant_id, { name: 'bootstrap', role: 'admin', key: bootstrapKey });
    return { tenant, key: bootstrapKey ? null : key, created: true };
  }
}

function toApiKey(row: Record<string, any>): ApiKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    key_prefix: row.key_prefix,
    created_at: iso(row.created_at)!,
    revoked_at: iso(row.revoked_at),
  };
}
