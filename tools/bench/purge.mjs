#!/usr/bin/env node
// Retention purge benchmark (issue 6 targets):
//  1. purging 1M expired system logs through the real path (POST
//     /api/v1/retention/purge: RetentionService, the intent audit row, then
//     aos_retention_purge() in bounded batches of 5000, each its own
//     transaction, then the result audit row): < 30 s;
//     baseline: a plain DELETE ... WHERE of an equal set of rows (another
//     tenant, same distribution) as the owner with the triggers' GUC set;
//  2. system-log ingestion over HTTP (batches of 1000, 4 clients, like
//     logs.mjs) while a purge of another 1M expired rows runs in the same
//     tenant, against ingestion alone: < 20% drop.
// The expired rows are seeded with SQL, not HTTP. See tools/bench/README.md.
import os from 'node:os';
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
  sleep,
  startApi,
  summarize,
  table,
  writeJson,
} from './lib/common.mjs';
import { WORDS, rng } from './lib/content.mjs';
import { PREFIX, SOURCES, lit, makeLog } from './lib/syslog.mjs';

const USAGE = `node tools/bench/purge.mjs [options]

  --logs N             expired system logs per seeded set (default 1000000); three sets are
                       seeded: the measured purge, the baseline DELETE, the purge under ingestion
  --age-days N         the seeded rows are N to N+30 days old (default 100: every level but
                       CRITICAL has expired; 1% CRITICAL rows are seeded on top and stay)
  --ingest-seconds N   each ingestion window (alone; under the purge it lasts as long as the purge) (default 20)
  --batch N            logs per POST /api/v1/logs/system (default 1000)
  --clients N          concurrent ingestion clients (default 4)
  --seed-workers N     parallel seeding sessions (default 2)
  --keep               keep the database
  --db NAME            bench database (default aos_bench_purge)
  --build              rebuild the API first
  --json [FILE]        results as JSON (default tools/bench/results/purge-<time>.json)
  --pg-url URL         owner URL of the PostgreSQL server
  --port N             API port (default: a free one)`;

const args = parseArgs(
  {
    logs: 1_000_000,
    ageDays: 100,
    ingestSeconds: 20,
    warmup: 20_000,
    batch: 1000,
    clients: 4,
    seedWorkers: 2,
    keep: false,
    db: 'aos_bench_purge',
    build: false,
    json: true,
    pgUrl: undefined,
    port: 0,
  },
  USAGE,
);

const PLATFORM_KEY = 'aos_bench_platform_key_do_not_use_in_production';
const SPAN_DAYS = 30;
/** Share of CRITICAL rows (never expire) seeded on top of the expired ones. */
const CRITICAL = 0.01;

// ------------------------------------------------------------------ seeding (SQL)

/**
 * Seeds, for each tenant, `args.logs` expired system logs (DEBUG 20%, INFO 61%,
 * WARNING 12%, ERROR 7%) plus 1% CRITICAL, `ageDays` to `ageDays + 30` days
 * old, in time order, with messages from the bench vocabulary. Secondary
 * indexes are dropped for the load and rebuilt; then VACUUM ANALYZE.
 */
async function seed(owner, tenants) {
  const t0 = performance.now();
  const perTenant = Math.round(args.logs / (1 - CRITICAL));
  log(`seeding ${fmtInt(perTenant)} system logs in each of ${tenants.length} tenants with SQL (${fmtInt(args.logs)} expired each)`);
  const idx = (
    await owner.query(
      `SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename IN ('system_logs', 'system_logs_search')
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    )
  ).rows;
  for (const i of idx) await owner.query(`DROP INDEX ${i.indexname}`);
  await owner.query(
    `CREATE UNLOGGED TABLE bench_phrases AS
     SELECT p AS id, (SELECT string_agg(($1::text[])[1 + floor(random() * $2::int)::int], ' ') FROM generate_series(1, 5 + p % 6)) AS phrase
     FROM generate_series(0, 4999) p`,
    [WORDS, WORDS.length],
  );
  await owner.query(`ALTER TABLE bench_phrases ADD PRIMARY KEY (id); ANALYZE bench_phrases`);
  const chunk = 250_000;
  const tasks = [];
  for (const tenant of tenants) for (let lo = 0; lo < perTenant; lo += chunk) tasks.push([tenant, lo, Math.min(perTenant, lo + chunk)]);
  const levels = `CASE WHEN x.r1 < ${CRITICAL} THEN 'critical' WHEN x.r1 < 0.21 THEN 'debug' WHEN x.r1 < 0.82 THEN 'info' WHEN x.r1 < 0.94 THEN 'warning' ELSE 'error' END`;
  const prefixes = Object.entries(PREFIX)
    .map(([lvl, list]) => `WHEN '${lvl}' THEN (ARRAY[${list.map(lit).join(', ')}])[1 + floor(x.r2 * ${list.length})::int]`)
    .join(' ');
  let done = 0;
  const sessions = await Promise.all(Array.from({ length: args.seedWorkers }, () => connect(dbUrl(args, args.db))));
  try {
    await Promise.all(
      sessions.map(async (c) => {
        await c.query(`SET synchronous_commit = off; SET work_mem = '256MB'`);
        for (let t = tasks.shift(); t; t = tasks.shift()) {
          const [tenant, lo, hi] = t;
          // The search rows are written in the same statement, as the indexer would, and the batch the
          // insert trigger queued is dropped in the same transaction: the API's indexer never sees the seed.
          await c.query('BEGIN');
          await c.query(
            `WITH ins AS (INSERT INTO system_logs (log_id, tenant_id, level, source, message, "timestamp", context, trace_id, request_id, created_at)
             SELECT gen_random_uuid(), $5::uuid, y.level, ($4::text[])[1 + floor(array_length($4::text[], 1) * power(x.r3, 2))::int],
               (CASE y.level ${prefixes} END) || ': ' || p.phrase || ' (' || x.ms || ' ms)',
               x.ts,
               jsonb_build_object('host', 'node-' || (i % 12), 'region', (ARRAY['eu-west-1', 'us-east-1', 'ap-south-1'])[1 + (i % 3)],
                 'duration_ms', x.ms, 'customer', 'cust-' || (hashint8(i) & 4095), 'attempt', 1 + (i % 3)),
               CASE WHEN x.r7 < 0.4 THEN md5(i::text)::uuid::text END,
               'req-' || substr(md5('r' || i), 1, 12),
               x.ts + interval '40 ms'
             FROM generate_series($1::bigint, $2::bigint - 1) i
             CROSS JOIN LATERAL (SELECT random() AS r1, random() AS r2, random() AS r3, random() AS r7,
                 (5 + 2000 * power(random(), 3))::int AS ms,
                 date_trunc('milliseconds', now() - ($6::int + ${SPAN_DAYS}) * interval '1 day' + (i::float8 / $3::float8) * (${SPAN_DAYS} * interval '1 day')) AS ts,
                 (hashint8(i) & 2147483647) % 5000 AS pid) x
             CROSS JOIN LATERAL (SELECT ${levels} AS level) y
             JOIN bench_phrases p ON p.id = x.pid
             ORDER BY i
             RETURNING log_id, tenant_id, "timestamp", level, source, message, context)
             INSERT INTO system_logs_search (log_id, tenant_id, "timestamp", level, source, search_vector)
             SELECT log_id, tenant_id, "timestamp", level, source, aos_system_log_search_vector(tenant_id, "timestamp", message, context) FROM ins`,
            [lo, hi, perTenant, SOURCES, tenant, args.ageDays],
          );
          await c.query(`DELETE FROM system_logs_search_queue WHERE xmin = pg_current_xact_id()::xid`);
          await c.query('COMMIT');
          done += hi - lo;
          log(`seeded ${fmtInt(done)} / ${fmtInt(perTenant * tenants.length)}`);
        }
      }),
    );
    await Promise.all(
      sessions.map(async (c, k) => {
        await c.query(`SET maintenance_work_mem = '512MB'; SET max_parallel_maintenance_workers = 0`);
        for (let i = k; i < idx.length; i += sessions.length) await c.query(idx[i].indexdef);
      }),
    );
  } finally {
    await Promise.all(sessions.map((c) => c.end()));
  }
  await owner.query(`DROP TABLE bench_phrases`);
  await owner.query(`VACUUM (ANALYZE) system_logs`);
  await owner.query(`VACUUM (ANALYZE) system_logs_search`);
  const seconds = (performance.now() - t0) / 1000;
  log(`seeded in ${fmt(seconds, 0)} s`);
  return seconds;
}

/** The tenant's seeded rows that have expired (everything seeded but CRITICAL; ingested rows are fresh). */
const expired = async (owner, tenant) =>
  Number(
    (await owner.query(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1 AND level <> 'critical' AND created_at < now() - interval '1 day' * $2`, [tenant, args.ageDays - 1])).rows[0].n,
  );

// ------------------------------------------------------------------ ingestion

/** Pre-serialised batch bodies, enough for `seconds` at a generous rate (reused round-robin). */
function bodies(seed, n) {
  const r = rng(seed);
  const now = Date.now();
  return Array.from({ length: n }, (_, b) => Buffer.from(JSON.stringify({ logs: Array.from({ length: args.batch }, (_, k) => makeLog(r, new Date(now - 600_000 + b * args.batch + k))) })));
}

/** Closed-loop clients POST batches until `until()` says stop; answers logs/s over the window and batch latencies. */
async function ingest(client, pool, until) {
  const lat = [];
  let sent = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: args.clients }, async () => {
      while (!until()) {
        const body = pool[next++ % pool.length];
        const res = await client.request('POST', '/api/v1/logs/system', body, { parse: false });
        if (res.status !== 201) throw new Error(`POST /api/v1/logs/system: HTTP ${res.status} ${String(res.body).slice(0, 300)}`);
        lat.push(res.ms);
        sent += args.batch;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { logs: sent, seconds, logs_per_s: sent / seconds, batch_ms: summarize(lat) };
}

// ------------------------------------------------------------------ purge through the API

async function purgeOverHttp(admin) {
  const res = await admin.request('POST', '/api/v1/retention/purge', {});
  const body = expectStatus(res, [200, 201], 'POST /api/v1/retention/purge');
  const sys = body.targets.filter((t) => t.type === 'system_logs');
  return {
    seconds: res.ms / 1000,
    removed: body.removed,
    batches: sys.reduce((n, t) => n + t.batch_hashes.length, 0),
    per_level: Object.fromEntries(sys.map((t) => [t.level, t.removed])),
    audit_log_id: body.audit_log_id,
  };
}

// ------------------------------------------------------------------ main

await runBench(async (onCleanup) => {
  ensureBuilt(args.build);
  const machine = await machineInfo(args);
  printMachine(machine);
  process.stdout.write(`load average at start: ${os.loadavg().map((x) => fmt(x, 2)).join(' ')}\n`);
  await createDatabase(args, args.db);
  onCleanup(async () => {
    if (args.keep) log(`kept database ${args.db}; drop it with: psql -c 'DROP DATABASE ${args.db}'`);
    else await dropDatabase(args, args.db);
  });
  // The API's own hourly purge stays off: the bench starts every purge itself.
  const api = await startApi(args, args.db, { extraEnv: { AOS_PLATFORM_API_KEY: PLATFORM_KEY, AOS_RETENTION_INTERVAL_MS: '0' } });
  onCleanup(() => api.stop());
  const owner = await connect(dbUrl(args, args.db));
  onCleanup(() => owner.end());
  const platform = httpClient(api.base, { apiKey: PLATFORM_KEY });
  const newTenant = async (name) => {
    const t = expectStatus(await platform.request('POST', '/api/v1/tenants', { name, compliance: 'none' }), 201, 'POST /api/v1/tenants');
    return { id: t.tenant.tenant_id, key: t.api_key.key };
  };
  const measured = await newTenant('bench-purge-measured');
  const baseline = await newTenant('bench-purge-baseline');
  const busy = await newTenant('bench-purge-under-ingestion');
  const seedSeconds = await seed(owner, [measured.id, baseline.id, busy.id]);
  const size = (await owner.query(`SELECT count(*)::bigint AS n, pg_size_pretty(pg_total_relation_size('system_logs')) AS s FROM system_logs`)).rows[0];
  log(`system_logs: ${fmtInt(Number(size.n))} rows, ${size.s} with indexes`);

  // ---- 1a. Baseline: one plain DELETE of the baseline tenant's expired rows, as the owner with the GUC set.
  const baseExpired = await expired(owner, baseline.id);
  await owner.query('CHECKPOINT');
  const b0 = performance.now();
  await owner.query('BEGIN');
  await owner.query(`SELECT set_config('aos.purge', 'on', true)`);
  const del = await owner.query(`DELETE FROM system_logs WHERE tenant_id = $1 AND level <> 'critical' AND created_at < now() - interval '1 day' * $2`, [baseline.id, args.ageDays - 1]);
  await owner.query('COMMIT');
  const baseSeconds = (performance.now() - b0) / 1000;
  if (del.rowCount !== baseExpired) throw new Error(`baseline DELETE removed ${del.rowCount}, expected ${baseExpired}`);
  log(`baseline: DELETE of ${fmtInt(del.rowCount)} rows in ${fmt(baseSeconds, 2)} s`);
  await owner.query(`VACUUM (ANALYZE) system_logs`);
  await owner.query('CHECKPOINT');

  // ---- 1b. The real path, nothing else running.
  const adminMeasured = httpClient(api.base, { apiKey: measured.key, sockets: 1 });
  const measuredExpired = await expired(owner, measured.id);
  const purge = await purgeOverHttp(adminMeasured);
  if (purge.removed !== measuredExpired) throw new Error(`the purge removed ${purge.removed}, expected ${measuredExpired}`);
  if ((await expired(owner, measured.id)) !== 0) throw new Error('expired rows remain after the purge');
  const critical = Number((await owner.query(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1`, [measured.id])).rows[0].n);
  log(`purge: ${fmtInt(purge.removed)} rows in ${fmt(purge.seconds, 2)} s (${purge.batches} batches), ${fmtInt(critical)} CRITICAL rows kept; ratio ${fmt(purge.seconds / baseSeconds, 2)} of the bare DELETE`);
  const auditRows = (
    await owner.query(`SELECT action FROM audit_logs WHERE tenant_id = $1 AND action IN ('retention_purge_started', 'retention_purged') ORDER BY "timestamp", created_at`, [measured.id])
  ).rows.map((r) => r.action);
  // Every table the purges touched, so no autovacuum of theirs lands in the 'alone' window
  // (one did: 'alone' moved by a third between runs); the purge under ingestion pays for its own.
  for (const table of ['system_logs', 'system_logs_search', 'aos_ledger_gaps']) await owner.query(`VACUUM (ANALYZE) ${table}`);
  await owner.query('CHECKPOINT');

  // ---- 2. Ingestion alone, then under a purge of the busy tenant's 1M expired rows (into the same tenant).
  const writer = httpClient(api.base, { apiKey: busy.key, sockets: args.clients });
  const pool = bodies(7, 200);
  log(`warm-up: ${fmtInt(args.warmup)} logs over HTTP`);
  let warmBatches = 0;
  await ingest(writer, pool, () => warmBatches++ >= args.warmup / args.batch);
  log(`ingestion alone for ${args.ingestSeconds} s`);
  const endAlone = Date.now() + args.ingestSeconds * 1000;
  const alone = await ingest(writer, pool, () => Date.now() > endAlone);
  log(`alone: ${fmtInt(alone.logs_per_s)} logs/s`);
  await sleep(2000);

  const adminBusy = httpClient(api.base, { apiKey: busy.key, sockets: 1 });
  const busyExpired = await expired(owner, busy.id);
  let purging = true;
  const started = performance.now();
  const purgeRun = purgeOverHttp(adminBusy).finally(() => (purging = false));
  const under = await ingest(writer, pool, () => !purging);
  const underPurge = await purgeRun;
  if (underPurge.removed !== busyExpired) throw new Error(`the purge under ingestion removed ${underPurge.removed}, expected ${busyExpired}`);
  log(`under the purge: ${fmtInt(under.logs_per_s)} logs/s over ${fmt(under.seconds, 1)} s; the purge took ${fmt(underPurge.seconds, 2)} s (${fmt((performance.now() - started) / 1000, 1)} s wall)`);
  const drop = 1 - under.logs_per_s / alone.logs_per_s;
  platform.close();
  adminMeasured.close();
  adminBusy.close();
  writer.close();

  // ------------------------------------------------------------------ report
  process.stdout.write(`\nload average at the end: ${os.loadavg().map((x) => fmt(x, 2)).join(' ')}\n\n`);
  process.stdout.write(`Purge of ${fmtInt(purge.removed)} expired system logs (one tenant; ${fmtInt(Number(size.n))} rows in the table when seeded)\n\n`);
  process.stdout.write(
    table(
      ['path', 'rows', 'seconds', 'rows/s', 'ratio vs DELETE', 'target', 'result'],
      [
        [`POST /api/v1/retention/purge (${purge.batches} batches of <= 5000)`, fmtInt(purge.removed), fmt(purge.seconds, 2), fmtInt(purge.removed / purge.seconds), fmt(purge.seconds / baseSeconds, 2), '< 30 s', purge.seconds < 30 ? 'met' : 'MISSED'],
        ['plain DELETE ... WHERE (owner, aos.purge on)', fmtInt(del.rowCount), fmt(baseSeconds, 2), fmtInt(del.rowCount / baseSeconds), '1.00', '', ''],
        [`purge under ingestion (${underPurge.batches} batches)`, fmtInt(underPurge.removed), fmt(underPurge.seconds, 2), fmtInt(underPurge.removed / underPurge.seconds), fmt(underPurge.seconds / baseSeconds, 2), '', ''],
      ],
    ) + '\n\n',
  );
  process.stdout.write(`System log ingestion (HTTP, batches of ${args.batch}, ${args.clients} clients)\n\n`);
  process.stdout.write(
    table(
      ['window', 'logs', 'seconds', 'logs/s', 'batch p50 ms', 'p95 ms', 'p99 ms'],
      [
        ['alone', fmtInt(alone.logs), fmt(alone.seconds, 1), fmtInt(alone.logs_per_s), fmt(alone.batch_ms.p50), fmt(alone.batch_ms.p95), fmt(alone.batch_ms.p99)],
        ['while the purge runs', fmtInt(under.logs), fmt(under.seconds, 1), fmtInt(under.logs_per_s), fmt(under.batch_ms.p50), fmt(under.batch_ms.p95), fmt(under.batch_ms.p99)],
      ],
    ) + `\n\ndrop: ${fmt(100 * drop, 1)} % (target < 20 %: ${drop < 0.2 ? 'met' : 'MISSED'})\naudit rows of the measured purge: ${auditRows.join(', ')}\n`,
  );
  writeJson(args, 'purge', {
    bench: 'purge',
    at: new Date().toISOString(),
    machine,
    params: args,
    data: { rows_when_seeded: Number(size.n), table_size: size.s, seed_seconds: seedSeconds, critical_kept: critical },
    purge: { ...purge, rows_per_s: purge.removed / purge.seconds, ratio_vs_delete: purge.seconds / baseSeconds, target_s: 30, met: purge.seconds < 30 },
    baseline_delete: { rows: del.rowCount, seconds: baseSeconds },
    ingestion: { alone, under_purge: under, drop, target_drop: 0.2, met: drop < 0.2, purge_under_ingestion: underPurge },
    audit_rows: auditRows,
    load_avg_end: os.loadavg(),
  });
});
