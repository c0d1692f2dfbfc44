import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { RequestWithPrincipal } from './principal';

/** Where a request comes from, as the audit trail records it. */
export interface RequestOrigin {
  ipAddress: string | null;
  userAgent: string | null;
}

/** Who acts, from where: what the audit trail records of a request. */
export interface RequestActor extends RequestOrigin {
  tenantId: string;
  actorId: string;
  actorType: 'api_key';
}

/**
 * The client address as PostgreSQL `inet` takes it: IPv4-mapped IPv6 becomes
 * IPv4. `request.ip` honours X-Forwarded-For only behind AOS_TRUST_PROXY.
 */
export function normaliseAddress(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return mapped ? mapped[1] : ip;
}

/** The one place that reads a request's client address and user agent. */
function originOf(request: FastifyRequest): RequestOrigin {
  const agent = request.headers['user-agent'];
  return { ipAddress: normaliseAddress(request.ip), userAgent: typeof agent === 'string' ? agent : null };
}

/**
 * The one place that turns the calling key into an audit actor: the tenant
 * key, with the request's address and user agent; null for the platform key,
 * which acts for no tenant and so has no tenant audit trail.
 */
function actorOf(request: FastifyRequest & RequestWithPrincipal): RequestActor | null {
  const principal = request.principal;
  if (!principal) throw new Error('route reached without a principal');
  if (principal.kind !== 'key') return null;
  return { tenantId: principal.tenantId, actorId: principal.keyId, actorType: 'api_key', ...originOf(request) };
}

/** The request's address and user agent, whoever calls (the platform key too): for audit rows whose actor is not the calling key. */
export const CurrentOrigin = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestOrigin => originOf(ctx.switchToHttp().getRequest()));

/** The calling tenant key as an audit actor, with the request's address and user agent. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestActor => {
  const actor = actorOf(ctx.switchToHttp().getRequest());
  if (!actor) throw new Error('route reached without a tenant principal');
  return actor;
});

/** On routes the platform key may call too (`@AllowPlatform()`): the tenant key as `CurrentActor` gives it, or null for the platform key. */
export const CurrentActorOrPlatform = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): RequestActor | null => actorOf(ctx.switchToHttp().getRequest()),
);
