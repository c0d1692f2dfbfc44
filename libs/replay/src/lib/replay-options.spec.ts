import { ForbiddenError, ValidationError } from '@aos/logs-domain';
import { mayEmitTraces, resolveReplayOptions, resolveStreamOptions } from './replay-options';

const auditor = { id: 'k1', type: 'api_key' as const, role: 'auditor' as const };
const admin = { id: 'k2', type: 'api_key' as const, role: 'admin' as const };

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.errors.map((x) => x.field);
    throw e;
  }
  throw new Error('no error thrown');
}

describe('resolveReplayOptions', () => {
  it('defaults to an AUDIT replay at speed 1 that writes nothing', () => {
    expect(resolveReplayOptions({ actor: auditor })).toEqual({ mode: 'AUDIT', emit_traces: false, speed: 1, actor: auditor });
  });

  it('rejects emit_traces with AUDIT or DEBUG on the emit_traces field', () => {
    expect(fieldsOf(() => resolveReplayOptions({ mode: 'AUDIT', emit_traces: true, actor: admin }))).toEqual(['emit_traces']);
    expect(fieldsOf(() => resolveReplayOptions({ mode: 'DEBUG', emit_traces: true, actor: admin }))).toEqual(['emit_traces']);
    expect(resolveReplayOptions({ mode: 'DEBUG', emit_traces: false, actor: auditor }).emit_traces).toBe(false);
  });

  it('rejects an unknown mode and a speed outside 0..1000', () => {
    expect(fieldsOf(() => resolveReplayOptions({ mode: 'FAST' as never, speed: -1, actor: auditor }))).toEqual(['mode', 'speed']);
    expect(fieldsOf(() => resolveReplayOptions({ speed: 1001, actor: auditor }))).toEqual(['speed']);
    expect(fieldsOf(() => resolveReplayOptions({ speed: Number.NaN, actor: auditor }))).toEqual(['speed']);
    expect(resolveReplayOptions({ speed: 0, actor: auditor }).speed).toBe(0);
  });

  it('lets only an admin (or the service itself) RERUN with emit_traces', () => {
    expect(() => resolveReplayOptions({ mode: 'RERUN', emit_traces: true, actor: auditor })).toThrow(ForbiddenError);
    expect(resolveReplayOptions({ mode: 'RERUN', emit_traces: true, actor: admin }).emit_traces).toBe(true);
    expect(resolveReplayOptions({ mode: 'RERUN', actor: auditor })).toMatchObject({ mode: 'RERUN', emit_traces: false });
    expect(mayEmitTraces({ id: 's', type: 'system' })).toBe(true);
    expect(mayEmitTraces({ id: 'u', type: 'user' })).toBe(false);
  });

  it('validates before it authorises', () => {
    expect(fieldsOf(() => resolveReplayOptions({ mode: 'RERUN', emit_traces: true, speed: 5000, actor: auditor }))).toEqual(['speed']);
  });
});

describe('resolveStreamOptions', () => {
  it('streams only AUDIT and DEBUG', () => {
    expect(fieldsOf(() => resolveStreamOptions({ mode: 'RERUN' as never, actor: auditor }))).toEqual(['mode']);
    expect(resolveStreamOptions({ mode: 'DEBUG', speed: 0, actor: auditor })).toMatchObject({ mode: 'DEBUG', speed: 0, emit_traces: false });
  });
});
