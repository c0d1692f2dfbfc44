import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import { type ApiKeyRole, ForbiddenError, UnauthorizedError } from '@aos/logs-domain';
import { TenantStore } from '@aos/traces-store';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { PLATFORM_ROUTE, PUBLIC_ROUTE, type RequestWithPrincipal, ROUTE_ROLES } from './principal';

/**
 * Bearer API keys on every route that is not @Public. The tenant always comes
 * from the key; the role must be one the route lists (DESIGN.md 6 and 8).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly platformKeyHash: Buffer | null;

  constructor(
    private readonly reflector: Reflector,
    private readonly tenants: TenantStore,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.platformKeyHash = config.platformApiKey ? sha256(config.platformApiKey) : null;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<RequestWithPrincipal & { headers: Record<string, string | undefined> }>();
    const key = bearerToken(request.headers['authorization']);
    if (!key) throw new UnauthorizedError('an API key is required: Authorization: Bearer <key>');

    if (this.platformKeyHash && timingSafeEqual(sha256(key), this.platformKeyHash)) {
      if (!this.reflector.getAllAndOverride<boolean>(PLATFORM_ROUTE, targets)) {
        throw new ForbiddenError('the platform key cannot call this route');
      }
      request.principal = { kind: 'platform' };
      return true;
    }

    const principal = await this.tenants.authenticate(key);
    if (!principal) throw new UnauthorizedError('the API key is not valid or has been revoked');
    const roles = this.reflector.getAllAndOverride<ApiKeyRole[] | undefined>(ROUTE_ROLES, targets) ?? [];
    if (!roles.includes(principal.role)) {
      throw new ForbiddenError(`the ${principal.role} role cannot call this route (allowed: ${roles.join(', ') || 'none'})`);
    }
    request.principal = { kind: 'key', tenantId: principal.tenant_id, keyId: principal.key_id, role: principal.role, name: principal.name };
    return true;
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}
