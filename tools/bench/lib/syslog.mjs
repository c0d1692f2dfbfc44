// Shared by logs.mjs and export.mjs: the system-log vocabulary and an SQL seed.
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { connect, dbUrl, fmt, fmtInt, log, requireFromRoot } from './common.mjs';
import { csvField, WORDS } from './content.mjs';

export const SOURCES = [
  'api-gateway', 'auth-service', 'billing-worker', 'policy-engine', 'agent-runtime', 'tool-proxy', 'scheduler', 'export-worker',
  'pdf-renderer', 'notification-service', 'search-indexer', 'retention-job', 'webhook-dispatcher', 'rate-limiter', 'llm-router',
  'vector-store', 'cache', 'session-service', 'audit-writer', 'metrics-exporter', 'config-service', 'queue-consumer', 'ingest-api',
  'replay-service', 'incident-service', 'tenant-admin', 'key-service', 'storage-gc', 'health-checker', 'migration-runner',
];
// Rare and common terms of known frequency that the vocabulary does not contain.
export const MARKERS = { common: ['throttled', 0.1], mid: ['deadlock', 0.005], rare: ['kerberos', 0.0001] };
export const LEVELS = [['debug', 0.2], ['info', 0.6], ['warning', 0.12], ['error', 0.07], ['critical', 0.01]];
export const PREFIX = {
  debug: ['cache lookup', 'resolved config', 'span finished', 'query plan chosen'],
  info: ['request completed', 'job finished', 'session started', 'document indexed', 'export streamed'],
  warning: ['slow request', 'retrying job', 'quota nearly exhausted', 'upstream answered 429'],
  error: ['request failed', 'job failed', 'upstream answered 503', 'unhandled exception in handler'],
  critical: ['database unreachable', 'disk almost full', 'worker crashed repeatedly'],
};

// ------------------------------------------------------------------ seeding (SQL)

const SESSION_SETUP = `SET synchronous_commit = off; SET maintenance_work_mem = '1GB'; SET work_mem = '256MB'; SET max_parallel_maintenance_workers = 0;`;

async function parallel(args, n, tasks, setup) {
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

/**
 * Seeds `args.logs` system logs of `tenantId` (plus 2% of `noiseTenantId`) over
 * `args.days` days up to now, with SQL: realistic messages from the vocabulary
 * of lib/content.mjs with marker terms of known frequency (MARKERS), levels and
 * sources skewed like production logs, rows in time order. Secondary indexes are
 * dropped for the load and rebuilt; then VACUUM ANALYZE. Answers seconds.
 */
export async function seedSystemLogs(args, owner, tenantId, noiseTenantId) {
  const t0 = performance.now();
  const N = args.logs;
  log(`seeding ${fmtInt(N)} system logs over ${args.days} days with SQL (+2% in another tenant)`);
  const idx = (
    await owner.query(
      `SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename IN ('system_logs', 'system_logs_search')
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    )
  ).rows;
  await owner.query(`COMMENT ON DATABASE ${args.db} IS ${lit('seeding: ' + JSON.stringify(idx.map((i) => i.indexdef)))}`);
  for (const i of idx) await owner.query(`DROP INDEX ${i.indexname}`);
  await owner.query(
    `CREATE UNLOGGED TABLE bench_phrases AS
     SELECT p AS id, (SELECT string_agg(($1::text[])[1 + floor(random() * $2::int)::int], ' ') FROM generate_series(1, 5 + p % 6)) AS phrase
     FROM generate_series(0, 4999) p`,
    [WORDS, WORDS.length],
  );
  await owner.query(`ALTER TABLE bench_phrases ADD PRIMARY KEY (id); ANALYZE bench_phrases`);
  const total = Math.round(N * 1.02);
  const chunk = 250_000;
  const chunks = [];
  for (let lo = 0; lo < total; lo += chunk) chunks.push([lo, Math.min(total, lo + chunk)]);
  const levels = `CASE WHEN x.r1 < 0.2 THEN 'debug' WHEN x.r1 < 0.8 THEN 'info' WHEN x.r1 < 0.92 THEN 'warning' WHEN x.r1 < 0.99 THEN 'error' ELSE 'critical' END`;
  const prefixes = Object.entries(PREFIX)
    .map(([lvl, list]) => `WHEN '${lvl}' THEN (ARRAY[${list.map(lit).join(', ')}])[1 + floor(x.r2 * ${list.length})::int]`)
    .join(' ');
  let done = 0;
  const tl = performance.now();
  await parallel(
    args,
    args.seedWorkers,
    chunks.map(([lo, hi]) => async (c) => {
      // Rows numbered in time order (append-only logs arrive in time order); every 51st row belongs to the other tenant.
      // The search rows are written in the same statement, as aos_index_system_log_search() would write them, and
      // the batch the insert trigger queued is removed in the same transaction (the API's indexer never sees it).
      await c.query('BEGIN');
      await c.query(
        `WITH ins AS (INSERT INTO system_logs (log_id, tenant_id, level, source, message, "timestamp", context, trace_id, request_id, created_at)
         SELECT gen_random_uuid(), CASE WHEN i % 51 = 50 THEN $6::uuid ELSE $5::uuid END, y.level, ($4::text[])[1 + floor(array_length($4::text[], 1) * power(x.r3, 2))::int],
           (CASE y.level ${prefixes} END) || ': ' || p.phrase
             || CASE WHEN x.r4 < ${MARKERS.common[1]} THEN ' ${MARKERS.common[0]}' ELSE '' END
             || CASE WHEN x.r5 < ${MARKERS.mid[1]} THEN ' ${MARKERS.mid[0]}' ELSE '' END
             || CASE WHEN x.r6 < ${MARKERS.rare[1]} THEN ' ${MARKERS.rare[0]}' ELSE '' END
             || ' (' || x.ms || ' ms)',
           x.ts,
           jsonb_build_object('host', 'node-' || (i % 12), 'region', (ARRAY['eu-west-1', 'us-east-1', 'ap-south-1'])[1 + (i % 3)],
             'duration_ms', x.ms, 'customer', 'cust-' || (hashint8(i) & 4095), 'attempt', 1 + (i % 3)),
           CASE WHEN x.r7 < 0.4 THEN md5(i::text)::uuid::text END,
           'req-' || substr(md5('r' || i), 1, 12),
           x.ts + interval '40 ms'
         FROM generate_series($1::bigint, $2::bigint - 1) i
         CROSS JOIN LATERAL (SELECT random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6, random() AS r7,
             (5 + 2000 * power(random(), 3))::int AS ms,
             date_trunc('milliseconds', now() - $7::int * interval '1 day' + (i::float8 / $3::float8) * ($7::int * interval '1 day')) AS ts,
             (hashint8(i) & 2147483647) % 5000 AS pid) x
         CROSS JOIN LATERAL (SELECT ${levels} AS level) y
         JOIN bench_phrases p ON p.id = x.pid
         ORDER BY i
         RETURNING log_id, tenant_id, "timestamp", level, source, message, context)
         INSERT INTO system_logs_search (log_id, tenant_id, "timestamp", level, source, search_vector)
         SELECT log_id, tenant_id, "timestamp", level, source, aos_system_log_search_vector(tenant_id, "timestamp", message, context) FROM ins`,
        [lo, hi, total, SOURCES, tenantId, noiseTenantId, args.days],
      );
      await c.query(`DELETE FROM system_logs_search_queue WHERE xmin = pg_current_xact_id()::xid`);
      await c.query('COMMIT');
      done += hi - lo;
      const rate = done / ((performance.now() - tl) / 1000);
      log(`system logs ${fmtInt(done)} / ${fmtInt(total)}, ${fmtInt(rate)} rows/s, eta ${fmt((total - done) / rate, 0)} s`);
    }),
    SESSION_SETUP,
  );
  const sorted = [...idx].sort((a, b) => Number(/USING gin/i.test(b.indexdef)) - Number(/USING gin/i.test(a.indexdef)));
  await parallel(
    args,
    args.seedWorkers,
    sorted.map((i) => async (c) => {
      const t = performance.now();
      await c.query(i.indexdef);
      log(`index ${i.indexname} built (${fmt((performance.now() - t) / 1000)} s)`);
    }),
    SESSION_SETUP,
  );
  await owner.query(`DROP TABLE bench_phrases`);
  await owner.query(`SET maintenance_work_mem = '1GB'`);
  await owner.query(`VACUUM (ANALYZE) system_logs`);
  await owner.query(`VACUUM (ANALYZE) system_logs_search`);
  const seconds = (performance.now() - t0) / 1000;
  log(`seeded in ${fmt(seconds, 0)} s`);
  return seconds;
}

export const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

/** One realistic system log (~300 B of JSON) from a generator. */
export function makeLog(r, ts) {
  const x = r();
  let level = 'critical';
  for (let a = 0, k = 0; k < LEVELS.length; k++) if (x < (a += LEVELS[k][1])) { level = LEVELS[k][0]; break; }
  const source = SOURCES[Math.floor(SOURCES.length * r() ** 2)];
  const words = Array.from({ length: 5 + Math.floor(r() * 6) }, () => WORDS[Math.floor(r() * WORDS.length)]);
  for (const [w, p] of Object.values(MARKERS)) if (r() < p) words.splice(Math.floor(r() * words.length), 0, w);
  const ms = Math.floor(5 + 2000 * r() ** 3);
  const prefixes = PREFIX[level];
  const message = `${prefixes[Math.floor(r() * prefixes.length)]}: ${words.join(' ')} (${ms} ms)`;
  const hex = () => Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0');
  const log = {
    level,
    source,
    message,
    timestamp: ts.toISOString(),
    context: { host: `node-${Math.floor(r() * 12)}`, region: ['eu-west-1', 'us-east-1', 'ap-south-1'][Math.floor(r() * 3)], duration_ms: ms, customer: `cust-${Math.floor(r() * 5000)}`, attempt: 1 + Math.floor(r() * 3) },
    request_id: `req-${hex()}${hex().slice(0, 4)}`,
  };
  if (r() < 0.4) log.trace_id = `${hex()}-${hex().slice(0, 4)}-7${hex().slice(0, 3)}-8${hex().slice(0, 3)}-${hex()}${hex().slice(0, 4)}`;
  return log;
}

/**
 * The ingestion baseline: the same logs (fresh ids) COPYed into `system_logs` of
 * `tenant` over `streams` connections, from CSV files written first (not timed).
 * Answers the seconds the COPYs took; `beforeTimed` runs once the files exist.
 */
export async function copySystemLogs(args, logs, tenant, streams, beforeTimed = async () => undefined) {
  const copyFrom = requireFromRoot('pg-copy-streams').from;
  const pg = requireFromRoot('pg');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'aos-bench-copy-'));
  try {
    const files = [];
    for (let s = 0; s < streams; s++) {
      const f = path.join(tmp, `copy-${s}.csv`);
      const out = createWriteStream(f);
      for (let i = s; i < logs.length; i += streams) {
        const l = logs[i];
        out.write([randomUUID(), tenant, l.level, l.source, l.message, l.timestamp, JSON.stringify(l.context), l.trace_id ?? null, l.request_id].map(csvField).join(',') + '\n');
      }
      await new Promise((res) => out.end(res));
      files.push(f);
    }
    await beforeTimed();
    const t0 = performance.now();
    await Promise.all(
      files.map(async (f) => {
        const c = new pg.Client({ connectionString: dbUrl(args, args.db) });
        await c.connect();
        try {
          await pipeline(
            createReadStream(f, { highWaterMark: 1 << 20 }),
            c.query(copyFrom(`COPY system_logs (log_id, tenant_id, level, source, message, "timestamp", context, trace_id, request_id) FROM STDIN WITH (FORMAT csv)`)),
          );
        } finally {
          await c.end();
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
