/**
 * Retention (spec section 10, DESIGN.md 6): how long each kind of record is kept,
 * per tenant. Pure: the purge itself lives in the stores and the audit service.
 *
 * Durations are whole days; `null` means "kept for ever". A year is counted as
 * 365.25 days rounded up (7 years = 2557 days, 6 years = 2192 days), so a
 * "7-year" minimum never falls a leap day short.
 */
import { type ComplianceProfile, SYSTEM_LOG_LEVELS, type SystemLogLevel } from './enums';
import { type FieldError, ValidationError } from './errors';

/** What a purge removes, and what a policy names. */
export const RETENTION_TYPES = ['system_logs', 'traces', 'audit_logs'] as const;
export type RetentionType = (typeof RETENTION_TYPES)[number];

/** Days, or `null` for permanent. */
export type RetentionDays = number | null;

/** The effective retention of one tenant: days per type, and per level for system logs. */
export interface RetentionPolicy {
  traces: RetentionDays;
  audit_logs: RetentionDays;
  system_logs: Record<SystemLogLevel, RetentionDays>;
}

/** A tenant's overrides: any subset; `null` keeps that kind of record for ever. */
export interface RetentionOverrides {
  traces?: RetentionDays;
  audit_logs?: RetentionDays;
  system_logs?: Partial<Record<SystemLogLevel, RetentionDays>>;
}

/** The shortest retention a compliance profile allows (absent: no minimum). */
export interface RetentionMinimums {
  traces?: number;
  audit_logs?: number;
}

/** Longest finite retention an override may name (100 years); longer is `null` (permanent). */
export const MAX_RETENTION_DAYS = 36_525;

export const years = (n: number): number => Math.ceil(n * 365.25);

/** Spec 10.1 and 10.2: traces 90 days, audit logs 365 days; system logs by level (DEBUG 24 h ... CRITICAL permanent). */
export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = Object.freeze({
  traces: 90,
  audit_logs: 365,
  system_logs: Object.freeze({ debug: 1, info: 7, warning: 30, error: 90, critical: null }),
});

/**
 * Spec 10.3, chosen by the tenant's `compliance`: the profile's retention, which
 * is also its minimum. The audit trail keeps at least 365 days in every profile
 * (spec 10.1 calls it the compliance minimum).
 */
export const COMPLIANCE_MINIMUMS: Readonly<Record<ComplianceProfile, Readonly<RetentionMinimums>>> = Object.freeze({
  none: Object.freeze({ audit_logs: 365 }),
  soc2: Object.freeze({ traces: 365, audit_logs: years(7) }),
  hipaa: Object.freeze({ traces: years(6), audit_logs: years(6) }),
});

/** The profile's policy before overrides: the defaults, lengthened to the profile's minimums. */
export function profileRetention(profile: ComplianceProfile): RetentionPolicy {
  const min = COMPLIANCE_MINIMUMS[profile] ?? {};
  return {
    traces: longer(DEFAULT_RETENTION.traces, min.traces),
    audit_logs: longer(DEFAULT_RETENTION.audit_logs, min.audit_logs),
    system_logs: { ...DEFAULT_RETENTION.system_logs },
  };
}

function longer(days: RetentionDays, minimum: number | undefined): RetentionDays {
  if (days === null || minimum === undefined) return days;
  return Math.max(days, minimum);
}

/**
 * Checks overrides (shape, range, compliance minimums) and answers them
 * normalised (unknown or `undefined` entries dropped). Shortening below the
 * profile's minimum is a ValidationError naming the field and the minimum.
 */
export function checkRetentionOverrides(profile: ComplianceProfile, input: unknown): RetentionOverrides {
  const errors: FieldError[] = [];
  const out: RetentionOverrides = {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw ValidationError.field('overrides', 'must be an object');
  }
  const raw = input as Record<string, unknown>;
  const min = COMPLIANCE_MINIMUMS[profile] ?? {};
  const days = (field: string, value: unknown, minimum: number | undefined): RetentionDays | undefined => {
    if (value === undefined) return undefined;
    if (value === null) return null;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_RETENTION_DAYS) {
      errors.push({ field, message: `must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}, or null (permanent)` });
      return undefined;
    }
    if (minimum !== undefined && value < minimum) {
      errors.push({ field, message: `must be at least ${minimum} days: the minimum of the tenant's ${profile} compliance profile` });
      return undefined;
    }
    return value;
  };
  for (const key of Object.keys(raw)) {
    if (!(RETENTION_TYPES as readonly string[]).includes(key)) errors.push({ field: key, message: `is not a retention type (${RETENTION_TYPES.join(', ')})` });
  }
  const traces = days('traces', raw['traces'], min.traces);
  if (traces !== undefined) out.traces = traces;
  const audit = days('audit_logs', raw['audit_logs'], min.audit_logs);
  if (audit !== undefined) out.audit_logs = audit;
  const sys = raw['system_logs'];
  if (sys !== undefined) {
    if (sys === null || typeof sys !== 'object' || Array.isArray(sys)) {
      errors.push({ field: 'system_logs', message: `must be an object of levels (${SYSTEM_LOG_LEVELS.join(', ')})` });
    } else {
      const levels: Partial<Record<SystemLogLevel, RetentionDays>> = {};
      for (const [level, value] of Object.entries(sys as Record<string, unknown>)) {
        if (!(SYSTEM_LOG_LEVELS as readonly string[]).includes(level)) {
          errors.push({ field: `system_logs.${level}`, message: `is not a level (${SYSTEM_LOG_LEVELS.join(', ')})` });
          continue;
        }
        const d = days(`system_logs.${level}`, value, undefined);
        if (d !== undefined) levels[level as SystemLogLevel] = d;
      }
      out.system_logs = levels;
    }
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return out;
}

/**
 * The retention in force: the profile's policy with the overrides applied. An
 * override shorter than the profile's minimum never takes effect (stored
 * overrides are checked on write; this clamps again, for a profile changed later).
 */
export function effectiveRetention(profile: ComplianceProfile, overrides: RetentionOverrides = {}): RetentionPolicy {
  const base = profileRetention(profile);
  const min = COMPLIANCE_MINIMUMS[profile] ?? {};
  const pick = (override: RetentionDays | undefined, fallback: RetentionDays, minimum?: number): RetentionDays =>
    override === undefined ? fallback : longer(override, minimum);
  const system_logs = { ...base.system_logs };
  for (const level of SYSTEM_LOG_LEVELS) system_logs[level] = pick(overrides.system_logs?.[level], base.system_logs[level]);
  return {
    traces: pick(overrides.traces, base.traces, min.traces),
    audit_logs: pick(overrides.audit_logs, base.audit_logs, min.audit_logs),
    system_logs,
  };
}

const DAY_MS = 86_400_000;

/** Records created before the cutoff are expired; `null` (permanent) has no cutoff. */
export function retentionCutoff(now: Date, days: RetentionDays): Date | null {
  return days === null ? null : new Date(now.getTime() - days * DAY_MS);
}

/** The kinds of record a purge walks: each type, and system logs level by level. */
export function retentionTargets(policy: RetentionPolicy): Array<{ type: RetentionType; level: SystemLogLevel | null; days: RetentionDays }> {
  return [
    ...SYSTEM_LOG_LEVELS.map((level) => ({ type: 'system_logs' as const, level, days: policy.system_logs[level] })),
    { type: 'traces' as const, level: null, days: policy.traces },
    { type: 'audit_logs' as const, level: null, days: policy.audit_logs },
  ];
}

/** Legal holds (DESIGN.md 6): on a whole tenant, one trace, or every trace of an incident. */
export const LEGAL_HOLD_SCOPES = ['tenant', 'trace', 'incident'] as const;
export type LegalHoldScope = (typeof LEGAL_HOLD_SCOPES)[number];

export interface LegalHold {
  hold_id: string;
  tenant_id: string;
  scope: LegalHoldScope;
  /** The trace or incident id; `null` for a tenant-wide hold. */
  target_id: string | null;
  reason: string;
  placed_by: string;
  placed_at: string;
  released_at: string | null;
  released_by: string | null;
}

/** Time, injectable: production reads the system clock, tests move a ManualClock. */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that only moves when told (tests). */
export class ManualClock extends Clock {
  private t: number;
  constructor(start: Date | string | number = Date.now()) {
    super();
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(to: Date | string | number): void {
    this.t = new Date(to).getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
  advanceDays(days: number): void {
    this.t += days * DAY_MS;
  }
}
