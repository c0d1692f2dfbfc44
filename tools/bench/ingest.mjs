#!/usr/bin/env node
// HTTP ingestion benchmark: 2 KB steps in batches of 100 from 4 concurrent
// clients through POST /api/v1/traces/{id}/steps, against PostgreSQL COPY of
// the same rows (same columns, same JSON, same precomputed content hashes) into
// the same aos_trace_steps table. Target (issue): >= 10,000 steps/s sustained,
// p99 batch latency < 100 ms. See tools/bench/README.md.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import os from 'node:os';
import path from 'node:path';
import {
  backendPids,
  connect,
  cpuDelta,
  cpuSnapshot,
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
  requireFromRoot,
  runBench,
  startApi,
  summarize,
  table,
  writeJson,
} from './lib/common.mjs';
import { csvField, makeStep, rng, stepHasher, uuidLike, uuidv7 } from './lib/content.mjs';
import { domain } from './lib/store-sql.mjs';
import { printProfile, profiledApiOptions, startProfile, stopProfile, summarizeProfile } from './lib/profile.mjs';

const USAGE = `node tools/bench/ingest.mjs [options]

  --steps N            steps in the measured run (default 100000)
  --steps-per-trace N  steps of each trace (default 500: 5 batches, then complete)
  --batch N            steps per request (default 100)
  --clients N          concurrent HTTP clients (default 4)
  --step-bytes N       JSON size of one step (default 2048)
  --warmup-steps N     steps sent before measuring (default 20000)
  --max-seconds N      stop starting new traces after N s of the measured run (default 300)
  --copy-streams N     parallel COPY streams of the baseline (default 4)
  --copy-via WAY       pg (COPY FROM STDIN through pg-copy-streams) or psql (\\copy);
                       default pg when pg-copy-streams is installed, else psql
  --breakdown N        also COPY N of the rows into variants of the table (no search
                       column / no GIN index) to show where the time goes (default 20000; 0 = skip)
  --seed N             content seed (default 42)
  --db NAME            bench database (default aos_bench_ingest; dropped at the end)
  --keep               keep the database
  --build              rebuild the API first (else only when dist is missing)
  --cpu-prof           profile the API (V8 sampling) over the measured run and summarise it
  --json [FILE]        write results as JSON (default tools/bench/results/ingest-<time>.json)
  --pg-url URL         owner URL of the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres)
  --port N             API port (default: a free one)`;

const args = parseArgs(
  {
    steps: 100_000,
    stepsPerTrace: 500,
    batch: 100,
    clients: 4,
    stepBytes: 2048,
    warmupSteps: 20_000,
    maxSeconds: 300,
    copyStreams: 4,
    copyVia: '',
    breakdown: 20_000,
    seed: 42,
    db: 'aos_bench_ingest',
    keep: false,
    build: false,
    json: '',
    cpuProf: false,
    pgUrl: undefined,
    port: 0,
  },
  USAGE,
);

const COPY_COLUMNS = `step_id, trace_id, tenant_id, step_index, step_type, level, source, "timestamp", tokens, cost_cents, duration_ms, input_data, output_data, metadata, content_hash`;
const DAY = 86_400_000;

/**
 * One trace as a client will send it: the trace body, its batch bodies
 * (pre-serialised, so the clients spend no CPU building JSON while measured)
 * and the content hashes the service must answer.
 */
function planTraces(count, firstSeed, hash) {
  const traces = [];
  for (let t = 0; t < count; t++) {
    const r = rng(firstSeed + t * 7919);
    const startedMs = Date.now() - DAY + Math.floor(r() * DAY * 0.5);
    const trace = {
      run_id: uuidLike(r),
      agent_id: uuidLike(r),
      agent_name: `support-agent-${Math.floor(r() * 8)}`,
      started_at: new Date(startedMs).toISOString(),
      startedMs,
      batches: [],
      steps: [],
    };
    let ts = startedMs;
    for (let i = 0; i < args.stepsPerTrace; i++) {
      ts += 5 + Math.floor(r() * 40);
      const step = makeStep(r, i, ts, args.stepBytes);
      step.content_hash = hash(step);
      trace.steps.push(step);
    }
    for (let i = 0; i < trace.steps.length; i += args.batch) {
      const steps = trace.steps.slice(i, i + args.batch).map(({ content_hash, ...s }) => s);
      trace.batches.push({ from: i, count: steps.length, body: Buffer.from(JSON.stringify({ steps })) });
    }
    traces.push(trace);
  }
  return traces;
}

/** Sends traces from a shared queue with `clients` concurrent closed-loop clients. */
async function sendTraces(api, traces, { measure, deadline }) {
  const client = httpClient(api.base, { sockets: args.clients });
  const queue = [...traces];
  const batchMs = [];
  const createMs = [];
  const completeMs = [];
  const done = []; // [ms since start, steps]
  let steps = 0;
  let hashMismatches = 0;
  let tracesSent = 0;
  const start = performance.now();
  async function worker() {
    for (;;) {
      if (deadline && performance.now() - start > deadline) return;
      const t = queue.shift();
      if (!t) return;
      const created = await client.request('POST', '/api/v1/traces', {
        run_id: t.run_id,
        agent_id: t.agent_id,
        agent_name: t.agent_name,
        started_at: t.started_at,
      });
      const trace = expectStatus(created, 201, 'POST /api/v1/traces');
      createMs.push(created.ms);
      for (const b of t.batches) {
        const res = await client.request('POST', `/api/v1/traces/${trace.trace_id}/steps`, b.body);
        const body = expectStatus(res, 201, 'POST /api/v1/traces/{id}/steps');
        batchMs.push(res.ms);
        steps += b.count;
        done.push([performance.now() - start, b.count]);
        for (let k = 0; k < body.steps.length; k++) {
          if (body.steps[k].content_hash !== t.steps[body.steps[k].step_index].content_hash) hashMismatches++;
        }
      }
      const completed = await client.request('POST', `/api/v1/traces/${trace.trace_id}/complete`, { status: 'completed' });
      expectStatus(completed, 200, 'POST /api/v1/traces/{id}/complete');
      completeMs.push(completed.ms);
      tracesSent++;
    }
  }
  await Promise.all(Array.from({ length: args.clients }, worker));
  const seconds = (performance.now() - start) / 1000;
  client.close();
  if (!measure) return null;
  // Throughput per 5-second window (the last, partial window is left out).
  const windows = [];
  for (const [ms, n] of done) {
    const w = Math.floor(ms / 5000);
    windows[w] = (windows[w] ?? 0) + n;
  }
  const full = windows.slice(0, Math.floor((seconds * 1000) / 5000)).map((n) => (n ?? 0) / 5);
  return { steps, seconds, tracesSent, batchMs, createMs, completeMs, windowRates: full, hashMismatches, unsent: queue.length };
}

/** Writes the traces' rows as CSV files, one per COPY stream. */
async function writeCopyFiles(dir, traces, tenantId, streams) {
  const files = [];
  const outs = [];
  for (let s = 0; s < streams; s++) {
    const f = path.join(dir, `steps-${s}.csv`);
    files.push(f);
    outs.push(createWriteStream(f));
  }
  const r = rng(args.seed + 1);
  const traceRows = [];
  traces.forEach((t, idx) => {
    const traceId = uuidv7(t.startedMs, r);
    traceRows.push({ trace_id: traceId, run_id: uuidLike(r), agent_id: t.agent_id, agent_name: t.agent_name, started_at: t.started_at });
    const out = outs[idx % streams];
    let chunk = '';
    for (const s of t.steps) {
      chunk +=
        [
          uuidv7(Date.parse(s.timestamp), r),
          traceId,
          tenantId,
          s.step_index,
          s.step_type,
          s.level,
          s.source,
          s.timestamp,
          s.tokens,
          s.cost_cents,
          s.duration_ms,
          s.input_data,
          s.output_data,
          s.metadata,
          s.content_hash,
        ]
          .map(csvField)
          .join(',') + '\n';
    }
    out.write(chunk);
  });
  await Promise.all(outs.map((o) => new Promise((res, rej) => o.end((e) => (e ? rej(e) : res())))));
  return { files, traceRows };
}

function psqlCopy(url, file, tableName = 'aos_trace_steps') {
  return new Promise((resolve, reject) => {
    const p = spawn('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ${tableName} (${COPY_COLUMNS}) FROM '${file}' WITH (FORMAT csv)`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql \\copy failed (${code}): ${err}`))));
  });
}

let copyFrom = null;
try {
  copyFrom = requireFromRoot('pg-copy-streams').from;
} catch {
  /* not installed: psql */
}
const copyVia = args.copyVia || (copyFrom ? 'pg' : 'psql');
if (copyVia === 'pg' && !copyFrom) throw new Error('--copy-via pg needs pg-copy-streams in node_modules');
const COPY_METHOD = copyVia === 'pg' ? 'COPY FROM STDIN (node-pg + pg-copy-streams)' : 'psql \\copy';

/** COPY one CSV file into a table, on its own connection. */
async function copyFile(url, file, tableName = 'aos_trace_steps') {
  if (copyVia === 'psql') return psqlCopy(url, file, tableName);
  const pg = requireFromRoot('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), c.query(copyFrom(`COPY ${tableName} (${COPY_COLUMNS}) FROM STDIN WITH (FORMAT csv)`)));
  } finally {
    await c.end();
  }
}

/** Waits until aos_step_search_queue is empty; answers the seconds waited. */
async function drainQueue(owner, maxSeconds) {
  const t0 = performance.now();
  for (;;) {
    const [{ n }] = (await owner.query(`SELECT count(*)::int AS n FROM aos_step_search_queue`)).rows;
    if (n === 0) return (performance.now() - t0) / 1000;
    if ((performance.now() - t0) / 1000 > maxSeconds) throw new Error(`aos_step_search_queue still holds ${n} batches after ${maxSeconds} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const queueSize = async (owner) =>
  (await owner.query(`SELECT count(*)::int AS batches, coalesce(sum(last_step_index - first_step_index + 1), 0)::int AS steps FROM aos_step_search_queue`)).rows[0];
const searchSize = async (owner) =>
  (
    await owner.query(
      // A batch may be indexed in several parts (migration 1770700000000): each batch once.
      `SELECT count(*)::int AS batches, coalesce(sum(last_step_index - first_step_index + 1), 0)::int AS steps
       FROM (SELECT DISTINCT trace_id, first_step_index, last_step_index FROM aos_step_search) b`,
    )
  ).rows[0];

async function measureIndexer(owner, httpSeconds) {
  const exists = (await owner.query(`SELECT to_regclass('aos_step_search_queue') IS NOT NULL AS x`)).rows[0].x;
  if (!exists) return null;
  const q = await queueSize(owner);
  const s = await searchSize(owner);
  const during = { batches: s.batches - (globalThis.__searchBefore?.batches ?? 0), steps: s.steps - (globalThis.__searchBefore?.steps ?? 0), seconds: httpSeconds };
  log(`indexer: ${fmtInt(during.batches)} batches indexed during the HTTP phase, ${fmtInt(q.batches)} queued at its end`);
  const backlogSeconds = await drainQueue(owner, 600);
  const backlog = { batches: q.batches, steps: q.steps, seconds: backlogSeconds };
  // Re-queue the batches indexed since the measured phase began (owner: bypasses RLS).
  const moved = (
    await owner.query(
      `WITH d AS (DELETE FROM aos_step_search WHERE indexed_at >= $1 RETURNING tenant_id, trace_id, first_step_index, last_step_index)
       SELECT count(*)::int AS batches, coalesce(sum(last_step_index - first_step_index + 1), 0)::int AS steps, json_agg(d) AS rows
       FROM (SELECT DISTINCT tenant_id, trace_id, first_step_index, last_step_index FROM d) d`,
      [globalThis.__httpStartedAt],
    )
  ).rows[0];
  await owner.query('CHECKPOINT');
  const cpu0 = cpuSnapshot(globalThis.__apiPid, backendPids(args.db));
  const t0 = performance.now();
  await owner.query(
    `INSERT INTO aos_step_search_queue (trace_id, tenant_id, first_step_index, last_step_index)
     SELECT trace_id, tenant_id, first_step_index, last_step_index FROM json_to_recordset($1::json) AS r(tenant_id uuid, trace_id uuid, first_step_index int, last_step_index int)`,
    [JSON.stringify(moved.rows ?? [])],
  );
  const aloneSeconds = await drainQueue(owner, 600);
  const cpu = cpuDelta(cpu0, cpuSnapshot(globalThis.__apiPid, [...new Set([...Object.keys(cpu0.backends).map(Number), ...backendPids(args.db)])]));
  const alone = { batches: moved.batches, steps: moved.steps, seconds: aloneSeconds, cpu };
  log(`indexer alone: ${fmtInt(moved.batches / aloneSeconds)} batches/s, ${fmtInt(moved.steps / aloneSeconds)} steps/s`);
  const left = await queueSize(owner);
  const rows = (await owner.query(`SELECT count(*)::int AS n FROM aos_step_search WHERE indexed_at >= $1`, [globalThis.__httpStartedAt])).rows[0].n;
  return { during, backlog, alone, search_rows: rows, queue_left: left.batches };
}

await runBench(async (onCleanup) => {
  ensureBuilt(args.build);
  const machine = await machineInfo(args);
  printMachine(machine);
  const hash = stepHasher(domain());

  await createDatabase(args, args.db);
  onCleanup(async () => {
    if (args.keep) log(`kept database ${args.db} (--keep)`);
    else await dropDatabase(args, args.db);
  });
  const profileFile = path.join(os.tmpdir(), 'aos-bench', `ingest-api-${Date.now()}.cpuprofile`);
  const api = await startApi(args, args.db, args.cpuProf ? profiledApiOptions(profileFile) : {});
  onCleanup(() => api.stop());
  const owner = await connect(dbUrl(args, args.db));
  onCleanup(() => owner.end());
  const [{ tenant_id: tenantId }] = (await owner.query(`SELECT tenant_id FROM tenants WHERE name = 'development'`)).rows;

  const measuredTraces = Math.ceil(args.steps / args.stepsPerTrace);
  const warmupTraces = Math.ceil(args.warmupSteps / args.stepsPerTrace);
  log(`generating ${fmtInt(measuredTraces + warmupTraces)} traces x ${args.stepsPerTrace} steps of ~${args.stepBytes} B (content hashes precomputed)`);
  const warmup = planTraces(warmupTraces, args.seed * 1_000_003, hash);
  const measured = planTraces(measuredTraces, args.seed, hash);
  const sample = JSON.stringify(measured[0].batches[0].body.toString()).length;
  const stepSize = measured.flatMap((t) => t.steps.slice(0, 20)).map(({ content_hash, ...s }) => JSON.stringify(s).length);
  const avgStepBytes = stepSize.reduce((a, b) => a + b, 0) / stepSize.length;
  log(`generated; one batch body is ~${fmtInt(sample / 1024)} KiB, a step ~${fmtInt(avgStepBytes)} B`);

  const tmp = path.join(os.tmpdir(), `aos-bench-ingest-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  const { files, traceRows } = await writeCopyFiles(tmp, measured, tenantId, args.copyStreams);
  log(`wrote the COPY baseline rows to ${args.copyStreams} CSV file(s) in ${tmp}`);
  let breakdownFile = null;
  if (args.breakdown > 0) {
    const n = Math.ceil(args.breakdown / args.stepsPerTrace);
    const sub = planTraces(n, args.seed * 7 + 3, hash);
    const dir = path.join(tmp, 'breakdown');
    mkdirSync(dir, { recursive: true });
    breakdownFile = (await writeCopyFiles(dir, sub, tenantId, 1)).files[0];
  }

  log(`warm-up: ${fmtInt(warmupTraces * args.stepsPerTrace)} steps over HTTP`);
  await sendTraces(api, warmup, { measure: false });
  // The warm-up's search-index backlog is drained before anything is measured.
  await drainQueue(owner, 300);

  // Baseline first: it then loads into the smaller table (conservative for our ratio).
  await owner.query('CHECKPOINT');
  await owner.query(
    `INSERT INTO aos_traces (trace_id, tenant_id, run_id, agent_id, agent_name, started_at)
     SELECT r.trace_id, $1, r.run_id, r.agent_id, r.agent_name, r.started_at
     FROM jsonb_to_recordset($2::jsonb) AS r(trace_id uuid, run_id uuid, agent_id uuid, agent_name text, started_at timestamptz)`,
    [tenantId, JSON.stringify(traceRows)],
  );
  log(`baseline: COPY of ${fmtInt(measuredTraces * args.stepsPerTrace)} rows in ${args.copyStreams} parallel stream(s), ${COPY_METHOD}`);
  const c0 = performance.now();
  await Promise.all(files.map((f) => copyFile(dbUrl(args, args.db), f)));
  const copySeconds = (performance.now() - c0) / 1000;
  const copySteps = measuredTraces * args.stepsPerTrace;
  log(`baseline: ${fmtInt(copySteps / copySeconds)} steps/s (${fmt(copySeconds, 2)} s)`);
  await owner.query('CHECKPOINT');

  // Where the COPY time goes: the same rows into copies of the table without
  // the generated search column, and with it but without its GIN index.
  const breakdown = [];
  if (breakdownFile) {
    const n = Math.ceil(args.breakdown / args.stepsPerTrace) * args.stepsPerTrace;
    // Built from what the schema has, so the breakdown follows schema changes.
    const generated = (
      await owner.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'aos_trace_steps'::regclass AND attgenerated = 's' AND NOT attisdropped`)
    ).rows.map((r) => r.attname);
    const gins = (await owner.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'aos_trace_steps' AND indexdef ILIKE '%USING gin%'`)).rows.length;
    const variants = [];
    if (generated.length || gins) {
      const gen = generated.join(', ') || 'no generated column';
      variants.push(['bench_copy_plain', `without ${gen} and GIN index (primary key and unique index kept)`, `CREATE TABLE bench_copy_plain (LIKE aos_trace_steps INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`, true]);
      if (generated.length && gins) variants.push(['bench_copy_tsv', `${gen} generated, no GIN index`, `CREATE TABLE bench_copy_tsv (LIKE aos_trace_steps INCLUDING ALL)`, true]);
      variants.push(['bench_copy_full', `all columns and indexes of aos_trace_steps (without FK and triggers)`, `CREATE TABLE bench_copy_full (LIKE aos_trace_steps INCLUDING ALL)`, false]);
    } else {
      log('breakdown skipped: aos_trace_steps has no generated column and no GIN index');
    }
    for (const [name, what, ddl, dropGin] of variants) {
      await owner.query(ddl);
      if (dropGin) {
        const gin = await owner.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1 AND indexdef ILIKE '%USING gin%'`, [name]);
        for (const g of gin.rows) await owner.query(`DROP INDEX ${g.indexname}`);
      }
      await owner.query('CHECKPOINT');
      const t = performance.now();
      await copyFile(dbUrl(args, args.db), breakdownFile, name);
      const sec = (performance.now() - t) / 1000;
      breakdown.push({ table: name, what, steps: n, seconds: sec, steps_per_s: n / sec });
      log(`breakdown: ${name}: ${fmtInt(n / sec)} steps/s`);
      await owner.query(`DROP TABLE ${name}`);
    }
    await owner.query('CHECKPOINT');
  }

  log(`measured: ${fmtInt(measuredTraces * args.stepsPerTrace)} steps over HTTP, ${args.clients} clients, batches of ${args.batch}`);
  globalThis.__apiPid = api.pid;
  if ((await owner.query(`SELECT to_regclass('aos_step_search') IS NOT NULL AS x`)).rows[0].x) {
    await drainQueue(owner, 300);
    globalThis.__searchBefore = await searchSize(owner);
  }
  globalThis.__httpStartedAt = (await owner.query(`SELECT now() AS t`)).rows[0].t;
  const cpu0 = cpuSnapshot(api.pid, backendPids(args.db));
  if (args.cpuProf) startProfile(api);
  const http = await sendTraces(api, measured, { measure: true, deadline: args.maxSeconds * 1000 });
  const profile = args.cpuProf ? summarizeProfile(await stopProfile(api, profileFile)) : null;
  const cpu = cpuDelta(cpu0, cpuSnapshot(api.pid, [...new Set([...Object.keys(cpu0.backends).map(Number), ...backendPids(args.db)])]));
  const rate = http.steps / http.seconds;
  log(`measured: ${fmtInt(rate)} steps/s (${fmt(http.seconds, 2)} s)`);

  // Full-text indexing runs after the fact (StepSearchIndexer in the API process).
  // (a) the backlog left when the HTTP phase ends, drained while nothing else runs;
  // (b) the indexer alone: the measured batches are removed from aos_step_search,
  //     queued again, and drained by the API's indexer.
  const indexing = await measureIndexer(owner, http.seconds);

  // Both paths stored what they should.
  const [{ n: stored }] = (await owner.query(`SELECT count(*)::int AS n FROM aos_trace_steps`)).rows;
  const expected = warmupTraces * args.stepsPerTrace + copySteps + http.steps;
  if (stored !== expected) throw new Error(`aos_trace_steps holds ${stored} rows, expected ${expected}`);
  if (http.hashMismatches) throw new Error(`${http.hashMismatches} content hashes answered by the API differ from the precomputed ones`);

  const b = summarize(http.batchMs);
  const cr = summarize(http.createMs);
  const cp = summarize(http.completeMs);
  const copyRate = copySteps / copySeconds;
  const ratio = rate / copyRate;
  const win = summarize(http.windowRates);
  const targetRate = rate >= 10_000;
  const targetP99 = b.p99 < 100;

  const rows = [
    [`HTTP API (${args.clients} clients, batches of ${args.batch})`, fmtInt(http.steps), fmt(http.seconds, 2), fmtInt(rate), fmt(b.p50), fmt(b.p95), fmt(b.p99), fmt(b.max), fmt(ratio, 3)],
    [`PostgreSQL COPY (${args.copyStreams} streams, ${copyVia === 'pg' ? 'FROM STDIN' : 'psql \\copy'})`, fmtInt(copySteps), fmt(copySeconds, 2), fmtInt(copyRate), '–', '–', '–', '–', '1.000'],
  ];
  process.stdout.write(`\nIngestion of ~${fmtInt(avgStepBytes)} B steps (${args.stepsPerTrace} steps per trace; trace create and complete included in the HTTP time)\n\n`);
  process.stdout.write(table(['path', 'steps', 'seconds', 'steps/s', 'batch p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'ratio vs COPY'], rows) + '\n\n');
  process.stdout.write(
    table(
      ['HTTP detail', 'value'],
      [
        ['steps/s per 5 s window: min / median / max', `${fmtInt(win.min)} / ${fmtInt(win.p50)} / ${fmtInt(win.max)}`],
        ['POST /traces p50 / p99 ms', `${fmt(cr.p50)} / ${fmt(cr.p99)}`],
        ['POST /complete p50 / p99 ms', `${fmt(cp.p50)} / ${fmt(cp.p99)}`],
        ['traces sent (unsent at the time cap)', `${http.tracesSent} (${http.unsent})`],
        ['content hashes equal to the precomputed ones', http.hashMismatches === 0 ? 'yes' : `no (${http.hashMismatches})`],
        [
          'CPU s per 10k steps: API / PostgreSQL (bench DB processes) / client / rest of machine',
          [cpu.api_s, cpu.pg_backends_s, cpu.client_s, cpu.other_s].map((x) => fmt((x * 10_000) / http.steps, 2)).join(' / '),
        ],
        ['machine CPU busy during the run', `${fmt((100 * cpu.machine_busy_s) / cpu.wall_s / machine.cpus, 0)} % of ${machine.cpus} CPUs`],
      ],
    ) + '\n\n',
  );
  if (breakdown.length) {
    process.stdout.write(`Where COPY time goes (${fmtInt(breakdown[0].steps)} rows, 1 stream, scratch tables LIKE aos_trace_steps)\n\n`);
    process.stdout.write(
      table(
        ['table', 'steps/s', 'vs plain'],
        breakdown.map((x) => [x.what, fmtInt(x.steps_per_s), fmt(x.steps_per_s / breakdown[0].steps_per_s, 3)]),
      ) + '\n\n',
    );
  }
  if (indexing) {
    process.stdout.write('Step search indexer (StepSearchIndexer in the API process, aos_index_step_search, 200 batches per call)\n\n');
    process.stdout.write(
      table(
        ['phase', 'batches', 'steps', 'seconds', 'batches/s', 'steps/s'],
        [
          ['during the HTTP phase (concurrent with ingest)', fmtInt(indexing.during.batches), fmtInt(indexing.during.steps), fmt(indexing.during.seconds, 2), fmtInt(indexing.during.batches / indexing.during.seconds), fmtInt(indexing.during.steps / indexing.during.seconds)],
          ['backlog at the end of the HTTP phase, drained', fmtInt(indexing.backlog.batches), fmtInt(indexing.backlog.steps), fmt(indexing.backlog.seconds, 2), indexing.backlog.batches ? fmtInt(indexing.backlog.batches / indexing.backlog.seconds) : '–', indexing.backlog.steps ? fmtInt(indexing.backlog.steps / indexing.backlog.seconds) : '–'],
          ['re-queued measured batches, indexer alone', fmtInt(indexing.alone.batches), fmtInt(indexing.alone.steps), fmt(indexing.alone.seconds, 2), fmtInt(indexing.alone.batches / indexing.alone.seconds), fmtInt(indexing.alone.steps / indexing.alone.seconds)],
        ],
      ) + '\n',
    );
    process.stdout.write(`search rows for the measured traces: ${fmtInt(indexing.search_rows)}; queue left: ${indexing.queue_left}; API / PostgreSQL CPU s during the solo drain: ${fmt(indexing.alone.cpu.api_s, 2)} / ${fmt(indexing.alone.cpu.pg_backends_s, 2)}\n\n`);
  }
  if (profile) printProfile(profile);
  process.stdout.write(
    table(
      ['target', 'required', 'measured', 'result'],
      [
        ['sustained steps/s', '>= 10,000', fmtInt(rate), targetRate ? 'met' : 'MISSED'],
        ['p99 batch latency', '< 100 ms', `${fmt(b.p99)} ms`, targetP99 ? 'met' : 'MISSED'],
      ],
    ) + '\n',
  );

  writeJson(args, 'ingest', {
    bench: 'ingest',
    at: new Date().toISOString(),
    machine,
    params: { ...args, avg_step_bytes: Math.round(avgStepBytes) },
    http: {
      steps: http.steps,
      seconds: http.seconds,
      steps_per_s: rate,
      batch_ms: b,
      create_trace_ms: cr,
      complete_trace_ms: cp,
      window_steps_per_s: http.windowRates,
      traces: http.tracesSent,
      unsent_traces: http.unsent,
    },
    copy: { steps: copySteps, seconds: copySeconds, steps_per_s: copyRate, streams: args.copyStreams, method: COPY_METHOD },
    ratio_vs_copy: ratio,
    cpu,
    copy_breakdown: breakdown,
    step_search_indexer: indexing,
    api_profile: profile,
    targets: { steps_per_s: { required: 10000, met: targetRate }, p99_batch_ms: { required: 100, met: targetP99 } },
  });
});
