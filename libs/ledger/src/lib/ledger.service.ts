import { Logger } from '@nestjs/common';
import {
  auditLogLeafData,
  buildEvidenceStatement,
  consistencyProofRanges,
  type DsseEnvelope,
  type EvidenceBundle,
  hashLeaf,
  inclusionProofRanges,
  IntegrityError,
  type LeafType,
  MerkleProofError,
  MerkleTreeBuilder,
  NotFoundError,
  parseCheckpoint,
  splitNote,
  type StepContent,
  systemLogLeafData,
  TRACE_LEAF_TYPE,
  traceLeafData,
  type TraceSummary,
  ValidationError,
  verifyConsistency,
} from '@aos/logs-domain';
import { type LedgeredRecord, type LedgerEntry, LedgerStore, ledgerLogId, type Scope, type StoredCheckpoint, TraceStore } from '@aos/traces-store';
import type { CheckpointPublisher } from './checkpoint-publisher';
import type { LedgerSigner, PublishedKey } from './ledger-signer';

/** A signed checkpoint as the API answers it. */
export interface CheckpointView {
  origin: string;
  tree_size: number;
  /** Base64, as in the note. */
  root_hash: string;
  key_id: string;
  signed_at: string;
  /** The C2SP signed note: checkpoint body, blank line, signature lines. */
  note: string;
}

export interface InclusionProofView {
  record_type: RecordType;
  record_id: string;
  leaf_index: number;
  /** Base64 `hashLeaf(leaf data)`. */
  leaf_hash: string;
  tree_size: number;
  /** Base64 proof hashes, bottom up (RFC 9162 2.1.3). */
  hashes: string[];
  checkpoint: CheckpointView;
}

export interface ConsistencyProofView {
  from_size: number;
  to_size: number;
  hashes: string[];
  /** The signed checkpoints of the two sizes, where they were signed. */
  from_checkpoint: CheckpointView | null;
  to_checkpoint: CheckpointView | null;
}

/** Record kinds on the wire, and their leaf types. */
export const RECORD_TYPES = { trace: 'aos.trace.v1', audit_log: 'aos.audit.v1', system_log: 'aos.syslog.v1' } as const satisfies Record<string, LeafType>;
export type RecordType = keyof typeof RECORD_TYPES;
const RECORD_TYPE_OF = Object.fromEntries(Object.entries(RECORD_TYPES).map(([k, v]) => [v, k])) as Record<LeafType, RecordType>;

export type MismatchKind =
  /** The record's recomputed leaf differs from the ledgered leaf. */
  | 'modified'
  /** The record is gone and no retention purge explains it. */
  | 'missing'
  /** The record's leaf is in the ledger at another index than its own entry says (entries swapped). */
  | 'reordered'
  /** A stored step's content no longer hashes to its recorded hash. */
  | 'step-modified'
  /** A record that should be in the ledger has no entry (written behind the application's back). */
  | 'unledgered'
  /** The ledger's own entries or nodes disagree with a signed checkpoint. */
  | 'ledger-altered';

export interface AuditMismatch {
  kind: MismatchKind;
  record_type: RecordType | null;
  record_id: string | null;
  leaf_index: number | null;
  step_index?: number;
  detail: string;
}

export interface IntegrityAuditReport {
  origin: string;
  tree_size: number;
  /** Leaves whose record was recomputed and matched. */
  verified_leaves: number;
  /** Leaves whose record the retention purge removed (explained, not failures). */
  purged_leaves: number;
  checkpoints_checked: number;
  /** True when nothing below was found. */
  verified: boolean;
  mismatch_count: number;
  /** The first MAX_REPORTED mismatches, in leaf order. */
  mismatches: AuditMismatch[];
  checked_at: string;
}

const MAX_REPORTED = 1000;
const AUDIT_CHUNK = 1000;

const b64 = (b: Buffer) => b.toString('base64');

/**
 * The server half of the tamper-evident ledger (`libs/logs-domain/LEDGER.md`):
 * signs checkpoints that are consistent with the previous one, serves
 * inclusion and consistency proofs, audits every leaf against the stored
 * records, and signs evidence statements. Leaves are appended by the stores in
 * the write transactions.
 */
export class LedgerService {
  private readonly logger = new Logger('Ledger');

  constructor(
    private readonly store: LedgerStore,
    private readonly traces: TraceStore,
    private readonly signer: LedgerSigner,
    private readonly publisher: CheckpointPublisher,
  ) {}

  get enabled(): boolean {
    return this.store.enabled;
  }

  publicKey(): PublishedKey {
    return this.signer.published;
  }

  origin(scope: Scope): string {
    return this.signer.origin('tenantId' in scope ? scope.tenantId : 'platform');
  }

  /** The checkpoint of the log as it is now: the latest, or a new one signed when leaves were added since. */
  async currentCheckpoint(scope: Scope): Promise<CheckpointView> {
    const head = await this.store.head(scope);
    return this.checkpoint(scope, Math.max(1, head.tree_size));
  }

  /**
   * The latest signed checkpoint covering at least `minSize` leaves; signs a
   * new one when the latest is older (or none exists). NotFound on an empty log.
   */
  async checkpoint(scope: Scope, minSize = 1): Promise<CheckpointView> {
    const latest = await this.store.latestCheckpoint(scope);
    if (latest && latest.tree_size >= minSize) return this.view(latest);
    const signed = await this.signNow(scope);
    if (!signed || signed.tree_size < minSize) throw new NotFoundError('the ledger has no leaves to checkpoint yet');
    return this.view(signed);
  }

  /**
   * Signs a checkpoint at the log's current size, unless the latest already
   * covers it. Refuses (IntegrityError, logged) when the new tree is not an
   * extension of the previous checkpoint, or when the stored nodes and the
   * head disagree: a signer never blesses a rewritten history.
   */
  async signNow(scope: Scope): Promise<StoredCheckpoint | null> {
    const head = await this.store.head(scope);
    const previous = await this.store.latestCheckpoint(scope);
    if (head.tree_size === 0) return previous;
    if (previous && previous.tree_size >= head.tree_size) return previous;
    const origin = this.origin(scope);
    try {
      // The frontier (head) and the stored nodes must agree on the root...
      const [fromNodes] = await this.store.rangeHashes(scope, [{ start: 0, end: head.tree_size }]);
      if (!fromNodes.equals(head.root_hash)) throw new MerkleProofError('the stored nodes and the head disagree on the root');
      // ...and the new tree must extend the last signed one.
      if (previous) {
        const proof = await this.store.rangeHashes(scope, consistencyProofRanges(previous.tree_size, head.tree_size));
        verifyConsistency(previous.tree_size, head.tree_size, proof, previous.root_hash, head.root_hash);
      }
    } catch (err) {
      this.logger.error(`refusing to sign ${origin} at size ${head.tree_size}: ${(err as Error).message}`);
      throw new IntegrityError(`the ledger of ${origin} is not consistent with its last checkpoint; run the integrity audit`);
    }
    const note = this.signer.signCheckpoint({ origin, size: head.tree_size, rootHash: head.root_hash, extensions: [] });
    const stored = await this.store.insertCheckpoint(scope, {
      tree_size: head.tree_size,
      root_hash: head.root_hash,
      origin,
      key_id: this.signer.published.key_id,
      note,
    });
    await this.publisher.publish({ log_id: stored.log_id, origin, tree_size: stored.tree_size, note: stored.note });
    return stored;
  }

  /** Signs a checkpoint for every log with unsigned leaves (the periodic job). Answers how many were signed. */
  async signPending(): Promise<number> {
    let signed = 0;
    for (const { scope } of await this.store.unsignedLogs()) {
      try {
        await this.signNow(scope);
        signed++;
      } catch (err) {
        this.logger.error(`checkpoint of ${this.origin(scope)} failed: ${(err as Error).message}`);
      }
    }
    return signed;
  }

  /**
   * Inclusion proof of a record's leaf against a signed checkpoint: the one of
   * `treeSize` if given, else the latest (signed now if none covers the leaf).
   */
  async inclusionProof(scope: Scope, recordType: RecordType, recordId: string, treeSize?: number): Promise<InclusionProofView> {
    const entry = await this.store.findEntry(scope, RECORD_TYPES[recordType], recordId);
    if (!entry) throw new NotFoundError(`${recordType} ${recordId} is not in this ledger`);
    let cp: CheckpointView;
    if (treeSize === undefined) {
      cp = await this.checkpoint(scope, entry.leaf_index + 1);
    } else {
      if (treeSize <= entry.leaf_index) throw ValidationError.field('tree_size', `must be above the leaf index ${entry.leaf_index}`);
      const at = await this.store.checkpointAt(scope, treeSize);
      if (!at) throw new NotFoundError(`no signed checkpoint of size ${treeSize}`);
      cp = this.view(at);
    }
    const hashes = await this.store.rangeHashes(scope, inclusionProofRanges(entry.leaf_index, cp.tree_size));
    return {
      record_type: recordType,
      record_id: entry.record_id,
      leaf_index: entry.leaf_index,
      leaf_hash: b64(entry.leaf_hash),
      tree_size: cp.tree_size,
      hashes: hashes.map(b64),
      checkpoint: cp,
    };
  }

  /** Consistency proof between two tree sizes of the log (1 <= from <= to <= current size). */
  async consistencyProof(scope: Scope, from: number, to: number): Promise<ConsistencyProofView> {
    if (from < 1) throw ValidationError.field('from', 'must be at least 1 (consistency with the empty tree proves nothing)');
    if (to < from) throw ValidationError.field('to', `must be at least from (${from})`);
    const head = await this.store.head(scope);
    if (to > head.tree_size) throw ValidationError.field('to', `must not exceed the log's size ${head.tree_size}`);
    const [hashes, fromCp, toCp] = await Promise.all([
      this.store.rangeHashes(scope, consistencyProofRanges(from, to)),
      this.store.checkpointAt(scope, from),
      this.store.checkpointAt(scope, to),
    ]);
    return {
      from_size: from,
      to_size: to,
      hashes: hashes.map(b64),
      from_checkpoint: fromCp && this.view(fromCp),
      to_checkpoint: toCp && this.view(toCp),
    };
  }

  /**
   * A sealed trace's evidence bundle as a DSSE envelope around an in-toto
   * Statement v1: the bundle, the ledgered summary, the trace leaf's inclusion
   * proof and the signed checkpoint it is against, and the steps' content.
   */
  async signEvidence(tenantId: string, bundle: EvidenceBundle, trace: TraceSummary, steps: readonly StepContent[]): Promise<DsseEnvelope> {
    const scope = { tenantId };
    const entry = await this.store.findEntry(scope, TRACE_LEAF_TYPE, trace.trace_id);
    if (!entry) throw new NotFoundError(`trace ${trace.trace_id} has no ledger entry: only sealed traces have signed evidence`);
    const cp = await this.checkpoint(scope, entry.leaf_index + 1);
    const hashes = await this.store.rangeHashes(scope, inclusionProofRanges(entry.leaf_index, cp.tree_size));
    const statement = buildEvidenceStatement({
      bundle,
      trace,
      inclusion_proof: { leaf_index: entry.leaf_index, tree_size: cp.tree_size, hashes: hashes.map(b64) },
      checkpoint: cp.note,
      steps_content: steps.map((s) => ({
        step_index: s.step_index,
        step_type: s.step_type,
        input_data: s.input_data ?? null,
        output_data: s.output_data ?? null,
        timestamp: s.timestamp,
      })),
    });
    return this.signer.signStatement(statement);
  }

  /**
   * Rechecks every leaf of the scope's log against the records as stored now:
   * each record's leaf is recomputed (and each sealed trace's steps rehashed),
   * the tree is rebuilt from the entries and compared with every signed
   * checkpoint and the copy published outside the database, and records with no
   * entry are listed. Purged records are explained gaps, not failures.
   */
  async audit(scope: Scope): Promise<IntegrityAuditReport> {
    const head = await this.store.head(scope);
    const mismatches: AuditMismatch[] = [];
    let mismatchCount = 0;
    const report = (m: AuditMismatch) => {
      mismatchCount++;
      if (mismatches.length < MAX_REPORTED) mismatches.push(m);
    };
    const checkpoints = await this.store.checkpointRoots(scope);
    const tree = new MerkleTreeBuilder();
    let verified = 0;
    let purged = 0;
    let checkpointsChecked = 0;
    // Leaves whose record recomputes to another hash: kept to tell a swap from an edit.
    const wrong = new Map<number, { entry: LedgerEntry; recomputed: Buffer }>();

    for (let from = 0; from < head.tree_size; from += AUDIT_CHUNK) {
      const to = Math.min(head.tree_size, from + AUDIT_CHUNK);
      const entries = await this.store.entries(scope, from, to);
      const [records, gaps] = await Promise.all([this.store.ledgeredRecords(scope, entries), this.store.gaps(scope, from, to)]);
      let expected = from;
      for (const entry of entries) {
        for (; expected < entry.leaf_index; expected++) {
          report({ kind: 'ledger-altered', record_type: null, record_id: null, leaf_index: expected, detail: `ledger entry ${expected} is missing` });
        }
        expected = entry.leaf_index + 1;
        tree.append(entry.leaf_hash);
        while (checkpoints.length && checkpoints[0].tree_size === tree.size) {
          const cp = checkpoints.shift() as { tree_size: number; root_hash: Buffer };
          checkpointsChecked++;
          if (!tree.root().equals(cp.root_hash)) {
            report({
              kind: 'ledger-altered',
              record_type: null,
              record_id: null,
              leaf_index: cp.tree_size - 1,
              detail: `the ledger entries no longer hash to the root signed in the checkpoint of size ${cp.tree_size}`,
            });
          }
        }
        const recordType = RECORD_TYPE_OF[entry.leaf_type];
        const record = records.get(entry.record_id);
        if (!record) {
          if (gaps.has(entry.leaf_index)) purged++;
          else report({ kind: 'missing', record_type: recordType, record_id: entry.record_id, leaf_index: entry.leaf_index, detail: `${recordType} ${entry.record_id} is gone and no retention purge removed it` });
          continue;
        }
        const recomputed = hashLeaf(leafData(record));
        if (!recomputed.equals(entry.leaf_hash)) {
          wrong.set(entry.leaf_index, { entry, recomputed });
          continue;
        }
        if (record.leaf_type === 'aos.trace.v1' && !(await this.stepsVerify(scope, record.record, report, entry.leaf_index))) continue;
        verified++;
      }
      for (; expected < to; expected++) {
        report({ kind: 'ledger-altered', record_type: null, record_id: null, leaf_index: expected, detail: `ledger entry ${expected} is missing` });
      }
    }
    if (tree.size === head.tree_size && head.tree_size > 0) {
      const rebuilt = tree.root();
      if (!rebuilt.equals(head.root_hash)) {
        report({ kind: 'ledger-altered', record_type: null, record_id: null, leaf_index: null, detail: 'the ledger head does not match its entries' });
      }
      const [fromNodes] = await this.store.rangeHashes(scope, [{ start: 0, end: head.tree_size }]).catch(() => [Buffer.alloc(0)]);
      if (!fromNodes.equals(rebuilt)) {
        report({ kind: 'ledger-altered', record_type: null, record_id: null, leaf_index: null, detail: 'the stored nodes do not hash to the root of the ledger entries' });
      }
    }
    // A record at the wrong index hashes to the leaf stored at another one.
    const byLeafHash = new Map([...wrong.values()].map((w) => [w.entry.leaf_hash.toString('hex'), w.entry.leaf_index]));
    for (const { entry, recomputed } of wrong.values()) {
      const recordType = RECORD_TYPE_OF[entry.leaf_type];
      const elsewhere = byLeafHash.get(recomputed.toString('hex'));
      if (elsewhere !== undefined && elsewhere !== entry.leaf_index) {
        report({ kind: 'reordered', record_type: recordType, record_id: entry.record_id, leaf_index: entry.leaf_index, detail: `${recordType} ${entry.record_id} is the leaf ledgered at index ${elsewhere}, not ${entry.leaf_index}` });
      } else {
        report({ kind: 'modified', record_type: recordType, record_id: entry.record_id, leaf_index: entry.leaf_index, detail: `${recordType} ${entry.record_id} was changed after it was ledgered (its leaf hash differs)` });
      }
    }
    for (const u of await this.store.unledgeredRecords(scope, MAX_REPORTED)) {
      const recordType = RECORD_TYPE_OF[u.leaf_type];
      report({ kind: 'unledgered', record_type: recordType, record_id: u.record_id, leaf_index: null, detail: `${recordType} ${u.record_id} is stored but was never ledgered` });
    }
    await this.checkPublished(scope, head.tree_size, report);
    mismatches.sort((a, b) => (a.leaf_index ?? Infinity) - (b.leaf_index ?? Infinity));
    return {
      origin: this.origin(scope),
      tree_size: head.tree_size,
      verified_leaves: verified,
      purged_leaves: purged,
      checkpoints_checked: checkpointsChecked,
      verified: mismatchCount === 0,
      mismatch_count: mismatchCount,
      mismatches,
      checked_at: new Date().toISOString(),
    };
  }

  private async stepsVerify(scope: Scope, trace: TraceSummary, report: (m: AuditMismatch) => void, leafIndex: number): Promise<boolean> {
    if (!('tenantId' in scope)) return true;
    const result = await this.traces.verifyTrace(scope.tenantId, trace.trace_id);
    const bad = result.steps.filter((s) => !s.ok);
    for (const s of bad) {
      report({
        kind: 'step-modified',
        record_type: 'trace',
        record_id: trace.trace_id,
        leaf_index: leafIndex,
        step_index: s.step_index,
        detail: `step ${s.step_index} of trace ${trace.trace_id} no longer hashes to its recorded content hash`,
      });
    }
    return bad.length === 0;
  }

  /** The checkpoint published outside the database must be one this log still extends. */
  private async checkPublished(scope: Scope, size: number, report: (m: AuditMismatch) => void): Promise<void> {
    const note = await this.publisher.latest(ledgerLogId(scope));
    if (!note) return;
    const published = parseCheckpoint(splitNote(note).body);
    const detail = (why: string) => report({ kind: 'ledger-altered', record_type: null, record_id: null, leaf_index: null, detail: why });
    // Writers may have grown the log, and the scheduler published a checkpoint of it, since
    // this audit read the head: only a log that is still shorter now has lost its tail.
    if (published.size > size) size = (await this.store.head(scope)).tree_size;
    if (published.size > size) {
      detail(`the log has ${size} leaves but a checkpoint of ${published.size} was published outside the database: its tail was truncated`);
      return;
    }
    try {
      const [root] = await this.store.rangeHashes(scope, [{ start: 0, end: published.size }]);
      if (!root.equals(published.rootHash)) detail(`the log's first ${published.size} leaves no longer hash to the published checkpoint's root`);
    } catch (err) {
      detail(`the published checkpoint of size ${published.size} cannot be checked: ${(err as Error).message}`);
    }
  }

  private view(cp: StoredCheckpoint): CheckpointView {
    return { origin: cp.origin, tree_size: cp.tree_size, root_hash: b64(cp.root_hash), key_id: cp.key_id, signed_at: cp.signed_at, note: cp.note };
  }
}

function leafData(r: LedgeredRecord): Uint8Array {
  switch (r.leaf_type) {
    case 'aos.trace.v1':
      return traceLeafData(r.record, r.step_hashes);
    case 'aos.audit.v1':
      return auditLogLeafData(r.record);
    case 'aos.syslog.v1':
      return systemLogLeafData(r.record);
  }
}
