#!/usr/bin/env node
// System and audit logs benchmark (issue 3 targets):
//  1. system log ingestion, POST /api/v1/logs/system with {logs: [1000]}, 4 clients:
//     >= 20,000 logs/s; baseline COPY of the same rows into system_logs;
//  2. audit single-row writes, POST /api/v1/logs/audit, sequential and 4 concurrent:
//     p99 < 20 ms; baseline a single-row INSERT through node-pg (as the serving role);
//  3. full-text search over 5M system logs with a 7-day range: p95 < 200 ms;
//  4. filtered lists (level, source, time range, deep cursor pages): p95 < 20 ms;
//     baseline for 3 and 4: the page and count SQL of SystemLogStore.list,
//     captured from the built code, run bare as the serving role.
// See tools/bench/README.md.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  BENCH_API_KEY,
  backendPids,
  connect,
  cpuDelta,
  cpuSnapshot,
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
  writeJson,
  inTurn,
} from './lib/common.mjs';
import { rng } from './lib/content.mjs';
import { systemLogListSql } from './lib/store-sql.mjs';
import { MARKERS, SOURCES, copySystemLogs, lit, makeLog, seedSystemLogs } from './lib/syslog.mjs';
import { printProfile, profiledApiOptions, startProfile, stopProfile, summarizeProfile } from './lib/profile.mjs';

const USAGE = `node tools/bench/logs.mjs [options]

  --logs N             system logs seeded with SQL for search and lists (default 5000000)
  --days N             seeded logs spread over N days up to now (default 35)
  --ingest N           logs sent over HTTP in the measured ingestion (default 200000)
  --batch N            logs per POST /api/v1/logs/system (default 1000, the maximum)
  --clients N          concurrent ingestion clients (default 4)
  --audit N            audit writes per mode (sequential; concurrent in total) (default 1000)
  --audit-clients N    concurrent audit writers (default 4)
  --iterations N       runs per query case (default 40)
  --case-seconds N     time budget per query case (default 30)
  --pages N            pages walked by the deep cursor cases (default 200)
  --only REGEX         run only the phases/cases whose name matches (ingest, audit, query case names)
  --reuse              reuse the seeded database if it exists with the same sizes (implies --keep)
  --keep               keep the database
  --db NAME            bench database (default aos_bench_logs)
  --seed-workers N     parallel seeding sessions (default 2)
  --build              rebuild the API first
  --json [FILE]        write results as JSON (default tools/bench/results/logs-<time>.json)
  --pg-url URL         owner URL of the PostgreSQL server
  --port N             API port (default: a free one)
  --cpu-prof           profile the API (V8 sampling) over the measured ingestion and summarise it`;

const args = parseArgs(
  {
    logs: 5_000_000,
    days: 35,
    ingest: 200_000,
    warmup: 20_000,
    batch: 1000,
    clients: 4,
    audit: 1000,
    auditClients: 4,
    iterations: 40,
    caseSeconds: 30,
    minIterations: 3,
    pages: 200,
    limit: 50,
    only: '',
    reuse: false,
    keep: false,
    db: 'aos_bench_logs',
    seedWorkers: 2,
    build: false,
    json: '',
    pgUrl: undefined,
    port: 0,
    cpuProf: false,
  },
  USAGE,
);
if (args.reuse) args.keep = true;
const only = args.only ? new RegExp(args.only, 'i') : null;
const wanted = (name) => !only || only.test(name);

const PLATFORM_KEY = 'aos_bench_platform_key_do_not_use_in_production';
const PROFILE_FILE = `/tmp/aos-bench/logs-ingest-${process.pid}.cpuprofile`;
const SEED_VERSION = 3; // v3: system_logs_search (search off the insert path) with level, source, day lexemes
const seedSignature = () => `aos-bench-logs v${SEED_VERSION} logs=${args.logs} days=${args.days}`;
// ------------------------------------------------------------------ content

// ------------------------------------------------------------------ 1. ingestion

/** Logs waiting for the system-log search indexer (queued by the insert trigger). */
async function backlog(owner) {
  return Number((await owner.query(`SELECT coalesce(sum(cardinality(log_ids)), 0)::bigint AS n FROM system_logs_search_queue`)).rows[0].n);
}

/** Waits until the API's indexer has emptied the queue; answers seconds. */
async function waitForIndexer(owner, what, timeoutS = 900) {
  const t0 = performance.now();
  for (let n = await backlog(owner); n > 0; n = await backlog(owner)) {
    if (performance.now() - t0 > timeoutS * 1000) throw new Error(`the search indexer left ${n} logs queued after ${timeoutS} s (${what})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return (performance.now() - t0) / 1000;
}

async function ingestion(api, owner, tenant, key) {
  const r = rng(11);
  const mk = (n, t0) => {
    const bodies = [];
    const logs = [];
    for (let b = 0; b < n / args.batch; b++) {
      const batch = Array.from({ length: args.batch }, (_, k) => makeLog(r, new Date(t0 + (b * args.batch + k) * 3)));
      logs.push(...batch);
      bodies.push(Buffer.from(JSON.stringify({ logs: batch })));
    }
    return { bodies, logs };
  };
  const now = Date.now();
  const warm = mk(args.warmup, now - 3_600_000);
  const measured = mk(args.ingest, now - 1_800_000);
  const avgBytes = measured.bodies[0].length / args.batch;
  log(`generated ${fmtInt(args.ingest)} logs (~${fmtInt(avgBytes)} B of JSON each), batches of ${args.batch}`);

  const client = httpClient(api.base, { apiKey: key, sockets: args.clients });
  const send = async (bodies, measure) => {
    const lat = [];
    const queue = bodies.map((b, i) => [b, i]);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: args.clients }, async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          const res = await client.request('POST', '/api/v1/logs/system', item[0], { parse: !measure });
          if (res.status !== 201) throw new Error(`POST /api/v1/logs/system: HTTP ${res.status} ${String(res.body).slice(0, 300)}`);
          lat.push(res.ms);
        }
      }),
    );
    return { seconds: (performance.now() - t0) / 1000, lat };
  };
  log(`warm-up: ${fmtInt(args.warmup)} logs over HTTP`);
  await send(warm.bodies, false);
  log(`warm-up indexed in ${fmt(await waitForIndexer(owner, 'warm-up'), 1)} s more`);

  // Baseline: the same rows (fresh ids) by COPY, one stream per client, into the same table.
  const copySeconds = await copySystemLogs(args, measured.logs, tenant, args.clients, () => owner.query('CHECKPOINT'));
  log(`baseline: COPY ${fmtInt(args.ingest / copySeconds)} logs/s (${fmt(copySeconds, 2)} s)`);
  // The COPYed rows were queued by the insert trigger like any other: index them before measuring.
  log(`COPYed rows indexed in ${fmt(await waitForIndexer(owner, 'COPY baseline'), 1)} s more`);
  await owner.query('CHECKPOINT');

  const before = Number((await owner.query(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1`, [tenant])).rows[0].n);
  const cpu0 = cpuSnapshot(api.pid, backendPids(args.db));
  if (args.cpuProf) startProfile(api);
  const http = await send(measured.bodies, true);
  const profile = args.cpuProf ? summarizeProfile(await stopProfile(api, PROFILE_FILE)) : null;
  const cpu = cpuDelta(cpu0, cpuSnapshot(api.pid, [...new Set([...Object.keys(cpu0.backends).map(Number), ...backendPids(args.db)])]));
  // The indexer ran concurrently (its CPU is in the PostgreSQL and API figures above); what it left is drained now.
  const left = await backlog(owner);
  const d0 = cpuSnapshot(api.pid, backendPids(args.db));
  const drainSeconds = await waitForIndexer(owner, 'measured ingestion');
  const dcpu = cpuDelta(d0, cpuSnapshot(api.pid, [...new Set([...Object.keys(d0.backends).map(Number), ...backendPids(args.db)])]));
  const indexedTenant = Number((await owner.query(`SELECT count(*) AS n FROM system_logs_search WHERE tenant_id = $1`, [tenant])).rows[0].n);
  const after = Number((await owner.query(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1`, [tenant])).rows[0].n);
  if (after - before !== args.ingest) throw new Error(`system_logs gained ${after - before} rows, expected ${args.ingest}`);
  if (indexedTenant !== after) throw new Error(`system_logs_search holds ${indexedTenant} rows of the writer tenant, system_logs ${after}`);
  client.close();
  const rate = args.ingest / http.seconds;
  const copyRate = args.ingest / copySeconds;
  log(`measured: ${fmtInt(rate)} logs/s (${fmt(http.seconds, 2)} s), ratio ${fmt(rate / copyRate, 3)} of COPY`);
  log(`search indexer: ${fmtInt(left)} logs still queued at the end, drained in ${fmt(drainSeconds, 2)} s (${fmtInt(left / Math.max(drainSeconds, 1e-3))} logs/s alone)`);
  return {
    logs: args.ingest,
    batch: args.batch,
    clients: args.clients,
    avg_log_json_bytes: avgBytes,
    http: { seconds: http.seconds, logs_per_s: rate, batch_ms: summarize(http.lat) },
    copy: { seconds: copySeconds, logs_per_s: copyRate, streams: args.clients },
    ratio_vs_copy: rate / copyRate,
    indexer: {
      backlog_at_end: left,
      drain_seconds: drainSeconds,
      drain_logs_per_s: left / Math.max(drainSeconds, 1e-3),
      indexed_during_ingest: args.ingest - left,
      drain_cpu_s: { api: dcpu.api_s, pg: dcpu.pg_backends_s },
    },
    cpu_s_per_10k_logs: Object.fromEntries(Object.entries({ api: cpu.api_s, pg: cpu.pg_backends_s, client: cpu.client_s, other: cpu.other_s }).map(([k, v]) => [k, (v * 10_000) / args.ingest])),
    machine_busy_pct: (100 * cpu.machine_busy_s) / cpu.wall_s / os.cpus().length,
    profile,
  };
}

// ------------------------------------------------------------------ 2. audit writes

async function auditWrites(api, tenant, key) {
  const actions = ['login', 'logout', 'token_refresh'];
  const body = (i) =>
    Buffer.from(
      JSON.stringify({
        actor_id: '0190c9c2-6f1e-7a3b-9c1d-2e3f4a5b6c7d',
        actor_type: 'user',
        action: actions[i % actions.length],
        resource_type: 'session',
        resource_id: randomUUID(),
        details: { method: 'sso', idp: 'okta', mfa: i % 2 === 0, session_ttl_s: 3600 },
        success: i % 20 !== 0,
        ...(i % 20 === 0 ? { failure_reason: 'invalid one-time code' } : {}),
      }),
    );
  const client = httpClient(api.base, { apiKey: key, sockets: args.auditClients });
  const apiRun = async (n, conc) => {
    const lat = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: conc }, async () => {
        for (let i = next++; i < n; i = next++) {
          const res = await client.request('POST', '/api/v1/logs/audit', body(i), { parse: false });
          if (res.status !== 201) throw new Error(`POST /api/v1/logs/audit: HTTP ${res.status} ${String(res.body).slice(0, 300)}`);
          lat.push(res.ms);
        }
      }),
    );
    return { lat, seconds: (performance.now() - t0) / 1000 };
  };
  // Baseline: the store's single-row INSERT, autocommit, node-pg as the serving role with the tenant set.
  const sessions = await Promise.all(Array.from({ length: args.auditClients }, () => connect(dbUrl(args, args.db), { role: 'aos_app', tenantId: tenant })));
  const sqlRun = async (n, conc) => {
    const lat = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      sessions.slice(0, conc).map(async (c) => {
        for (let i = next++; i < n; i = next++) {
          const b = JSON.parse(body(i));
          const s = performance.now();
          await c.query(
            `INSERT INTO audit_logs (log_id, tenant_id, actor_id, actor_type, action, resource_type, resource_id, details,
               ip_address, user_agent, success, failure_reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8::jsonb, 'null'::jsonb), $9::inet, $10, $11, $12)
             RETURNING log_id, tenant_id, actor_id, actor_type, action, resource_type, resource_id, "timestamp", details, ip_address, user_agent, success, failure_reason, created_at`,
            [randomUUID(), tenant, b.actor_id, b.actor_type, b.action, b.resource_type, b.resource_id, JSON.stringify(b.details), '127.0.0.1', 'node', b.success, b.failure_reason ?? null],
          );
          lat.push(performance.now() - s);
        }
      }),
    );
    return { lat, seconds: (performance.now() - t0) / 1000 };
  };
  await apiRun(100, 1);
  await sqlRun(100, 1);
  const out = {};
  for (const [mode, conc] of [['sequential', 1], [`${args.auditClients} concurrent`, args.auditClients]]) {
    // Interleaved halves so drift hits both sides alike.
    const a1 = await apiRun(args.audit / 2, conc);
    const s1 = await sqlRun(args.audit / 2, conc);
    const a2 = await apiRun(args.audit / 2, conc);
    const s2 = await sqlRun(args.audit / 2, conc);
    const a = summarize([...a1.lat, ...a2.lat]);
    const s = summarize([...s1.lat, ...s2.lat]);
    out[mode] = {
      api_ms: a,
      sql_ms: s,
      api_writes_per_s: args.audit / (a1.seconds + a2.seconds),
      sql_writes_per_s: args.audit / (s1.seconds + s2.seconds),
      ratio_p50: a.p50 / s.p50,
      ratio_p99: a.p99 / s.p99,
    };
    log(`audit ${mode}: API p50 / p99 ${fmt(a.p50)} / ${fmt(a.p99)} ms, SQL ${fmt(s.p50)} / ${fmt(s.p99)} ms`);
  }
  await Promise.all(sessions.map((c) => c.end()));
  client.close();
  return out;
}

// ------------------------------------------------------------------ 3/4. search and lists

function queryCases(nowMs) {
  let seed = 5;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const day = 86_400_000;
  const window = (days) => {
    const end = Math.floor(nowMs - rnd() * (args.days - days - 1) * day);
    return { start_time: new Date(end - days * day).toISOString(), end_time: new Date(end).toISOString() };
  };
  return [
    { name: `search "${MARKERS.rare[0]}" (~${MARKERS.rare[1] * 100}%), 7-day window`, kind: 'search', q: () => ({ search: MARKERS.rare[0], ...window(7) }) },
    { name: `search "${MARKERS.mid[0]}" (~${MARKERS.mid[1] * 100}%), 7-day window`, kind: 'search', q: () => ({ search: MARKERS.mid[0], ...window(7) }) },
    { name: `search "${MARKERS.common[0]}" (~${MARKERS.common[1] * 100}%), 7-day window`, kind: 'search', q: () => ({ search: MARKERS.common[0], ...window(7) }) },
    { name: 'search "refund" (vocabulary word, ~2%), 7-day window', kind: 'search', q: () => ({ search: 'refund', ...window(7) }) },
    { name: 'search "payment failed" (two words), 7-day window', kind: 'search', q: () => ({ search: 'payment failed', ...window(7) }) },
    { name: `search "${MARKERS.mid[0]}" + level=error, 7-day window`, kind: 'search', q: () => ({ search: MARKERS.mid[0], level: 'error', ...window(7) }) },
    { name: 'no filter (timestamp desc)', kind: 'list', q: () => ({}) },
    { name: 'level=error (~7%)', kind: 'list', q: () => ({ level: 'error' }) },
    { name: 'level=critical (~1%)', kind: 'list', q: () => ({ level: 'critical' }) },
    { name: 'source (one of 30, cycling)', kind: 'list', q: (k) => ({ source: SOURCES[k % SOURCES.length] }) },
    { name: 'time range (random 1-day window)', kind: 'list', q: () => window(1) },
    { name: 'level=warning + source + 7-day window', kind: 'list', q: (k) => ({ level: 'warning', source: SOURCES[k % 8], ...window(7) }) },
    { name: `deep: pages 1-${args.pages} by cursor (timestamp desc)`, kind: 'list', deep: true, q: () => ({}) },
    { name: `deep: pages 1-${args.pages} by cursor, level=error`, kind: 'list', deep: true, q: () => ({ level: 'error' }) },
    { name: `deep: pages 1-${args.pages} by cursor, source=${SOURCES[20]} (rare source)`, kind: 'list', deep: true, q: () => ({ source: SOURCES[20] }) },
  ];
}

function apiPath(q, cursor) {
  const p = new URLSearchParams();
  p.set('limit', String(args.limit));
  for (const [k, v] of Object.entries(q)) p.set(k, String(v));
  if (cursor) p.set('cursor', cursor);
  return `/api/v1/logs/system?${p}`;
}

async function timeSql(sqlc, tenantId, q, cursor) {
  const { page, count } = await systemLogListSql(tenantId, { ...q, limit: args.limit, ...(cursor ? { cursor } : {}) });
  const t0 = performance.now();
  const rows = await sqlc.query(page.text, page.params);
  const t1 = performance.now();
  await sqlc.query(count.text, count.params);
  const t2 = performance.now();
  return { ms: t2 - t0, pageMs: t1 - t0, countMs: t2 - t1, ids: rows.rows.slice(0, args.limit).map((r) => r.log_id) };
}

async function explain(sqlc, tenantId, q, cursor) {
  const { page, count } = await systemLogListSql(tenantId, { ...q, limit: args.limit, ...(cursor ? { cursor } : {}) });
  const run = async (s) => (await sqlc.query(`EXPLAIN (ANALYZE, BUFFERS) ${s.text}`, s.params)).rows.map((r) => r['QUERY PLAN']).join('\n');
  return { page_sql: page.text.replace(/\s+/g, ' '), page_params: page.params, page_plan: await run(page), count_plan: await run(count) };
}

async function runCase(c, client, sqlc, tenantId) {
  const api = [];
  const sql = [];
  const sqlPage = [];
  const sqlCount = [];
  let mismatches = 0;
  let empty = 0;
  let lastQ = c.q(0);
  let lastCursor = null;
  const compare = (items, ids) => {
    if (items.length === 0) empty++;
    const got = items.map((i) => i.log_id);
    if (got.length !== ids.length || got.some((id, k) => id !== ids[k])) mismatches++;
  };
  const one = async (q, cursor, k = 0) => {
    const { res, s } = await inTurn(k, () => client.request('GET', apiPath(q, cursor)), () => timeSql(sqlc, tenantId, q, cursor));
    return { res, body: expectStatus(res, 200, c.name), s };
  };
  if (c.deep) {
    const q = c.q(0);
    for (let k = 0, cursor = null; k < 3; k++) cursor = (await one(q, cursor)).body.pagination.next_cursor;
    let cursor = null;
    for (let k = 0; k < args.pages; k++) {
      const { res, body, s } = await one(q, cursor, k);
      api.push(res.ms);
      sql.push(s.ms);
      sqlPage.push(s.pageMs);
      sqlCount.push(s.countMs);
      compare(body.items, s.ids);
      lastCursor = cursor;
      cursor = body.pagination.next_cursor;
      if (!cursor) break;
    }
    return { api, sql, sqlPage, sqlCount, mismatches, empty, explainQuery: q, explainCursor: lastCursor };
  }
  for (let k = 0; k < 2; k++) await one(c.q(1000 + k));
  const start = performance.now();
  for (let k = 0; k < args.iterations; k++) {
    if (k >= args.minIterations && performance.now() - start > args.caseSeconds * 1000) break;
    const q = c.q(k);
    const { res, body, s } = await one(q, undefined, k);
    api.push(res.ms);
    sql.push(s.ms);
    sqlPage.push(s.pageMs);
    sqlCount.push(s.countMs);
    compare(body.items, s.ids);
    lastQ = q;
  }
  return { api, sql, sqlPage, sqlCount, mismatches, empty, explainQuery: lastQ, explainCursor: null };
}

// ------------------------------------------------------------------ main

await runBench(async (onCleanup) => {
  ensureBuilt(args.build);
  const machine = await machineInfo(args);
  printMachine(machine);
  process.stdout.write(`load average at start: ${os.loadavg().map((x) => fmt(x, 2)).join(' ')}\n`);

  let reused = false;
  let stored = null;
  if (args.reuse && (await databaseExists(args, args.db))) {
    const owner0 = await connect(dbUrl(args, args.db));
    const comment = (await owner0.query(`SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = current_database()`)).rows[0].c ?? '';
    await owner0.end();
    try {
      stored = JSON.parse(comment);
      reused = stored.signature === seedSignature();
    } catch {
      reused = false;
    }
    log(reused ? `reusing the seeded database ${args.db}` : `${args.db} exists but was not seeded with these sizes: seeding again`);
  }
  if (!reused) await createDatabase(args, args.db);
  onCleanup(async () => {
    if (args.keep) log(`kept database ${args.db}; drop it with: psql -c 'DROP DATABASE ${args.db}'`);
    else await dropDatabase(args, args.db);
  });
  const prof = args.cpuProf ? profiledApiOptions(PROFILE_FILE) : { extraEnv: {} };
  const api = await startApi(args, args.db, { ...prof, extraEnv: { ...prof.extraEnv, AOS_PLATFORM_API_KEY: PLATFORM_KEY } });
  onCleanup(() => api.stop());
  const owner = await connect(dbUrl(args, args.db));
  onCleanup(() => owner.end());
  const platform = httpClient(api.base, { apiKey: PLATFORM_KEY });
  const newTenant = async (name) => expectStatus(await platform.request('POST', '/api/v1/tenants', { name, compliance: 'soc2' }), 201, 'POST /api/v1/tenants');

  // The searched tenant (seeded with SQL); its admin key is kept in the database comment for --reuse.
  let searchTenant;
  let seedSeconds = null;
  if (reused) searchTenant = stored.search_tenant;
  else {
    const t = await newTenant('bench-logs-search');
    searchTenant = { id: t.tenant.tenant_id, key: t.api_key.key };
    const [{ tenant_id: devTenant }] = (await owner.query(`SELECT tenant_id FROM tenants WHERE name = 'development'`)).rows;
    seedSeconds = await seedSystemLogs(args, owner, searchTenant.id, devTenant);
    await owner.query(`COMMENT ON DATABASE ${args.db} IS ${lit(JSON.stringify({ signature: seedSignature(), search_tenant: searchTenant }))}`);
  }
  const sizes = (
    await owner.query(
      `SELECT (SELECT count(*) FROM system_logs WHERE tenant_id = $1)::bigint AS tenant_logs, (SELECT count(*) FROM system_logs)::bigint AS all_logs,
         pg_size_pretty(pg_total_relation_size('system_logs')) AS table_size, pg_size_pretty(pg_relation_size('system_logs_search_vector_idx')) AS gin_size,
         pg_size_pretty(pg_total_relation_size('system_logs_search')) AS search_size`,
      [searchTenant.id],
    )
  ).rows[0];
  log(`system_logs: ${fmtInt(Number(sizes.all_logs))} rows (${fmtInt(Number(sizes.tenant_logs))} in the searched tenant), ${sizes.table_size}; system_logs_search ${sizes.search_size}, GIN ${sizes.gin_size}`);

  // Writes go to a second tenant created through the platform key, so the searched data stays as seeded.
  const writer = await newTenant(`bench-logs-writer-${Date.now()}`);
  const results = { ingest: null, audit: null, cases: [] };

  if (wanted('ingest')) results.ingest = await ingestion(api, owner, writer.tenant.tenant_id, writer.api_key.key);
  if (wanted('audit')) results.audit = await auditWrites(api, writer.tenant.tenant_id, writer.api_key.key);

  const client = httpClient(api.base, { apiKey: searchTenant.key, sockets: 1 });
  const sqlc = await connect(dbUrl(args, args.db), { role: 'aos_app', tenantId: searchTenant.id });
  // A LIMIT-ed seq scan started right after the API's would begin where the API's ended
  // (synchronize_seqscans keeps a shared start hint per table), flattering the baseline;
  // off, every baseline seq scan starts at block 0 as a cold one does.
  await sqlc.query('SET synchronize_seqscans = off');
  onCleanup(() => sqlc.end());
  const nowMs = Date.now();
  for (const c of queryCases(nowMs).filter((x) => wanted(x.name) || wanted(x.kind))) {
    log(`case: ${c.name}`);
    const r = await runCase(c, client, sqlc, searchTenant.id);
    const a = summarize(r.api);
    const s = summarize(r.sql);
    const target = c.kind === 'search' ? 200 : 20;
    const res = {
      name: c.name,
      kind: c.kind,
      target_p95_ms: target,
      n: r.api.length,
      api_ms: a,
      sql_ms: s,
      sql_page_ms: summarize(r.sqlPage),
      sql_count_ms: summarize(r.sqlCount),
      ratio_p50: a.p50 / s.p50,
      ratio_p95: a.p95 / s.p95,
      mismatches: r.mismatches,
      empty_pages: r.empty,
      met: a.p95 < target,
    };
    res.explain = await explain(sqlc, searchTenant.id, r.explainQuery, r.explainCursor);
    results.cases.push(res);
    log(`  API p50 / p95 ${fmt(a.p50)} / ${fmt(a.p95)} ms, SQL ${fmt(s.p50)} / ${fmt(s.p95)} ms`);
  }
  client.close();
  platform.close();

  // ------------------------------------------------------------------ report
  process.stdout.write(`\nload average at the end: ${os.loadavg().map((x) => fmt(x, 2)).join(' ')}\n\n`);
  if (results.ingest) {
    const g = results.ingest;
    process.stdout.write(`System log ingestion (~${fmtInt(g.avg_log_json_bytes)} B logs, batches of ${g.batch}, ${g.clients} clients)\n\n`);
    process.stdout.write(
      table(
        ['path', 'logs', 'seconds', 'logs/s', 'batch p50 ms', 'p95 ms', 'p99 ms', 'ratio vs COPY'],
        [
          ['HTTP POST /api/v1/logs/system', fmtInt(g.logs), fmt(g.http.seconds, 2), fmtInt(g.http.logs_per_s), fmt(g.http.batch_ms.p50), fmt(g.http.batch_ms.p95), fmt(g.http.batch_ms.p99), fmt(g.ratio_vs_copy, 3)],
          [`COPY into system_logs (${g.copy.streams} streams)`, fmtInt(g.logs), fmt(g.copy.seconds, 2), fmtInt(g.copy.logs_per_s), '–', '–', '–', '1.000'],
        ],
      ) + '\n',
    );
    const k = g.cpu_s_per_10k_logs;
    if (g.profile) printProfile(g.profile);
    process.stdout.write(`CPU s per 10k logs: API ${fmt(k.api, 2)}, PostgreSQL ${fmt(k.pg, 2)}, client ${fmt(k.client, 2)}, rest of machine ${fmt(k.other, 2)}; machine busy ${fmt(g.machine_busy_pct, 0)} %\n`);
    const ix = g.indexer;
    process.stdout.write(
      `Search indexer: ${fmtInt(ix.indexed_during_ingest)} of ${fmtInt(g.logs)} logs indexed while ingesting; ${fmtInt(ix.backlog_at_end)} left, drained in ${fmt(ix.drain_seconds, 2)} s ` +
        `(${fmtInt(ix.drain_logs_per_s)} logs/s; PostgreSQL CPU ${fmt(ix.backlog_at_end ? (ix.drain_cpu_s.pg * 10_000) / ix.backlog_at_end : 0, 2)} s per 10k logs drained)\n\n`,
    );
  }
  if (results.audit) {
    process.stdout.write('Audit log single-row writes (POST /api/v1/logs/audit vs INSERT through node-pg as aos_app), ms\n\n');
    process.stdout.write(
      table(
        ['mode', 'n', 'API p50', 'API p95', 'API p99', 'API max', 'SQL p50', 'SQL p99', 'ratio p50', 'ratio p99', 'API writes/s'],
        Object.entries(results.audit).map(([m, x]) => [m, fmtInt(x.api_ms.n), fmt(x.api_ms.p50), fmt(x.api_ms.p95), fmt(x.api_ms.p99), fmt(x.api_ms.max), fmt(x.sql_ms.p50), fmt(x.sql_ms.p99), fmt(x.ratio_p50, 2), fmt(x.ratio_p99, 2), fmtInt(x.api_writes_per_s)]),
      ) + '\n\n',
    );
  }
  if (results.cases.length) {
    process.stdout.write(`Search and lists over ${fmtInt(Number(sizes.tenant_logs))} system logs of one tenant (limit ${args.limit}), ms\n\n`);
    process.stdout.write(
      table(
        ['case', 'n', 'API p50', 'API p95', 'SQL p50', 'SQL p95', 'SQL page / count p95', 'ratio p50', 'ratio p95', 'target', 'result'],
        results.cases.map((x) => [x.name, x.n, fmt(x.api_ms.p50), fmt(x.api_ms.p95), fmt(x.sql_ms.p50), fmt(x.sql_ms.p95), `${fmt(x.sql_page_ms.p95)} / ${fmt(x.sql_count_ms.p95)}`, fmt(x.ratio_p50, 2), fmt(x.ratio_p95, 2), `< ${x.target_p95_ms}`, x.met ? 'met' : 'MISSED']),
      ) + '\n\n',
    );
    const bad = results.cases.filter((x) => x.mismatches);
    if (bad.length) process.stdout.write(`WARNING: API and SQL pages differ in: ${bad.map((x) => `${x.name} (${x.mismatches})`).join(', ')}\n`);
    const empty = results.cases.filter((x) => x.empty_pages);
    if (empty.length) process.stdout.write(`note: empty pages in: ${empty.map((x) => `${x.name} (${x.empty_pages} of ${x.n})`).join(', ')}\n`);
    for (const x of results.cases.filter((y) => !y.met)) {
      process.stdout.write(`\n--- ${x.name}: plans (EXPLAIN ANALYZE as aos_app)\npage:\n${x.explain.page_plan}\ncount:\n${x.explain.count_plan}\n`);
    }
  }
  writeJson(args, 'logs', { bench: 'logs', at: new Date().toISOString(), machine, params: args, data: { ...sizes, seed_seconds: seedSeconds, reused }, load_avg_end: os.loadavg(), ...results });
});
