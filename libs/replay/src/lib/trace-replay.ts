import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import {
  computeStepHash,
  computeTraceHash,
  ConflictError,
  IntegrityError,
  type JsonValue,
  type NewStep,
  type TerminalTraceStatus,
  type TraceStep,
  type TraceSummary,
  ValidationError,
  verifyTraceIntegrity,
} from '@aos/logs-domain';
import { MAX_STEPS_PER_BATCH, type TraceStore } from '@aos/traces-store';
import {
  appendBadSteps,
  type BadRanges,
  buildExecutionState,
  checkHashes,
  CONTENT_STEP_TYPES,
  findBadSteps,
  listBadSteps,
  prefixIntegrity,
  RECENT_STEPS,
  recentOfSteps,
  totalsOfSteps,
} from './execution-state';
import {
  type ReexecutedStep,
  RecordedOutputExecutor,
  type ReplayAuditEntry,
  type ReplayAuditPort,
  type ReplayExecutor,
} from './ports';
import { resolveReplayOptions, resolveStreamOptions, type ResolvedReplayOptions } from './replay-options';
import type {
  ExecutionState,
  ReplayIntegrity,
  ReplayOptions,
  ReplayResult,
  ReplayStep,
  ReplayStreamEvent,
  RerunOutcome,
  RerunStep,
  StreamOptions,
} from './replay.types';
import { MAX_STREAM_WAIT_MS, playbackOffsets } from './schedule';

/** The TraceStore methods a replay uses (a fake implements them in unit tests). */
export type ReplayTraceStore = Pick<
  TraceStore,
  'getTraceWithSteps' | 'getStepState' | 'listStepHashInputs' | 'createTrace' | 'addSteps' | 'markViolation' | 'completeTrace'
>;

export interface TraceReplayLimits {
  /** Latest llm_call / tool_call / policy_check steps a state reads content of (default RECENT_STEPS). */
  recentSteps?: number;
  /** Traces whose prefix verification is remembered (default 1000). */
  cacheEntries?: number;
  /** Longest single wait of a paced stream (default MAX_STREAM_WAIT_MS). */
  maxStreamWaitMs?: number;
}

/** A verified, ready replay stream: pull `events()` to play it. */
export interface ReplayStreamSession {
  trace: TraceSummary;
  integrity: ReplayIntegrity;
  /** Paced events: start, one step per step, end. Stops quietly when `signal` aborts. */
  events(signal?: AbortSignal): AsyncGenerator<ReplayStreamEvent>;
}

interface Prepared {
  trace: TraceSummary;
  steps: TraceStep[];
  views: ReplayStep[];
  integrity: ReplayIntegrity;
  finalState: ExecutionState | null;
  duration: number;
}

/** A remembered verification of steps 0..through, valid while their row versions are unchanged. */
interface PrefixCheck {
  through: number;
  fingerprint: string;
  bad: BadRanges;
}

const INT32_MAX = 2_147_483_647;

/**
 * Time travel through a recorded run (spec section 9, DESIGN.md 8).
 *
 * - `replay` verifies the whole trace first, then plays it back as an ordered
 *   schedule (AUDIT: summaries; DEBUG: with content; RERUN: re-executed through
 *   the ReplayExecutor, refused with 409 when the trace fails its check).
 *   AUDIT, DEBUG and RERUN without emit_traces write nothing (spec 9.3);
 *   every replay is audited as `trace_replayed` through the ReplayAuditPort.
 * - `getStateAtStep` rebuilds the state after step N from SQL aggregates and a
 *   bounded read of recent content, and reports the integrity of steps 0..N.
 * - `openStream` is `replay` paced in real time (divided by speed).
 */
export class TraceReplay {
  private readonly logger = new Logger(TraceReplay.name);
  private readonly prefixChecks = new Map<string, PrefixCheck>();
  private readonly recentSteps: number;
  private readonly cacheEntries: number;
  private readonly maxStreamWaitMs: number;

  constructor(
    private readonly store: ReplayTraceStore,
    private readonly audit: ReplayAuditPort,
    private readonly executor: ReplayExecutor = new RecordedOutputExecutor(),
    limits: TraceReplayLimits = {},
  ) {
    this.recentSteps = limits.recentSteps ?? RECENT_STEPS;
    this.cacheEntries = limits.cacheEntries ?? 1000;
    this.maxStreamWaitMs = limits.maxStreamWaitMs ?? MAX_STREAM_WAIT_MS;
  }

  async replay(tenantId: string, traceId: string, options: ReplayOptions): Promise<ReplayResult> {
    const o = resolveReplayOptions(options);
    const p = await this.prepare(tenantId, traceId, o);
    const { integrity } = p;
    const integrityFields = { integrityOk: integrity.verified, firstBadStep: integrity.first_bad_step ?? undefined };

    let rerun: RerunOutcome | null = null;
    if (o.mode === 'RERUN') {
      if (!integrity.verified) {
        const error = integrityRefusal(p.trace, integrity);
        await this.record(tenantId, traceId, o, 'result', { ...integrityFields, success: false, failureReason: error.message });
        throw error;
      }
      let perStep: Map<number, RerunStep>;
      try {
        ({ outcome: rerun, perStep } = await this.rerun(tenantId, p.trace, p.steps, o.emit_traces));
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        await this.record(tenantId, traceId, o, 'result', { ...integrityFields, success: false, failureReason: reason });
        throw err;
      }
      for (const view of p.views) view.rerun = perStep.get(view.step_index);
    }

    await this.record(tenantId, traceId, o, 'result', { ...integrityFields, newTraceId: rerun?.new_trace_id ?? undefined, success: true });
    return {
      trace: p.trace,
      mode: o.mode,
      emit_traces: o.emit_traces,
      speed: o.speed,
      step_count: p.steps.length,
      duration_ms: p.duration,
      steps: p.views,
      final_state: p.finalState,
      integrity,
      rerun,
      new_trace_id: rerun?.new_trace_id ?? null,
    };
  }

  /**
   * The state after step `stepIndex`: totals and counts by SQL over steps 0..N,
   * the step itself, the latest conversation, tool calls and policy checks, the
   * violation if it happened by N, and the integrity of steps 0..N.
   *
   * Integrity is recomputed from content (sha256 of JCS per step). That costs
   * about 20 µs a step, so a verified prefix is remembered with the row-version
   * fingerprint of its rows: while no row of the prefix has been rewritten,
   * deleted or added (PostgreSQL `xmin`, checked by SQL on every call), a later
   * call answers from it, and a longer prefix only checks the new steps.
   */
  async getStateAtStep(tenantId: string, traceId: string, stepIndex: number): Promise<ExecutionState> {
    if (!Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex > INT32_MAX) {
      throw ValidationError.field('step_index', 'must be an integer from 0');
    }
    const key = `${tenantId}/${traceId}`;
    const known = this.prefixChecks.get(key);
    // One fingerprint in the usual cases: of the remembered prefix, or of 0..N.
    const fingerprints = !known ? [stepIndex] : stepIndex <= known.through ? [known.through] : [known.through, stepIndex];
    const snap = await this.store.getStepState(tenantId, traceId, stepIndex, {
      recentTypes: CONTENT_STEP_TYPES,
      recentPerType: this.recentSteps,
      fingerprints,
    });
    const fingerprint = (n: number) => snap.row_versions.find((v) => v.through === n)?.fingerprint ?? null;
    const stillValid = known !== undefined && fingerprint(known.through) === known.fingerprint;
    let bad: BadRanges;
    let fromCache = false;
    if (known && stillValid && stepIndex <= known.through) {
      bad = known.bad;
      fromCache = true;
      this.remember(key, known);
    } else {
      // Check only what is not vouched for: the new steps after a still-valid
      // prefix, else the whole prefix (a changed row: recheck all of it).
      const from = known && stillValid ? known.through + 1 : 0;
      const to = known && !stillValid ? Math.max(stepIndex, known.through) : stepIndex;
      const rows = await this.store.listStepHashInputs(tenantId, traceId, from, to);
      const fresh = findBadSteps(checkHashes(rows), from, to);
      bad = known && stillValid ? appendBadSteps(known.bad, fresh) : fresh;
      const fp = fingerprint(to);
      if (fp !== null) this.remember(key, { through: to, fingerprint: fp, bad });
    }
    return buildExecutionState({
      trace: snap.trace,
      step: snap.step,
      totals: snap.totals,
      recent: snap.recent,
      integrity: prefixIntegrity(bad, stepIndex, fromCache),
      step_hash_ok: computeStepHash(snap.step) === snap.step.content_hash,
      recent_limit: this.recentSteps,
    });
  }

  /**
   * Verifies and prepares a paced AUDIT or DEBUG replay (errors are thrown here,
   * before anything is streamed), audits it, and answers the session to play.
   */
  async openStream(tenantId: string, traceId: string, options: StreamOptions): Promise<ReplayStreamSession> {
    const o = resolveStreamOptions(options);
    const p = await this.prepare(tenantId, traceId, o);
    await this.record(tenantId, traceId, o, 'stream', {
      integrityOk: p.integrity.verified,
      firstBadStep: p.integrity.first_bad_step ?? undefined,
      success: true,
    });
    return {
      trace: p.trace,
      integrity: p.integrity,
      events: (signal?: AbortSignal) => this.pace(p, o, o.resume_after, signal),
    };
  }

  private async *pace(p: Prepared, o: ResolvedReplayOptions, resumeAfter: number | undefined, signal?: AbortSignal): AsyncGenerator<ReplayStreamEvent> {
    yield {
      event: 'start',
      data: { trace: p.trace, mode: o.mode, speed: o.speed, step_count: p.steps.length, duration_ms: p.duration, integrity: p.integrity },
    };
    // Deadlines from one start, so waits do not drift; each gap is capped.
    const start = performance.now();
    let due = 0;
    let previous: number | null = null;
    let sent = 0;
    for (const view of p.views) {
      if (resumeAfter !== undefined && view.step_index <= resumeAfter) continue;
      if (previous !== null) due += Math.min(this.maxStreamWaitMs, Math.max(0, view.offset_ms - previous));
      previous = view.offset_ms;
      const wait = start + due - performance.now();
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal });
        } catch {
          return; // aborted: the client went away
        }
      }
      if (signal?.aborted) return;
      yield { event: 'step', id: String(view.step_index), data: view };
      sent++;
    }
    if (signal?.aborted) return;
    yield { event: 'end', data: { steps_sent: sent, duration_ms: p.duration, final_state: p.finalState, integrity: p.integrity } };
  }

  /** Loads the trace with every step, verifies it, and builds the schedule and the final state. */
  private async prepare(tenantId: string, traceId: string, o: ResolvedReplayOptions): Promise<Prepared> {
    const { trace, steps } = await this.store.getTraceWithSteps(tenantId, traceId);
    const verification = verifyTraceIntegrity(trace, steps);
    const okByIndex = new Map(verification.steps.map((v) => [v.step_index, v.ok]));
    const last = steps[steps.length - 1];
    const expected = Math.max(trace.step_count, last ? last.step_index + 1 : 0);
    const bad = findBadSteps(
      steps.map((s) => ({ step_index: s.step_index, ok: okByIndex.get(s.step_index) === true })),
      0,
      expected - 1,
    );
    const { first, listed } = listBadSteps(bad);
    const integrity: ReplayIntegrity = {
      verified: verification.verified && first === null,
      content_hash: trace.content_hash,
      computed_hash: verification.computed_hash,
      trace_hash_ok: trace.content_hash === null || trace.content_hash === verification.computed_hash,
      first_bad_step: first,
      bad_steps: listed,
    };
    const offsets = playbackOffsets(
      steps.map((s) => s.timestamp),
      o.speed,
    );
    const views = steps.map((s, k) => toReplayStep(s, offsets[k], okByIndex.get(s.step_index) === true, trace, o.mode === 'DEBUG'));
    const finalState = last
      ? buildExecutionState({
          trace,
          step: last,
          totals: totalsOfSteps(steps, last.step_index),
          recent: recentOfSteps(steps, last.step_index, this.recentSteps),
          integrity: prefixIntegrity(bad, last.step_index, false),
          step_hash_ok: okByIndex.get(last.step_index) === true,
          recent_limit: this.recentSteps,
        })
      : null;
    return { trace, steps, views, integrity, finalState, duration: offsets[offsets.length - 1] ?? 0 };
  }

  /**
   * Re-executes every step through the executor. With `emit`, the result is
   * written as a new trace (same identity fields and step timestamps, each step's
   * metadata.replay_of naming the original step), in batches, and sealed with the
   * original's status; on failure the new trace is sealed as `aborted`.
   */
  private async rerun(
    tenantId: string,
    trace: TraceSummary,
    steps: TraceStep[],
    emit: boolean,
  ): Promise<{ outcome: RerunOutcome; perStep: Map<number, RerunStep> }> {
    if (trace.status === 'active') {
      throw new ConflictError(`trace ${trace.trace_id} is still recording: only a sealed trace can be re-run`);
    }
    let newTraceId: string | null = null;
    if (emit) {
      const created = await this.store.createTrace(tenantId, {
        run_id: trace.run_id,
        agent_id: trace.agent_id,
        agent_name: trace.agent_name,
        started_at: trace.started_at,
        is_synthetic: trace.is_synthetic,
        synthetic_scenario_id: trace.synthetic_scenario_id,
      });
      newTraceId = created.trace.trace_id;
    }
    const history: ReexecutedStep[] = [];
    const perStep = new Map<number, RerunStep>();
    let batch: NewStep[] = [];
    try {
      for (const step of steps) {
        const run = await this.executor.execute(step, { tenantId, original_trace: trace, new_trace_id: newTraceId, history });
        const next: NewStep = {
          step_index: step.step_index,
          step_type: step.step_type,
          level: run.level ?? step.level,
          source: step.source,
          timestamp: step.timestamp,
          tokens: run.tokens ?? step.tokens,
          cost_cents: run.cost_cents ?? step.cost_cents,
          duration_ms: run.duration_ms ?? step.duration_ms,
          input_data: run.input_data !== undefined ? run.input_data : step.input_data,
          output_data: run.output_data ?? null,
          metadata: {
            ...metadataObject(step.metadata),
            ...(run.metadata ?? {}),
            replay_of: { trace_id: trace.trace_id, step_index: step.step_index },
          },
        };
        const hash = computeStepHash(next);
        perStep.set(step.step_index, { content_hash: hash, matches_original: hash === step.content_hash });
        history.push({
          step_index: step.step_index,
          step_type: step.step_type,
          input_data: next.input_data ?? null,
          output_data: next.output_data ?? null,
          content_hash: hash,
        });
        if (newTraceId) {
          batch.push(next);
          if (batch.length >= MAX_STEPS_PER_BATCH) {
            await this.store.addSteps(tenantId, newTraceId, batch);
            batch = [];
          }
        }
      }
      let newTrace: TraceSummary | null = null;
      if (newTraceId) {
        if (batch.length > 0) await this.store.addSteps(tenantId, newTraceId, batch);
        const v = trace.violation_step_index;
        if (v !== null && perStep.get(v)?.matches_original) {
          await this.store.markViolation(tenantId, newTraceId, {
            step_index: v,
            policy_id: trace.violation_policy_id as string,
            reason: trace.violation_reason as string,
            timestamp: trace.violation_timestamp ?? undefined,
          });
        }
        newTrace = await this.store.completeTrace(tenantId, newTraceId, { status: trace.status as TerminalTraceStatus });
      }
      const contentHash = computeTraceHash(history);
      const divergent = history.find((h) => !perStep.get(h.step_index)?.matches_original);
      const matching = history.length - history.filter((h) => !perStep.get(h.step_index)?.matches_original).length;
      return {
        perStep,
        outcome: {
          emitted: newTraceId !== null,
          new_trace_id: newTraceId,
          new_trace: newTrace,
          content_hash: contentHash,
          matches_original: divergent === undefined && contentHash === trace.content_hash,
          steps_matching: matching,
          first_divergent_step: divergent?.step_index ?? null,
        },
      };
    } catch (err) {
      if (newTraceId) {
        const id = newTraceId;
        await this.store.completeTrace(tenantId, id, { status: 'aborted' }).catch((e: unknown) => {
          this.logger.error(`could not seal the aborted RERUN trace ${id}: ${String(e)}`);
        });
      }
      throw err;
    }
  }

  private async record(
    tenantId: string,
    traceId: string,
    o: ResolvedReplayOptions,
    delivery: ReplayAuditEntry['delivery'],
    fields: Pick<ReplayAuditEntry, 'integrityOk' | 'firstBadStep' | 'newTraceId' | 'success' | 'failureReason'>,
  ): Promise<void> {
    const entry: ReplayAuditEntry = {
      tenantId,
      actorId: o.actor.id,
      actorType: o.actor.type,
      traceId,
      mode: o.mode,
      emitTraces: o.emit_traces,
      speed: o.speed,
      delivery,
      ipAddress: o.actor.ip_address ?? null,
      userAgent: o.actor.user_agent ?? null,
      ...fields,
    };
    if (fields.success) {
      await this.audit.record(entry);
      return;
    }
    // Recording a failure must not hide the failure itself.
    await this.audit.record(entry).catch((e: unknown) => this.logger.error(`could not audit a failed replay of ${traceId}: ${String(e)}`));
  }

  private remember(key: string, check: PrefixCheck): void {
    this.prefixChecks.delete(key);
    this.prefixChecks.set(key, check);
    while (this.prefixChecks.size > this.cacheEntries) {
      const oldest = this.prefixChecks.keys().next().value as string;
      this.prefixChecks.delete(oldest);
    }
  }
}

function toReplayStep(s: TraceStep, offset: number, hashOk: boolean, trace: TraceSummary, withContent: boolean): ReplayStep {
  const view: ReplayStep = {
    step_index: s.step_index,
    step_type: s.step_type,
    level: s.level,
    timestamp: s.timestamp,
    offset_ms: offset,
    tokens: s.tokens,
    cost_cents: s.cost_cents,
    duration_ms: s.duration_ms,
    content_hash: s.content_hash,
    hash_ok: hashOk,
    is_inflection_point: trace.violation_step_index === s.step_index,
  };
  if (withContent) {
    view.step_id = s.step_id;
    view.source = s.source;
    view.input_data = s.input_data;
    view.output_data = s.output_data;
    view.metadata = s.metadata;
  }
  return view;
}

function metadataObject(metadata: JsonValue | null): Record<string, JsonValue> {
  if (metadata === null) return {};
  if (typeof metadata === 'object' && !Array.isArray(metadata)) return metadata;
  return { original_metadata: metadata };
}

function integrityRefusal(trace: TraceSummary, integrity: ReplayIntegrity): IntegrityError {
  const where =
    integrity.first_bad_step !== null
      ? `step ${integrity.first_bad_step} no longer matches its recorded hash`
      : 'the sealed trace hash does not match its steps';
  return new IntegrityError(`trace ${trace.trace_id} fails its integrity check (${where}): RERUN refused`, {
    first_bad_step: integrity.first_bad_step,
    bad_steps: integrity.bad_steps,
    trace_hash_ok: integrity.trace_hash_ok,
  });
}
