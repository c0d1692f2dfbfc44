import { ValidationError } from './errors';
import {
  checkRetentionOverrides,
  COMPLIANCE_MINIMUMS,
  DEFAULT_RETENTION,
  effectiveRetention,
  ManualClock,
  retentionCutoff,
  retentionTargets,
  SystemClock,
} from './retention';

describe('retention policy (spec 10)', () => {
  it('has the defaults of spec 10.1 and 10.2', () => {
    expect(effectiveRetention('none')).toEqual({
      traces: 90,
      audit_logs: 365,
      system_logs: { debug: 1, info: 7, warning: 30, error: 90, critical: null },
    });
    expect(DEFAULT_RETENTION.system_logs.critical).toBeNull();
  });

  it('applies the compliance profiles of spec 10.3', () => {
    expect(effectiveRetention('soc2')).toMatchObject({ traces: 365, audit_logs: 2557 });
    expect(effectiveRetention('hipaa')).toMatchObject({ traces: 2192, audit_logs: 2192 });
    expect(effectiveRetention('hipaa').system_logs).toEqual(DEFAULT_RETENTION.system_logs);
  });

  it('lets overrides lengthen anything and shorten what no profile guards', () => {
    const o = checkRetentionOverrides('soc2', { traces: 400, audit_logs: null, system_logs: { debug: 3, critical: 365 } });
    expect(effectiveRetention('soc2', o)).toEqual({
      traces: 400,
      audit_logs: null,
      system_logs: { debug: 3, info: 7, warning: 30, error: 90, critical: 365 },
    });
    expect(effectiveRetention('none', checkRetentionOverrides('none', { traces: 30 })).traces).toBe(30);
  });

  it('refuses to shorten a compliance minimum, naming the field and the minimum', () => {
    const err = (() => {
      try {
        checkRetentionOverrides('soc2', { traces: 90, audit_logs: 365 });
      } catch (e) {
        return e as ValidationError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.errors.map((e) => e.field)).toEqual(['traces', 'audit_logs']);
    expect(err.errors[0].message).toContain('365');
    expect(err.errors[1].message).toContain(String(COMPLIANCE_MINIMUMS.soc2.audit_logs));
    expect(() => checkRetentionOverrides('hipaa', { traces: 2000 })).toThrow(/2192/);
    expect(() => checkRetentionOverrides('none', { audit_logs: 30 })).toThrow(/at least 365/);
  });

  it('rejects malformed overrides field by field', () => {
    const fields = (input: unknown) => {
      try {
        checkRetentionOverrides('none', input);
        return [];
      } catch (e) {
        return (e as ValidationError).errors.map((x) => x.field);
      }
    };
    expect(fields([])).toEqual(['overrides']);
    expect(fields({ traces: 0, logs: 1, system_logs: { loud: 1, info: 1.5 } })).toEqual(['logs', 'traces', 'system_logs.loud', 'system_logs.info']);
    expect(fields({ system_logs: 5 })).toEqual(['system_logs']);
  });

  it('clamps a stored override that a later profile no longer allows', () => {
    expect(effectiveRetention('hipaa', { traces: 90 }).traces).toBe(2192);
  });

  it('computes cutoffs, permanent meaning none, and lists the purge targets', () => {
    const now = new Date('2026-03-01T00:00:00.000Z');
    expect(retentionCutoff(now, 1)?.toISOString()).toBe('2026-02-28T00:00:00.000Z');
    expect(retentionCutoff(now, null)).toBeNull();
    expect(retentionTargets(effectiveRetention('none')).map((t) => `${t.type}:${t.level ?? ''}:${t.days}`)).toEqual([
      'system_logs:debug:1',
      'system_logs:info:7',
      'system_logs:warning:30',
      'system_logs:error:90',
      'system_logs:critical:null',
      'traces::90',
      'audit_logs::365',
    ]);
  });

  it('has a clock that tests move', () => {
    const clock = new ManualClock('2026-01-01T00:00:00.000Z');
    clock.advanceDays(2);
    clock.advance(1000);
    expect(clock.now().toISOString()).toBe('2026-01-03T00:00:01.000Z');
    clock.set('2030-01-01T00:00:00Z');
    expect(clock.now().getUTCFullYear()).toBe(2030);
    expect(Math.abs(new SystemClock().now().getTime() - Date.now())).toBeLessThan(1000);
  });
});
