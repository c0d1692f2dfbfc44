#!/usr/bin/env node
// Ledger cost benchmark (issue 7 target): ingestion with the tamper-evident
// ledger on stays within 15% of it off.
//  1. system log ingestion, POST /api/v1/logs/system {logs: [1000]}, 4 clients:
//     every log is a ledger leaf (the worst case: a leaf per record);
//  2. audit single-row writes, POST /api/v1/logs/audit, 4 concurrent writers:
//     a leaf per row, p50/p99 latency;
//  3. trace sealing, POST /api/v1/traces/{id}/complete of 20-step traces,
//     4 concurrent: a leaf per sealed trace.
// The API is started alternately with AOS_LEDGER=on and off (on, off, off, on,
// ... so drift favours neither) on the same database, each run on a fresh
// tenant; the figure is the ratio of the medians. The bare baseline is COPY of
// the same logs into system_logs. See tools/bench/README.md.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
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
import { rng } from './lib/content.mjs';
import { copySystemLogs, makeLog } from './lib/syslog.mjs';

const USAGE = `node tools/bench/ledger.mjs [options]

  --logs N          system logs per measured run (default 100000)
  --batch N         logs per POST (default 1000)
  --clients N       concurrent clients (default 4)
  --audit N         audit writes per run (default 2000)
  --traces N        traces sealed per run (default 400)
  --rounds N        on/off pairs (default 2)
  --keep            keep the database
  --db NAME         bench database (default aos_bench_ledger)
  --build           rebuild the API first
  --json [FILE]     write results as JSON (default tools/bench/results/ledger-<time>.json)
  --pg-url URL      owner URL of the PostgreSQL server`;

const args = parseArgs(
  { logs: 100_000, warmup: 10_000, batch: 1000, clients: 4, audit: 2000, traces: 400, rounds: 2, keep: false, db: 'aos_bench_ledger', build: false, json: '', pgUrl: undefined, port: 0 },
  USAGE,
);
const PLATFORM_KEY = 'aos_bench_platform_key_do_not_use_in_production';

/** Runs `jobs` with `clients` concurrent workers; answers seconds and per-request ms. */
async function drive(clients, jobs, run) {
  const lat = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < jobs; i = next++) {
        const t = performance.now();
        await run(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, lat };
}

async function oneRun(mode, round, bodies, warm) {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'aos-bench-ledger-'));
  const api = await startApi(args, args.db, {
    extraEnv: { AOS_LEDGER: mode, AOS_PLATFORM_API_KEY: PLATFORM_KEY, AOS_DATA_DIR: scratch, AOS_RETENTION_INTERVAL_MS: '0' },
  });
  try {
    const platform = httpClient(api.base, { apiKey: PLATFORM_KEY });
    const t = expectStatus(await platform.request('POST', '/api/v1/tenants', { name: `bench-ledger-${mode}-${round}-${Date.now()}`, compliance: 'none' }), 201, 'POST /api/v1/tenants');
    platform.close();
    const client = httpClient(api.base, { apiKey: t.api_key.key, sockets: args.clients });
    const post = async (p, body, status) => {
      const res = await client.request('POST', p, body, { parse: false });
      if (res.status !== status) throw new Error(`POST ${p}: HTTP ${res.status} ${String(res.body).slice(0, 300)}`);
      return res;
    };
    for (const b of warm) await post('/api/v1/logs/system', b, 201);

    const logs = await drive(args.clients, bodies.length, (i) => post('/api/v1/logs/system', bodies[i], 201));
    const audit = await drive(args.clients, args.audit, (i) =>
      post('/api/v1/logs/audit', Buffer.from(JSON.stringify({ action: 'settings_updated', resource_type: 'settings', details: { round, i } })), 201),
    );
    // Traces: created and filled outside the clock; only the sealing is timed.
    const ids = [];
    for (let i = 0; i < args.traces; i++) {
      const res = await client.request('POST', '/api/v1/traces', Buffer.from(JSON.stringify({ run_id: randomUUID(), agent_id: randomUUID() })));
      const id = res.body.trace_id;
      const steps = Array.from({ length: 20 }, (_, k) => ({ step_index: k, step_type: 'llm_call', timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, k)).toISOString(), tokens: 10, input_data: { k }, output_data: { ok: true } }));
      await post(`/api/v1/traces/${id}/steps`, Buffer.from(JSON.stringify({ steps })), 201);
      ids.push(id);
    }
    const seal = await drive(args.clients, ids.length, (i) => post(`/api/v1/traces/${ids[i]}/complete`, Buffer.from(JSON.stringify({ status: 'completed' })), 200));
    client.close();

    const owner = await connect(dbUrl(args, args.db));
    const leaves = Number((await owner.query(`SELECT count(*) AS n FROM aos_ledger_leaves WHERE log_id = $1`, [t.tenant.tenant_id])).rows[0].n);
    await owner.end();
    const expected = mode === 'on' ? warm.length * args.batch + bodies.length * args.batch + args.audit + 1 + args.traces : 0;
    // +1: the tenant's creation is audited. Off: nothing is ledgered.
    if (mode === 'on' ? leaves < expected - 1 : leaves !== 0) throw new Error(`ledger ${mode}: ${leaves} leaves, expected ${expected}`);
    const r = {
      mode,
      round,
      leaves,
      logs_per_s: (bodies.length * args.batch) / logs.seconds,
      log_batch_ms: summarize(logs.lat),
      audit_per_s: args.audit / audit.seconds,
      audit_ms: summarize(audit.lat),
      seals_per_s: ids.length / seal.seconds,
      seal_ms: summarize(seal.lat),
    };
    log(`${mode} #${round}: ${fmtInt(r.logs_per_s)} logs/s, audit p99 ${fmt(r.audit_ms.p99)} ms, ${fmtInt(r.seals_per_s)} seals/s (${fmtInt(leaves)} leaves)`);
    return r;
  } finally {
    await api.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

await runBench(async (onCleanup) => {
  const machine = await machineInfo(args);
  printMachine(machine);
  ensureBuilt(args.build);
  await dropDatabase(args, args.db);
  await createDatabase(args, args.db);
  onCleanup(async () => {
    if (!args.keep) await dropDatabase(args, args.db);
  });

  const r = rng(7);
  const now = Date.now();
  const mkBodies = (n, t0) => {
    const logs = [];
    const bodies = [];
    for (let b = 0; b < n / args.batch; b++) {
      const batch = Array.from({ length: args.batch }, (_, k) => makeLog(r, new Date(t0 + (b * args.batch + k) * 3)));
      logs.push(...batch);
      bodies.push(Buffer.from(JSON.stringify({ logs: batch })));
    }
    return { logs, bodies };
  };
  const measured = mkBodies(args.logs, now - 1_800_000);
  const warm = mkBodies(args.warmup, now - 3_600_000).bodies;
  log(`generated ${fmtInt(args.logs)} logs, batches of ${args.batch}, ${args.clients} clients; ${args.rounds} rounds of on/off`);

  const runs = [];
  for (let round = 0; round < args.rounds; round++) {
    const order = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    for (const mode of order) runs.push(await oneRun(mode, round, measured.bodies, warm));
  }
  const owner = await connect(dbUrl(args, args.db));
  const [{ tenant_id: tenant }] = (await owner.query(`SELECT tenant_id FROM tenants LIMIT 1`)).rows;
  await owner.end();
  const copyRate = measured.logs.length / (await copySystemLogs(args, measured.logs, tenant, args.clients));
  log(`baseline: COPY ${fmtInt(copyRate)} logs/s`);

  const pick = (mode, f) => median(runs.filter((x) => x.mode === mode).map(f));
  const figures = {
    logs_per_s: { on: pick('on', (x) => x.logs_per_s), off: pick('off', (x) => x.logs_per_s) },
    audit_p99_ms: { on: pick('on', (x) => x.audit_ms.p99), off: pick('off', (x) => x.audit_ms.p99) },
    audit_per_s: { on: pick('on', (x) => x.audit_per_s), off: pick('off', (x) => x.audit_per_s) },
    seals_per_s: { on: pick('on', (x) => x.seals_per_s), off: pick('off', (x) => x.seals_per_s) },
  };
  const logsRatio = figures.logs_per_s.on / figures.logs_per_s.off;
  process.stdout.write(`\nLedger on vs off (medians of ${args.rounds} runs each)\n\n`);
  process.stdout.write(
    table(
      ['figure', 'ledger on', 'ledger off', 'on / off'],
      [
        ['system logs/s (batches of 1000)', fmtInt(figures.logs_per_s.on), fmtInt(figures.logs_per_s.off), fmt(logsRatio, 3)],
        ['audit writes/s (single rows)', fmtInt(figures.audit_per_s.on), fmtInt(figures.audit_per_s.off), fmt(figures.audit_per_s.on / figures.audit_per_s.off, 3)],
        ['audit write p99 ms', fmt(figures.audit_p99_ms.on), fmt(figures.audit_p99_ms.off), fmt(figures.audit_p99_ms.on / figures.audit_p99_ms.off, 3)],
        ['trace seals/s (20 steps)', fmtInt(figures.seals_per_s.on), fmtInt(figures.seals_per_s.off), fmt(figures.seals_per_s.on / figures.seals_per_s.off, 3)],
      ],
    ),
  );
  process.stdout.write(
    `\nbaseline COPY: ${fmtInt(copyRate)} logs/s; ledger on ${fmt(figures.logs_per_s.on / copyRate, 3)} of COPY, off ${fmt(figures.logs_per_s.off / copyRate, 3)}\n` +
      `target: ingestion with the ledger within 15% of it off: ${logsRatio >= 0.85 ? 'met' : 'NOT met'} (${fmt((1 - logsRatio) * 100)}% slower)\n`,
  );
  writeJson(args, 'ledger', { machine, args, runs, figures, copy_logs_per_s: copyRate, ratio_logs_on_off: logsRatio });
});
