import 'reflect-metadata';
import type { ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import type { Principal, TenantPrincipal } from './principal';
import { CurrentActor, CurrentActorOrPlatform, CurrentOrigin, normaliseAddress } from './request-actor';

type Factory = (data: unknown, ctx: ExecutionContext) => unknown;

/** The function Nest calls to resolve a parameter decorator. */
function resolverOf(decorator: () => ParameterDecorator): Factory {
  class Probe {
    handler(@decorator() value: unknown): unknown {
      return value;
    }
  }
  const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Probe, 'handler') as Record<string, { factory: Factory }>;
  return Object.values(args)[0].factory;
}

const contextOf = (request: object) => ({ switchToHttp: () => ({ getRequest: () => request }) }) as unknown as ExecutionContext;
const tenantKey: TenantPrincipal = { kind: 'key', tenantId: '11111111-1111-4111-8111-111111111111', keyId: '22222222-2222-4222-8222-222222222222', role: 'admin', name: 'ops' };
const request = (principal: Principal | undefined, headers: Record<string, string> = {}, ip = '::ffff:10.0.0.7') => ({ principal, headers, ip });

describe('CurrentActor', () => {
  const current = resolverOf(CurrentActor);
  const currentOrPlatform = resolverOf(CurrentActorOrPlatform);

  it('turns the calling tenant key into an audit actor with its address and user agent', () => {
    const expected = {
      tenantId: tenantKey.tenantId,
      actorId: tenantKey.keyId,
      actorType: 'api_key',
      ipAddress: '10.0.0.7',
      userAgent: 'cli/1.0',
    };
    const ctx = contextOf(request(tenantKey, { 'user-agent': 'cli/1.0' }));
    expect(current(undefined, ctx)).toEqual(expected);
    expect(currentOrPlatform(undefined, ctx)).toEqual(expected);
  });

  it('records no user agent when the request sends none', () => {
    expect(current(undefined, contextOf(request(tenantKey)))).toMatchObject({ userAgent: null });
  });

  it('gives no actor for the platform key, and CurrentActor refuses it', () => {
    const ctx = contextOf(request({ kind: 'platform' }));
    expect(currentOrPlatform(undefined, ctx)).toBeNull();
    expect(() => current(undefined, ctx)).toThrow('without a tenant principal');
  });

  it('refuses a request that no key authenticated', () => {
    expect(() => currentOrPlatform(undefined, contextOf(request(undefined)))).toThrow('without a principal');
    expect(() => current(undefined, contextOf(request(undefined)))).toThrow('without a principal');
  });

  it('gives the address and user agent of any request, the platform key\'s too, as the actor has them', () => {
    const origin = resolverOf(CurrentOrigin);
    expect(origin(undefined, contextOf(request({ kind: 'platform' }, { 'user-agent': 'ops/2.0' })))).toEqual({ ipAddress: '10.0.0.7', userAgent: 'ops/2.0' });
    expect(origin(undefined, contextOf(request({ kind: 'platform' }, {}, '2001:db8::1')))).toEqual({ ipAddress: '2001:db8::1', userAgent: null });
    const ctx = contextOf(request(tenantKey, { 'user-agent': 'cli/1.0' }));
    expect(resolverOf(CurrentActor)(undefined, ctx)).toMatchObject(origin(undefined, ctx) as object);
  });

  it('normalises IPv4-mapped IPv6 addresses and keeps others', () => {
    expect(normaliseAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(normaliseAddress(undefined)).toBeNull();
  });
});
