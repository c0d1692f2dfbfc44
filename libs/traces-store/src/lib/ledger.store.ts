import {
  hashChildren,
  type LeafRange,
  type LeafType,
  MerkleProofError,
  type MerkleNode,
  MerkleTreeBuilder,
  NotFoundError,
  rangeHash,
  type AuditLog,
  type SystemLog,
  type TraceSummary,
} from '@aos/logs-domain';
import type { Database, Scope, Sql } from './database/database';
import { AUDIT_LOG_COLUMNS, SYSTEM_LOG_COLUMNS, toAuditLog, toSystemLog } from './log-rows';
import { toTrace, TRACE_COLUMNS } from './rows';

/** The ledger of the platform's own system logs (tenant logs use the tenant id). */
export const PLATFORM_LOG_ID = '00000000-0000-0000-0000-000000000000';

/** Tree nodes below this level are folded from leaves when needed, not stored (see the migration). */
export const MIN_STORED_LEVEL = 4;

/** One record to ledger: its kind, id and `hashLeaf(<leaf data>)`. */
export interface LeafToAppend {
  leaf_type: LeafType;
  record_id: string;
  leaf_hash: Buffer;
}

export interface LedgerHead {
  log_id: string;
  tree_size: number;
  root_hash: Buffer;
}

export interface StoredCheckpoint {
  log_id: string;
  tree_size: number;
  root_hash: Buffer;
  origin: string;
  key_id: string;
  note: string;
  signed_at: string;
}

export interface LedgerEntry {
  log_id: string;
  leaf_index: number;
  leaf_type: LeafType;
  record_id: string;
  leaf_hash: Buffer;
  appended_at: string;
}

/** A ledgered record as stored now, for the integrity audit to recompute its leaf. */
export type LedgeredRecord =
  | { leaf_type: 'aos.syslog.v1'; record: SystemLog }
  | { leaf_type: 'aos.audit.v1'; record: AuditLog }
  | { leaf_type: 'aos.trace.v1'; record: TraceSummary; step_hashes: string[] };

/** The ledger log of a scope: the tenant's, or the platform's. */
export function ledgerLogId(scope: Scope): string {
  return 'tenantId' in scope ? scope.tenantId : PLATFORM_LOG_ID;
}

/**
 * The per-tenant Merkle logs in PostgreSQL (`libs/logs-domain/LEDGER.md`).
 * `append` runs inside a writer's transaction; everything else reads.
 */
export class LedgerStore {
  constructor(
    private readonly db: Database,
    /** Off only for benchmarks that compare ingestion with and without the ledger. */
    readonly enabled = true,
  ) {}

  /**
   * Appends leaves to the log in the caller's transaction. Call it as the last
   * statement before commit: it locks the log's head row until the commit, so
   * leaf indices follow commit order and concurrent writers never interleave
   * a half-written tree. Leaf hashing is the caller's (in its batch); the tree
   * nodes are extended from the stored frontier, never recomputed.
   */
  async append(sql: Sql, logId: string, leaves: readonly LeafToAppend[]): Promise<void> {
    if (!this.enabled || leaves.length === 0) return;
    // The upsert takes the row lock in the same round trip as the read.
    const [head] = await sql.query<{ tree_size: number; frontier: Buffer[] }>(
      `INSERT INTO aos_ledger_heads AS h (log_id) VALUES ($1)
       ON CONFLICT (log_id) DO UPDATE SET updated_at = h.updated_at
       RETURNING h.tree_size, h.frontier`,
      [logId],
    );
    const tree = MerkleTreeBuilder.fromFrontier(Number(head.tree_size), head.frontier ?? []);
    const first = tree.size;
    const nodes: MerkleNode[] = [];
    for (const leaf of leaves) {
      for (const node of tree.append(leaf.leaf_hash)) if (node.level >= MIN_STORED_LEVEL) nodes.push(node);
    }
    await sql.query(
      `WITH leaves AS (
         INSERT INTO aos_ledger_leaves (log_id, leaf_index, leaf_type, record_id, leaf_hash)
         SELECT $1, $2::bigint + u.o - 1, u.t, u.r, decode(u.h, 'hex')
         FROM unnest($3::text[], $4::uuid[], $5::text[]) WITH ORDINALITY AS u(t, r, h, o)
       ), nodes AS (
         INSERT INTO aos_ledger_nodes (log_id, level, node_index, hash)
         SELECT $1, v.l, v.i, decode(v.h, 'hex') FROM unnest($6::smallint[], $7::bigint[], $8::text[]) AS v(l, i, h)
       )
       UPDATE aos_ledger_heads SET tree_size = $9, frontier = $10::bytea[], updated_at = now() WHERE log_id = $1`,
      [
        logId,
        first,
        leaves.map((l) => l.leaf_type),
        leaves.map((l) => l.record_id),
        leaves.map((l) => l.leaf_hash.toString('hex')),
        nodes.map((n) => n.level),
        nodes.map((n) => n.index),
        nodes.map((n) => n.hash.toString('hex')),
        tree.size,
        tree.frontier(),
      ],
    );
  }

  /** The log's current size and root (from the stored frontier). */
  async head(scope: Scope): Promise<LedgerHead> {
    const logId = ledgerLogId(scope);
    const [row] = await this.db.transaction(scope, (sql) =>
      sql.query<{ tree_size: number; frontier: Buffer[] }>(`SELECT tree_size, frontier FROM aos_ledger_heads WHERE log_id = $1`, [logId]),
    );
    const tree = row ? MerkleTreeBuilder.fromFrontier(Number(row.tree_size), row.frontier) : new MerkleTreeBuilder();
    return { log_id: logId, tree_size: tree.size, root_hash: tree.root() };
  }

  /** The ledger entry of a record, if it was ledgered. */
  async findEntry(scope: Scope, leafType: LeafType, recordId: string): Promise<LedgerEntry | null> {
    const [row] = await this.db.transaction(scope, (sql) =>
      sql.query(`SELECT ${ENTRY_COLUMNS} FROM aos_ledger_leaves WHERE record_id = $1 AND leaf_type = $2 AND log_id = $3`, [
        recordId,
        leafType,
        ledgerLogId(scope),
      ]),
    );
    return row ? toEntry(row) : null;
  }

  /** The entries of leaves `[from, to)`, in leaf order (for the integrity audit). */
  async entries(scope: Scope, from: number, to: number): Promise<LedgerEntry[]> {
    const rows = await this.db.transaction(scope, (sql) =>
      sql.query(
        `SELECT ${ENTRY_COLUMNS} FROM aos_ledger_leaves WHERE log_id = $1 AND leaf_index >= $2 AND leaf_index < $3 ORDER BY leaf_index`,
        [ledgerLogId(scope), from, to],
      ),
    );
    return rows.map(toEntry);
  }

  /** Leaf indices in `[from, to)` whose record the retention purge removed. */
  async gaps(scope: Scope, from: number, to: number): Promise<Map<number, string>> {
    const rows = await this.db.transaction(scope, (sql) =>
      sql.query<{ leaf_index: number; purged_at: Date }>(
        `SELECT leaf_index, purged_at FROM aos_ledger_gaps WHERE log_id = $1 AND leaf_index >= $2 AND leaf_index < $3`,
        [ledgerLogId(scope), from, to],
      ),
    );
    return new Map(rows.map((r) => [Number(r.leaf_index), new Date(r.purged_at).toISOString()]));
  }

  /**
   * The hash of each leaf range (proof components), from the stored nodes and
   * leaves: two queries whatever the number of ranges. Throws NotFound when the
   * ledger lacks a node the range needs (a range beyond the log's size).
   */
  async rangeHashes(scope: Scope, ranges: readonly LeafRange[]): Promise<Buffer[]> {
    if (ranges.length === 0) return [];
    const logId = ledgerLogId(scope);
    // Dry run: which perfect subtrees do the ranges decompose into?
    const wanted: Array<{ level: number; index: number }> = [];
    const zero = Buffer.alloc(32);
    for (const r of ranges) rangeHash(r, (level, index) => (wanted.push({ level, index }), zero));
    const stored = wanted.filter((w) => w.level >= MIN_STORED_LEVEL);
    const leafSpans = wanted.filter((w) => w.level < MIN_STORED_LEVEL).map((w) => ({ start: w.index * 2 ** w.level, end: (w.index + 1) * 2 ** w.level }));
    const { nodeRows, leafRows } = await this.db.transaction(scope, async (sql) => ({
      nodeRows: stored.length
        ? await sql.query<{ level: number; node_index: number; hash: Buffer }>(
            `SELECT n.level, n.node_index, n.hash FROM aos_ledger_nodes n
             JOIN unnest($2::smallint[], $3::bigint[]) AS w(l, i) ON n.level = w.l AND n.node_index = w.i
             WHERE n.log_id = $1`,
            [logId, stored.map((w) => w.level), stored.map((w) => w.index)],
          )
        : [],
      leafRows: leafSpans.length
        ? await sql.query<{ leaf_index: number; leaf_hash: Buffer }>(
            `SELECT l.leaf_index, l.leaf_hash FROM aos_ledger_leaves l
             JOIN unnest($2::bigint[], $3::bigint[]) AS s(a, b) ON l.leaf_index >= s.a AND l.leaf_index < s.b
             WHERE l.log_id = $1`,
            [logId, leafSpans.map((s) => s.start), leafSpans.map((s) => s.end)],
          )
        : [],
    }));
    const nodes = new Map(nodeRows.map((r) => [`${r.level}/${r.node_index}`, r.hash]));
    const leaves = new Map(leafRows.map((r) => [Number(r.leaf_index), r.leaf_hash]));
    const getNode = (level: number, index: number): Buffer => {
      if (level >= MIN_STORED_LEVEL) {
        const hash = nodes.get(`${level}/${index}`);
        if (!hash) throw new NotFoundError(`ledger node ${level}/${index} is not stored (the log is smaller than the range)`);
        return hash;
      }
      if (level === 0) {
        const hash = leaves.get(index);
        if (!hash) throw new NotFoundError(`ledger leaf ${index} is not stored (the log is smaller than the range)`);
        return hash;
      }
      return hashChildren(getNode(level - 1, 2 * index), getNode(level - 1, 2 * index + 1));
    };
    return ranges.map((r) => rangeHash(r, getNode));
  }

  async latestCheckpoint(scope: Scope): Promise<StoredCheckpoint | null> {
    const [row] = await this.db.transaction(scope, (sql) =>
      sql.query(`SELECT ${CHECKPOINT_COLUMNS} FROM aos_ledger_checkpoints WHERE log_id = $1 ORDER BY tree_size DESC LIMIT 1`, [
        ledgerLogId(scope),
      ]),
    );
    return row ? toCheckpoint(row) : null;
  }

  /** Size and root of every signed checkpoint of the log, smallest first (for the audit). */
  async checkpointRoots(scope: Scope): Promise<Array<{ tree_size: number; root_hash: Buffer }>> {
    const rows = await this.db.transaction(scope, (sql) =>
      sql.query<{ tree_size: number; root_hash: Buffer }>(`SELECT tree_size, root_hash FROM aos_ledger_checkpoints WHERE log_id = $1 ORDER BY tree_size`, [
        ledgerLogId(scope),
      ]),
    );
    return rows.map((r) => ({ tree_size: Number(r.tree_size), root_hash: r.root_hash }));
  }

  /** The checkpoint of exactly `treeSize`, or the smallest one at least `treeSize` with `orLater`. */
  async checkpointAt(scope: Scope, treeSize: number, orLater = false): Promise<StoredCheckpoint | null> {
    const [row] = await this.db.transaction(scope, (sql) =>
      sql.query(
        `SELECT ${CHECKPOINT_COLUMNS} FROM aos_ledger_checkpoints WHERE log_id = $1 AND tree_size ${orLater ? '>=' : '='} $2
         ORDER BY tree_size LIMIT 1`,
        [ledgerLogId(scope), treeSize],
      ),
    );
    return row ? toCheckpoint(row) : null;
  }

  /** Stores a signed checkpoint; a second signer racing for the same size stores nothing. */
  async insertCheckpoint(scope: Scope, cp: Omit<StoredCheckpoint, 'signed_at' | 'log_id'>): Promise<StoredCheckpoint> {
    const logId = ledgerLogId(scope);
    return this.db.transaction(scope, async (sql) => {
      await sql.query(
        `INSERT INTO aos_ledger_checkpoints (log_id, tree_size, root_hash, origin, key_id, note) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (log_id, tree_size) DO NOTHING`,
        [logId, cp.tree_size, cp.root_hash, cp.origin, cp.key_id, cp.note],
      );
      const [row] = await sql.query(`SELECT ${CHECKPOINT_COLUMNS} FROM aos_ledger_checkpoints WHERE log_id = $1 AND tree_size = $2`, [
        logId,
        cp.tree_size,
      ]);
      const stored = toCheckpoint(row);
      if (!stored.root_hash.equals(cp.root_hash)) {
        throw new MerkleProofError(`a checkpoint of size ${cp.tree_size} with another root already exists for log ${logId}`);
      }
      return stored;
    });
  }

  /** The records the entries name, as stored now (absent: the row is gone), keyed by record id. */
  async ledgeredRecords(scope: Scope, entries: readonly LedgerEntry[]): Promise<Map<string, LedgeredRecord>> {
    const ids = (type: LeafType) => entries.filter((e) => e.leaf_type === type).map((e) => e.record_id);
    const [syslogIds, auditIds, traceIds] = [ids('aos.syslog.v1'), ids('aos.audit.v1'), ids('aos.trace.v1')];
    const out = new Map<string, LedgeredRecord>();
    await this.db.transaction(scope, async (sql) => {
      if (syslogIds.length) {
        for (const row of await sql.query(`SELECT ${SYSTEM_LOG_COLUMNS} FROM system_logs WHERE log_id = ANY($1::uuid[])`, [syslogIds])) {
          out.set(String(row.log_id), { leaf_type: 'aos.syslog.v1', record: toSystemLog(row) });
        }
      }
      if (auditIds.length) {
        for (const row of await sql.query(`SELECT ${AUDIT_LOG_COLUMNS} FROM audit_logs WHERE log_id = ANY($1::uuid[])`, [auditIds])) {
          out.set(String(row.log_id), { leaf_type: 'aos.audit.v1', record: toAuditLog(row) });
        }
      }
      if (traceIds.length) {
        const rows = await sql.query(
          `SELECT ${TRACE_COLUMNS}, (SELECT coalesce(array_agg(s.content_hash ORDER BY s.step_index), '{}') FROM aos_trace_steps s
             WHERE s.trace_id = t.trace_id) AS step_hashes
           FROM aos_traces t WHERE trace_id = ANY($1::uuid[])`,
          [traceIds],
        );
        for (const row of rows) {
          out.set(String(row.trace_id), { leaf_type: 'aos.trace.v1', record: toTrace(row), step_hashes: row.step_hashes as string[] });
        }
      }
    });
    return out;
  }

  /**
   * Records of the scope that should be in its ledger and are not (inserted
   * behind the application's back): sealed traces, audit rows, system logs.
   * At most `limit` of them.
   */
  async unledgeredRecords(scope: Scope, limit: number): Promise<Array<{ leaf_type: LeafType; record_id: string }>> {
    const tenant = 'tenantId' in scope;
    // The platform log holds system logs only, and its query takes no tenant parameter
    // (an unused `$1` has no type PostgreSQL can infer).
    const lim = tenant ? '$2' : '$1';
    const rows = await this.db.transaction(scope, (sql) =>
      sql.query<{ leaf_type: LeafType; record_id: string }>(
        `(SELECT 'aos.syslog.v1' AS leaf_type, s.log_id AS record_id FROM system_logs s
           WHERE ${tenant ? 's.tenant_id = $1' : 's.tenant_id IS NULL'}
             AND NOT EXISTS (SELECT 1 FROM aos_ledger_leaves l WHERE l.record_id = s.log_id AND l.leaf_type = 'aos.syslog.v1') LIMIT ${lim})
         ${
           tenant
             ? `UNION ALL
         (SELECT 'aos.audit.v1', a.log_id FROM audit_logs a WHERE a.tenant_id = $1
             AND NOT EXISTS (SELECT 1 FROM aos_ledger_leaves l WHERE l.record_id = a.log_id AND l.leaf_type = 'aos.audit.v1') LIMIT $2)
         UNION ALL
         (SELECT 'aos.trace.v1', t.trace_id FROM aos_traces t WHERE t.tenant_id = $1 AND t.status <> 'active'
             AND NOT EXISTS (SELECT 1 FROM aos_ledger_leaves l WHERE l.record_id = t.trace_id AND l.leaf_type = 'aos.trace.v1') LIMIT $2)`
             : ''
         }`,
        tenant ? [scope.tenantId, limit] : [limit],
      ),
    );
    return rows.slice(0, limit);
  }

  /** Every log (tenant or platform) with leaves no checkpoint covers yet. */
  async unsignedLogs(): Promise<Array<{ scope: Scope; tree_size: number }>> {
    const rows = await this.db.query<{ log_id: string; tree_size: number }>(`SELECT log_id, tree_size FROM aos_ledger_unsigned_logs()`);
    return rows.map((r) => ({
      scope: r.log_id === PLATFORM_LOG_ID ? { platform: true } : { tenantId: r.log_id },
      tree_size: Number(r.tree_size),
    }));
  }
}

const ENTRY_COLUMNS = `log_id, leaf_index, leaf_type, record_id, leaf_hash, appended_at`;
const CHECKPOINT_COLUMNS = `log_id, tree_size, root_hash, origin, key_id, note, signed_at`;

function toEntry(row: Record<string, any>): LedgerEntry {
  return {
    log_id: row.log_id,
    leaf_index: Number(row.leaf_index),
    leaf_type: row.leaf_type,
    record_id: row.record_id,
    leaf_hash: row.leaf_hash,
    appended_at: new Date(row.appended_at).toISOString(),
  };
}

function toCheckpoint(row: Record<string, any>): StoredCheckpoint {
  return {
    log_id: row.log_id,
    tree_size: Number(row.tree_size),
    root_hash: row.root_hash,
    origin: row.origin,
    key_id: row.key_id,
    note: row.note,
    signed_at: new Date(row.signed_at).toISOString(),
  };
}
