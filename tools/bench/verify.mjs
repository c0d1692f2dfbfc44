#!/usr/bin/env node
// Verify benchmark: GET /api/v1/logs/llm-runs/{id}/verify of a sealed trace of
// 10,000 steps of ~2 KB, against the bare SQL of verify (the range statements
// TraceStore.verifyTrace issues, captured from the built code) and the bare
// fetch of the steps with their data (TraceStore.getTraceWithSteps's statement).
// Target (issue): under 200 ms. See tools/bench/README.md.
import os from 'node:os';
import path from 'node:path';
import {
  connect,
  createDatabase,
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
  writeJson,
} from './lib/common.mjs';
import { makeStep, rng, uuidLike } from './lib/content.mjs';
import { domain, traceStepsSql, verifyTraceSql } from './lib/store-sql.mjs';
import { printProfile, profiledApiOptions, startProfile, stopProfile, summarizeProfile } from './lib/profile.mjs';

const USAGE = `node tools/bench/verify.mjs [options]

  --steps N        steps of the trace (default 10000)
  --step-bytes N   JSON size of one step (default 2048)
  --runs N         measured verifications, API and SQL alternating (default 20)
  --warmup N       unmeasured runs first (default 2)
  --batch N        steps per request while recording the trace (default 500)
  --seed N         content seed (default 7)
  --db NAME        bench database (default aos_bench_verify; dropped at the end)
  --keep           keep the database
  --cpu-prof       profile the API (V8 sampling) over the measured runs and summarise it
  --build          rebuild the API first (else only when dist is missing)
  --json [FILE]    write results as JSON (default tools/bench/results/verify-<time>.json)
  --pg-url URL     owner URL of the PostgreSQL server
  --port N         API port (default: a free one)`;

const args = parseArgs(
  {
    steps: 10_000,
    stepBytes: 2048,
    runs: 20,
    warmup: 2,
    batch: 500,
    seed: 7,
    db: 'aos_bench_verify',
    keep: false,
    cpuProf: false,
    build: false,
    json: '',
    pgUrl: undefined,
    port: 0,
  },
  USAGE,
);
const TARGET_MS = 200;

await runBench(async (onCleanup) => {
  ensureBuilt(args.build);
  const machine = await machineInfo(args);
  printMachine(machine);
  await createDatabase(args, args.db);
  onCleanup(async () => {
    if (args.keep) log(`kept database ${args.db} (--keep)`);
    else await dropDatabase(args, args.db);
  });
  const profileFile = path.join(os.tmpdir(), 'aos-bench', `verify-api-${Date.now()}.cpuprofile`);
  const api = await startApi(args, args.db, args.cpuProf ? profiledApiOptions(profileFile) : {});
  onCleanup(() => api.stop());
  const owner = await connect(dbUrl(args, args.db));
  onCleanup(() => owner.end());
  const [{ tenant_id: tenantId }] = (await owner.query(`SELECT tenant_id FROM tenants WHERE name = 'development'`)).rows;
  const client = httpClient(api.base, { sockets: 1 });
  onCleanup(() => client.close());

  // The trace: recorded through the API, then sealed.
  const r = rng(args.seed);
  const startedMs = Date.now() - 3600_000;
  const trace = expectStatus(
    await client.request('POST', '/api/v1/traces', { run_id: uuidLike(r), agent_id: uuidLike(r), agent_name: 'support-agent', started_at: new Date(startedMs).toISOString() }),
    201,
    'POST /api/v1/traces',
  );
  log(`recording ${fmtInt(args.steps)} steps of ~${args.stepBytes} B through the API`);
  let ts = startedMs;
  let bytes = 0;
  for (let i = 0; i < args.steps; i += args.batch) {
    const steps = [];
    for (let k = i; k < Math.min(args.steps, i + args.batch); k++) {
      ts += 5 + Math.floor(r() * 200);
      const s = makeStep(r, k, ts, args.stepBytes);
      bytes += JSON.stringify(s).length;
      steps.push(s);
    }
    expectStatus(await client.request('POST', `/api/v1/traces/${trace.trace_id}/steps`, { steps }), 201, 'POST steps');
  }
  const sealed = expectStatus(await client.request('POST', `/api/v1/traces/${trace.trace_id}/complete`, { status: 'completed' }), 200, 'POST complete');
  log(`trace ${trace.trace_id} sealed: ${fmtInt(sealed.step_count)} steps, ${fmt(bytes / 2 ** 20)} MiB of step JSON`);
  await owner.query('VACUUM (ANALYZE) aos_trace_steps');
  await owner.query('CHECKPOINT');

  // The bare fetch, as the serving role with the tenant set (same row-level security as the API).
  const sqlc = await connect(dbUrl(args, args.db), { role: 'aos_app', tenantId });
  onCleanup(() => sqlc.end());
  const stmt = await traceStepsSql(tenantId, trace.trace_id);
  const verifyStmts = await verifyTraceSql(tenantId, trace.trace_id, sealed.step_count);
  const verifyPath = `/api/v1/logs/llm-runs/${trace.trace_id}/verify`;

  const runOnce = async () => {
    const res = await client.request('GET', verifyPath);
    const body = expectStatus(res, 200, 'GET verify');
    if (body.verified !== true || body.steps.length !== args.steps) throw new Error(`verify answered verified=${body.verified} with ${body.steps.length} steps`);
    const t0 = performance.now();
    const rows = (await sqlc.query(stmt.text, stmt.params)).rows;
    const sqlMs = performance.now() - t0;
    if (rows.length !== args.steps) throw new Error(`the bare fetch answered ${rows.length} rows`);
    // The bare SQL of verify itself: its range statements, one after another in one snapshot.
    const t1 = performance.now();
    await sqlc.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let matched = 0;
    for (const v of verifyStmts) matched += (await sqlc.query(v.text, v.params)).rows.filter((x) => x.hash_as_stored === x.content_hash).length;
    await sqlc.query('COMMIT');
    const verifySqlMs = performance.now() - t1;
    if (matched !== args.steps) throw new Error(`the bare verify SQL matched ${matched} of ${args.steps} steps as stored`);
    return { apiMs: res.ms, sqlMs, verifySqlMs, bytes: res.bytes, rows };
  };
  for (let k = 0; k < args.warmup; k++) await runOnce();
  log(`measuring ${args.runs} verifications`);
  const apiMs = [];
  const sqlMs = [];
  const verifySqlMs = [];
  let responseBytes = 0;
  let rows = null;
  if (args.cpuProf) startProfile(api);
  for (let k = 0; k < args.runs; k++) {
    const x = await runOnce();
    apiMs.push(x.apiMs);
    sqlMs.push(x.sqlMs);
    verifySqlMs.push(x.verifySqlMs);
    responseBytes = x.bytes;
    rows = x.rows;
  }
  const profile = args.cpuProf ? summarizeProfile(await stopProfile(api, profileFile)) : null;

  // Where the time goes, in this process: recomputing the hashes of the fetched rows
  // with the service's own code, and serialising the answer.
  const { verifyTraceIntegrity } = domain();
  const hashMs = [];
  const jsonMs = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    const v = verifyTraceIntegrity({ content_hash: sealed.content_hash, step_count: sealed.step_count }, rows);
    const t1 = performance.now();
    JSON.stringify(v);
    jsonMs.push(performance.now() - t1);
    hashMs.push(t1 - t0);
    if (!v.verified) throw new Error('in-process verification failed');
  }

  const a = summarize(apiMs);
  const s = summarize(sqlMs);
  const v = summarize(verifySqlMs);
  const h = summarize(hashMs);
  const j = summarize(jsonMs);
  const met = a.p95 < TARGET_MS;
  process.stdout.write(`\nVerify of a sealed trace of ${fmtInt(args.steps)} steps (~${fmtInt(bytes / args.steps)} B each, ${fmt(bytes / 2 ** 20)} MiB); answer ${fmt(responseBytes / 2 ** 20, 2)} MiB\n\n`);
  process.stdout.write(
    table(
      ['path', 'runs', 'p50 ms', 'p95 ms', 'max ms', 'ratio p50', 'ratio p95'],
      [
        ['GET /verify (API)', a.n, fmt(a.p50), fmt(a.p95), fmt(a.max), fmt(a.p50 / v.p50, 2), fmt(a.p95 / v.p95, 2)],
        [`bare SQL of verify: its ${verifyStmts.length} range statements (node-pg)`, v.n, fmt(v.p50), fmt(v.p95), fmt(v.max), '1.00', '1.00'],
        ['bare SQL: fetch the steps with their data (node-pg, rows parsed)', s.n, fmt(s.p50), fmt(s.p95), fmt(s.max), fmt(s.p50 / v.p50, 2), fmt(s.p95 / v.p95, 2)],
      ],
    ) + '\n\n',
  );
  process.stdout.write(
    table(
      ['in-process breakdown (this process, same code as the API)', 'p50 ms'],
      [
        ['recompute 10k step hashes + trace hash (logs-domain verifyTraceIntegrity)', fmt(h.p50)],
        ['JSON.stringify of the answer', fmt(j.p50)],
      ],
    ) + '\n\n',
  );
  if (profile) printProfile(profile);
  process.stdout.write(table(['target', 'required', 'measured (API p95)', 'result'], [['verify of 10k steps', `< ${TARGET_MS} ms`, `${fmt(a.p95)} ms`, met ? 'met' : 'MISSED']]) + '\n');

  writeJson(args, 'verify', {
    bench: 'verify',
    at: new Date().toISOString(),
    machine,
    params: args,
    trace: { steps: sealed.step_count, step_json_bytes: bytes, response_bytes: responseBytes },
    api_ms: a,
    sql_fetch_ms: s,
    sql_verify_ms: v,
    ratio_p50: a.p50 / v.p50,
    ratio_p95: a.p95 / v.p95,
    ratio_to_fetch_p50: a.p50 / s.p50,
    ratio_to_fetch_p95: a.p95 / s.p95,
    in_process_hash_ms: h,
    in_process_json_ms: j,
    api_profile: profile,
    target_ms: TARGET_MS,
    met,
  });
});
