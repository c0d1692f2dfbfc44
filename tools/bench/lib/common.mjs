// Shared plumbing of the benchmarks: arguments, the bench database, the API
// process, a keep-alive HTTP client, statistics and the results table.
// Node built-ins plus packages the workspace already has (pg, canonicalize).
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const requireFromRoot = createRequire(path.join(ROOT, 'package.json'));
const pg = requireFromRoot('pg');

// AOS_BENCH_API_ENTRY: a private build (e.g. under dist/), so a bench is not
// disturbed by someone else rebuilding dist/apps/api meanwhile.
export const API_ENTRY = process.env.AOS_BENCH_API_ENTRY
  ? path.resolve(process.env.AOS_BENCH_API_ENTRY)
  : path.join(ROOT, 'dist/apps/api/main.js');
/** Admin key of the development tenant in every bench database (AOS_BOOTSTRAP_API_KEY). */
export const BENCH_API_KEY = 'aos_bench_admin_key_do_not_use_in_production';

// ---------------------------------------------------------------- arguments

/**
 * `--name value`, `--name=value`, `--flag`. `spec` maps names to defaults; the
 * type of the default (number, boolean, string) types the value.
 */
export function parseArgs(spec, usage) {
  const out = { ...spec };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write(usage + '\n');
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}\n\n${usage}`);
    a = a.slice(2);
    let value;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const key = a.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in spec)) throw new Error(`unknown option --${a}\n\n${usage}`);
    const def = spec[key];
    if (key === 'json') {
      // `--json` alone: the default path (decided by writeJson); `--json FILE`: there.
      if (value === undefined && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) value = argv[++i];
      out.json = value === undefined ? true : value;
      continue;
    }
    if (typeof def === 'boolean') {
      out[key] = value === undefined ? true : !/^(0|false|no)$/i.test(value);
    } else {
      if (value === undefined) value = argv[++i];
      if (value === undefined) throw new Error(`--${a} needs a value`);
      if (typeof def === 'number') {
        const n = Number(value);
        if (!Number.isFinite(n)) throw new Error(`--${a} must be a number, got ${value}`);
        out[key] = n;
      } else {
        out[key] = value;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- logging

const t0 = Date.now();
export function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${s}s] ${msg}\n`);
}

// ---------------------------------------------------------------- database

export function serverUrl(args) {
  return args.pgUrl ?? process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function dbUrl(args, dbName) {
  const u = new URL(serverUrl(args));
  u.pathname = '/' + dbName;
  return u.toString();
}

function assertBenchDb(name) {
  if (!/^aos_bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to touch database "${name}": bench databases are named aos_bench_*`);
}

export async function withClient(url, fn) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function connect(url, { role, tenantId } = {}) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  if (role) {
    // SET ROLE does not apply the role's own settings (ALTER ROLE ... SET, e.g. jit = off
    // for aos_app) the way a login as that role does: apply them, so the bare SQL runs
    // with the settings of the API's serving connections.
    for (const [k, v] of await roleSettings(c, role)) await c.query(`SELECT set_config($1, $2, false)`, [k, v]);
    await c.query(`SET ROLE ${role}`);
  }
  if (tenantId) await c.query(`SELECT set_config('aos.tenant_id', $1, false)`, [tenantId]);
  return c;
}

/** The settings a login as `role` gets in the current database (ALTER ROLE ... SET), as [name, value]. */
export async function roleSettings(c, role) {
  const r = await c.query(
    `SELECT unnest(setconfig) AS s FROM pg_db_role_setting
     WHERE setrole = (SELECT oid FROM pg_roles WHERE rolname = $1)
       AND setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
     ORDER BY setdatabase`,
    [role],
  );
  return r.rows.map((x) => [x.s.slice(0, x.s.indexOf('=')), x.s.slice(x.s.indexOf('=') + 1)]);
}

export async function databaseExists(args, name) {
  assertBenchDb(name);
  return withClient(serverUrl(args), async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

export async function createDatabase(args, name) {
  assertBenchDb(name);
  await withClient(serverUrl(args), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  log(`created database ${name}`);
}

export async function dropDatabase(args, name) {
  assertBenchDb(name);
  await withClient(serverUrl(args), (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  log(`dropped database ${name}`);
}

// ---------------------------------------------------------------- the API process

export function ensureBuilt(force = false) {
  if (!force && existsSync(API_ENTRY)) return;
  log(force ? 'building the API (--build)' : 'dist/apps/api/main.js is missing: building the API');
  const r = spawnSync('npx', ['nx', 'run', 'api:build', '--skip-nx-cache'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npx nx run api:build failed');
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node dist/apps/api/main.js` on the bench database and waits until
 * /health/ready answers. The API migrates the database as the owner and serves
 * as the restricted role. Its output goes to a log file.
 */
export async function startApi(args, dbName, { extraEnv = {}, nodeArgs = [] } = {}) {
  const port = args.port || (await freePort());
  const logDir = path.join(os.tmpdir(), 'aos-bench');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `api-${dbName}-${Date.now()}.log`);
  const fd = openSync(logFile, 'a');
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: dbUrl(args, dbName),
    AOS_BOOTSTRAP_API_KEY: BENCH_API_KEY,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...extraEnv,
  };
  delete env.DATABASE_APP_URL;
  delete env.REDIS_URL;
  const child = spawn(process.execPath, [...nodeArgs, API_ENTRY], { cwd: ROOT, env, stdio: ['ignore', fd, fd] });
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited) throw new Error(`the API exited during start (${JSON.stringify(exited)}); log:\n${tail(logFile)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the API did not become ready in 180 s; log:\n${tail(logFile)}`);
    }
    try {
      const r = await fetch(`${base}/health/ready`);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(250);
  }
  log(`API ready on ${base} (pid ${child.pid}, log ${logFile})`);
  const api = {
    base,
    port,
    pid: child.pid,
    logFile,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const until = Date.now() + 15_000;
      while (!exited && Date.now() < until) await sleep(100);
      if (!exited) child.kill('SIGKILL');
      while (!exited) await sleep(50);
      log(`API stopped (pid ${child.pid})`);
    },
  };
  return api;
}

function tail(file, n = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- HTTP client

/**
 * A keep-alive HTTP/1.1 client on node:http (lower overhead than fetch).
 * `request` answers {status, body (parsed JSON or text), ms, bytes}; `ms` runs
 * from the call to the last byte of the answer.
 */
export function httpClient(base, { apiKey = BENCH_API_KEY, sockets = 8 } = {}) {
  const u = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  function request(method, pathAndQuery, body, { parse = true } = {}) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      const headers = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
      if (payload) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = payload.length;
      }
      const start = process.hrtime.bigint();
      const req = http.request({ host: u.hostname, port: u.port, method, path: pathAndQuery, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          const buf = Buffer.concat(chunks);
          let out = buf;
          if (parse) {
            const text = buf.toString('utf8');
            try {
              out = text ? JSON.parse(text) : null;
            } catch {
              out = text;
            }
          }
          resolve({ status: res.statusCode, body: out, ms, bytes: buf.length });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (payload) req.end(payload);
      else req.end();
    });
  }
  return { request, close: () => agent.destroy() };
}

export function expectStatus(res, ok, what) {
  const list = Array.isArray(ok) ? ok : [ok];
  if (!list.includes(res.status)) {
    const body = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
    throw new Error(`${what}: HTTP ${res.status} ${body?.slice(0, 500)}`);
  }
  return res.body;
}

// ---------------------------------------------------------------- statistics

/** Nearest-rank percentile of an unsorted list of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1];
}

export function summarize(values) {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  return {
    n,
    min: n ? Math.min(...values) : NaN,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: n ? Math.max(...values) : NaN,
    mean,
  };
}

export const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(digits));
export const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');

/** A Markdown table (paste-able into docs/benchmarks.md). */
export function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c)));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [line(cells[0]), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...cells.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------- machine and results

export async function machineInfo(args) {
  const settings = await withClient(serverUrl(args), async (c) => {
    const v = (await c.query('SHOW server_version')).rows[0].server_version;
    const s = await c.query(
      `SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'maintenance_work_mem',
        'effective_cache_size', 'max_wal_size', 'synchronous_commit', 'jit', 'random_page_cost', 'max_parallel_workers_per_gather')
       ORDER BY name`,
    );
    return { version: v, settings: Object.fromEntries(s.rows.map((r) => [r.name, r.unit ? `${r.setting} (${r.unit})` : r.setting])) };
  });
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    postgres: settings.version,
    postgres_settings: settings.settings,
    git_commit: gitCommit(),
    // What was measured: the build in dist (others may edit the sources meanwhile).
    api_built_at: existsSync(API_ENTRY) ? statSync(API_ENTRY).mtime.toISOString() : null,
  };
}

function gitCommit() {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', 'apps', 'libs'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() + (dirty.stdout.trim() ? ' (apps/libs modified)' : '') : null;
}

export function printMachine(m) {
  process.stdout.write(
    `machine: ${m.cpus} CPU (${m.cpu_model}), ${m.memory_gib} GiB, node ${m.node}, PostgreSQL ${m.postgres}, commit ${m.git_commit}, API built ${m.api_built_at}\n`,
  );
}

/** `--json` writes tools/bench/results/<bench>-<time>.json; `--json path` writes there. */
export function writeJson(args, bench, data) {
  if (!args.json) return;
  const file =
    args.json === true
      ? path.join(ROOT, 'tools/bench/results', `${bench}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
      : path.resolve(args.json);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  log(`results written to ${file}`);
}

/**
 * Runs `body` with cleanup on exit or Ctrl-C: the API is stopped and, unless
 * kept, the database dropped.
 */
export async function runBench(main) {
  const cleanups = [];
  const onCleanup = (fn) => cleanups.push(fn);
  let cleaning = false;
  const cleanup = async () => {
    if (cleaning) return;
    cleaning = true;
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log(`cleanup: ${err.message}`);
      }
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, async () => {
      log(`${sig}: cleaning up`);
      await cleanup();
      process.exit(130);
    });
  }
  try {
    await main(onCleanup);
    await cleanup();
  } catch (err) {
    process.stderr.write(`\nbenchmark failed: ${err.stack ?? err}\n`);
    await cleanup();
    process.exit(1);
  }
}

// ---------------------------------------------------------------- CPU accounting (Linux /proc)

let clkTck = null;
function ticksPerSecond() {
  if (clkTck === null) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clkTck = Number(r.stdout?.trim()) || 100;
  }
  return clkTck;
}

function procCpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return null;
  }
}

/**
 * CPU used so far by the machine, the API process, the PostgreSQL backends of
 * the bench database (`backendPids`) and this client. Compare two snapshots
 * with cpuDelta. Linux only; elsewhere the figures are null.
 */
export function cpuSnapshot(apiPid, backendPids = []) {
  let busy = null;
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    busy = f.reduce((a, b) => a + b, 0) - f[3] - f[4];
  } catch {
    /* not Linux */
  }
  const backends = {};
  for (const pid of backendPids) backends[pid] = procCpuTicks(pid);
  return { at: performance.now(), busy, api: procCpuTicks(apiPid), backends, self: process.cpuUsage() };
}

/** CPU seconds between two snapshots (backends present in both). */
export function cpuDelta(a, b) {
  const hz = ticksPerSecond();
  const sec = (x) => (x === null || Number.isNaN(x) ? null : x / hz);
  let pg = 0;
  // A backend that started during the interval counts whole (the pool reconnects after idling).
  for (const [pid, t] of Object.entries(b.backends)) if (t !== null) pg += t - (a.backends[pid] ?? 0);
  const client = (b.self.user - a.self.user + b.self.system - a.self.system) / 1e6;
  const wall = (b.at - a.at) / 1000;
  const machine = a.busy === null ? null : sec(b.busy - a.busy);
  const api = a.api === null || b.api === null ? null : sec(b.api - a.api);
  return {
    wall_s: wall,
    machine_busy_s: machine,
    api_s: api,
    pg_backends_s: sec(pg),
    client_s: client,
    other_s: machine === null ? null : machine - (api ?? 0) - sec(pg) - client,
  };
}

/** PIDs of the PostgreSQL processes serving `dbName` (cmdline "postgres: <user> <db> ..."), from /proc. */
export function backendPids(dbName) {
  const out = [];
  let entries = [];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of entries) {
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.startsWith('postgres: ') && cmd.split(' ').includes(dbName)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * The API's request and the bare SQL of the same page, in turn: the API first on even
 * runs, the SQL first on odd ones. Whichever goes first reads a new page's (or a new
 * agent's) rows cold and leaves them warm for the other, so a fixed order flatters one.
 */
export async function inTurn(k, api, sql) {
  if (k % 2 === 0) {
    const res = await api();
    return { res, s: await sql() };
  }
  const s = await sql();
  return { res: await api(), s };
}
