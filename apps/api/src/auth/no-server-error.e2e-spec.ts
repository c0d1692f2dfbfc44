import { randomUUID } from 'node:crypto';
import { ExportJobStore } from '@aos/traces-store';
import { type E2eApp, PLATFORM_KEY, startE2eApp, sampleStep } from '../testing/e2e-app';

/**
 * The role matrix proves who gets in; this proves that whoever gets in, with
 * whatever the route is sent, never gets a 5xx: every route of the OpenAPI
 * document, called by every principal (each role, the platform key, no key, a
 * revoked key) with existing ids of the caller's tenant and of another tenant,
 * a random UUID and a malformed id, with valid and invalid bodies and
 * queries (edge timestamps, reused cursors, search syntax, int32 limits), so
 * the handlers and their SQL actually run; and a few routes called by several
 * callers at once. A failure names route, principal, status and body.
 * (Found this way, all 500: the platform key's integrity audit; concurrent
 * first readers of a new checkpoint; concurrent sends of one new trace;
 * concurrent asks for one PDF; and the times of BEYOND_RANGE.)
 */
type Principal = 'admin' | 'auditor' | 'ingest' | 'viewer' | 'platform' | 'none' | 'revoked';
const PRINCIPALS: Principal[] = ['admin', 'auditor', 'ingest', 'viewer', 'platform', 'none', 'revoked'];

/** An id: a literal, or made at call time (a fresh open trace for the routes that seal it). */
type Id = string | (() => Promise<string>);
interface Probe {
  params?: Record<string, Id>;
  query?: string;
  body?: unknown;
  /** A body sent as it is (not JSON-encoded). */
  raw?: string;
  headers?: Record<string, string>;
}

interface Fixtures {
  sealed: string;
  open: string;
  /** A new open trace with steps 0 and 1. */
  fresh: () => Promise<string>;
  /** A new open trace without steps. */
  empty: () => Promise<string>;
  /** A new open trace whose two steps each carry the int32 maximum of tokens, cost and duration. */
  heavy: () => Promise<string>;
  /** next_cursor of the first page (limit=1) of each list. */
  cursors: { traces: string; steps: string; system: string; audit: string };
  incident: string;
  systemLog: string;
  auditLog: string;
  platformLog: string;
  hold: string;
  adminKeyId: string;
  victimKeyId: string;
  queuedJob: string;
  completedJob: string;
  foreign: { trace: string; incident: string; systemLog: string; hold: string; keyId: string; job: string };
}

const MALFORMED = 'not-a-uuid';
const NIL = '00000000-0000-0000-0000-000000000000';
const HEX = (c: string) => c.repeat(64);
const step = sampleStep;
const newTrace = () => ({ run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'matrix' });
const systemLog = (message = 'matrix log') => ({ level: 'info', source: 'matrix', message });

/** Each path parameter value in turn, with each body, query or header set. */
function each(param: string, ids: Id[], variants: Array<Omit<Probe, 'params'>> = [{}]): Probe[] {
  return ids.flatMap((id) => variants.map((v) => ({ ...v, params: { [param]: id } })));
}
const queries = (...qs: string[]): Probe[] => qs.map((query) => ({ query }));
const bodies = (...bs: unknown[]): Array<Omit<Probe, 'params'>> => bs.map((body) => ({ body }));

const T = '{trace_id}';
const SEARCHES = [
  'search=refund',
  'search=%22refund%20above%22%20-limit',
  "search=o'brien%20%26%20%7C%20!",
  `search=${randomUUID()}`,
  'search=%E2%9C%93',
  'search=abc%5C',
  'search=%25_%25',
  'search=%22unbalanced',
  'search=a%3A*%20%3C-%3E%20b',
  'search=',
];
const TIME_RANGE = 'start_time=2026-01-01T00:00:00Z&end_time=2027-01-01T00:00:00%2B02:00';
/** Timestamps at the edges of RFC 3339 (impossible dates, a leap second, hour 24, the first and last instants of years 1-9999). */
const EDGE_TIMES = ['2026-02-30T00:00:00Z', '2026-06-30T23:59:60Z', '2026-01-20T24:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z'];
/** Well-formed RFC 3339 whose UTC instant lies outside years 1-9999 (see BEYOND_RANGE). */
const BEYOND_TIMES = ['0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-14:00'];
const edgeRanges = (prefix = '') =>
  [...EDGE_TIMES, ...BEYOND_TIMES].flatMap((t) => [`${prefix}start_time=${encodeURIComponent(t)}`, `${prefix}end_time=${encodeURIComponent(t)}`]);
const INT32_MAX = 2_147_483_647;
const enc = encodeURIComponent;
const BODY_LIMIT = 256 * 1024;
/** Malformed, hostile and oversized bodies, sent to every route but GET (with its first probe's path). */
const RAW_BODIES: Array<Omit<Probe, 'params'>> = [
  { raw: '{' },
  { raw: 'null' },
  { raw: '[]' },
  { raw: '"text"' },
  { raw: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}' },
  { raw: 'hello', headers: { 'content-type': 'text/plain' } },
  { raw: JSON.stringify({ padding: 'x'.repeat(BODY_LIMIT) }) },
];

const PROBES: Record<string, (f: Fixtures) => Probe[]> = {
  'POST /api/v1/traces': (f) => [
    ...bodies({}, newTrace(), { ...newTrace(), started_at: '2026-01-20T10:00:00.123456+05:30', is_synthetic: true, policy_snapshot: { max: 1 }, incident_id: randomUUID() }),
    ...bodies({ ...newTrace(), trace_id: f.sealed }, { ...newTrace(), trace_id: f.foreign.trace }, { ...newTrace(), trace_id: randomUUID() }),
    ...bodies(...EDGE_TIMES.map((started_at) => ({ ...newTrace(), started_at }))),
  ],
  [`POST /api/v1/traces/${T}/steps`]: (f) => [
    ...each('trace_id', [f.empty, f.fresh, f.sealed, f.foreign.trace, randomUUID(), MALFORMED], bodies({}, step(0), { steps: [step(0), step(1)] }, step(5), step(0, { input_data: 'nul\u0000byte' }))),
    ...each('trace_id', [f.empty], bodies(step(0, { tokens: INT32_MAX, cost_cents: INT32_MAX, duration_ms: INT32_MAX }), step(INT32_MAX), ...EDGE_TIMES.map((timestamp) => step(0, { timestamp })))),
  ],
  [`POST /api/v1/traces/${T}/violation`]: (f) =>
    each(
      'trace_id',
      [f.fresh, f.sealed, f.foreign.trace, randomUUID(), MALFORMED],
      bodies(
        {},
        { step_index: 0, policy_id: randomUUID(), reason: 'refund above limit' },
        { step_index: 99, policy_id: randomUUID(), reason: 'x' },
        { step_index: INT32_MAX, policy_id: randomUUID(), reason: 'x' },
        ...EDGE_TIMES.map((timestamp) => ({ step_index: 1, policy_id: randomUUID(), reason: 'x', timestamp })),
      ),
    ),
  [`POST /api/v1/traces/${T}/complete`]: (f) =>
    each('trace_id', [f.fresh, f.empty, f.heavy, f.sealed, f.foreign.trace, randomUUID(), MALFORMED], bodies({}, { status: 'completed' }, { status: 'active' })),
  [`POST /api/v1/traces/${T}/incident`]: (f) =>
    each('trace_id', [f.fresh, f.sealed, f.foreign.trace, randomUUID(), MALFORMED], bodies({}, { incident_id: f.incident }, { incident_id: f.foreign.incident }, { incident_id: randomUUID() })),
  'PUT /api/v1/incidents/{incident_id}': (f) =>
    each('incident_id', [f.incident, f.foreign.incident, randomUUID(), MALFORMED], bodies({}, { title: 'outage', severity: 'high', status: 'open', opened_at: '2026-01-20T10:00:00Z' }, { severity: 'catastrophic' }, ...[...EDGE_TIMES, ...BEYOND_TIMES].map((opened_at) => ({ opened_at })))),
  'GET /api/v1/logs/llm-runs': (f) =>
    queries(
      '',
      'limit=1',
      'cursor=garbage',
      'sort=total_tokens&order=asc',
      'status=completed&has_violation=true',
      TIME_RANGE,
      `run_id=${randomUUID()}`,
      'limit=0',
      'offset=10000000',
      ...SEARCHES,
      ...edgeRanges(),
      // A cursor belongs to its list, sort and order: sent with another, it is a client error.
      ...[f.cursors.traces, f.cursors.system, f.cursors.audit, f.cursors.steps].flatMap((c) => [`limit=1&cursor=${enc(c)}`, `cursor=${enc(c)}&sort=total_tokens`, `cursor=${enc(c)}&order=asc`, `cursor=${enc(c)}&sort=created_at&search=refund`]),
    ),
  'POST /api/v1/logs/llm-runs/search': (f) =>
    bodies(
      {},
      { search: 'refund' },
      { cursor: 'garbage' },
      { limit: 1, order: 'asc', sort: 'step_count' },
      { status: 'completed', has_violation: true },
      { search: "o'brien & | !" },
      { cursor: f.cursors.traces, sort: 'total_cost_cents' },
      { cursor: f.cursors.system },
      ...[...EDGE_TIMES, ...BEYOND_TIMES].map((start_time) => ({ start_time })),
    ),
  [`GET /api/v1/logs/llm-runs/${T}`]: (f) => each('trace_id', [f.sealed, f.open, f.sealed.toUpperCase(), f.foreign.trace, randomUUID(), NIL, MALFORMED]),
  [`GET /api/v1/logs/llm-runs/${T}/steps`]: (f) =>
    each('trace_id', [f.sealed, f.open, f.foreign.trace, randomUUID(), MALFORMED], queries('', 'limit=1&order=desc', 'cursor=garbage', 'offset=2', `cursor=${enc(f.cursors.steps)}&order=desc`, `cursor=${enc(f.cursors.traces)}`, `cursor=${enc(f.cursors.system)}`)),
  [`GET /api/v1/logs/llm-runs/${T}/verify`]: (f) => each('trace_id', [f.sealed, f.open, f.foreign.trace, randomUUID(), MALFORMED]),
  'POST /api/v1/logs/system': () =>
    bodies(
      {},
      systemLog(),
      { logs: [systemLog('one'), { ...systemLog('two'), level: 'error', context: { a: 1 }, trace_id: 'trace-x', request_id: 'req-x' }] },
      { ...systemLog(), timestamp: '2026-01-20T10:00:00.123456+05:30' },
      systemLog('nul\u0000byte'),
      { ...systemLog(), context: { key: 'nul\u0000byte' } },
      { logs: [] },
      ...EDGE_TIMES.map((timestamp) => ({ ...systemLog(), timestamp })),
    ),
  'POST /api/v1/logs/audit': () =>
    bodies(
      {},
      { action: 'policy_approved', resource_type: 'policy', resource_id: randomUUID(), details: { by: 'matrix' } },
      { actor_id: randomUUID(), actor_type: 'user', action: 'login', resource_type: 'session', success: false, failure_reason: 'bad password' },
      { action: 'not_in_catalog', resource_type: 'policy' },
      { action: 'login', resource_type: 'session', details: { note: 'nul\u0000byte' } },
    ),
  'GET /api/v1/logs': (f) =>
    queries(
      '',
      'topic=bogus',
      'topic=system',
      'topic=audit',
      'topic=llm_runs',
      'topic=system&cursor=garbage',
      'topic=audit&cursor=garbage',
      'topic=llm_runs&cursor=garbage',
      `topic=system&search=${f.systemLog}`,
      `topic=audit&search=${f.auditLog}`,
      `topic=system&${TIME_RANGE}&level=info&sort=created_at&order=asc`,
      ...SEARCHES.flatMap((s) => [`topic=system&${s}`, `topic=audit&${s}`]),
      ...edgeRanges('topic=system&'),
      ...edgeRanges('topic=audit&'),
      `topic=system&cursor=${enc(f.cursors.audit)}`,
      `topic=audit&cursor=${enc(f.cursors.system)}`,
      `topic=llm_runs&cursor=${enc(f.cursors.system)}`,
    ),
  'POST /api/v1/logs/search': (f) =>
    bodies(
      {},
      { topic: 'system' },
      { topic: 'audit' },
      { topic: 'llm_runs' },
      { topic: 'system', search: "o'brien & | !", limit: 1 },
      { topic: 'audit', search: f.auditLog, success: false },
      { topic: 'system', cursor: 'garbage' },
      { topic: 'system', search: f.systemLog },
      { topic: 'system', cursor: f.cursors.system, sort: 'created_at' },
      { topic: 'audit', cursor: f.cursors.traces },
      ...[...EDGE_TIMES, ...BEYOND_TIMES].map((end_time) => ({ topic: 'audit', end_time })),
    ),
  'GET /api/v1/logs/system': (f) =>
    queries(
      '',
      'level=info&source=matrix',
      'cursor=garbage',
      'sort=created_at&order=asc',
      'limit=1',
      TIME_RANGE,
      'trace_id=trace-x&request_id=req-x',
      `search=${f.systemLog}`,
      `search=${f.platformLog}`,
      ...SEARCHES,
      ...edgeRanges(),
      `cursor=${enc(f.cursors.system)}&sort=created_at`,
      `cursor=${enc(f.cursors.system)}&order=asc`,
      `cursor=${enc(f.cursors.audit)}`,
      `cursor=${enc(f.cursors.traces)}`,
    ),
  'GET /api/v1/logs/audit': (f) =>
    queries(
      '',
      'action=api_key_created',
      `resource_id=${randomUUID()}`,
      `search=${f.auditLog}`,
      'cursor=garbage',
      'success=false',
      'actor_type=user',
      TIME_RANGE,
      ...SEARCHES,
      ...edgeRanges(),
      `cursor=${enc(f.cursors.audit)}&order=asc`,
      `cursor=${enc(f.cursors.audit)}&sort=created_at`,
      `cursor=${enc(f.cursors.system)}`,
      `cursor=${enc(f.cursors.traces)}`,
    ),
  'POST /api/v1/logs/audit/search': (f) =>
    bodies({}, { action: 'api_key_created' }, { search: f.auditLog }, { cursor: 'garbage' }, { success: false, order: 'asc', limit: 1 }, { search: "o'brien & | !" }, { cursor: f.cursors.steps }),
  'GET /api/v1/logs/{log_id}': (f) =>
    each('log_id', [f.systemLog, f.auditLog, f.platformLog, f.sealed, f.open, f.foreign.systemLog, f.foreign.trace, f.systemLog.toUpperCase(), randomUUID(), NIL, MALFORMED]),
  'POST /api/v1/logs/export': (f) =>
    bodies(
      {},
      { topic: 'system', format: 'json' },
      { topic: 'audit', format: 'csv' },
      { topic: 'llm_runs', format: 'jsonl' },
      { topic: 'system', format: 'xlsx', filters: { level: 'info', search: 'matrix' } },
      { topic: 'audit', format: 'json', filters: { search: f.auditLog } },
      { topic: 'system', format: 'json', filters: { bogus: 1 } },
      { topic: 'system', format: 'pdf' },
    ),
  [`POST /api/v1/logs/llm-runs/${T}/export`]: (f) =>
    each('trace_id', [f.sealed, f.open, f.foreign.trace, randomUUID(), MALFORMED], bodies({}, { format: 'csv' }, { format: 'xml' })),
  [`POST /api/v1/logs/llm-runs/${T}/export/evidence`]: (f) => [
    ...each('trace_id', [f.sealed, f.open, f.foreign.trace, randomUUID(), MALFORMED], bodies({}, { bundle_type: 'executive' }, { format: 'dsse' }, { bundle_type: 'soc2' })),
    // PDF jobs render in Chromium: one real one (the sealed trace), the rest answer before rendering.
    ...each('trace_id', [f.sealed, f.open, randomUUID()], bodies({ format: 'pdf' })),
  ],
  [`POST /api/v1/logs/llm-runs/${T}/export/soc2`]: (f) =>
    each('trace_id', [f.sealed, f.open, f.foreign.trace, randomUUID(), MALFORMED], bodies({}, { format: 'dsse' }, { format: 'csv' })),
  'GET /api/v1/exports/{job_id}': (f) => each('job_id', [f.queuedJob, f.completedJob, f.foreign.job, randomUUID(), MALFORMED]),
  'GET /api/v1/exports/{job_id}/file': (f) => each('job_id', [f.queuedJob, f.completedJob, f.foreign.job, randomUUID(), MALFORMED]),
  [`POST /api/v1/traces/${T}/replay`]: (f) =>
    each(
      'trace_id',
      [f.sealed, f.open, f.foreign.trace, randomUUID(), MALFORMED],
      bodies(undefined, {}, { mode: 'DEBUG', speed: 0 }, { mode: 'RERUN' }, { mode: 'RERUN', emit_traces: true }, { mode: 'AUDIT', emit_traces: true }, { speed: -1 }),
    ),
  [`GET /api/v1/traces/${T}/state`]: (f) =>
    each('trace_id', [f.sealed, f.open, f.foreign.trace, randomUUID(), MALFORMED], queries('step_index=0', 'step_index=2', 'step_index=99', '', 'step_index=-1', `step_index=${INT32_MAX}`, 'step_index=99999999999')),
  [`GET /api/v1/traces/${T}/replay/stream`]: (f) =>
    each('trace_id', [f.sealed, f.open, f.foreign.trace, randomUUID(), MALFORMED], [
      { query: 'speed=0' },
      { query: 'speed=0&mode=DEBUG' },
      { query: 'speed=0', headers: { 'last-event-id': '1' } },
      { query: 'speed=0', headers: { 'last-event-id': 'garbage' } },
      { query: 'speed=0', headers: { 'last-event-id': '999999999' } },
      { query: 'speed=0', headers: { 'last-event-id': '99999999999999999999' } },
      { query: 'mode=RERUN' },
    ]),
  'GET /api/v1/api-keys': () => [{}],
  'POST /api/v1/api-keys': () => bodies({}, { name: 'matrix', role: 'viewer' }, { name: 'matrix', role: 'root' }, { name: '', role: 'viewer' }),
  'DELETE /api/v1/api-keys/{key_id}': (f) => each('key_id', [f.victimKeyId, f.adminKeyId, f.foreign.keyId, randomUUID(), MALFORMED]),
  'GET /api/v1/retention': () => [{}],
  'PUT /api/v1/retention': () =>
    bodies({}, { traces: 400, audit_logs: null, system_logs: { debug: 2 } }, { traces: 1 }, { traces: 0 }, { system_logs: { debug: 'x' } }, { traces: 400_000_000 }),
  'GET /api/v1/retention/holds': () => [{}],
  'POST /api/v1/retention/holds': (f) =>
    bodies(
      {},
      { scope: 'tenant', reason: 'matrix' },
      { scope: 'trace', target_id: f.sealed, reason: 'matrix' },
      { scope: 'trace', target_id: f.foreign.trace, reason: 'matrix' },
      { scope: 'trace', target_id: randomUUID(), reason: 'matrix' },
      { scope: 'trace', reason: 'matrix' },
      { scope: 'incident', target_id: f.incident, reason: 'matrix' },
      { scope: 'incident', target_id: randomUUID(), reason: 'matrix' },
      { scope: 'tenant', target_id: randomUUID(), reason: 'matrix' },
    ),
  'POST /api/v1/retention/holds/{hold_id}/release': (f) => each('hold_id', [f.hold, f.foreign.hold, randomUUID(), MALFORMED], bodies(undefined, {})),
  'POST /api/v1/retention/purge': () => bodies({ dry_run: true }, {}, undefined, { dry_run: 'yes' }),
  'POST /api/v1/tenants': () =>
    bodies({}, { name: 'matrix', compliance: 'hipaa' }, { name: 'matrix-none' }, { name: 'x', compliance: 'gdpr' }, { name: '' }, { name: 'nul\u0000byte' }, { name: 'x'.repeat(5000) }),
  'GET /api/v1/integrity/checkpoint': () => [{}],
  'GET /api/v1/integrity/proof/inclusion': (f) =>
    queries(
      `record_type=trace&record_id=${f.sealed}`,
      `record_type=trace&record_id=${f.open}`,
      `record_type=trace&record_id=${f.foreign.trace}`,
      `record_type=audit_log&record_id=${f.auditLog}`,
      `record_type=system_log&record_id=${f.systemLog}`,
      `record_type=system_log&record_id=${f.platformLog}`,
      `record_type=trace&record_id=${f.sealed}&tree_size=1`,
      `record_type=trace&record_id=${f.sealed}&tree_size=99999`,
      `record_type=trace&record_id=${f.sealed}&tree_size=${INT32_MAX}`,
      `record_type=trace&record_id=${randomUUID()}`,
      `record_type=trace&record_id=${MALFORMED}`,
      `record_type=step&record_id=${f.sealed}`,
      '',
    ),
  'GET /api/v1/integrity/proof/consistency': () => queries('from=1&to=1', 'from=1&to=2', 'from=2&to=1', 'from=1&to=999999', 'from=0&to=1', '', `from=${INT32_MAX}&to=${INT32_MAX}`),
  'POST /api/v1/integrity/audit': () => bodies(undefined, {}),
  'GET /health/live': () => [{}],
  'GET /health/ready': () => [{}],
  'GET /api/v1/integrity/public-key': () => [{}],
};

/**
 * Well-formed times whose UTC instant lies outside years 1-9999: they used to
 * pass validation and make PostgreSQL refuse the write (500); now a 400 naming
 * the field.
 */
const BEYOND_RANGE: Record<string, (f: Fixtures) => Probe[]> = {
  'POST /api/v1/traces': () => bodies(...BEYOND_TIMES.map((started_at) => ({ ...newTrace(), started_at }))),
  [`POST /api/v1/traces/${T}/steps`]: (f) => each('trace_id', [f.empty], bodies(...BEYOND_TIMES.map((timestamp) => step(0, { timestamp })))),
  [`POST /api/v1/traces/${T}/violation`]: (f) =>
    each('trace_id', [f.fresh], bodies(...BEYOND_TIMES.map((timestamp) => ({ step_index: 1, policy_id: randomUUID(), reason: 'x', timestamp })))),
  'POST /api/v1/logs/system': () => bodies(...BEYOND_TIMES.map((timestamp) => ({ ...systemLog(), timestamp }))),
};

describe('Every route, every principal: never a 5xx', () => {
  let e: E2eApp;
  const keys = {} as Record<Principal, string | null>;
  let f: Fixtures;

  beforeAll(async () => {
    e = await startE2eApp({ bodyLimit: BODY_LIMIT });
    const ok = async <T = unknown>(method: string, path: string, key: string | null, body?: unknown): Promise<T> => {
      const res = await e.request(method, path, { key, body });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`fixture ${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    };
    type Trace = { trace_id: string };
    type NewKey = { api_key: { id: string; key: string } };
    type Keys = { items: Array<{ id: string; role: string }> };
    type Recorded = { logs: Array<{ log_id: string }> };
    const recordSystemLog = async (key: string, message: string) => (await ok<Recorded>('POST', '/api/v1/logs/system', key, systemLog(message))).logs[0].log_id;
    const placeHold = async (key: string, body: object) => (await ok<{ hold_id: string }>('POST', '/api/v1/retention/holds', key, body)).hold_id;
    const { tenantId, key: admin } = await e.newTenant('admin');
    keys.admin = admin;
    for (const role of ['viewer', 'auditor', 'ingest'] as const) keys[role] = await e.newKey(tenantId, role);
    keys.platform = PLATFORM_KEY;
    keys.none = null;
    const revoked = (await ok<NewKey>('POST', '/api/v1/api-keys', admin, { name: 'revoked', role: 'auditor' })).api_key;
    await ok('DELETE', `/api/v1/api-keys/${revoked.id}`, admin);
    keys.revoked = revoked.key;
    const adminKeyId = (await ok<Keys>('GET', '/api/v1/api-keys', admin)).items.find((k) => k.role === 'admin')?.id ?? '';
    const victim = (await ok<NewKey>('POST', '/api/v1/api-keys', admin, { name: 'victim', role: 'viewer' })).api_key.id;

    const seal = async (key: string) => {
      const id = (await ok<Trace>('POST', '/api/v1/traces', key, newTrace())).trace_id;
      await ok('POST', `/api/v1/traces/${id}/steps`, key, { steps: [step(0), step(1), step(2)] });
      await ok('POST', `/api/v1/traces/${id}/violation`, key, { step_index: 2, policy_id: randomUUID(), reason: 'refund above limit' });
      await ok('POST', `/api/v1/traces/${id}/complete`, key, { status: 'failed' });
      return id;
    };
    const openTrace = async (key: string) => {
      const id = (await ok<Trace>('POST', '/api/v1/traces', key, newTrace())).trace_id;
      await ok('POST', `/api/v1/traces/${id}/steps`, key, { steps: [step(0), step(1)] });
      return id;
    };
    const emptyTrace = async () => (await ok<Trace>('POST', '/api/v1/traces', admin, newTrace())).trace_id;
    const heavyTrace = async () => {
      const id = await emptyTrace();
      const heavy = { tokens: INT32_MAX, cost_cents: INT32_MAX, duration_ms: INT32_MAX };
      await ok('POST', `/api/v1/traces/${id}/steps`, admin, { steps: [step(0, heavy), step(1, heavy)] });
      return id;
    };
    const sealed = await seal(admin);
    const open = await openTrace(admin);
    const incident = randomUUID();
    await ok('PUT', `/api/v1/incidents/${incident}`, admin, { title: 'refunds', severity: 'high', status: 'open' });
    const sys = await recordSystemLog(admin, 'refund matrix');
    const audit = (await ok<{ log_id: string }>('POST', '/api/v1/logs/audit', admin, { action: 'policy_approved', resource_type: 'policy', resource_id: randomUUID() })).log_id;
    for (const m of ['second', 'third']) await recordSystemLog(admin, `refund ${m}`);
    const cursor = async (path: string) => {
      const next = (await ok<{ pagination: { next_cursor: string | null } }>('GET', path, admin)).pagination.next_cursor;
      if (!next) throw new Error(`fixture: ${path} has no next page`);
      return next;
    };
    const cursors = {
      traces: await cursor('/api/v1/logs/llm-runs?limit=1'),
      steps: await cursor(`/api/v1/logs/llm-runs/${sealed}/steps?limit=1`),
      system: await cursor('/api/v1/logs/system?limit=1'),
      audit: await cursor('/api/v1/logs/audit?limit=1'),
    };
    const platformLog = await recordSystemLog(PLATFORM_KEY, 'platform matrix');
    const hold = await placeHold(admin, { scope: 'trace', target_id: sealed, reason: 'matrix' });

    // Jobs made in the store, never dispatched: no render (the pdf probes make the one real one).
    const jobs = e.app.get(ExportJobStore);
    const job = async (tenant: string, trace: string, hash: string) => (await jobs.enqueueOrGet(tenant, { trace_id: trace, bundle_type: 'executive', content_hash: hash })).job.job_id;
    const queuedJob = await job(tenantId, sealed, HEX('a'));
    const completedJob = await job(tenantId, sealed, HEX('b'));
    await jobs.start(tenantId, completedJob);
    await jobs.complete(tenantId, completedJob, { content_type: 'application/pdf', bytes: Buffer.from('%PDF-1.7 matrix') });

    const other = await e.newTenant('admin');
    const foreignTrace = await seal(other.key);
    const foreignIncident = randomUUID();
    await ok('PUT', `/api/v1/incidents/${foreignIncident}`, other.key, { title: 'theirs' });
    const foreignKeys = (await ok<Keys>('GET', '/api/v1/api-keys', other.key)).items;

    f = {
      sealed,
      open,
      fresh: () => openTrace(admin),
      empty: emptyTrace,
      heavy: heavyTrace,
      cursors,
      incident,
      systemLog: sys,
      auditLog: audit,
      platformLog,
      hold,
      adminKeyId,
      victimKeyId: victim,
      queuedJob,
      completedJob,
      foreign: {
        trace: foreignTrace,
        incident: foreignIncident,
        systemLog: await recordSystemLog(other.key, 'theirs'),
        hold: await placeHold(other.key, { scope: 'tenant', reason: 'theirs' }),
        keyId: foreignKeys[0].id,
        job: await job(other.tenantId, foreignTrace, HEX('c')),
      },
    };
  }, 120_000);
  afterAll(() => e?.close());

  const call = async (method: string, template: string, probe: Probe, principal: Principal) => {
    let path = template;
    for (const [name, id] of Object.entries(probe.params ?? {})) path = path.replace(`{${name}}`, typeof id === 'string' ? id : await id());
    if (probe.query) path += `?${probe.query}`;
    const res = await e.request(method, path, { key: keys[principal], body: probe.body, raw: probe.raw, headers: probe.headers });
    const serverError = !(res.status >= 200 && res.status < 300) && !(res.status >= 400 && res.status < 500);
    if (!serverError) {
      await res.body?.cancel();
      return null;
    }
    const body = (await res.text()).slice(0, 600);
    const sent = probe.raw ?? (probe.body === undefined ? undefined : JSON.stringify(probe.body));
    return `${method} ${path} as ${principal}${sent === undefined ? '' : ` with ${sent.slice(0, 200)}`}: ${res.status} ${body}`;
  };

  /** Each probe by each principal: what answered neither 2xx nor 4xx, named by route, principal, status and body. */
  const failuresOf = async (route: string, probes: Probe[]) => {
    const [method, template] = route.split(' ');
    const failures: string[] = [];
    for (const probe of probes) {
      for (const principal of PRINCIPALS) {
        const failure = await call(method, template, probe, principal);
        if (failure) failures.push(failure);
      }
    }
    return failures;
  };

  it.each(Object.keys(PROBES))('%s answers 2xx or 4xx to every principal', async (route) => {
    const probes = PROBES[route](f);
    if (!route.startsWith('GET ')) probes.push(...RAW_BODIES.map((raw) => ({ ...raw, params: probes[0].params })));
    expect(await failuresOf(route, probes)).toEqual([]);
  }, 60_000);

  it.each(Object.keys(BEYOND_RANGE))('%s answers 2xx or 4xx to a time beyond years 1-9999', async (route) => {
    expect(await failuresOf(route, BEYOND_RANGE[route](f))).toEqual([]);
  });

  it('answers callers who send the same request at once without a 5xx', async () => {
    // Concurrent first readers of a new checkpoint each sign and publish it; concurrent sends of one
    // trace, and asks for one PDF, each race one insert (libs/ledger and libs/traces-store test each race).
    const failures: string[] = [];
    const together = async (n: number, method: string, template: string, probe: Probe, principal: Principal) => {
      for (const failure of await Promise.all(Array.from({ length: n }, () => call(method, template, probe, principal)))) if (failure) failures.push(failure);
    };
    for (const principal of ['admin', 'platform'] as const) {
      for (let round = 0; round < 3; round++) {
        expect((await e.request('POST', '/api/v1/logs/system', { key: keys[principal], body: systemLog(`round ${round}`) })).status).toBe(201);
        await together(6, 'GET', '/api/v1/integrity/checkpoint', {}, principal);
      }
      await together(3, 'POST', '/api/v1/integrity/audit', {}, principal);
    }
    const trace = { ...newTrace(), trace_id: randomUUID() };
    await together(4, 'POST', '/api/v1/traces', { body: trace }, 'ingest');
    await together(4, 'POST', `/api/v1/traces/${T}/steps`, { params: { trace_id: trace.trace_id }, body: { steps: [step(0), step(1)] } }, 'ingest');
    await together(4, 'POST', `/api/v1/traces/${T}/violation`, { params: { trace_id: trace.trace_id }, body: { step_index: 1, policy_id: randomUUID(), reason: 'x' } }, 'ingest');
    await together(4, 'PUT', '/api/v1/incidents/{incident_id}', { params: { incident_id: trace.trace_id }, body: { title: 'same' } }, 'ingest');
    await together(4, 'POST', `/api/v1/traces/${T}/incident`, { params: { trace_id: trace.trace_id }, body: { incident_id: trace.trace_id } }, 'ingest');
    await together(4, 'POST', `/api/v1/traces/${T}/complete`, { params: { trace_id: trace.trace_id }, body: { status: 'completed' } }, 'ingest');
    await together(4, 'POST', `/api/v1/logs/llm-runs/${T}/export/evidence`, { params: { trace_id: trace.trace_id }, body: { format: 'dsse' } }, 'auditor');
    await together(4, 'POST', `/api/v1/logs/llm-runs/${T}/export/evidence`, { params: { trace_id: trace.trace_id }, body: { format: 'pdf', bundle_type: 'executive' } }, 'auditor');
    await together(4, 'POST', `/api/v1/traces/${T}/replay`, { params: { trace_id: trace.trace_id }, body: { mode: 'RERUN', emit_traces: true } }, 'admin');
    await together(4, 'POST', '/api/v1/retention/holds/{hold_id}/release', { params: { hold_id: f.hold } }, 'admin');
    await together(4, 'DELETE', '/api/v1/api-keys/{key_id}', { params: { key_id: f.victimKeyId } }, 'admin');
    expect(failures).toEqual([]);
  }, 60_000);

  it('probes every route of the OpenAPI document', async () => {
    const doc = (await (await e.request('GET', '/api/docs-json', { key: null })).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\/$/, '')}`));
    expect(documented.filter((r) => !(r in PROBES))).toEqual([]);
  });
});
