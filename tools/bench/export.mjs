#!/usr/bin/env node
// Bulk export benchmark (issue 4 targets): POST /api/v1/logs/export of system
// logs as CSV (1M rows: >= 100,000 rows/s, API peak RSS < 200 MB) and XLSX
// (500k rows: peak RSS < 250 MB). Baseline: psql `\copy (the same SELECT) TO
// STDOUT WITH CSV` of the same rows, as the serving role with the tenant set.
// See tools/bench/README.md.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync, statSync, mkdirSync, createReadStream } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  connect,
  roleSettings,
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
  requireFromRoot,
  runBench,
  sleep,
  startApi,
  table,
  writeJson,
} from './lib/common.mjs';
import { systemLogStreamSql } from './lib/store-sql.mjs';
import { lit, seedSystemLogs } from './lib/syslog.mjs';
import { printProfile, profiledApiOptions, startProfile, stopProfile, summarizeProfile } from './lib/profile.mjs';

const USAGE = `node tools/bench/export.mjs [options]

  --rows N          system logs seeded and exported as CSV (default 1000000)
  --xlsx-rows N     rows exported as XLSX (the newest N of them; default 500000, 0 to skip)
  --days N          seeded logs spread over N days (default 35)
  --formats LIST    csv,xlsx (default both)
  --reuse           reuse the seeded database if it exists with the same sizes (implies --keep)
  --keep            keep the database
  --db NAME         bench database (default aos_bench_export)
  --seed-workers N  parallel seeding sessions (default 2)
  --cpu-prof        profile the API over each export (V8 sampling) and summarise it (affects the figures a little)
  --build           rebuild the API first
  --json [FILE]     write results as JSON (default tools/bench/results/export-<time>.json)
  --pg-url URL      owner URL of the PostgreSQL server
  --port N          API port (default: a free one)`;

const args = parseArgs(
  {
    rows: 1_000_000,
    xlsxRows: 500_000,
    days: 35,
    formats: 'csv,xlsx',
    reuse: false,
    keep: false,
    db: 'aos_bench_export',
    seedWorkers: 2,
    cpuProf: false,
    build: false,
    json: '',
    pgUrl: undefined,
    port: 0,
  },
  USAGE,
);
if (args.reuse) args.keep = true;
const PLATFORM_KEY = 'aos_bench_platform_key_do_not_use_in_production';
const seedSignature = () => `aos-bench-export v1 rows=${args.rows} days=${args.days}`;
const TARGETS = { csv: { rows_per_s: 100_000, rss_mb: 200 }, xlsx: { rss_mb: 250 } };

/** VmRSS and VmHWM of a process, MB. */
function memOf(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) ?? [])[1]);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** POST the export and stream the answer to a file; RSS of the API polled every 20 ms meanwhile. */
async function exportOnce(api, key, body, file) {
  const before = memOf(api.pid);
  let peak = before.rss;
  let samples = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        peak = Math.max(peak, memOf(api.pid).rss);
        samples++;
      } catch {
        /* gone */
      }
      await sleep(20);
    }
  })();
  const u = new URL(api.base);
  const payload = Buffer.from(JSON.stringify(body));
  const t0 = performance.now();
  let firstByte = null;
  const result = await new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path: '/api/v1/logs/export',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        if (res.statusCode !== 200) {
          let t = '';
          res.on('data', (d) => (t += d));
          res.on('end', () => reject(new Error(`export: HTTP ${res.statusCode} ${t.slice(0, 300)}`)));
          return;
        }
        const out = createWriteStream(file, { highWaterMark: 1 << 20 });
        res.once('data', () => (firstByte = performance.now() - t0));
        res.pipe(out);
        out.on('finish', () => resolve({ contentType: res.headers['content-type'] }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
  const seconds = (performance.now() - t0) / 1000;
  polling = false;
  await poller;
  const after = memOf(api.pid);
  return { seconds, first_byte_ms: firstByte, bytes: statSync(file).size, rss_before_mb: before.rss, rss_peak_mb: peak, hwm_before_mb: before.hwm, hwm_after_mb: after.hwm, rss_samples: samples, content_type: result.contentType };
}

/** psql \copy (sql) TO file WITH CSV HEADER, as aos_app with the tenant set. */
function psqlCopyOut(url, tenantId, sql, file, settings = []) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(
      'psql',
      [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...settings.flatMap(([k, v]) => ['-c', `SET ${k} = ${lit(v)}`]), '-c', 'SET ROLE aos_app', '-c', `SELECT set_config('aos.tenant_id', '${tenantId}', false)`, '-c', `\\copy (${sql.replace(/\s+/g, ' ')}) TO '${file}' WITH (FORMAT csv, HEADER)`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`psql \\copy failed (${code}): ${err}`))));
  });
}

/** Inlines $n parameters (uuid/timestamp strings) into the captured statement for psql. */
function inline(text, params) {
  return text.replace(/\$(\d+)/g, (_, n) => lit(params[Number(n) - 1]));
}

/** Records of a CSV file counted by a real CSV parser (csv-parse), header excluded. */
async function countCsv(file) {
  const { parse } = requireFromRoot('csv-parse');
  let n = 0;
  let header = null;
  const parser = createReadStream(file).pipe(parse({ bom: true, relax_column_count: false }));
  for await (const rec of parser) {
    if (!header) header = rec;
    else n++;
  }
  return { rows: n, header };
}

await runBench(async (onCleanup) => {
  ensureBuilt(args.build);
  const machine = await machineInfo(args);
  printMachine(machine);
  const load0 = os.loadavg();
  process.stdout.write(`load average at start: ${load0.map((x) => fmt(x, 2)).join(' ')}\n`);
  let reused = false;
  let stored = null;
  if (args.reuse && (await databaseExists(args, args.db))) {
    const o = await connect(dbUrl(args, args.db));
    const comment = (await o.query(`SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = current_database()`)).rows[0].c ?? '';
    await o.end();
    try {
      stored = JSON.parse(comment);
      reused = stored.signature === seedSignature();
    } catch {
      reused = false;
    }
    log(reused ? `reusing the seeded database ${args.db}` : `${args.db} was not seeded with these sizes: seeding again`);
  }
  if (!reused) await createDatabase(args, args.db);
  onCleanup(async () => {
    if (args.keep) log(`kept database ${args.db}`);
    else await dropDatabase(args, args.db);
  });
  let api = await startApi(args, args.db, { extraEnv: { AOS_PLATFORM_API_KEY: PLATFORM_KEY } });
  onCleanup(() => api.stop());
  const owner = await connect(dbUrl(args, args.db));
  onCleanup(() => owner.end());

  let tenant;
  if (reused) tenant = stored.tenant;
  else {
    const platform = httpClient(api.base, { apiKey: PLATFORM_KEY });
    const t = expectStatus(await platform.request('POST', '/api/v1/tenants', { name: 'bench-export', compliance: 'soc2' }), 201, 'POST /api/v1/tenants');
    platform.close();
    tenant = { id: t.tenant.tenant_id, key: t.api_key.key };
    const [{ tenant_id: devTenant }] = (await owner.query(`SELECT tenant_id FROM tenants WHERE name = 'development'`)).rows;
    await seedSystemLogs({ ...args, logs: args.rows }, owner, tenant.id, devTenant);
    await owner.query(`COMMENT ON DATABASE ${args.db} IS ${lit(JSON.stringify({ signature: seedSignature(), tenant }))}`);
  }
  const [{ n: tenantRows }] = (await owner.query(`SELECT count(*)::int AS n FROM system_logs WHERE tenant_id = $1`, [tenant.id])).rows;
  log(`the tenant holds ${fmtInt(tenantRows)} system logs`);

  const tmp = path.join(os.tmpdir(), `aos-bench-export-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  const results = [];
  const formats = args.formats.split(',');

  for (const format of formats) {
    let filters = {};
    let expected = tenantRows;
    if (format === 'xlsx') {
      if (!args.xlsxRows) continue;
      // The newest xlsxRows rows: a start_time at the boundary.
      const r = await owner.query(`SELECT "timestamp" FROM system_logs WHERE tenant_id = $1 ORDER BY "timestamp" DESC, log_id DESC OFFSET $2 LIMIT 1`, [tenant.id, args.xlsxRows - 1]);
      filters = { start_time: r.rows[0].timestamp.toISOString() };
      expected = Number((await owner.query(`SELECT count(*) AS n FROM system_logs WHERE tenant_id = $1 AND "timestamp" >= $2`, [tenant.id, filters.start_time])).rows[0].n);
    }
    // A fresh API process per format, so its peak RSS is this export's.
    await api.stop();
    const profileFile = path.join(os.tmpdir(), 'aos-bench', `export-${format}-api-${Date.now()}.cpuprofile`);
    const prof = args.cpuProf ? profiledApiOptions(profileFile) : { extraEnv: {} };
    api = await startApi(args, args.db, { ...prof, extraEnv: { ...prof.extraEnv, AOS_PLATFORM_API_KEY: PLATFORM_KEY } });
    // Warm the connection pool and the key cache with a tiny export (one row).
    const probe = httpClient(api.base, { apiKey: tenant.key });
    expectStatus(await probe.request('POST', '/api/v1/logs/export', { topic: 'system', format, filters: { ...filters, search: 'kerberos', start_time: new Date(Date.now() - 3_600_000).toISOString() } }, { parse: false }), 200, 'probe export');
    probe.close();
    await sleep(500);

    const stmt = await systemLogStreamSql(tenant.id, filters);
    // The serving role's own settings (jit = off), as the API's connections have them.
    const settings = await roleSettings(owner, 'aos_app');
    const baseFile = path.join(tmp, `baseline-${format}.csv`);
    await owner.query('CHECKPOINT');
    // Baseline and API alternate: baseline, API, baseline (the data is cached for both).
    const base1 = await psqlCopyOut(dbUrl(args, args.db), tenant.id, inline(stmt.text, stmt.params), baseFile, settings);
    const file = path.join(tmp, `export.${format}`);
    log(`${format}: exporting ${fmtInt(expected)} rows through the API`);
    if (args.cpuProf) startProfile(api);
    const ex = await exportOnce(api, tenant.key, { topic: 'system', format, filters }, file);
    const profile = args.cpuProf ? summarizeProfile(await stopProfile(api, profileFile)) : null;
    if (profile) {
      process.stdout.write(`\nAPI CPU profile of the ${format} export\n`);
      printProfile(profile);
    }
    const base2 = await psqlCopyOut(dbUrl(args, args.db), tenant.id, inline(stmt.text, stmt.params), baseFile, settings);
    const baseSeconds = Math.min(base1, base2);
    const baseBytes = statSync(baseFile).size;
    let counted = null;
    if (format === 'csv') {
      counted = await countCsv(file);
      if (counted.rows !== expected) throw new Error(`the CSV holds ${counted.rows} rows, expected ${expected}`);
    }
    const r = {
      format,
      rows: expected,
      filters,
      ...ex,
      rows_per_s: expected / ex.seconds,
      mb_per_s: ex.bytes / 1e6 / ex.seconds,
      csv_rows_counted: counted?.rows ?? null,
      csv_header: counted?.header ?? null,
      baseline: { seconds_min: baseSeconds, seconds: [base1, base2], bytes: baseBytes, rows_per_s: expected / baseSeconds, method: 'psql \\copy (same SELECT, aos_app, tenant set) TO file WITH CSV' },
      ratio_rows_per_s: expected / ex.seconds / (expected / baseSeconds),
      api_profile: profile,
    };
    results.push(r);
    log(`${format}: ${fmtInt(r.rows_per_s)} rows/s (${fmt(ex.seconds, 2)} s, ${fmt(ex.bytes / 1e6, 0)} MB), peak RSS ${fmt(ex.rss_peak_mb, 0)} MB; psql \\copy ${fmtInt(r.baseline.rows_per_s)} rows/s`);
    rmSync(file, { force: true });
    rmSync(baseFile, { force: true });
  }

  const load1 = os.loadavg();
  process.stdout.write(`\nload average: start ${load0.map((x) => fmt(x, 2)).join(' ')}, end ${load1.map((x) => fmt(x, 2)).join(' ')}\n\n`);
  process.stdout.write(
    table(
      ['export', 'rows', 'seconds', 'rows/s', 'MB/s', 'first byte ms', 'API RSS before / peak MB', 'psql \\copy s', 'psql rows/s', 'ratio', 'rows counted'],
      results.map((r) => [
        r.format,
        fmtInt(r.rows),
        fmt(r.seconds, 2),
        fmtInt(r.rows_per_s),
        fmt(r.mb_per_s, 1),
        fmt(r.first_byte_ms, 0),
        `${fmt(r.rss_before_mb, 0)} / ${fmt(r.rss_peak_mb, 0)}`,
        fmt(r.baseline.seconds_min, 2),
        fmtInt(r.baseline.rows_per_s),
        fmt(r.ratio_rows_per_s, 3),
        r.csv_rows_counted === null ? '–' : fmtInt(r.csv_rows_counted),
      ]),
    ) + '\n\n',
  );
  const t = [];
  for (const r of results) {
    if (r.format === 'csv') {
      t.push(['CSV rows/s', `>= ${fmtInt(TARGETS.csv.rows_per_s)}`, fmtInt(r.rows_per_s), r.rows_per_s >= TARGETS.csv.rows_per_s ? 'met' : 'MISSED']);
      t.push(['CSV peak RSS of the API', `< ${TARGETS.csv.rss_mb} MB`, `${fmt(r.rss_peak_mb, 0)} MB`, r.rss_peak_mb < TARGETS.csv.rss_mb ? 'met' : 'MISSED']);
    }
    if (r.format === 'xlsx') t.push(['XLSX peak RSS of the API', `< ${TARGETS.xlsx.rss_mb} MB`, `${fmt(r.rss_peak_mb, 0)} MB`, r.rss_peak_mb < TARGETS.xlsx.rss_mb ? 'met' : 'MISSED']);
  }
  process.stdout.write(table(['target', 'required', 'measured', 'result'], t) + '\n');
  writeJson(args, 'export', { bench: 'export', at: new Date().toISOString(), machine, params: args, load_avg: { start: load0, end: load1 }, tenant_rows: tenantRows, reused, results });
});
