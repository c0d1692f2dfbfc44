import { v7 as uuidv7 } from 'uuid';
import {
  type AddStepsResult,
  canonicalJson,
  type CompleteTrace,
  type JsonValue,
  computeTraceHash,
  ConflictError,
  hashLeaf,
  hashStepContent,
  type NewStep,
  type NewTrace,
  type NewViolation,
  NotFoundError,
  type Page,
  type PageRequest,
  type RecordedStep,
  STEP_TYPES,
  type StepType,
  type StoredStep,
  type StoredStepText,
  toCanonicalTimestamp,
  type TraceFilters,
  type TraceListQuery,
  type TraceStep,
  type TraceSummary,
  type TraceVerification,
  ValidationError,
  TraceVerifier,
  TRACE_LEAF_TYPE,
  traceLeafData,
} from '@aos/logs-domain';
import type { Database, Sql } from './database/database';
import { decodeCursor, encodeCursor, Params } from './pagination';
import { iso, STEP_COLUMNS, toStep, toTrace, TRACE_COLUMNS } from './rows';
import { LedgerStore } from './ledger.store';
import { TraceList, traceFilterClauses, type TraceListOptions } from './trace-list';

/** Overrides of the list's search limits (tests cross them with a few rows). */
export type TraceStoreOptions = TraceListOptions;

/** Steps per statement when verifying: small enough to sort in memory if the planner sorts, large enough to be few. */
const VERIFY_RANGE = 1000;

/**
 * SQL twin of logs-domain's step hash (DESIGN.md 4) over a step row as stored:
 * hex(sha256) of `{"input_data":…,"output_data":…,"step_index":…,"step_type":…,"timestamp":"…"}`
 * with the stored JCS texts spliced in, the type as a JSON string and the time
 * as RFC 3339 UTC milliseconds. It only ever confirms: a step it does not match
 * is judged by logs-domain (see verifyTrace). The integration suite holds it to
 * computeStepHash on both databases.
 */
export const STEP_HASH_AS_STORED = `encode(sha256(convert_to(
  '{"input_data":' || coalesce(input_data::text, 'null') || ',"output_data":' || coalesce(output_data::text, 'null')
  || ',"step_index":' || step_index::text || ',"step_type":' || to_json(step_type)::text
  || ',"timestamp":"' || to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"}', 'UTF8')), 'hex')`;

/** A step as the trace detail lists it: everything but its content. */
export interface StepSummary {
  step_id: string;
  step_index: number;
  step_type: string;
  level: string;
  source: string | null;
  timestamp: string;
  tokens: number;
  cost_cents: number;
  duration_ms: number;
  content_hash: string;
}

export interface CreateTraceResult {
  trace: TraceSummary;
  /** False when an identical trace with this id already existed (idempotent re-send). */
  created: boolean;
}

/**
 * The raw material of an execution state at one step (TraceStore.getStepState).
 * A row-version fingerprint of steps 0..k hashes each row's PostgreSQL version
 * (`xmin`): it changes whenever one of those rows is rewritten, deleted or
 * added, even behind the application's back, and is computed without reading content.
 */
export interface StepStateSnapshot {
  trace: TraceSummary;
  step: TraceStep;
  totals: {
    steps: number;
    tokens: number;
    cost_cents: number;
    duration_ms: number;
    /** Latest `timestamp + duration_ms` of the steps so far, epoch milliseconds. */
    last_end_ms: number | null;
    by_type: Record<StepType, number>;
  };
  /** The latest steps of each asked type at or before the step, in step order. */
  recent: TraceStep[];
  /** One fingerprint per asked prefix end, in the order asked (null when the prefix has no rows). */
  row_versions: Array<{ through: number; fingerprint: string | null }>;
}

/** Most steps one request may record. */
export const MAX_STEPS_PER_BATCH = 1000;

/**
 * Immutable trace storage (spec 5.2): write-once steps appended in batches with
 * set-based SQL, hashes per DESIGN.md 4, sealing on completion, and the list,
 * detail and verification reads. Every call is scoped to one tenant.
 */
export class TraceStore {
  private readonly traceList: TraceList;

  constructor(
    private readonly db: Database,
    private readonly ledger = new LedgerStore(db),
    options: TraceStoreOptions = {},
  ) {
    this.traceList = new TraceList(db, options);
  }

  async createTrace(tenantId: string, input: NewTrace): Promise<CreateTraceResult> {
    const traceId = input.trace_id ?? uuidv7();
    const startedAt = input.started_at ? toCanonicalTimestamp(input.started_at) : new Date().toISOString();
    return this.db.transaction({ tenantId }, async (sql) => {
      // No conflict target: both unique constraints (trace_id; tenant_id, trace_id) arbitrate. Naming
      // trace_id alone let two concurrent sends of one trace fail on the other with a unique violation.
      const inserted = await sql.query(
        `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, agent_name, started_at, is_synthetic,
           synthetic_scenario_id, incident_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT DO NOTHING
         RETURNING ${TRACE_COLUMNS}`,
        [
          traceId,
          tenantId,
          input.run_id,
          input.agent_id,
          input.agent_name ?? null,
          startedAt,
          input.is_synthetic ?? false,
          input.synthetic_scenario_id ?? null,
          input.incident_id ?? null,
        ],
      );
      if (inserted.length === 1) {
        if (input.policy_snapshot !== undefined && input.policy_snapshot !== null) {
          await sql.query(
            `INSERT INTO policy_snapshots (snapshot_id, tenant_id, trace_id, snapshot) VALUES ($1, $2, $3, $4::jsonb)`,
            [uuidv7(), tenantId, traceId, JSON.stringify(input.policy_snapshot)],
          );
        }
        return { trace: toTrace(inserted[0]), created: true };
      }
      // The id is taken: an identical re-send answers the stored trace; one that
      // differs in a field it sends is 409 naming that field (nothing is dropped).
      const existing = await this.findTrace(sql, traceId);
      if (!existing || existing.run_id !== input.run_id || existing.agent_id !== input.agent_id) {
        throw new ConflictError(`trace_id ${traceId} is already taken by another trace`, { field: 'trace_id' });
      }
      const differs = await this.resentTraceDifference(sql, existing, input, startedAt);
      if (differs) {
        throw new ConflictError(`trace ${traceId} is already recorded with another ${differs}`, { field: differs });
      }
      return { trace: existing, created: false };
    });
  }

  /** The first field a re-sent trace sends with a value other than the stored one, or null. */
  private async resentTraceDifference(sql: Sql, existing: TraceSummary, input: NewTrace, startedAt: string): Promise<string | null> {
    const sent = <K extends keyof NewTrace>(k: K) => input[k] !== undefined;
    if (sent('agent_name') && existing.agent_name !== input.agent_name) return 'agent_name';
    if (sent('started_at') && existing.started_at !== startedAt) return 'started_at';
    if (sent('is_synthetic') && existing.is_synthetic !== (input.is_synthetic ?? false)) return 'is_synthetic';
    if (sent('synthetic_scenario_id') && existing.synthetic_scenario_id !== (input.synthetic_scenario_id ?? null)) return 'synthetic_scenario_id';
    if (sent('incident_id') && existing.incident_id !== (input.incident_id ?? null)) return 'incident_id';
    if (sent('policy_snapshot')) {
      const [stored] = await sql.query<{ snapshot: JsonValue }>(`SELECT snapshot FROM policy_snapshots WHERE trace_id = $1 ORDER BY created_at LIMIT 1`, [
        existing.trace_id,
      ]);
      const was = stored ? canonicalJson(stored.snapshot) : 'null';
      if (was !== canonicalJson(input.policy_snapshot ?? null)) return 'policy_snapshot';
    }
    return null;
  }

  /**
   * Appends steps. Indexes start at 0 without gaps; an identical re-send of a
   * recorded step is answered with the stored step (also on a sealed trace);
   * other content at a taken index, a gap, or a new step on a sealed trace is 409.
   */
  async addSteps(tenantId: string, traceId: string, steps: NewStep[]): Promise<AddStepsResult> {
    if (steps.length === 0) throw ValidationError.field('steps', 'must contain at least one step');
    if (steps.length > MAX_STEPS_PER_BATCH) {
      throw ValidationError.field('steps', `must contain at most ${MAX_STEPS_PER_BATCH} steps`);
    }
    const ordered = [...steps].sort((a, b) => a.step_index - b.step_index);
    for (let i = 1; i < ordered.length; i++) {
      if (ordered[i].step_index === ordered[i - 1].step_index) {
        throw ValidationError.field('steps', `step_index ${ordered[i].step_index} appears twice`);
      }
    }
    const prepared = ordered.map((s) => prepareStep(s));

    return this.db.transaction({ tenantId }, async (sql) => {
      const [trace] = await sql.query<{ status: string; step_count: number; started_at: Date }>(
        `SELECT status, step_count, started_at FROM aos_traces WHERE trace_id = $1 FOR UPDATE`,
        [traceId],
      );
      if (!trace) throw new NotFoundError(`trace ${traceId} not found`);

      const resent = prepared.filter((s) => s.step_index < trace.step_count);
      const fresh = prepared.filter((s) => s.step_index >= trace.step_count);
      const recorded: RecordedStep[] = [];

      if (resent.length > 0) recorded.push(...(await this.matchResentSteps(sql, traceId, resent)));
      if (fresh.length > 0) {
        if (trace.status !== 'active') {
          throw new ConflictError(`trace ${traceId} is sealed (${trace.status}); no step can be added`);
        }
        fresh.forEach((s, i) => {
          const expected = trace.step_count + i;
          if (s.step_index !== expected) {
            throw new ConflictError(`step_index ${s.step_index} leaves a gap: the next step of trace ${traceId} is ${expected}`, {
              expected_step_index: expected,
            });
          }
        });
        recorded.push(...(await this.insertSteps(sql, tenantId, traceId, fresh)));
        // Full-text indexing happens off this path (StepSearchIndexer).
        await sql.query(
          `INSERT INTO aos_step_search_queue (trace_id, tenant_id, first_step_index, last_step_index) VALUES ($1, $2, $3, $4)`,
          [traceId, tenantId, fresh[0].step_index, fresh[fresh.length - 1].step_index],
        );
        const tokens = fresh.reduce((n, s) => n + s.tokens, 0);
        const cost = fresh.reduce((n, s) => n + s.cost_cents, 0);
        const lastEnd = Math.max(...fresh.map((s) => Date.parse(s.timestamp) + s.duration_ms));
        await sql.query(
          `UPDATE aos_traces SET step_count = step_count + $2, total_tokens = total_tokens + $3,
             total_cost_cents = total_cost_cents + $4,
             total_duration_ms = GREATEST(total_duration_ms, ($5::bigint - (extract(epoch FROM started_at) * 1000)::bigint))
           WHERE trace_id = $1`,
          [traceId, fresh.length, tokens, cost, lastEnd],
        );
      }
      recorded.sort((a, b) => a.step_index - b.step_index);
      return { created: fresh.length > 0, steps: recorded };
    });
  }

  private async insertSteps(sql: Sql, tenantId: string, traceId: string, steps: PreparedStep[]): Promise<RecordedStep[]> {
    // One statement for the whole batch: the rows travel as one JSON document,
    // written here so the data goes in as the canonical text already hashed. As
    // `json`, the document is not built into a tree, and each json field keeps
    // its text byte for byte (the integration suite holds it to the JCS text).
    const inserted = await sql.query<RecordedStep>(
      `INSERT INTO aos_trace_steps (step_id, trace_id, tenant_id, step_index, step_type, level, source, "timestamp",
         tokens, cost_cents, duration_ms, input_data, output_data, metadata, content_hash)
       SELECT r.step_id, $1, $2, r.step_index, r.step_type, r.level, r.source, r."timestamp", r.tokens, r.cost_cents,
         r.duration_ms, r.input_data, r.output_data, r.metadata, r.content_hash
       FROM json_to_recordset($3::json) AS r(step_id uuid, step_index int, step_type text, level text, source text,
         "timestamp" timestamptz, tokens int, cost_cents int, duration_ms int, input_data json, output_data json,
         metadata jsonb, content_hash text)
       RETURNING step_id, step_index, content_hash`,
      [traceId, tenantId, stepRowsJson(steps)],
    );
    return inserted.map((r) => ({ step_id: r.step_id, step_index: r.step_index, content_hash: r.content_hash }));
  }

  private async matchResentSteps(sql: Sql, traceId: string, resent: PreparedStep[]): Promise<RecordedStep[]> {
    const stored = await sql.query<Record<string, any>>(
      `SELECT step_id, step_index, level, source, tokens, cost_cents, duration_ms, metadata, content_hash
       FROM aos_trace_steps WHERE trace_id = $1 AND step_index = ANY($2::int[])`,
      [traceId, resent.map((s) => s.step_index)],
    );
    const byIndex = new Map(stored.map((r) => [r.step_index as number, r]));
    return resent.map((s) => {
      const row = byIndex.get(s.step_index);
      const same =
        row &&
        row.content_hash === s.content_hash &&
        row.level === s.level &&
        row.source === s.source &&
        row.tokens === s.tokens &&
        row.cost_cents === s.cost_cents &&
        row.duration_ms === s.duration_ms &&
        canonicalJson(row.metadata ?? null) === canonicalJson(s.metadata ?? null);
      if (!same) {
        throw new ConflictError(`step_index ${s.step_index} of trace ${traceId} is already recorded with other content`, {
          step_index: s.step_index,
        });
      }
      return { step_id: row.step_id, step_index: s.step_index, content_hash: row.content_hash };
    });
  }

  /** Records the violation once; the step must be recorded. An identical re-send is answered as stored. */
  async markViolation(tenantId: string, traceId: string, v: NewViolation): Promise<TraceSummary> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const trace = await this.lockTrace(sql, traceId);
      const [step] = await sql.query<{ timestamp: Date }>(
        `SELECT "timestamp" FROM aos_trace_steps WHERE trace_id = $1 AND step_index = $2`,
        [traceId, v.step_index],
      );
      if (!step) {
        throw new ConflictError(`step_index ${v.step_index} of trace ${traceId} is not recorded yet`, { field: 'step_index' });
      }
      const timestamp = v.timestamp ? toCanonicalTimestamp(v.timestamp) : iso(step.timestamp)!;
      if (trace.violation_step_index !== null) {
        const same =
          trace.violation_step_index === v.step_index &&
          trace.violation_policy_id === v.policy_id &&
          trace.violation_reason === v.reason &&
          (v.timestamp === undefined || trace.violation_timestamp === timestamp);
        if (same) return trace;
        throw new ConflictError(`trace ${traceId} already records a violation at step ${trace.violation_step_index}`);
      }
      if (trace.status !== 'active') throw new ConflictError(`trace ${traceId} is sealed (${trace.status})`);
      const [row] = await sql.query(
        `UPDATE aos_traces SET violation_step_index = $2, violation_policy_id = $3, violation_reason = $4,
           violation_timestamp = $5
         WHERE trace_id = $1 RETURNING ${TRACE_COLUMNS}`,
        [traceId, v.step_index, v.policy_id, v.reason, timestamp],
      );
      return toTrace(row);
    });
  }

  /** Seals the trace: totals recomputed from the steps, `content_hash` over the step hashes. */
  async completeTrace(tenantId: string, traceId: string, input: CompleteTrace): Promise<TraceSummary> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const trace = await this.lockTrace(sql, traceId);
      if (trace.status !== 'active') {
        if (trace.status === input.status) return trace;
        throw new ConflictError(`trace ${traceId} is already sealed as ${trace.status}`);
      }
      const [totals] = await sql.query<{ n: number; tokens: number; cost: number; hashes: string | null }>(
        `SELECT count(*)::int AS n, coalesce(sum(tokens), 0)::bigint AS tokens, coalesce(sum(cost_cents), 0)::bigint AS cost,
           string_agg(content_hash, ',' ORDER BY step_index) AS hashes
         FROM aos_trace_steps WHERE trace_id = $1`,
        [traceId],
      );
      const hashes = totals.hashes ? totals.hashes.split(',') : [];
      const contentHash = computeTraceHash(hashes.map((h, i) => ({ step_index: i, content_hash: h })));
      const [row] = await sql.query(
        `UPDATE aos_traces SET status = $2, step_count = $3, total_tokens = $4, total_cost_cents = $5,
           completed_at = greatest(now(), started_at),
           total_duration_ms = (extract(epoch FROM (greatest(now(), started_at) - started_at)) * 1000)::bigint,
           content_hash = $6
         WHERE trace_id = $1 RETURNING ${TRACE_COLUMNS}`,
        [traceId, input.status, totals.n, totals.tokens, totals.cost, contentHash],
      );
      const sealed = toTrace(row);
      await this.ledger.append(sql, tenantId, [{ leaf_type: TRACE_LEAF_TYPE, record_id: traceId, leaf_hash: hashLeaf(traceLeafData(sealed, hashes)) }]);
      return sealed;
    });
  }

  /** Sets the write-once incident link (an incident is often opened after the run ends). */
  async linkIncident(tenantId: string, traceId: string, incidentId: string): Promise<TraceSummary> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const trace = await this.lockTrace(sql, traceId);
      if (trace.incident_id === incidentId) return trace;
      if (trace.incident_id !== null) throw new ConflictError(`trace ${traceId} is already linked to incident ${trace.incident_id}`);
      const [row] = await sql.query(`UPDATE aos_traces SET incident_id = $2 WHERE trace_id = $1 RETURNING ${TRACE_COLUMNS}`, [
        traceId,
        incidentId,
      ]);
      return toTrace(row);
    });
  }

  async getTrace(tenantId: string, traceId: string): Promise<TraceSummary> {
    const trace = await this.db.transaction({ tenantId }, (sql) => this.findTrace(sql, traceId));
    if (!trace) throw new NotFoundError(`trace ${traceId} not found`);
    return trace;
  }

  /** The trace and every step's summary (no content), for the detail panel. */
  async getTraceWithStepSummaries(tenantId: string, traceId: string): Promise<{ trace: TraceSummary; steps: StepSummary[] }> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const trace = await this.findTrace(sql, traceId);
      if (!trace) throw new NotFoundError(`trace ${traceId} not found`);
      const rows = await sql.query<Record<string, any>>(
        `SELECT step_id, step_index, step_type, level, source, "timestamp", tokens, cost_cents, duration_ms, content_hash
         FROM aos_trace_steps WHERE trace_id = $1 ORDER BY step_index`,
        [traceId],
      );
      return { trace, steps: rows.map((r) => ({ ...r, timestamp: iso(r.timestamp)! }) as StepSummary) };
    });
  }

  /** The trace and all of its steps with content, in order (verification, export, replay). */
  async getTraceWithSteps(tenantId: string, traceId: string): Promise<{ trace: TraceSummary; steps: TraceStep[] }> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const trace = await this.findTrace(sql, traceId);
      if (!trace) throw new NotFoundError(`trace ${traceId} not found`);
      const rows = await sql.query(`SELECT ${STEP_COLUMNS} FROM aos_trace_steps WHERE trace_id = $1 ORDER BY step_index`, [traceId]);
      return { trace, steps: rows.map(toStep) };
    });
  }

  /** One page of a trace's steps with full content, by step_index. */
  async listSteps(
    tenantId: string,
    traceId: string,
    page: Pick<PageRequest, 'limit' | 'offset' | 'cursor' | 'order'>,
  ): Promise<Page<TraceStep>> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const trace = await this.findTrace(sql, traceId);
      if (!trace) throw new NotFoundError(`trace ${traceId} not found`);
      const order = page.order;
      const p = new Params();
      const where = [`trace_id = ${p.add(traceId)}`];
      let position = page.offset;
      if (page.cursor) {
        const c = decodeCursor(page.cursor, 'step_index', order);
        if (typeof c.value !== 'number') throw ValidationError.field('cursor', 'is not a cursor issued by this API');
        where.push(`step_index ${order === 'asc' ? '>' : '<'} ${p.add(c.value)}::bigint`);
        position = c.position;
      }
      const offsetSql = page.cursor ? '' : `OFFSET ${p.add(page.offset)}`;
      const rows = await sql.query(
        `SELECT ${STEP_COLUMNS} FROM aos_trace_steps WHERE ${where.join(' AND ')}
         ORDER BY step_index ${order} LIMIT ${p.add(page.limit + 1)} ${offsetSql}`,
        p.values,
      );
      const items = rows.slice(0, page.limit).map(toStep);
      const last = items[items.length - 1];
      return {
        items,
        total: trace.step_count,
        total_exact: true,
        position,
        next_cursor:
          rows.length > page.limit && last
            ? encodeCursor({ sort: 'step_index', order, value: last.step_index, id: last.step_id, position: position + items.length })
            : null,
      };
    });
  }

  /** The LLM-runs list: every filter of spec 4.5, keyset or offset paging, full-text search (TraceList). */
  listTraces(tenantId: string, query: TraceListQuery): Promise<Page<TraceSummary>> {
    return this.traceList.list(tenantId, query);
  }

  /**
   * Every trace matching the filters, oldest first, streamed from a cursor in
   * one consistent snapshot (bulk export): memory stays flat however many rows.
   */
  streamTraces(tenantId: string, filters: TraceFilters): AsyncIterable<TraceSummary> {
    const p = new Params();
    const where = traceFilterClauses(p, tenantId, filters);
    const rows = this.db.stream(
      { tenantId },
      `SELECT ${TRACE_COLUMNS.replace(/(\w+)/g, 't.$1')} FROM aos_traces t WHERE ${where.join(' AND ')}
       ORDER BY t.started_at, t.trace_id`,
      p.values,
    );
    return mapAsync(rows, toTrace);
  }

  /**
   * Recomputes every hash from stored content and reports each step (DESIGN.md 4).
   *
   * A step's data is stored as the JCS text that was hashed
   * (StepContentAsHashedText1770000000000), so the database hashes each step's
   * payload as stored, where it lies (STEP_HASH_AS_STORED), and sends 64 hex
   * characters instead of ~2 KB of JSON. A step whose hash as stored does not
   * match (stored in another form, or altered) is read as text and judged by
   * logs-domain per the contract (TraceVerifier.addStoredText).
   *
   * Steps are read in step_index ranges, each an ordered index range scan, the
   * next asked for before this one is checked; one snapshot for all of them.
   */
  async verifyTrace(tenantId: string, traceId: string): Promise<TraceVerification> {
    return this.db.snapshot({ tenantId }, async (sql) => {
      const trace = await this.findTrace(sql, traceId);
      if (!trace) throw new NotFoundError(`trace ${traceId} not found`);
      const verifier = new TraceVerifier();
      const readRange = (from: number) => {
        const rows = sql.query<{ step_index: number; content_hash: string; hash_as_stored: string }>(
          `SELECT step_index, content_hash, ${STEP_HASH_AS_STORED} AS hash_as_stored
           FROM aos_trace_steps WHERE trace_id = $1 AND step_index >= $2 AND step_index < $3 ORDER BY step_index`,
          [traceId, from, Math.min(from + VERIFY_RANGE, trace.step_count)],
        );
        rows.catch(() => undefined); // awaited below unless an earlier range failed first
        return rows;
      };
      let next = trace.step_count > 0 ? readRange(0) : undefined;
      for (let from = 0; next; from += VERIFY_RANGE) {
        const rows = await next;
        next = from + VERIFY_RANGE < trace.step_count ? readRange(from + VERIFY_RANGE) : undefined;
        const unmatched = rows.filter((r) => r.hash_as_stored !== r.content_hash).map((r) => r.step_index);
        const texts = new Map(
          (unmatched.length === 0
            ? []
            : await sql.query<StoredStepText>(
                `SELECT step_index, step_type, input_data::text AS input_json, output_data::text AS output_json, "timestamp", content_hash
                 FROM aos_trace_steps WHERE trace_id = $1 AND step_index = ANY($2::int[])`,
                [traceId, unmatched],
              )
          ).map((t) => [t.step_index, t]),
        );
        for (const row of rows) {
          if (!verifier.addIfHashedAsStored(row, row.hash_as_stored)) verifier.addStoredText(texts.get(row.step_index)!);
        }
      }
      return verifier.result(trace);
    });
  }

  /**
   * What a replay needs to rebuild the execution state at one step, read with
   * set-based SQL (no step content is read but that of step `stepIndex` and the
   * latest `recentPerType` steps of each of `recentTypes`): sums and counts over
   * steps 0..stepIndex, the step itself, and the row-version fingerprint of
   * steps 0..k for each k of `fingerprints`. A step beyond the trace is 404,
   * like another tenant's trace.
   */
  async getStepState(
    tenantId: string,
    traceId: string,
    stepIndex: number,
    options: { recentTypes: readonly StepType[]; recentPerType: number; fingerprints?: readonly number[] },
  ): Promise<StepStateSnapshot> {
    const fingerprints = options.fingerprints ?? [];
    const scanTo = Math.max(stepIndex, ...fingerprints);
    return this.db.transaction({ tenantId }, async (sql) => {
      const trace = await this.findTrace(sql, traceId);
      if (!trace) throw new NotFoundError(`trace ${traceId} not found`);
      const [step] = await sql.query(`SELECT ${STEP_COLUMNS} FROM aos_trace_steps WHERE trace_id = $1 AND step_index = $2`, [
        traceId,
        stepIndex,
      ]);
      if (!step) {
        throw new NotFoundError(`step ${stepIndex} of trace ${traceId} not found (the trace has ${trace.step_count} steps)`, {
          step_count: trace.step_count,
        });
      }
      // The scan reaches the furthest fingerprint; sums stop at the step. Step
      // types are the constant tuple; the bounds are parameters.
      const params: unknown[] = [traceId, scanTo];
      const bound = (n: number) => {
        params.push(n);
        return `$${params.length}::int`;
      };
      const upTo = (n: number) => (n >= scanTo ? '' : ` FILTER (WHERE step_index <= ${bound(n)})`);
      const within = upTo(stepIndex);
      const stepBound = within ? ` AND step_index <= $3::int` : '';
      const byType = STEP_TYPES.map((t) => `count(*) FILTER (WHERE step_type = '${t}'${stepBound})::int AS "n_${t}"`);
      const versions = fingerprints.map((n, k) => {
        const ordered = `string_agg(step_index::text || ':' || xmin::text, ',' ORDER BY step_index)${upTo(n)}`;
        return `encode(sha256(convert_to(${ordered}, 'UTF8')), 'hex') AS "v_${k}"`;
      });
      const [agg] = await sql.query<Record<string, any>>(
        `SELECT count(*)${within}::int AS steps,
           coalesce(sum(tokens)${within}, 0)::bigint AS tokens,
           coalesce(sum(cost_cents)${within}, 0)::bigint AS cost_cents,
           coalesce(sum(duration_ms)${within}, 0)::bigint AS duration_ms,
           max("timestamp" + duration_ms * interval '1 millisecond')${within} AS last_end,
           ${[...byType, ...versions].join(',\n           ')}
         FROM aos_trace_steps WHERE trace_id = $1 AND step_index <= $2`,
        params,
      );
      const recent =
        options.recentTypes.length === 0 || options.recentPerType <= 0
          ? []
          : await sql.query(
              `SELECT r.* FROM unnest($3::text[]) AS k(step_type)
               CROSS JOIN LATERAL (
                 SELECT ${STEP_COLUMNS} FROM aos_trace_steps s
                 WHERE s.trace_id = $1 AND s.step_index <= $2 AND s.step_type = k.step_type
                 ORDER BY s.step_index DESC LIMIT $4) r
               ORDER BY r.step_index`,
              [traceId, stepIndex, options.recentTypes, options.recentPerType],
            );
      return {
        trace,
        step: toStep(step),
        totals: {
          steps: agg.steps,
          tokens: Number(agg.tokens),
          cost_cents: Number(agg.cost_cents),
          duration_ms: Number(agg.duration_ms),
          last_end_ms: agg.last_end === null ? null : new Date(agg.last_end).getTime(),
          by_type: Object.fromEntries(STEP_TYPES.map((t) => [t, agg[`n_${t}`] as number])) as Record<StepType, number>,
        },
        recent: recent.map(toStep),
        row_versions: fingerprints.map((through, k) => ({ through, fingerprint: agg[`v_${k}`] as string | null })),
      };
    });
  }

  /** The hashed fields of steps `fromIndex..toIndex` in order (recomputing the hashes of a range). */
  async listStepHashInputs(tenantId: string, traceId: string, fromIndex: number, toIndex: number): Promise<StoredStep[]> {
    return this.db.transaction({ tenantId }, async (sql) => {
      const trace = await this.findTrace(sql, traceId);
      if (!trace) throw new NotFoundError(`trace ${traceId} not found`);
      const rows = await sql.query<Record<string, any>>(
        `SELECT step_index, step_type, input_data, output_data, "timestamp", content_hash FROM aos_trace_steps
         WHERE trace_id = $1 AND step_index BETWEEN $2 AND $3 ORDER BY step_index`,
        [traceId, fromIndex, toIndex],
      );
      return rows.map((r) => ({
        step_index: r.step_index,
        step_type: r.step_type,
        input_data: r.input_data,
        output_data: r.output_data,
        timestamp: r.timestamp,
        content_hash: r.content_hash,
      }));
    });
  }

  private async findTrace(sql: Sql, traceId: string): Promise<TraceSummary | null> {
    const [row] = await sql.query(`SELECT ${TRACE_COLUMNS} FROM aos_traces WHERE trace_id = $1`, [traceId]);
    return row ? toTrace(row) : null;
  }

  private async lockTrace(sql: Sql, traceId: string): Promise<TraceSummary> {
    const [row] = await sql.query(`SELECT ${TRACE_COLUMNS} FROM aos_traces WHERE trace_id = $1 FOR UPDATE`, [traceId]);
    if (!row) throw new NotFoundError(`trace ${traceId} not found`);
    return toTrace(row);
  }
}

interface PreparedStep {
  step_index: number;
  step_type: string;
  level: string;
  source: string | null;
  timestamp: string;
  tokens: number;
  cost_cents: number;
  duration_ms: number;
  metadata: unknown;
  content_hash: string;
  /** RFC 8785 text of input_data / output_data (`null` when absent): hashed, and stored as sent. */
  input_json: string;
  output_json: string;
}

function prepareStep(s: NewStep): PreparedStep {
  const timestamp = toCanonicalTimestamp(s.timestamp);
  const { content_hash, input_json, output_json } = hashStepContent({
    step_index: s.step_index,
    step_type: s.step_type,
    input_data: s.input_data,
    output_data: s.output_data,
    timestamp,
  });
  return {
    step_index: s.step_index,
    step_type: s.step_type,
    level: s.level ?? 'info',
    source: s.source ?? null,
    timestamp,
    tokens: s.tokens ?? 0,
    cost_cents: s.cost_cents ?? 0,
    duration_ms: s.duration_ms ?? 0,
    metadata: s.metadata ?? null,
    content_hash,
    input_json,
    output_json,
  };
}

/**
 * The JSON array of step rows for jsonb_to_recordset, each with a new step_id.
 * input_data and output_data are spliced in as their JCS text (valid JSON, the
 * same value), so the largest part of each step is not serialised twice.
 */
function stepRowsJson(steps: readonly PreparedStep[]): string {
  const j = JSON.stringify;
  let out = '[';
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    out +=
      (i === 0 ? '{"step_id":' : ',{"step_id":') +
      j(uuidv7()) +
      ',"step_index":' +
      j(s.step_index) +
      ',"step_type":' +
      j(s.step_type) +
      ',"level":' +
      j(s.level) +
      ',"source":' +
      j(s.source) +
      ',"timestamp":' +
      j(s.timestamp) +
      ',"tokens":' +
      j(s.tokens) +
      ',"cost_cents":' +
      j(s.cost_cents) +
      ',"duration_ms":' +
      j(s.duration_ms) +
      ',"input_data":' +
      s.input_json +
      ',"output_data":' +
      s.output_json +
      ',"metadata":' +
      j(s.metadata) +
      ',"content_hash":' +
      j(s.content_hash) +
      '}';
  }
  return out + ']';
}

async function* mapAsync<A, B>(source: AsyncIterable<A>, fn: (a: A) => B): AsyncIterable<B> {
  for await (const a of source) yield fn(a);
}

