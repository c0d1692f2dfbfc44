#!/usr/bin/env node
// PDF rendering benchmark: the evidence bundle of a 50-step trace (the lib's
// own sampleBundle, the fixture of its specs) rendered to PDF by the worker's
// own PdfRenderer (libs/evidence-pdf, as built into dist/apps/worker), with a warm browser: p50/p95 latency one at a time, and
// PDFs/s with the worker's page concurrency. Baseline in the same run and the
// same browser: Chromium's page.pdf() of a trivial static HTML page (also shown
// the naive way, bare puppeteer with a new page per PDF, for the page-reuse gain).
// Targets (issue 4): p50 < 500 ms with a warm browser, >= 2 PDFs/s per worker.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fmt, log, parseArgs, requireFromRoot, ROOT, summarize, table, writeJson } from './lib/common.mjs';

const USAGE = `node tools/bench/pdf.mjs [options]

  --steps N         steps of the bundle (default 50)
  --runs N          sequential renders measured per document (default 40)
  --warmup N        renders before measuring (default 5)
  --throughput N    renders of the throughput phase (default 60)
  --concurrency N   pages at once in the throughput phase (default 2, the worker's default)
  --types LIST      bundle types to time one at a time (default evidence,soc2,executive)
  --build           rebuild the worker first (else only when dist is missing)
  --json [FILE]     write results as JSON (default tools/bench/results/pdf-<time>.json)

Needs Chromium (PUPPETEER_EXECUTABLE_PATH or /usr/bin/chromium); no database.`;

const args = parseArgs(
  { steps: 50, runs: 40, warmup: 5, throughput: 60, concurrency: 2, types: 'evidence,soc2,executive', build: false, json: false },
  USAGE,
);

const DIST = path.join(ROOT, 'dist/apps/worker');
const LIB = path.join(DIST, 'libs/evidence-pdf/src/index.js');
/** The bundle the specs render too. Test code is not in the build: it is transpiled on load. */
const SAMPLE_BUNDLE = path.join(ROOT, 'libs/evidence-pdf/src/testing/sample-bundle.ts');

function load() {
  if (args.build || !existsSync(LIB)) {
    log(args.build ? 'building the worker (--build)' : 'dist/apps/worker is missing: building the worker');
    const r = spawnSync('npx', ['nx', 'run', 'worker:build', '--skip-nx-cache'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npx nx run worker:build failed');
  }
  const { paths } = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.base.json'), 'utf8')).compilerOptions;
  requireFromRoot('tsconfig-paths').register({ baseUrl: DIST, paths, addMatchAll: false });
  return { pdf: requireFromRoot(LIB), sample: loadTypeScript(SAMPLE_BUNDLE) };
}

/**
 * One TypeScript module of the workspace, transpiled (types dropped, no type
 * check) and loaded as CommonJS; its `@aos/*` imports resolve to the build
 * through the tsconfig-paths registered in load(), so it shares the renderer's code.
 */
function loadTypeScript(file) {
  const ts = requireFromRoot('typescript');
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const mod = new Module(file);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  mod._compile(outputText, file);
  return mod.exports;
}

/** page.pdf() of a document on a new page, closed after: what a renderer without page reuse pays. */
async function rawPdf(browser, html) {
  const page = await browser.newPage();
  try {
    await page.setJavaScriptEnabled(false);
    await page.setContent(html, { waitUntil: 'load' });
    return Buffer.from(await page.pdf());
  } finally {
    await page.close();
  }
}

async function timed(fn) {
  const t = performance.now();
  const out = await fn();
  return [performance.now() - t, out];
}

async function sequential(n, fn) {
  const ms = [];
  let last;
  for (let i = 0; i < n; i++) {
    const [t, out] = await timed(fn);
    ms.push(t);
    last = out;
  }
  return { ...summarize(ms), last };
}

/** `total` renders with `concurrency` in flight; answers PDFs/s. */
async function throughput(renderer, bundle, total, concurrency) {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        await renderer.render(bundle);
      }
    }),
  );
  const seconds = (performance.now() - t) / 1000;
  return { total, seconds, per_second: total / seconds };
}

async function main() {
  const { pdf, sample } = load();
  const executablePath = process.env.PUPPETEER_EXECUTABLE_PATH ?? '/usr/bin/chromium';
  let chromium = 'unknown';
  try {
    chromium = execFileSync(executablePath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    /* version unknown */
  }
  const machine = { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, chromium, load_avg: os.loadavg() };
  process.stdout.write(`machine: ${machine.cpus} CPU (${machine.cpu_model}), ${machine.memory_gib} GiB, node ${machine.node}, ${chromium}, load ${machine.load_avg.map((l) => l.toFixed(2)).join(' ')}\n`);

  // The Nest logger of the renderer would print each launch: keep the output to the figures.
  requireFromRoot('@nestjs/common').Logger.overrideLogger(['error']);
  const renderer = new pdf.PdfRenderer({ concurrency: args.concurrency });
  const types = String(args.types).split(',').filter(Boolean);
  const bundles = Object.fromEntries(types.map((t) => [t, sample.sampleBundle(t, args.steps)]));
  const main = bundles.evidence ?? Object.values(bundles)[0];
  const trivialHtml = '<!doctype html><html><head><title>baseline</title></head><body><p>Hello, PDF.</p></body></html>';
  try {
    const [coldMs] = await timed(() => renderer.render(main));
    log(`cold start (browser launch + first render): ${fmt(coldMs, 0)} ms`);
    for (let i = 0; i < args.warmup; i++) {
      await renderer.render(main);
      await renderer.renderHtml(trivialHtml);
    }

    log(`one at a time, warm browser: ${args.runs} renders per document`);
    const [htmlMs] = await timed(async () => {
      for (let i = 0; i < 20; i++) pdf.renderEvidenceHtml(main);
    });
    const baseline = await sequential(args.runs, () => renderer.renderHtml(trivialHtml));
    // The same trivial page the naive way: bare puppeteer, a new page for every PDF.
    const puppeteer = requireFromRoot('puppeteer-core');
    const raw = await puppeteer.launch({ executablePath, pipe: true, args: pdf.CHROMIUM_ARGS });
    let rawFresh;
    try {
      for (let i = 0; i < args.warmup; i++) await rawPdf(raw, trivialHtml);
      rawFresh = await sequential(args.runs, () => rawPdf(raw, trivialHtml));
    } finally {
      await raw.close();
    }
    const perType = {};
    for (const t of types) perType[t] = await sequential(args.runs, () => renderer.render(bundles[t]));

    log(`throughput: ${args.throughput} renders, ${args.concurrency} page(s) at once`);
    const tput = await throughput(renderer, main, args.throughput, args.concurrency);
    const tputBaseline = await throughput({ render: () => renderer.renderHtml(trivialHtml) }, null, args.throughput, args.concurrency);
    const stats = renderer.stats();

    const size = perType[types[0]].last.length;
    process.stdout.write('\n');
    process.stdout.write(
      table(
        ['document', 'p50 ms', 'p95 ms', 'mean ms', 'max ms', 'PDF KiB', 'x baseline p50'],
        [
          ['trivial HTML page (baseline)', fmt(baseline.p50), fmt(baseline.p95), fmt(baseline.mean), fmt(baseline.max), fmt(baseline.last.length / 1024), '1.0'],
          ['trivial page, bare puppeteer, new page per PDF', fmt(rawFresh.p50), fmt(rawFresh.p95), fmt(rawFresh.mean), fmt(rawFresh.max), fmt(rawFresh.last.length / 1024), fmt(rawFresh.p50 / baseline.p50, 2)],
          ...types.map((t) => {
            const s = perType[t];
            return [`${t} bundle, ${args.steps} steps`, fmt(s.p50), fmt(s.p95), fmt(s.mean), fmt(s.max), fmt(s.last.length / 1024), fmt(s.p50 / baseline.p50, 2)];
          }),
        ],
      ) + '\n\n',
    );
    process.stdout.write(
      table(
        ['throughput', `PDFs/s (${args.concurrency} pages at once)`, 'seconds', 'x baseline'],
        [
          ['trivial HTML page (baseline)', fmt(tputBaseline.per_second, 2), fmt(tputBaseline.seconds, 1), '1.0'],
          [`${types.includes('evidence') ? 'evidence' : types[0]} bundle, ${args.steps} steps`, fmt(tput.per_second, 2), fmt(tput.seconds, 1), fmt(tput.per_second / tputBaseline.per_second, 2)],
        ],
      ) + '\n\n',
    );
    const p50 = perType[types.includes('evidence') ? 'evidence' : types[0]].p50;
    process.stdout.write(
      `template (HTML) of the bundle: ${fmt(htmlMs / 20, 2)} ms; browser launches: ${stats.launches}; PDF size ${fmt(size / 1024)} KiB\n` +
        `targets: p50 < 500 ms: ${p50 < 500 ? 'met' : 'MISSED'} (${fmt(p50)} ms); >= 2 PDFs/s per worker: ${tput.per_second >= 2 ? 'met' : 'MISSED'} (${fmt(tput.per_second, 2)}/s)\n`,
    );
    const strip = (s) => {
      const { last: _last, ...rest } = s;
      return rest;
    };
    writeJson(args, 'pdf', {
      machine,
      args,
      cold_start_ms: coldMs,
      template_ms: htmlMs / 20,
      baseline: strip(baseline),
      baseline_fresh_page: strip(rawFresh),
      bundles: Object.fromEntries(types.map((t) => [t, { ...strip(perType[t]), bytes: perType[t].last.length, ratio_p50: perType[t].p50 / baseline.p50 }])),
      throughput: { bundle: tput, baseline: tputBaseline, ratio: tput.per_second / tputBaseline.per_second },
      renderer: stats,
    });
  } finally {
    await renderer.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
