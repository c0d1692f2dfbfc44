import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { RequestWithPrincipal } from './principal';

/** Who acts, from where: what the audit trail records of a request. */
export interface RequestActor {
  tenantId: string;
  actorId: string;
  actorType: 'api_key';
  ipAddress: string | null;
  userAgent: string | null;
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

/** The calling tenant key as an audit actor, with the request's address and user agent. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestActor => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest & RequestWithPrincipal>();
  const principal = request.principal;
  if (!principal || principal.kind !== 'key') throw new Error('route reached without a tenant principal');
  const agent = request.headers['user-agent'];
  return {
    tenantId: principal.tenantId,
    actorId: principal.keyId,
    actorType: 'api_key',
    ipAddress: normaliseAddress(request.ip),
    userAgent: typeof agent === 'string' ? agent : null,
  };
});
