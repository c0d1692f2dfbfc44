import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { ApiKeyRole } from '@aos/logs-domain';
import type { Scope } from '@aos/traces-store';

/** Who is calling: a tenant's API key, or the platform operator's key. */
export type Principal =
  | { kind: 'key'; tenantId: string; keyId: string; role: ApiKeyRole; name: string }
  | { kind: 'platform' };

export type TenantPrincipal = Extract<Principal, { kind: 'key' }>;

/** What a principal's queries are scoped to: its tenant, or the platform. */
export function scopeOf(who: Principal): Scope {
  return who.kind === 'platform' ? { platform: true } : { tenantId: who.tenantId };
}

export const PUBLIC_ROUTE = 'aos:public';
export const ROUTE_ROLES = 'aos:roles';
export const PLATFORM_ROUTE = 'aos:platform';

/** No key needed (health, docs). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** Tenant roles that may call the route (DESIGN.md 8). */
export const Roles = (...roles: ApiKeyRole[]) => SetMetadata(ROUTE_ROLES, roles);
/** The platform operator's key may call the route too. */
export const AllowPlatform = () => SetMetadata(PLATFORM_ROUTE, true);

/** The role groups of DESIGN.md section 8. */
export const READERS: ApiKeyRole[] = ['viewer', 'auditor', 'admin'];
export const WRITERS: ApiKeyRole[] = ['ingest', 'admin'];
export const AUDITORS: ApiKeyRole[] = ['auditor', 'admin'];
export const ADMINS: ApiKeyRole[] = ['admin'];

export interface RequestWithPrincipal {
  principal?: Principal;
}

/** The calling tenant key (routes that only tenant keys reach). */
export const CurrentTenant = createParamDecorator((_: unknown, ctx: ExecutionContext): TenantPrincipal => {
  const principal = ctx.switchToHttp().getRequest<RequestWithPrincipal>().principal;
  if (!principal || principal.kind !== 'key') throw new Error('route reached without a tenant principal');
  return principal;
});

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal | undefined => ctx.switchToHttp().getRequest<RequestWithPrincipal>().principal,
);
