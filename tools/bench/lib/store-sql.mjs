// The SQL baselines are the statements TraceStore itself issues, captured from
// the built code the API runs (dist/apps/api, or the build AOS_BENCH_API_ENTRY
// names) with a recording stand-in for the database, so the bare query can never
// drift from what the API runs.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { API_ENTRY, ROOT, requireFromRoot } from './common.mjs';

const DIST = path.dirname(API_ENTRY);
let loaded = null;

function load() {
  if (loaded) return loaded;
  const { paths } = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.base.json'), 'utf8')).compilerOptions;
  requireFromRoot('tsconfig-paths').register({ baseUrl: DIST, paths, addMatchAll: false });
  const { TraceStore } = requireFromRoot(path.join(DIST, 'libs/traces-store/src/lib/trace.store.js'));
  const { hashApiKey } = requireFromRoot(path.join(DIST, 'libs/traces-store/src/lib/tenant.store.js'));
  const domain = requireFromRoot(path.join(DIST, 'libs/logs-domain/src/index.js'));
  loaded = { TraceStore, hashApiKey, domain };
  return loaded;
}

/** An API key as the service stores it (TenantStore's own hash, as built). */
export function apiKeyHash(key) {
  return load().hashApiKey(key);
}

/** The logs-domain library as built (hashing, verification). */
export function domain() {
  return load().domain;
}

const FAKE_TRACE_ROW = {
  trace_id: '00000000-0000-7000-8000-000000000000',
  run_id: '00000000-0000-7000-8000-000000000000',
  tenant_id: '00000000-0000-7000-8000-000000000000',
  agent_id: '00000000-0000-7000-8000-000000000000',
  agent_name: null,
  status: 'completed',
  step_count: 0,
  total_tokens: 0,
  total_cost_cents: 0,
  total_duration_ms: 0,
  started_at: new Date(0),
  completed_at: new Date(0),
  content_hash: null,
  is_synthetic: false,
  synthetic_scenario_id: null,
  incident_id: null,
  violation_step_index: null,
  violation_timestamp: null,
  violation_policy_id: null,
  violation_reason: null,
  created_at: new Date(0),
};

/**
 * Runs `call(store)` against a database that records every statement and
 * answers `answer(sql)` (rows), and returns the recorded statements.
 */
async function capture(call, answer) {
  const { TraceStore } = load();
  const statements = [];
  const sql = {
    async query(text, params = []) {
      statements.push({ text, params: [...params] });
      return answer(text, params);
    },
  };
  const db = { transaction: async (_scope, work) => work(sql), snapshot: async (_scope, work) => work(sql), query: sql.query };
  await call(new TraceStore(db));
  return statements;
}

/**
 * The statements of TraceStore.listTraces for this query, in order: with a
 * search, the statements before the page (the probe that chooses the search
 * clause's form and may count the page's total, a count from the step matches,
 * and since session 7 the window form's estimate, window edges and the pages of
 * windows too small to fill the page), each answered by `runQuery(text, params)`,
 * i.e. the real database, so that the captured page and count are the ones the
 * API would run (without it they answer 0), with its time in `ms`; then the
 * page SELECT that answered (the last) and the statements after it (`counts`):
 * the capped count, or since session 8 a search's count of the passing traces
 * after the page; none when the probe or the page itself counted.
 */
export async function listTracesSql(tenantId, query, runQuery = null) {
  // A page: on the traces, or (session 6) on a walk of the violated traces for a term only reasons hold.
  // (It selects the trace columns, trace_id and run_id first: a search's count after the page
  // (session 9, `SELECT d.n, count(w.hit) ...`) reads the same table in the same order.)
  const isPage = (text) =>
    /FROM (aos_traces t|\(SELECT w\.\* FROM aos_traces w) WHERE/i.test(text) &&
    /ORDER BY/i.test(text) &&
    !/^\s*SELECT count\(/i.test(text) &&
    /SELECT\s+(\w+\.)?trace_id,\s*(\w+\.)?run_id\b/i.test(text);
  let pageSeen = false;
  // What each statement took and answered the first time it ran: run again, it would read warm
  // what the API read cold (a new agent's traces, the next cursor page).
  const times = new Map();
  const answers = new Map();
  const captured = await capture(
    (store) => store.listTraces(tenantId, query),
    async (text, params) => {
      if (/^\s*SET LOCAL /i.test(text)) return [];
      // Every statement is answered by the database: a walk's or a window's page decides whether another runs.
      if (runQuery) {
        const t0 = performance.now();
        const rows = await runQuery(text, params);
        times.set(text + JSON.stringify(params), performance.now() - t0);
        answers.set(text + JSON.stringify(params), rows);
        return rows;
      }
      const after = pageSeen;
      if (isPage(text)) pageSeen = true;
      if (after) return /count\(\*\)/i.test(text) ? [{ n: 0 }] : [];
      return pageSeen ? [] : [{ n: 0, step_rows: 0, matches: 0, passing: null }];
    },
  );
  // Session settings of the transaction (SET LOCAL synchronize_seqscans = off): the baseline
  // session has them set once (list-queries.mjs), so they are not statements to time. Nor are
  // the lookup of the tenant's step-search partition and the planner's estimate of a term's
  // share (session 9), which the API's TraceStore makes once per tenant, and once a minute per
  // term: a case repeats its term, so the API plans it once in the case.
  const statements = captured
    .filter((s) => !/^\s*SET LOCAL /i.test(s.text) && !/FROM pg_inherits/i.test(s.text) && !/^\s*EXPLAIN /i.test(s.text))
    .map((s) => ({ ...s, ms: times.get(s.text + JSON.stringify(s.params)) ?? 0, rows: answers.get(s.text + JSON.stringify(s.params)) }));
  const at = statements.findLastIndex((s) => isPage(s.text));
  const probes = statements.slice(0, Math.max(at, 0));
  // After the page: its count, unless a probe counted (since session 8 a search's walk of the
  // passing traces runs after the page, from its last row, and may need a second statement).
  const counts = statements.slice(at + 1);
  if (at < 0 || counts.some((c) => !/count\(/i.test(c.text)) || (!counts.length && probes.length === 0)) {
    throw new Error(`TraceStore.listTraces no longer issues a page and its count statements: ${statements.map((s) => s.text.slice(0, 80)).join(' | ')}`);
  }
  return { probes, page: statements[at], counts };
}

/**
 * The statements TraceStore.verifyTrace runs for a trace of `stepCount` steps
 * whose hashes all match as stored: its step_index range reads (each step hashed
 * by the database), in order.
 */
export async function verifyTraceSql(tenantId, traceId, stepCount) {
  const statements = await capture(
    (store) => store.verifyTrace(tenantId, traceId),
    (text) => (/FROM aos_traces/i.test(text) ? [{ ...FAKE_TRACE_ROW, step_count: stepCount }] : []),
  );
  const ranges = statements.filter((s) => /FROM aos_trace_steps/i.test(s.text));
  if (ranges.length === 0) throw new Error('TraceStore.verifyTrace no longer reads aos_trace_steps');
  return ranges;
}

/** The step fetch of TraceStore.getTraceWithSteps (what the trace detail reads). */
export async function traceStepsSql(tenantId, traceId) {
  const statements = await capture(
    (store) => store.getTraceWithSteps(tenantId, traceId),
    (text) => (/FROM aos_traces/i.test(text) ? [FAKE_TRACE_ROW] : []),
  );
  const steps = statements.find((s) => /FROM aos_trace_steps/i.test(s.text));
  if (!steps) throw new Error('TraceStore.getTraceWithSteps no longer reads aos_trace_steps');
  return steps;
}

/** Like `capture`, for SystemLogStore (list and stream). */
async function captureSystemLogs(call, answer) {
  const { paths } = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.base.json'), 'utf8')).compilerOptions;
  load();
  const { SystemLogStore } = requireFromRoot(path.join(DIST, 'libs/traces-store/src/lib/system-log.store.js'));
  void paths;
  const statements = [];
  const sql = {
    async query(text, params = []) {
      statements.push({ text, params: [...params] });
      return answer(text);
    },
  };
  const db = {
    transaction: async (_scope, work) => work(sql),
    query: sql.query,
    stream: (_scope, text, params = []) => {
      statements.push({ text, params: [...params] });
      return (async function* () {})();
    },
  };
  await call(new SystemLogStore(db));
  return statements;
}

/**
 * The statements of SystemLogStore.list for a tenant and this query (defaults
 * filled as LogsService does): the page SELECT and the capped count.
 */
export async function systemLogListSql(tenantId, query) {
  const q = { sort: 'timestamp', order: 'desc', limit: 50, offset: 0, ...query };
  const statements = await captureSystemLogs(
    (store) => store.list({ tenantId }, q),
    (text) => (/count\(\*\)/i.test(text) ? [{ n: 0 }] : []),
  );
  const page = statements.find((s) => /ORDER BY/i.test(s.text));
  const count = statements.find((s) => /count\(\*\)/i.test(s.text));
  if (!page || !count || statements.length !== 2) {
    throw new Error(`SystemLogStore.list no longer issues a page and a count statement: ${statements.map((s) => s.text.slice(0, 80)).join(' | ')}`);
  }
  return { page, count };
}

/** The cursor statement of SystemLogStore.stream (what a bulk export reads). */
export async function systemLogStreamSql(tenantId, filters = {}) {
  const statements = await captureSystemLogs(
    async (store) => {
      for await (const _ of store.stream({ tenantId }, filters)) void _;
    },
    () => [],
  );
  if (statements.length !== 1) throw new Error('SystemLogStore.stream no longer issues one statement');
  return statements[0];
}
