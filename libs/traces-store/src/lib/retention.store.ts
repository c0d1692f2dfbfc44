import { v7 as uuidv7 } from 'uuid';
import {
  type ComplianceProfile,
  isUuid,
  type LegalHold,
  type LegalHoldScope,
  NotFoundError,
  type RetentionOverrides,
  type RetentionType,
  type SystemLogLevel,
  ValidationError,
} from '@aos/logs-domain';
import type { Database, Sql } from './database/database';
import { iso } from './rows';

/** A tenant's stored overrides (`{}` when it never set any). */
export interface StoredRetentionPolicy {
  tenant_id: string;
  overrides: RetentionOverrides;
  updated_at: string | null;
  updated_by: string | null;
}

export interface NewLegalHold {
  scope: LegalHoldScope;
  target_id?: string | null;
  reason: string;
  placed_by: string;
}

/** One call of the privileged purge: one tenant (null: platform system logs), one type, one level. */
export interface PurgeBatchRequest {
  tenantId: string | null;
  type: RetentionType;
  level?: SystemLogLevel | null;
  /** Records that expired before this instant go. */
  before: Date;
  /** Most rows removed by this call; a dry run counts at most this many, or everything when null. */
  limit: number | null;
  dryRun: boolean;
  /**
   * The tenant's `retention_purge_started` audit row this purge runs under: the
   * database refuses a deleting batch of a tenant without it (platform logs need none).
   */
  auditLogId?: string | null;
}

/** What one call removed (or, dry, would remove); see the retention migration for the hash. */
export interface PurgeBatchResult {
  removed: number;
  steps_removed: number;
  first_at: string | null;
  last_at: string | null;
  removed_hash: string;
}

/**
 * The transaction-scoped advisory lock (SQL, of the tenant id in `$1`) by which legal holds and
 * purge batches of one tenant take turns: a batch takes it shared, placing a hold exclusive.
 * Without it a hold placed while a batch ran was answered 201 and its trace deleted all the same:
 * the batch had chosen its rows before the hold committed, and the hold had found its trace before
 * the batch deleted it.
 */
const PURGE_LOCK = `hashtextextended('aos.retention.purge/' || $1::text, 0)`;

/**
 * The advisory lock by which the step-search indexer (`aos_index_step_search()`, shared) and
 * deleting trace purge batches (exclusive) take turns; see 1769900000000-step-search-purge-turns.
 */
const STEP_SEARCH_PURGE_LOCK = 7369900000001;

const HOLD_COLUMNS = 'hold_id, tenant_id, scope, target_id, reason, placed_by, placed_at, released_at, released_by';

function toHold(row: Record<string, any>): LegalHold {
  return {
    hold_id: row.hold_id,
    tenant_id: row.tenant_id,
    scope: row.scope,
    target_id: row.target_id,
    reason: row.reason,
    placed_by: row.placed_by,
    placed_at: iso(row.placed_at)!,
    released_at: iso(row.released_at),
    released_by: row.released_by,
  };
}

/**
 * Retention persistence (spec 10): policies, legal holds, and the bounded
 * batches of the one privileged delete path, `aos_retention_purge()`. No other
 * method here (or anywhere) deletes a record.
 */
export class RetentionStore {
  constructor(private readonly db: Database) {}

  /**
   * Runs `work` as one transaction (Database.atomically): a policy or hold
   * change and the audit row that records it commit together or not at all.
   */
  atomically<T>(work: () => Promise<T>): Promise<T> {
    return this.db.atomically(work);
  }

  async getPolicy(tenantId: string): Promise<StoredRetentionPolicy> {
    const [row] = await this.db.transaction({ tenantId }, (sql) =>
      sql.query<Record<string, any>>(`SELECT tenant_id, overrides, updated_at, updated_by FROM retention_policies WHERE tenant_id = $1`, [tenantId]),
    );
    if (!row) return { tenant_id: tenantId, overrides: {}, updated_at: null, updated_by: null };
    return { tenant_id: row.tenant_id, overrides: row.overrides ?? {}, updated_at: iso(row.updated_at), updated_by: row.updated_by };
  }

  /** Replaces the tenant's overrides (already checked by the caller); answers the previous and the new. */
  async putPolicy(tenantId: string, overrides: RetentionOverrides, updatedBy: string): Promise<{ previous: RetentionOverrides; policy: StoredRetentionPolicy }> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const [prev] = await sql.query<{ overrides: RetentionOverrides }>(`SELECT overrides FROM retention_policies WHERE tenant_id = $1 FOR UPDATE`, [tenantId]);
      const [row] = await sql.query<Record<string, any>>(
        `INSERT INTO retention_policies (tenant_id, overrides, updated_by) VALUES ($1, $2::jsonb, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET overrides = EXCLUDED.overrides, updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING tenant_id, overrides, updated_at, updated_by`,
        [tenantId, JSON.stringify(overrides), updatedBy],
      );
      return {
        previous: prev?.overrides ?? {},
        policy: { tenant_id: row.tenant_id, overrides: row.overrides, updated_at: iso(row.updated_at), updated_by: row.updated_by },
      };
    });
  }

  /**
   * Places a hold. A trace hold names a trace of the tenant (else NotFoundError); an incident may
   * live elsewhere. Holds and the tenant's purge batches take turns (see PURGE_LOCK): a hold
   * answered has no batch running under it, and every later batch sees it.
   */
  async placeHold(tenantId: string, hold: NewLegalHold): Promise<LegalHold> {
    const target = hold.scope === 'tenant' ? null : (hold.target_id ?? null);
    if (hold.scope !== 'tenant' && (target === null || !isUuid(target))) throw ValidationError.field('target_id', `is required for a ${hold.scope} hold and must be a UUID`);
    if (hold.scope === 'tenant' && hold.target_id != null) throw ValidationError.field('target_id', 'must be absent for a tenant hold');
    return this.db.transaction({ tenantId }, async (sql) => {
      // Waits for the tenant's running purge batches, and holds the next ones back until this commits.
      await sql.query(`SELECT pg_advisory_xact_lock(${PURGE_LOCK})`, [tenantId]);
      if (hold.scope === 'trace') {
        const [found] = await sql.query(`SELECT 1 FROM aos_traces WHERE trace_id = $1`, [target]);
        if (!found) throw new NotFoundError(`trace ${target} not found`);
      }
      const [row] = await sql.query<Record<string, any>>(
        `INSERT INTO legal_holds (hold_id, tenant_id, scope, target_id, reason, placed_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${HOLD_COLUMNS}`,
        [uuidv7(), tenantId, hold.scope, target?.toLowerCase() ?? null, hold.reason, hold.placed_by],
      );
      return toHold(row);
    });
  }

  /** Releases a hold once; releasing again answers the hold as it is with `released: false`. */
  async releaseHold(tenantId: string, holdId: string, releasedBy: string): Promise<{ hold: LegalHold; released: boolean }> {
    if (!isUuid(holdId)) throw new NotFoundError(`legal hold ${holdId} not found`);
    return this.db.transaction({ tenantId }, async (sql) => {
      const [row] = await sql.query<Record<string, any>>(
        `UPDATE legal_holds SET released_at = now(), released_by = $2 WHERE hold_id = $1 AND released_at IS NULL RETURNING ${HOLD_COLUMNS}`,
        [holdId, releasedBy],
      );
      if (row) return { hold: toHold(row), released: true };
      const [existing] = await sql.query<Record<string, any>>(`SELECT ${HOLD_COLUMNS} FROM legal_holds WHERE hold_id = $1`, [holdId]);
      if (!existing) throw new NotFoundError(`legal hold ${holdId} not found`);
      return { hold: toHold(existing), released: false };
    });
  }

  async getHold(tenantId: string, holdId: string): Promise<LegalHold> {
    if (!isUuid(holdId)) throw new NotFoundError(`legal hold ${holdId} not found`);
    const [row] = await this.db.transaction({ tenantId }, (sql) => sql.query<Record<string, any>>(`SELECT ${HOLD_COLUMNS} FROM legal_holds WHERE hold_id = $1`, [holdId]));
    if (!row) throw new NotFoundError(`legal hold ${holdId} not found`);
    return toHold(row);
  }

  /** The tenant's holds, newest first; `activeOnly` leaves released ones out. */
  async listHolds(tenantId: string, options: { activeOnly?: boolean } = {}): Promise<LegalHold[]> {
    const rows = await this.db.transaction({ tenantId }, (sql) =>
      sql.query<Record<string, any>>(
        `SELECT ${HOLD_COLUMNS} FROM legal_holds ${options.activeOnly ? 'WHERE released_at IS NULL' : ''} ORDER BY placed_at DESC, hold_id DESC LIMIT 10000`,
      ),
    );
    return rows.map(toHold);
  }

  /** Every tenant with its compliance profile (the scheduled purge walks them all). */
  async listTenants(): Promise<Array<{ tenant_id: string; compliance: ComplianceProfile }>> {
    return this.db.query<{ tenant_id: string; compliance: ComplianceProfile }>(`SELECT tenant_id, compliance FROM tenants ORDER BY tenant_id`);
  }

  /**
   * The latest cutoff the database allows now for one kind of record (null:
   * kept for ever): its own clock minus the retention it computes from the
   * tenant's stored profile and overrides. `aos_retention_purge` refuses a later one.
   */
  async retentionFloor(tenantId: string | null, type: RetentionType, level: SystemLogLevel | null = null): Promise<Date | null> {
    const [row] = await this.db.query<{ floor: Date | string | null }>(`SELECT aos_retention_floor($1::uuid, $2, $3) AS floor`, [tenantId, type, level]);
    return row?.floor == null ? null : new Date(row.floor);
  }

  /**
   * One bounded batch through `aos_retention_purge()`: its own short transaction. A tenant's
   * batch first takes the tenant's PURGE_LOCK shared (batches run side by side; a hold waits),
   * and a deleting trace batch STEP_SEARCH_PURGE_LOCK exclusive (it and the step-search
   * indexer take turns, else the two could deadlock over a trace whose last batch is indexed).
   */
  async purgeBatch(req: PurgeBatchRequest): Promise<PurgeBatchResult> {
    const purge = (sql: Sql) =>
      sql.query<Record<string, any>>(
        `SELECT removed, steps_removed, first_at, last_at, removed_hash FROM aos_retention_purge($1::uuid, $2, $3, $4::timestamptz, $5::int, $6::boolean, $7::uuid)`,
        [req.tenantId, req.type, req.level ?? null, req.before.toISOString(), req.limit, req.dryRun, req.auditLogId ?? null],
      );
    const tenantId = req.tenantId;
    const [row] =
      tenantId === null
        ? await purge(this.db)
        : await this.db.transaction({ tenantId }, async (sql) => {
            await sql.query(`SELECT pg_advisory_xact_lock_shared(${PURGE_LOCK})`, [tenantId]);
            // Before any trace is locked: running step-search indexers finish first (see the migration).
            if (req.type === 'traces' && !req.dryRun) await sql.query(`SELECT pg_advisory_xact_lock(${STEP_SEARCH_PURGE_LOCK})`);
            return purge(sql);
          });
    return {
      removed: Number(row?.removed ?? 0),
      steps_removed: Number(row?.steps_removed ?? 0),
      first_at: iso(row?.first_at ?? null),
      last_at: iso(row?.last_at ?? null),
      removed_hash: row?.removed_hash,
    };
  }
}
