import { ValidationError } from './errors';
import { AUDIT_DETAILS_MAX_BYTES, checkNewAuditLog, checkNewSystemLog, MAX_PAGE_LIMIT, resolvePage, SYSTEM_LOG_SORT_FIELDS } from './logs';

describe('checkNewSystemLog', () => {
  const ok = { level: 'info', source: 'api', message: 'started' } as const;

  it('accepts a minimal log and one with every field', () => {
    expect(checkNewSystemLog(ok)).toEqual([]);
    expect(checkNewSystemLog({ ...ok, timestamp: '2026-01-20T10:00:00+02:00', context: { a: [1] }, trace_id: 't', request_id: 'r' })).toEqual([]);
  });

  it('names each bad field, under the batch prefix when given', () => {
    const fields = checkNewSystemLog(
      { level: 'loud' as never, source: '', message: 'x'.repeat(40_000), timestamp: '2026-01-20T10:00:00', context: { k: 'a\u0000' }, trace_id: 5 as never },
      'logs[3]',
    ).map((e) => e.field);
    expect(fields).toEqual(['logs[3].level', 'logs[3].source', 'logs[3].message', 'logs[3].timestamp', 'logs[3].trace_id', 'logs[3].context.k']);
  });
});

describe('checkNewAuditLog', () => {
  const ok = { actor_id: '0190c9c2-6f1e-7a3b-9c1d-2e3f4a5b6c7d', actor_type: 'user', action: 'login', resource_type: 'session' } as const;

  it('accepts a minimal record', () => {
    expect(checkNewAuditLog(ok)).toEqual([]);
    expect(checkNewAuditLog({ ...ok, success: false, failure_reason: 'wrong password', resource_id: null, details: null })).toEqual([]);
  });

  it('names each bad field', () => {
    const fields = checkNewAuditLog({
      actor_id: 'bob',
      actor_type: 'robot' as never,
      action: 'Log In',
      resource_type: '',
      resource_id: '12',
      failure_reason: 'but it worked',
    }).map((e) => e.field);
    expect(fields).toEqual(['actor_id', 'actor_type', 'action', 'resource_type', 'resource_id', 'failure_reason']);
  });

  it('takes details up to AUDIT_DETAILS_MAX_BYTES of UTF-8 JSON, and names them past it', () => {
    // {"d":"..."} is 8 bytes around the string; "é" is two bytes.
    const details = (bytes: number) => ({ d: 'é'.repeat(Math.floor((bytes - 8) / 2)) + 'x'.repeat((bytes - 8) % 2) });
    expect(Buffer.byteLength(JSON.stringify(details(AUDIT_DETAILS_MAX_BYTES)))).toBe(AUDIT_DETAILS_MAX_BYTES);
    expect(checkNewAuditLog({ ...ok, details: details(AUDIT_DETAILS_MAX_BYTES) })).toEqual([]);
    expect(checkNewAuditLog({ ...ok, details: details(AUDIT_DETAILS_MAX_BYTES + 1) })).toEqual([
      { field: 'details', message: `must be at most ${AUDIT_DETAILS_MAX_BYTES} bytes as JSON` },
    ]);
  });
});

describe('resolvePage', () => {
  it('applies the list defaults: 50 newest first by the first sort field', () => {
    expect(resolvePage({}, SYSTEM_LOG_SORT_FIELDS)).toEqual({ limit: 50, offset: 0, sort: 'timestamp', order: 'desc' });
    expect(resolvePage({ limit: 10, offset: 5, order: 'asc', cursor: 'c' }, SYSTEM_LOG_SORT_FIELDS)).toEqual({
      limit: 10,
      offset: 5,
      sort: 'timestamp',
      order: 'asc',
      cursor: 'c',
    });
  });

  it('refuses paging outside the limits, naming the field', () => {
    const field = (q: object) => {
      try {
        resolvePage(q, SYSTEM_LOG_SORT_FIELDS);
      } catch (err) {
        return (err as ValidationError).errors[0].field;
      }
      return null;
    };
    expect(field({ limit: MAX_PAGE_LIMIT + 1 })).toBe('limit');
    expect(field({ limit: 0 })).toBe('limit');
    expect(field({ offset: -1 })).toBe('offset');
    expect(field({ sort: 'message' })).toBe('sort');
    expect(field({ order: 'up' })).toBe('order');
  });
});
