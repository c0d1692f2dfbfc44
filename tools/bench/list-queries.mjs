#!/usr/bin/env node
// List-query benchmark: GET /api/v1/logs/llm-runs at 1M traces / 10M steps,
// each case measured through the API and as the bare SQL TraceStore.listTraces
// issues for the same parameters (captured from the built code). Target
// (issue): p95 < 20 ms at any depth via the cursor. See tools/bench/README.md.
import {
  BENCH_API_KEY,
  connect,
  createDatabase,
  databaseExists,
  dbUrl,
  dropDatabase,
  ensureBuilt,
  expectStatus,
  fmt,
  fmtInt,
  httpClient,
  log,
  machineInfo,
  parseArgs,
  printMachine,
  runBench,
  startApi,
  summarize,
  table,
  withClient,
  serverUrl,
  writeJson,
  inTurn,
} from './lib/common.mjs';
import { WORDS } from './lib/content.mjs';
import { apiKeyHash, listTracesSql } from './lib/store-sql.mjs';

const USAGE = `node tools/bench/list-queries.mjs [options]

  --traces N           traces to seed (default 1000000)
  --steps-per-trace N  steps per trace (default 10: 10M steps)
  --tenants N          tenants (default 4; the first, measured one holds ~55%)
  --agents N           agents per tenant (default 20)
  --days N             started_at spread over the last N days (default 90)
  --iterations N       measured runs per case, API and SQL in turn, each first every other run (default 50)
  --case-seconds N     time budget of one case; at least --min-iterations run (default 40)
  --min-iterations N   (default 3)
  --pages N            pages followed by cursor in the deep cases (default 200)
  --limit N            page size (default 50, the API default)
  --only REGEX         run only the cases whose name matches
  --seed-workers N     parallel seeding sessions (default 2)
  --search-batch N     steps per aos_step_search row, i.e. per appended batch the
                       indexer would see (default 5: two batches per 10-step trace)
  --db NAME            bench database (default aos_bench_list)
  --reuse              reuse the seeded database if it exists with the same sizes (implies --keep)
  --keep               keep the database at the end
  --no-explain         skip EXPLAIN ANALYZE of each case
  --build              rebuild the API first (else only when dist is missing)
  --json [FILE]        write results as JSON (default tools/bench/results/list-queries-<time>.json)
  --pg-url URL         owner URL of the PostgreSQL server
  --port N             API port (default: a free one)`;

const args = parseArgs(
  {
    traces: 1_000_000,
    stepsPerTrace: 10,
    tenants: 4,
    agents: 20,
    days: 90,
    iterations: 50,
    caseSeconds: 40,
    minIterations: 3,
    pages: 200,
    limit: 50,
    only: '',
    seedWorkers: 2,
    searchBatch: 5,
    db: 'aos_bench_list',
    reuse: false,
    keep: false,
    noExplain: false,
    build: false,
    json: '',
    pgUrl: undefined,
    port: 0,
  },
  USAGE,
);
if (args.reuse) args.keep = true;

const TARGET_P95_MS = 20;
const POLICIES_PER_TENANT = 8;
const SEED_VERSION = 2;
const seedSignature = () => `aos-bench-list v${SEED_VERSION} traces=${args.traces} steps=${args.stepsPerTrace} tenants=${args.tenants} agents=${args.agents} days=${args.days} search_batch=${args.searchBatch}`;

// ------------------------------------------------------------------ seeding

/** Runs `tasks` (async functions taking a client) on `n` parallel owner sessions. */
async function parallel(n, tasks, setup) {
  const queue = [...tasks];
  const sessions = await Promise.all(Array.from({ length: n }, () => connect(dbUrl(args, args.db))));
  try {
    await Promise.all(
      sessions.map(async (c) => {
        if (setup) await c.query(setup);
        for (let t = queue.shift(); t; t = queue.shift()) await t(c);
      }),
    );
  } finally {
    await Promise.all(sessions.map((c) => c.end()));
  }
}

const SESSION_SETUP = `SET synchronous_commit = off; SET maintenance_work_mem = '1GB'; SET work_mem = '256MB';
  SET max_parallel_maintenance_workers = 0;
  -- The bulk load skips the foreign-key checks (internal RI triggers); the rows are
  -- consistent by construction. ENABLE ALWAYS triggers (immutability) still fire.
  SET session_replication_role = replica;`;

async function seed(owner, mainTenant) {
  const N = args.traces;
  const S = args.stepsPerTrace;
  const t0 = performance.now();
  log(`seeding ${fmtInt(N)} traces / ${fmtInt(N * S)} steps with SQL (progress below)`);

  const tenants = [mainTenant];
  for (let k = 1; k < args.tenants; k++) {
    const r = await owner.query(`INSERT INTO tenants (tenant_id, name, compliance) VALUES (gen_random_uuid(), $1, 'soc2') RETURNING tenant_id`, [`bench-tenant-${k}`]);
    tenants.push(r.rows[0].tenant_id);
  }

  // Secondary indexes are dropped for the load and rebuilt from their own
  // definitions afterwards (faster than maintaining them row by row); the
  // constraint indexes (primary keys, unique) stay.
  const idx = (
    await owner.query(
      `SELECT i.indexname, i.indexdef FROM pg_indexes i
       WHERE i.schemaname = 'public' AND i.tablename IN ('aos_traces', 'aos_trace_steps', 'aos_step_search')
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    )
  ).rows;
  await owner.query(`COMMENT ON DATABASE ${args.db} IS ${lit('seeding: ' + JSON.stringify(idx.map((i) => i.indexdef)))}`);
  for (const i of idx) await owner.query(`DROP INDEX ${i.indexname}`);
  log(`dropped ${idx.length} secondary indexes for the load`);

  await owner.query(`
    CREATE FUNCTION bench_h(x bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT hashint8(x)::bigint + 2147483648';
    CREATE FUNCTION bench_step_type(j int, s int) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT CASE WHEN j = 0 THEN 'input' WHEN j = s - 1 THEN 'output'
        ELSE (ARRAY['llm_call', 'tool_call', 'llm_call', 'policy_check', 'llm_call', 'tool_call', 'llm_call', 'llm_call'])[1 + j % 8] END $$;
    CREATE FUNCTION bench_step_tokens(i bigint, j int, s int) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT CASE WHEN bench_step_type(j, s) = 'llm_call' THEN (50 + bench_h(i * 64 + j + 1) % 1500)::int ELSE 0 END $$;
    CREATE FUNCTION bench_uuid4(x text) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3) || '-' || substr(h, 21, 12))::uuid
      FROM (SELECT md5(x) AS h) y $$;
    CREATE FUNCTION bench_v7(ts timestamptz, r text) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-8' || substr(r, 4, 3) || '-' || substr(r, 7, 12))::uuid
      FROM (SELECT lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') AS h) x $$;
  `);
  // 2,000 phrases of 6-10 words from the same vocabulary as the ingest bench.
  await owner.query(
    `CREATE UNLOGGED TABLE bench_phrases AS
     SELECT p AS id, (SELECT string_agg(($1::text[])[1 + floor(random() * $2::int)::int], ' ') FROM generate_series(1, 6 + p % 5)) AS phrase
     FROM generate_series(0, 1999) p`,
    [WORDS, WORDS.length],
  );
  await owner.query(`ALTER TABLE bench_phrases ADD PRIMARY KEY (id)`);

  // One row per trace with everything the steps and the trace need; numbered
  // in time order so that ids and physical order follow started_at (as UUIDv7
  // ids of a live service would).
  await owner.query(
    `CREATE UNLOGGED TABLE bench_seed_traces AS
     WITH b AS (
       SELECT g, random() AS rt, random() AS ra, random() AS rs, random() AS rv, random() AS rtime, random() AS rp, random() AS rr
       FROM generate_series(1, $1::int) g
     ), c AS (
       SELECT g, rp, rr,
         CASE WHEN rt < 0.55 OR $2::int = 1 THEN 0 ELSE 1 + floor((rt - 0.55) / 0.45 * ($2::int - 1))::int END AS tn,
         floor($3::int * power(ra, 1.5))::int AS an,
         CASE WHEN rs < 0.05 THEN 'active' WHEN rs < 0.12 THEN 'failed' WHEN rs < 0.15 THEN 'aborted' ELSE 'completed' END AS status,
         rv < 0.05 AS violated,
         date_trunc('milliseconds', CASE WHEN rs < 0.05 THEN now() - rtime * interval '2 hours'
                                         ELSE now() - interval '2 hours' - rtime * ($4::int * interval '1 day') END) AS started_at
       FROM b
     )
     SELECT row_number() OVER (ORDER BY started_at, g) AS i, g, tn, an, status, started_at, violated,
       floor(rp * $5::int)::int AS violation_step_index, floor(rr * ${POLICIES_PER_TENANT})::int AS pn, floor(rr * 6000)::int % 6 AS reason_n
     FROM c`,
    [N, args.tenants, args.agents, args.days, S],
  );
  await owner.query(`CREATE INDEX ON bench_seed_traces (i)`);
  await owner.query(`ANALYZE bench_seed_traces; ANALYZE bench_phrases`);
  log(`seed plan ready (${fmt((performance.now() - t0) / 1000)} s)`);

  const searchTable = (await owner.query(`SELECT to_regclass('aos_step_search') IS NOT NULL AS x`)).rows[0].x;
  // Since migration 1770200000000 each search row carries its trace's started_at.
  const stepSearchStarted =
    searchTable && (await owner.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'aos_step_search' AND column_name = 'started_at'`)).rowCount > 0;
  if (searchTable) log(`aos_step_search is filled with the steps, one row per ${args.searchBatch} steps (as the indexer would)`);
  // Steps first (the sealed-trace guard would refuse steps of sealed traces), in chunks on parallel sessions.
  const chunk = Math.max(1000, Math.floor(250_000 / S));
  const chunks = [];
  for (let lo = 0; lo < N; lo += chunk) chunks.push([lo, Math.min(N, lo + chunk)]);
  let doneSteps = 0;
  const tSteps = performance.now();
  await parallel(
    args.seedWorkers,
    chunks.map(([lo, hi]) => async (c) => {
      await c.query(
        `${searchTable ? 'WITH ins AS (' : ''}INSERT INTO aos_trace_steps (step_id, trace_id, tenant_id, step_index, step_type, level, source, "timestamp",
           tokens, cost_cents, duration_ms, input_data, output_data, metadata, content_hash, created_at)
         SELECT bench_v7(x.ts, md5(t.i || '-' || j)), bench_v7(t.started_at, md5(t.g::text)), ($1::uuid[])[t.tn + 1], j,
           bench_step_type(j, $4::int), CASE WHEN bench_h(t.i * 64 + j) % 40 = 0 THEN 'warning' ELSE 'info' END,
           'agent-runtime', x.ts, bench_step_tokens(t.i, j, $4::int), ceil(bench_step_tokens(t.i, j, $4::int) / 400.0)::int,
           (50 + bench_h(t.i * 64 + j + 2) % 1400)::int,
           jsonb_build_object('messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', pa.phrase))),
           jsonb_build_object('text', pb.phrase
             || CASE WHEN bench_h(t.i * 64 + j + 3) % 500 = 0 THEN ' chargeback' ELSE '' END
             || CASE WHEN bench_h(t.i * 64 + j + 4) % 20000 = 0 THEN ' zanzibar' ELSE '' END
             || CASE WHEN bench_h(t.i * 64 + j + 7) % 2500 = 0 THEN ' quetzal' ELSE '' END),
           NULL,
           md5(t.i || ':' || j) || md5(j || ':' || t.i),
           x.ts
         FROM bench_seed_traces t
         CROSS JOIN generate_series(0, $4::int - 1) j
         CROSS JOIN LATERAL (SELECT t.started_at + j * interval '1500 ms' AS ts) x
         JOIN bench_phrases pa ON pa.id = bench_h(t.i * 64 + j + 5) % 2000
         JOIN bench_phrases pb ON pb.id = bench_h(t.i * 64 + j + 6) % 2000
         WHERE t.i > $2 AND t.i <= $3
         ORDER BY t.i, j${
           searchTable
             ? `
         RETURNING tenant_id, trace_id, step_index, input_data, output_data, created_at, "timestamp")
         -- What aos_index_step_search() writes: one tsvector per appended batch.
         INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, search_vector, indexed_at${stepSearchStarted ? ', started_at' : ''})
         SELECT i.tenant_id, i.trace_id, min(i.step_index), max(i.step_index),
           aos_tsvector_agg(to_tsvector('english', coalesce(i.input_data, '{}'::json))
                            || to_tsvector('english', coalesce(i.output_data, '{}'::json)) ORDER BY i.step_index),
           max(i.created_at) + interval '1 second'${
             // The trace's started_at: each step's timestamp is started_at + step_index * 1.5 s.
             stepSearchStarted ? `, min(i."timestamp" - i.step_index * interval '1500 ms')` : ''
           }
         FROM ins i GROUP BY i.tenant_id, i.trace_id, i.step_index / ${args.searchBatch}`
             : ''
         }`,
        [tenants, lo, hi, S],
      );
      doneSteps += (hi - lo) * S;
      const sec = (performance.now() - tSteps) / 1000;
      const rate = doneSteps / sec;
      log(`steps ${fmtInt(doneSteps)} / ${fmtInt(N * S)} (${fmt((100 * doneSteps) / (N * S), 0)} %), ${fmtInt(rate)} rows/s, eta ${fmt((N * S - doneSteps) / rate, 0)} s`);
    }),
    SESSION_SETUP,
  );

  const reasons = [
    'PII detected in tool output: credit card number',
    'Spending limit exceeded for refund request',
    'Prompt injection attempt blocked by input filter',
    'Unapproved tool call: send_email to an external domain',
    'Toxic language in model response',
    'Data residency rule violated: EU record sent to us-east-1',
  ];
  const traceChunk = 100_000;
  const traceChunks = [];
  for (let lo = 0; lo < N; lo += traceChunk) traceChunks.push([lo, Math.min(N, lo + traceChunk)]);
  let doneTraces = 0;
  await parallel(
    args.seedWorkers,
    traceChunks.map(([lo, hi]) => async (c) => {
      await c.query(
        `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, agent_name, status, step_count, total_tokens,
           total_cost_cents, total_duration_ms, started_at, completed_at, content_hash, is_synthetic, synthetic_scenario_id,
           violation_step_index, violation_timestamp, violation_policy_id, violation_reason, created_at)
         SELECT bench_v7(t.started_at, md5(t.g::text)), ($1::uuid[])[t.tn + 1], bench_uuid4('run-' || t.g),
           bench_uuid4('agent-' || t.tn || '-' || t.an), 'agent-' || t.an, t.status, $4::int, tot.tokens, tot.cost,
           CASE WHEN t.status = 'active' THEN ($4::int - 1) * 1500 ELSE $4::int * 1500 + 2000 END,
           t.started_at,
           CASE WHEN t.status = 'active' THEN NULL ELSE t.started_at + ($4::int * 1500 + 2000) * interval '1 ms' END,
           CASE WHEN t.status = 'active' THEN NULL ELSE encode(sha256(convert_to(t.g::text, 'UTF8')), 'hex') END,
           t.g % 100 = 0, CASE WHEN t.g % 100 = 0 THEN 'scenario-' || (t.g % 7) END,
           CASE WHEN t.violated THEN t.violation_step_index END,
           CASE WHEN t.violated THEN t.started_at + t.violation_step_index * interval '1500 ms' END,
           CASE WHEN t.violated THEN bench_uuid4('policy-' || t.tn || '-' || t.pn) END,
           CASE WHEN t.violated THEN ($5::text[])[t.reason_n + 1] END,
           t.started_at
         FROM bench_seed_traces t
         CROSS JOIN LATERAL (
           SELECT sum(bench_step_tokens(t.i, j, $4::int))::bigint AS tokens, sum(ceil(bench_step_tokens(t.i, j, $4::int) / 400.0))::bigint AS cost
           FROM generate_series(0, $4::int - 1) j) tot
         WHERE t.i > $2 AND t.i <= $3
         ORDER BY t.i`,
        [tenants, lo, hi, S, reasons],
      );
      doneTraces += hi - lo;
      log(`traces ${fmtInt(doneTraces)} / ${fmtInt(N)}`);
    }),
    SESSION_SETUP,
  );

  // Rebuild the secondary indexes: the GIN index on one session, the rest on the others.
  const tIdx = performance.now();
  const sorted = [...idx].sort((a, b) => Number(/USING gin/i.test(b.indexdef)) - Number(/USING gin/i.test(a.indexdef)));
  await parallel(
    args.seedWorkers,
    sorted.map((i) => async (c) => {
      const t = performance.now();
      // A partitioned table's index is listed "ON ONLY" the parent: built so, it would cover no partition.
      await c.query(i.indexdef.replace(/ ON ONLY /, ' ON '));
      log(`index ${i.indexname} built (${fmt((performance.now() - t) / 1000)} s)`);
    }),
    SESSION_SETUP,
  );
  log(`indexes rebuilt in ${fmt((performance.now() - tIdx) / 1000)} s`);

  await owner.query(`DROP TABLE bench_seed_traces, bench_phrases; DROP FUNCTION bench_step_tokens, bench_step_type, bench_h, bench_v7, bench_uuid4`);
  const tVac = performance.now();
  await parallel(args.seedWorkers, ['aos_traces', 'aos_trace_steps', ...(await owner.query(`SELECT to_regclass('aos_step_search') IS NOT NULL AS x`)).rows[0].x ? ['aos_step_search'] : []].map((t) => (c) => c.query(`VACUUM (ANALYZE) ${t}`)), `SET maintenance_work_mem = '1GB'`);
  log(`VACUUM ANALYZE done (${fmt((performance.now() - tVac) / 1000)} s)`);
  await owner.query(`COMMENT ON DATABASE ${args.db} IS ${lit(seedSignature())}`);
  const seconds = (performance.now() - t0) / 1000;
  log(`seeded in ${fmt(seconds, 0)} s`);
  return seconds;
}

const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

// ------------------------------------------------------------------ cases

function cases(ctx) {
  const { agents, policies, days, agents2 } = ctx;
  const DAY = 86_400_000;
  const now = Date.now();
  const statuses = ['completed', 'failed', 'aborted', 'active'];
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const windowOf = (lenDays) => {
    const end = now - 2 * 3600_000 - rnd() * (days - lenDays) * DAY;
    return { start_time: new Date(end - lenDays * DAY).toISOString(), end_time: new Date(end).toISOString() };
  };
  return [
    { name: 'no filter (sort started_at desc)', q: () => ({}) },
    { name: 'agent_id (one of 20, cycling)', q: (k) => ({ agent_id: agents[k % agents.length] }) },
    { name: 'status (cycling 4 values)', q: (k) => ({ status: statuses[k % statuses.length] }) },
    { name: 'has_violation=true', q: () => ({ has_violation: true }) },
    { name: 'has_violation=false', q: () => ({ has_violation: false }) },
    { name: 'time range (random 7-day window)', q: () => windowOf(7) },
    { name: 'policy_id (one of 8, cycling)', q: (k) => ({ policy_id: policies[k % policies.length] }) },
    { name: 'sort=total_tokens desc', q: () => ({ sort: 'total_tokens' }) },
    { name: 'agent_id + status=failed + 30-day window', q: (k) => ({ agent_id: agents[k % agents.length], status: 'failed', ...windowOf(30) }) },
    { name: 'search "refund" (in ~45% of traces)', q: () => ({ search: 'refund' }) },
    { name: 'search "chargeback" (in ~2% of traces)', q: () => ({ search: 'chargeback' }) },
    { name: 'search "zanzibar" (in ~0.05% of traces)', q: () => ({ search: 'zanzibar' }) },
    { name: 'search "quetzal" (in ~0.4% of traces)', q: () => ({ search: 'quetzal' }) },
    { name: 'search "injection" (violation reasons only, ~0.8%)', q: () => ({ search: 'injection' }) },
    { name: 'search "refund" + agent_id (cycling)', q: (k) => ({ search: 'refund', agent_id: agents[k % agents.length] }) },
    { name: 'search "chargeback" + status=completed (85%)', q: () => ({ search: 'chargeback', status: 'completed' }) },
    { name: 'search "chargeback" + status=failed (7%)', q: () => ({ search: 'chargeback', status: 'failed' }) },
    { name: 'search "quetzal" + status=failed (7%)', q: () => ({ search: 'quetzal', status: 'failed' }) },
    { name: `deep: pages 1-${args.pages} by cursor (started_at desc)`, deep: true, q: () => ({}) },
    { name: `deep: pages 1-${args.pages} by cursor, sort=total_tokens`, deep: true, q: () => ({ sort: 'total_tokens' }) },
    { name: `deep: pages 1-${args.pages} by cursor, agent_id`, deep: true, q: () => ({ agent_id: agents[0] }) },
    { name: `deep: pages 1-${Math.min(args.pages, 20)} by cursor, search "chargeback"`, deep: true, pages: Math.min(args.pages, 20), q: () => ({ search: 'chargeback' }) },
    // The second tenant (~15% of the traces), whose step-search rows are a minority of any
    // index over every tenant's: what a search costs a tenant that is not the largest.
    ...(agents2.length
      ? [
          { name: 'tenant 2: search "chargeback"', tenant: 2, q: () => ({ search: 'chargeback' }) },
          { name: 'tenant 2: search "refund"', tenant: 2, q: () => ({ search: 'refund' }) },
          { name: 'tenant 2: search "quetzal"', tenant: 2, q: () => ({ search: 'quetzal' }) },
          { name: 'tenant 2: search "chargeback" + status=failed', tenant: 2, q: () => ({ search: 'chargeback', status: 'failed' }) },
          { name: 'tenant 2: search "refund" + agent_id (cycling)', tenant: 2, q: (k) => ({ search: 'refund', agent_id: agents2[k % agents2.length] }) },
        ]
      : []),
  ];
}

function apiPath(q, cursor) {
  const p = new URLSearchParams();
  p.set('limit', String(args.limit));
  for (const [k, v] of Object.entries(q)) p.set(k, String(v));
  if (cursor) p.set('cursor', cursor);
  return `/api/v1/logs/llm-runs?${p}`;
}

/** The query object the controller hands to TraceStore.listTraces. */
function storeQuery(q, cursor) {
  return { ...q, limit: args.limit, offset: 0, sort: q.sort ?? 'started_at', order: q.order ?? 'desc', ...(cursor ? { cursor } : {}) };
}

async function timeSql(sqlc, tenantId, q, cursor) {
  // TraceStore's statements, each timed as it runs once (probes, page, count), as the API runs them.
  const { probes, page, counts } = await listTracesSql(tenantId, storeQuery(q, cursor), async (text, params) => (await sqlc.query(text, params)).rows);
  const sum = (statements) => statements.reduce((total, s) => total + s.ms, 0);
  const [probeMs, countMs] = [sum(probes), sum(counts)];
  return { ms: probeMs + page.ms + countMs, probeMs, pageMs: page.ms, countMs, ids: page.rows.slice(0, args.limit).map((r) => r.trace_id) };
}

async function explain(sqlc, tenantId, q, cursor) {
  const { probes, page, counts } = await listTracesSql(tenantId, storeQuery(q, cursor), async (text, params) => (await sqlc.query(text, params)).rows);
  const run = async (s) => (await sqlc.query(`EXPLAIN (ANALYZE, BUFFERS) ${s.text}`, s.params)).rows.map((r) => r['QUERY PLAN']).join('\n');
  const probePlans = [];
  // The window form's planner estimate is an EXPLAIN already: its plan is its answer.
  for (const probe of probes) probePlans.push(/^\s*EXPLAIN/i.test(probe.text) ? '(an estimate: nothing run)' : await run(probe));
  return { ...(probes.length ? { probe_sql: probes.map((x) => x.text.replace(/\s+/g, ' ')).join('\n'), probe_plan: probePlans.join('\n') } : {}), page_sql: page.text.replace(/\s+/g, ' '), page_params: page.params, page_plan: await run(page), count_sql: counts.length ? counts.map((c) => c.text.replace(/\s+/g, ' ')).join('\n') : '(counted by the probe or the page)', count_plan: (await Promise.all(counts.map(run))).join('\n') };
}

async function runCase(c, client, sqlc, tenantId) {
  const api = [];
  const sql = [];
  const sqlProbe = [];
  const sqlPage = [];
  const sqlCount = [];
  let mismatches = 0;
  let firstMismatch = null;
  let lastCursor = null;
  const compare = (items, ids) => {
    const got = items.map((i) => i.trace_id);
    if (got.length !== ids.length || got.some((id, k) => id !== ids[k])) {
      mismatches++;
      firstMismatch ??= { api: got, sql: ids };
    }
  };
  if (c.deep) {
    const q = c.q(0);
    // Warm-up: the first pages once.
    for (let k = 0, cursor = null; k < 3; k++) {
      const r = expectStatus(await client.request('GET', apiPath(q, cursor)), 200, c.name);
      await timeSql(sqlc, tenantId, q, cursor);
      cursor = r.pagination.next_cursor;
    }
    let cursor = null;
    for (let k = 0; k < (c.pages ?? args.pages); k++) {
      const { res, s } = await inTurn(k, () => client.request('GET', apiPath(q, cursor)), () => timeSql(sqlc, tenantId, q, cursor));
      const body = expectStatus(res, 200, c.name);
      api.push(res.ms);
      sql.push(s.ms);
      sqlProbe.push(s.probeMs);
      sqlPage.push(s.pageMs);
      sqlCount.push(s.countMs);
      compare(body.items, s.ids);
      lastCursor = cursor;
      cursor = body.pagination.next_cursor;
      if (!cursor) break;
    }
    return { api, sql, sqlProbe, sqlPage, sqlCount, mismatches, firstMismatch, explainQuery: q, explainCursor: lastCursor, pages: api.length };
  }
  // Warm-up: two runs, one when a run takes over a second.
  for (let k = 0; k < 2; k++) {
    const w = await client.request('GET', apiPath(c.q(k)));
    expectStatus(w, 200, c.name);
    await timeSql(sqlc, tenantId, c.q(k));
    if (w.ms > 1000) break;
  }
  let empty = 0;
  const start = performance.now();
  for (let k = 0; k < args.iterations; k++) {
    if (k >= args.minIterations && performance.now() - start > args.caseSeconds * 1000) break;
    const q = c.q(k);
    const { res, s } = await inTurn(k, () => client.request('GET', apiPath(q)), () => timeSql(sqlc, tenantId, q));
    const body = expectStatus(res, 200, c.name);
    api.push(res.ms);
    sql.push(s.ms);
    sqlProbe.push(s.probeMs);
    sqlPage.push(s.pageMs);
    sqlCount.push(s.countMs);
    compare(body.items, s.ids);
    if (body.items.length === 0) empty++;
  }
  return { api, sql, sqlProbe, sqlPage, sqlCount, mismatches, firstMismatch, empty, explainQuery: c.q(0), explainCursor: null };
}

// ------------------------------------------------------------------ main

await runBench(async (onCleanup) => {
  ensureBuilt(args.build);
  const machine = await machineInfo(args);
  printMachine(machine);

  let reused = false;
  if (args.reuse && (await databaseExists(args, args.db))) {
    const comment = await withClient(serverUrl(args), async (c) =>
      (await c.query(`SELECT shobj_description(oid, 'pg_database') AS d FROM pg_database WHERE datname = $1`, [args.db])).rows[0]?.d,
    );
    reused = comment === seedSignature();
    log(reused ? `reusing the seeded database ${args.db}` : `${args.db} exists but was not seeded with these sizes: seeding again`);
  }
  if (!reused) await createDatabase(args, args.db);
  onCleanup(async () => {
    if (args.keep) log(`kept database ${args.db} (${args.reuse ? '--reuse' : '--keep'}); drop it with: psql -c 'DROP DATABASE ${args.db}'`);
    else await dropDatabase(args, args.db);
  });

  const api = await startApi(args, args.db);
  onCleanup(() => api.stop());
  const owner = await connect(dbUrl(args, args.db));
  onCleanup(() => owner.end());
  const [{ tenant_id: tenantId }] = (await owner.query(`SELECT tenant_id FROM tenants WHERE name = 'development'`)).rows;

  let seedSeconds = null;
  if (!reused) seedSeconds = await seed(owner, tenantId);

  const sizes = (
    await owner.query(`SELECT (SELECT count(*) FROM aos_traces)::int AS traces, (SELECT count(*) FROM aos_traces WHERE tenant_id = $1)::int AS tenant_traces,
      (SELECT reltuples::bigint FROM pg_class WHERE relname = 'aos_trace_steps') AS steps_estimate,
      pg_size_pretty(pg_total_relation_size('aos_traces')) AS traces_size, pg_size_pretty(pg_total_relation_size('aos_trace_steps')) AS steps_size,
      pg_size_pretty(pg_database_size(current_database())) AS db_size`, [tenantId])
  ).rows[0];
  log(`data: ${fmtInt(sizes.traces)} traces (${fmtInt(sizes.tenant_traces)} in the measured tenant), ~${fmtInt(Number(sizes.steps_estimate))} steps; traces ${sizes.traces_size}, steps ${sizes.steps_size}, database ${sizes.db_size}`);

  const agents = (await owner.query(`SELECT agent_id, count(*) FROM aos_traces WHERE tenant_id = $1 GROUP BY 1 ORDER BY 2 DESC`, [tenantId])).rows.map((r) => r.agent_id);
  // The second tenant by size, with a key of its own.
  const second = (await owner.query(`SELECT tenant_id FROM aos_traces WHERE tenant_id <> $1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`, [tenantId])).rows[0]?.tenant_id;
  const agents2 = second
    ? (await owner.query(`SELECT agent_id, count(*) FROM aos_traces WHERE tenant_id = $1 GROUP BY 1 ORDER BY 2 DESC`, [second])).rows.map((r) => r.agent_id)
    : [];
  const secondKey = `${BENCH_API_KEY}_tenant_2`;
  if (second) {
    await owner.query(
      `INSERT INTO api_keys (id, tenant_id, name, role, key_hash, key_prefix)
       SELECT gen_random_uuid(), $1, 'bench tenant 2', 'admin', $2, left($3, 8)
       WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE key_hash = $2)`,
      [second, apiKeyHash(secondKey), secondKey],
    );
  }
  const policies = (await owner.query(`SELECT DISTINCT violation_policy_id AS p FROM aos_traces WHERE tenant_id = $1 AND violation_policy_id IS NOT NULL ORDER BY 1`, [tenantId])).rows.map((r) => r.p);

  // The bare SQL runs as the serving role with the tenant set, as the API's
  // transactions do (same row-level security, same plans), minus HTTP, NestJS,
  // TypeORM and the transaction wrapper.
  const sqlc = await connect(dbUrl(args, args.db), { role: 'aos_app', tenantId });
  // See logs.mjs: no shared seq scan start hint from the API's previous scan.
  await sqlc.query('SET synchronize_seqscans = off');
  onCleanup(() => sqlc.end());
  const client = httpClient(api.base, { apiKey: BENCH_API_KEY, sockets: 1 });
  onCleanup(() => client.close());
  const tenant2 = second
    ? { tenantId: second, sqlc: await connect(dbUrl(args, args.db), { role: 'aos_app', tenantId: second }), client: httpClient(api.base, { apiKey: secondKey, sockets: 1 }) }
    : null;
  if (tenant2) {
    await tenant2.sqlc.query('SET synchronize_seqscans = off');
    onCleanup(() => tenant2.sqlc.end());
    onCleanup(() => tenant2.client.close());
  }

  const all = cases({ agents, policies, days: args.days, agents2 }).filter((c) => !args.only || new RegExp(args.only, 'i').test(c.name));
  // Warm the API (V8 JIT, connection pool) and the caches before the first case.
  for (let k = 0; k < 40; k++) {
    const q = k % 2 ? { agent_id: agents[k % agents.length] } : {};
    expectStatus(await client.request('GET', apiPath(q)), 200, 'warm-up');
    await timeSql(sqlc, tenantId, q);
  }
  const results = [];
  for (const c of all) {
    const t = performance.now();
    const who = c.tenant === 2 ? tenant2 : { client, sqlc, tenantId };
    const r = await runCase(c, who.client, who.sqlc, who.tenantId);
    const a = summarize(r.api);
    const s = summarize(r.sql);
    const res = {
      name: c.name,
      deep: !!c.deep,
      n: r.api.length,
      api_ms: a,
      sql_ms: s,
      sql_probe_ms: summarize(r.sqlProbe),
      sql_page_ms: summarize(r.sqlPage),
      sql_count_ms: summarize(r.sqlCount),
      ratio_p50: a.p50 / s.p50,
      ratio_p95: a.p95 / s.p95,
      met: a.p95 < TARGET_P95_MS,
      result_mismatches: r.mismatches,
      ...(r.firstMismatch ? { first_mismatch: r.firstMismatch } : {}),
      empty_pages: r.empty ?? 0,
      last_page_api_ms: c.deep ? r.api[r.api.length - 1] : undefined,
      pages: r.pages,
    };
    if (!args.noExplain) res.explain = await explain(who.sqlc, who.tenantId, r.explainQuery, r.explainCursor);
    results.push(res);
    log(`${c.name}: API p50 ${fmt(a.p50)} p95 ${fmt(a.p95)} ms | SQL p50 ${fmt(s.p50)} p95 ${fmt(s.p95)} ms | n=${r.api.length} (${fmt((performance.now() - t) / 1000)} s)`);
  }

  process.stdout.write(
    `\nList queries, tenant with ${fmtInt(sizes.tenant_traces)} of ${fmtInt(sizes.traces)} traces (~${fmtInt(Number(sizes.steps_estimate))} steps), limit=${args.limit}; SQL = (search probe +) page + count statements of TraceStore.listTraces\n\n`,
  );
  process.stdout.write(
    table(
      ['case', 'n', 'API p50', 'API p95', 'SQL p50', 'SQL p95', '(probe / page / count p95)', 'ratio p50', 'ratio p95', `p95 < ${TARGET_P95_MS} ms`],
      results.map((r) => [
        r.name,
        r.n,
        fmt(r.api_ms.p50),
        fmt(r.api_ms.p95),
        fmt(r.sql_ms.p50),
        fmt(r.sql_ms.p95),
        `${r.sql_probe_ms.max > 0 ? `${fmt(r.sql_probe_ms.p95)} / ` : ''}${fmt(r.sql_page_ms.p95)} / ${fmt(r.sql_count_ms.p95)}`,
        fmt(r.ratio_p50, 2),
        fmt(r.ratio_p95, 2),
        r.met ? 'met' : 'MISSED',
      ]),
    ) + '\n\n',
  );
  const deep = results.filter((r) => r.deep);
  if (deep.length) {
    process.stdout.write(table(['deep case', 'pages', 'API page 1 ms', `API last page ms`, 'API max ms'], deep.map((r) => [r.name, r.pages, fmt(r.api_ms.min), fmt(r.last_page_api_ms), fmt(r.api_ms.max)])) + '\n\n');
  }
  // Every case has matching rows in the seeded data: an empty page means the seed
  // no longer fills what this schema filters or searches on.
  const empty = results.filter((r) => r.empty_pages);
  if (empty.length) process.stdout.write(`WARNING: empty pages in: ${empty.map((r) => `${r.name} (${r.empty_pages} of ${r.n})`).join(', ')}; does the seed fill what this schema searches?\n\n`);
  const bad = results.filter((r) => r.result_mismatches);
  if (bad.length) process.stdout.write(`WARNING: API and SQL answered different rows in: ${bad.map((r) => `${r.name} (${r.result_mismatches})`).join(', ')}\n\n`);
  for (const r of results.filter((x) => !x.met && x.explain)) {
    if (r.explain.probe_sql) process.stdout.write(`--- EXPLAIN ANALYZE, ${r.name}\nprobe: ${r.explain.probe_sql}\n${r.explain.probe_plan}\n`);
    process.stdout.write(`--- EXPLAIN ANALYZE, ${r.name}\npage: ${r.explain.page_sql}\n${r.explain.page_plan}\ncount: ${r.explain.count_sql}\n${r.explain.count_plan}\n\n`);
  }
  const missed = results.filter((r) => !r.met).length;
  process.stdout.write(`target p95 < ${TARGET_P95_MS} ms through the API: ${missed === 0 ? 'met in every case' : `MISSED in ${missed} of ${results.length} cases`}\n`);

  writeJson(args, 'list-queries', {
    bench: 'list-queries',
    at: new Date().toISOString(),
    machine,
    params: args,
    data: { ...sizes, seed_seconds: seedSeconds, reused },
    target_p95_ms: TARGET_P95_MS,
    cases: results,
  });
});
