import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  type ActorType,
  checkRetentionOverrides,
  Clock,
  COMPLIANCE_MINIMUMS,
  type ComplianceProfile,
  effectiveRetention,
  type LegalHold,
  type LegalHoldScope,
  NotFoundError,
  profileRetention,
  type RetentionDays,
  type RetentionMinimums,
  type RetentionOverrides,
  type RetentionPolicy,
  type RetentionType,
  retentionCutoff,
  retentionTargets,
  type SystemLogLevel,
  ValidationError,
} from '@aos/logs-domain';
import { RetentionStore, TenantStore } from '@aos/traces-store';
import { AuditLogService } from '../audit-log.service';

/** Who acts on retention: an API key (on request) or the service itself (the schedule). */
export interface RetentionActor {
  actorId: string;
  actorType: ActorType;
  ipAddress?: string | null;
  userAgent?: string | null;
}

/** The scheduled purge acts as the service: the nil UUID, actor type `system`. */
export const SYSTEM_ACTOR: RetentionActor = { actorId: '00000000-0000-0000-0000-000000000000', actorType: 'system' };

/** A tenant's retention as the API shows it. */
export interface RetentionPolicyView {
  tenant_id: string;
  compliance: ComplianceProfile;
  /** The profile's policy before overrides (spec 10.1-10.3). */
  defaults: RetentionPolicy;
  /** The shortest retention the profile allows, days per type. */
  minimums: RetentionMinimums;
  overrides: RetentionOverrides;
  /** What the purge applies. */
  effective: RetentionPolicy;
  updated_at: string | null;
  updated_by: string | null;
}

/** One kind of record in one purge. */
export interface PurgeTargetReport {
  type: RetentionType;
  level: SystemLogLevel | null;
  retention_days: RetentionDays;
  /** Records that expired before this instant go; null: permanent, nothing goes. */
  cutoff: string | null;
  removed: number;
  /** Steps removed with the traces. */
  steps_removed: number;
  first_at: string | null;
  last_at: string | null;
  /** hex(sha256(concatenation of `batch_hashes`)); each batch hash is the function's (see the retention migration). */
  removed_hash: string;
  batch_hashes: string[];
}

export interface TenantPurgeReport {
  tenant_id: string | null;
  compliance: ComplianceProfile;
  removed: number;
  /** hex(sha256(concatenation of the targets' removed_hash, in target order)). */
  removed_hash: string;
  targets: PurgeTargetReport[];
  /** The `retention_purged` audit row (null on a dry run, for platform logs, or when nothing went on a scheduled run). */
  audit_log_id: string | null;
  error?: string;
}

export interface PurgeReport {
  dry_run: boolean;
  now: string;
  tenants: TenantPurgeReport[];
}

export interface PurgeOptions {
  /** One tenant; absent: every tenant and the platform system logs. */
  tenantId?: string;
  /** Report what would go; delete nothing, audit nothing. */
  dryRun?: boolean;
  /** "Now" for the cutoffs; default: the clock. */
  now?: Date;
  /** Who asked (on request); absent: the schedule (audited as the system actor, only when something went). */
  actor?: RetentionActor;
}

export interface RetentionServiceOptions {
  /** Rows per purge batch (one short transaction each); default 5000. */
  batchSize?: number;
  /**
   * Yield to the rest of the database when it is busy (default on): after a
   * batch slower than `PACE_SLACK` times the fastest of this purge, wait for the
   * excess before the next. An idle database purges at full speed; under load
   * the purge slows itself instead of taking its share from ingestion.
   */
  pace?: boolean;
  /** How the purge waits between paced batches (tests replace it). */
  sleep?: (ms: number) => Promise<void>;
  /** The monotonic clock of the pacing, ms (tests replace it). */
  now?: () => number;
}

/** A batch slower than this many times the fastest counts as contended. */
export const PACE_SLACK = 1.5;

export const RETENTION_SERVICE_OPTIONS = Symbol('RETENTION_SERVICE_OPTIONS');

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * Retention (spec 10, DESIGN.md 6): tenant policies and their compliance
 * minimums, legal holds, and the purge. Every change is audited
 * (`retention_policy_updated`, `legal_hold_placed`, `legal_hold_released`), and
 * each tenant purge leaves one `retention_purged` row with what it removed.
 * Deletion goes only through `RetentionStore.purgeBatch` (the privileged
 * database function), in bounded batches. Time comes from the injected Clock.
 */
@Injectable()
export class RetentionService {
  private readonly logger = new Logger(RetentionService.name);
  private readonly batchSize: number;
  private readonly pace: boolean;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly monotonic: () => number;
  /**
   * Purges of this process run one after another. Each waits for its locks (a hold,
   * a running step-search indexer call) inside a transaction, holding a pool
   * connection: ten purges asked at once behind a long indexer call took every
   * connection of the pool, and the API stopped answering. Waiting here holds none.
   */
  private purges: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(RetentionStore) private readonly store: RetentionStore,
    @Inject(TenantStore) private readonly tenants: TenantStore,
    @Inject(AuditLogService) private readonly audit: AuditLogService,
    @Inject(Clock) private readonly clock: Clock,
    @Optional() @Inject(RETENTION_SERVICE_OPTIONS) options: RetentionServiceOptions | null = null,
  ) {
    this.batchSize = options?.batchSize ?? 5000;
    this.pace = options?.pace ?? true;
    this.sleep = options?.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.monotonic = options?.now ?? (() => performance.now());
  }

  async getPolicy(tenantId: string): Promise<RetentionPolicyView> {
    const compliance = await this.compliance(tenantId);
    const stored = await this.store.getPolicy(tenantId);
    return this.view(tenantId, compliance, stored.overrides, stored.updated_at, stored.updated_by);
  }

  /** Replaces the overrides; shortening below the profile's minimum is a ValidationError naming the field and the minimum. */
  async putPolicy(tenantId: string, actor: RetentionActor, overrides: unknown): Promise<RetentionPolicyView> {
    const compliance = await this.compliance(tenantId);
    const checked = checkRetentionOverrides(compliance, overrides);
    // The change and its audit row: both or neither.
    return this.store.atomically(async () => {
      const { previous, policy } = await this.store.putPolicy(tenantId, checked, actor.actorId);
      const view = this.view(tenantId, compliance, policy.overrides, policy.updated_at, policy.updated_by);
      await this.record(tenantId, actor, 'retention_policy_updated', 'retention_policy', null, {
        compliance,
        previous_overrides: previous as never,
        overrides: checked as never,
        effective: view.effective as never,
      });
      return view;
    });
  }

  async placeHold(tenantId: string, actor: RetentionActor, input: { scope: LegalHoldScope; target_id?: string | null; reason: string }): Promise<LegalHold> {
    const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
    if (reason.length === 0 || reason.length > 2000) throw ValidationError.field('reason', 'must be 1 to 2000 characters');
    return this.store.atomically(async () => {
      const hold = await this.store.placeHold(tenantId, { scope: input.scope, target_id: input.target_id ?? null, reason, placed_by: actor.actorId });
      await this.record(tenantId, actor, 'legal_hold_placed', 'legal_hold', hold.hold_id, { scope: hold.scope, target_id: hold.target_id, reason: hold.reason });
      return hold;
    });
  }

  /** Releases a hold (audited once; releasing again answers the released hold). */
  releaseHold(tenantId: string, actor: RetentionActor, holdId: string): Promise<LegalHold> {
    return this.store.atomically(async () => {
      const { hold, released } = await this.store.releaseHold(tenantId, holdId, actor.actorId);
      if (released) {
        await this.record(tenantId, actor, 'legal_hold_released', 'legal_hold', hold.hold_id, { scope: hold.scope, target_id: hold.target_id, reason: hold.reason });
      }
      return hold;
    });
  }

  listHolds(tenantId: string, options: { activeOnly?: boolean } = {}): Promise<LegalHold[]> {
    return this.store.listHolds(tenantId, options);
  }

  /**
   * Purges what has expired at `now` (default: the clock): per tenant, per type
   * and level, in bounded batches until nothing expired is left. A dry run
   * reports what would go and changes nothing. A scheduled run over every tenant
   * carries on past a tenant that fails (reported with `error`). One purge of this
   * process runs at a time; the others wait their turn (see `purges`).
   */
  purge(options: PurgeOptions = {}): Promise<PurgeReport> {
    const run = this.purges.then(() => this.purgeNow(options));
    this.purges = run.catch(() => undefined);
    return run;
  }

  private async purgeNow(options: PurgeOptions): Promise<PurgeReport> {
    const now = options.now ?? this.clock.now();
    const dryRun = options.dryRun === true;
    const reports: TenantPurgeReport[] = [];
    if (options.tenantId !== undefined) {
      reports.push(await this.purgeTenant(options.tenantId, await this.compliance(options.tenantId), now, dryRun, options.actor));
    } else {
      for (const t of await this.store.listTenants()) {
        try {
          reports.push(await this.purgeTenant(t.tenant_id, t.compliance, now, dryRun, options.actor));
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.logger.warn(`Retention purge of tenant ${t.tenant_id} failed: ${message}`);
          reports.push({ tenant_id: t.tenant_id, compliance: t.compliance, removed: 0, removed_hash: sha256(''), targets: [], audit_log_id: null, error: message });
        }
      }
      reports.push(await this.purgePlatform(now, dryRun));
    }
    const removed = reports.reduce((n, r) => n + r.removed, 0);
    if (removed > 0 && !dryRun) this.logger.log(`Retention purge removed ${removed} record(s)`);
    return { dry_run: dryRun, now: now.toISOString(), tenants: reports };
  }

  /**
   * One tenant. The cutoffs come first (each the earlier of the clock's and the
   * database's floor). A deleting purge writes its `retention_purge_started`
   * audit row (who, when, the cutoffs) before the first batch, and every batch
   * names it: the database refuses a deleting batch without it, so nothing is
   * removed without an audit row. The `retention_purged` row with what went
   * (counts, ranges, hashes) follows the last batch and names the intent row
   * (`started_log_id`); a purge that dies in between leaves the intent without
   * a result, a visible gap. The schedule writes both only when something is
   * due (a dry batch of one per target asks); a request always does.
   */
  private async purgeTenant(tenantId: string, compliance: ComplianceProfile, now: Date, dryRun: boolean, actor?: RetentionActor): Promise<TenantPurgeReport> {
    const { overrides } = await this.store.getPolicy(tenantId);
    const policy = effectiveRetention(compliance, overrides);
    const targets: PurgeTargetReport[] = [];
    for (const target of retentionTargets(policy)) targets.push(await this.planTarget(tenantId, target, now));
    const trigger = actor ? 'request' : 'schedule';
    let startedLogId: string | null = null;
    if (!dryRun) {
      if (actor === undefined && !(await this.anythingDue(tenantId, targets))) {
        return { tenant_id: tenantId, compliance, removed: 0, removed_hash: sha256(''), targets, audit_log_id: null };
      }
      const intent = await this.record(tenantId, actor ?? SYSTEM_ACTOR, 'retention_purge_started', 'tenant', tenantId, {
        trigger,
        now: now.toISOString(),
        compliance,
        targets: targets.filter((t) => t.cutoff !== null).map((t) => ({ type: t.type, level: t.level, retention_days: t.retention_days, cutoff: t.cutoff })) as never,
      });
      startedLogId = intent.log_id;
    }
    for (const target of targets) await this.runTarget(tenantId, target, dryRun, startedLogId);
    const removed = targets.reduce((n, t) => n + t.removed, 0);
    const removedHash = sha256(targets.map((t) => t.removed_hash).join(''));
    let auditLogId: string | null = null;
    if (startedLogId !== null) {
      const row = await this.record(tenantId, actor ?? SYSTEM_ACTOR, 'retention_purged', 'tenant', tenantId, {
        trigger,
        now: now.toISOString(),
        compliance,
        started_log_id: startedLogId,
        removed,
        removed_hash: removedHash,
        targets: targets.filter((t) => t.cutoff !== null) as never,
      });
      auditLogId = row.log_id;
    }
    return { tenant_id: tenantId, compliance, removed, removed_hash: removedHash, targets, audit_log_id: auditLogId };
  }

  /** Platform system logs (no tenant) keep the default levels; they have no tenant audit trail. */
  private async purgePlatform(now: Date, dryRun: boolean): Promise<TenantPurgeReport> {
    const policy = effectiveRetention('none');
    const targets: PurgeTargetReport[] = [];
    for (const target of retentionTargets(policy).filter((t) => t.type === 'system_logs')) {
      const planned = await this.planTarget(null, target, now);
      await this.runTarget(null, planned, dryRun, null);
      targets.push(planned);
    }
    const removed = targets.reduce((n, t) => n + t.removed, 0);
    return { tenant_id: null, compliance: 'none', removed, removed_hash: sha256(targets.map((t) => t.removed_hash).join('')), targets, audit_log_id: null };
  }

  /**
   * The target's cutoff: the clock's (`now` minus the policy), never later than
   * the database's floor for it (its own clock minus the retention it computes
   * from the stored profile and overrides), so a clock running ahead of the
   * database's is not refused. Null: nothing goes (permanent here or there).
   */
  private async planTarget(tenantId: string | null, target: { type: RetentionType; level: SystemLogLevel | null; days: RetentionDays }, now: Date): Promise<PurgeTargetReport> {
    let cutoff = retentionCutoff(now, target.days);
    if (cutoff !== null) {
      const floor = await this.store.retentionFloor(tenantId, target.type, target.level);
      cutoff = floor === null ? null : new Date(Math.min(cutoff.getTime(), floor.getTime()));
    }
    return {
      type: target.type,
      level: target.level,
      retention_days: target.days,
      cutoff: cutoff?.toISOString() ?? null,
      removed: 0,
      steps_removed: 0,
      first_at: null,
      last_at: null,
      removed_hash: sha256(''),
      batch_hashes: [],
    };
  }

  /** Whether any target has an expired record (a dry batch of one each: cheap). */
  private async anythingDue(tenantId: string, targets: PurgeTargetReport[]): Promise<boolean> {
    for (const t of targets) {
      if (t.cutoff === null) continue;
      const probe = await this.store.purgeBatch({ tenantId, type: t.type, level: t.level, before: new Date(t.cutoff), limit: 1, dryRun: true });
      if (probe.removed > 0) return true;
    }
    return false;
  }

  /** Bounded batches until nothing expired is left (a dry run: one batch counting everything). */
  private async runTarget(tenantId: string | null, report: PurgeTargetReport, dryRun: boolean, auditLogId: string | null): Promise<void> {
    if (report.cutoff === null) return;
    const before = new Date(report.cutoff);
    let fastest = Infinity;
    for (;;) {
      const started = this.monotonic();
      const batch = await this.store.purgeBatch({
        tenantId,
        type: report.type,
        level: report.level,
        before,
        limit: dryRun ? null : this.batchSize,
        dryRun,
        auditLogId,
      });
      if (batch.removed === 0) break;
      report.removed += batch.removed;
      report.steps_removed += batch.steps_removed;
      report.first_at ??= batch.first_at;
      report.last_at = batch.last_at;
      report.batch_hashes.push(batch.removed_hash);
      if (dryRun || batch.removed < this.batchSize) break;
      // A full batch much slower than the fastest one: the database is busy with something
      // else (ingestion). Wait for the excess, so the purge gives way instead of competing.
      const took = this.monotonic() - started;
      fastest = Math.min(fastest, took);
      if (this.pace && took > PACE_SLACK * fastest) await this.sleep(took - fastest);
    }
    report.removed_hash = sha256(report.batch_hashes.join(''));
  }

  private async compliance(tenantId: string): Promise<ComplianceProfile> {
    const tenant = await this.tenants.getTenant(tenantId);
    if (!tenant) throw new NotFoundError(`tenant ${tenantId} not found`);
    return tenant.compliance;
  }

  private view(tenantId: string, compliance: ComplianceProfile, overrides: RetentionOverrides, updatedAt: string | null, updatedBy: string | null): RetentionPolicyView {
    return {
      tenant_id: tenantId,
      compliance,
      defaults: profileRetention(compliance),
      minimums: { ...COMPLIANCE_MINIMUMS[compliance] },
      overrides,
      effective: effectiveRetention(compliance, overrides),
      updated_at: updatedAt,
      updated_by: updatedBy,
    };
  }

  private record(tenantId: string, actor: RetentionActor, action: string, resourceType: string, resourceId: string | null, details: Record<string, unknown>) {
    return this.audit.logAction({
      tenantId,
      actor_id: actor.actorId,
      actor_type: actor.actorType,
      action,
      resource_type: resourceType,
      resource_id: resourceId,
      details: details as never,
      ip_address: actor.ipAddress ?? null,
      user_agent: actor.userAgent ?? null,
    });
  }
}
