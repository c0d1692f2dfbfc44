// CPU profile of the API over a measured phase (`--cpu-prof` of a bench), and
// a summary of where its time went: self time by package and by function.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, log, ROOT, sleep, table } from './common.mjs';

export const PRELOAD = path.join(ROOT, 'tools/bench/lib/cpu-profile.cjs');

/** Options for startApi that make the API profilable; `file` is where the profile goes. */
export function profiledApiOptions(file) {
  return { nodeArgs: ['--require', PRELOAD], extraEnv: { AOS_BENCH_PROFILE: file } };
}

export function startProfile(api) {
  process.kill(api.pid, 'SIGWINCH');
}

export async function stopProfile(api, file) {
  process.kill(api.pid, 'SIGWINCH');
  const until = Date.now() + 30_000;
  while (!existsSync(file + '.done')) {
    if (Date.now() > until) throw new Error('the API did not write its CPU profile');
    await sleep(100);
  }
  log(`API CPU profile: ${file} (open in Chrome DevTools or speedscope)`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

function category(url, fn) {
  if (!url) {
    if (fn.startsWith('(')) return fn; // (garbage collector), (program), (idle)
    return '(native: ' + fn + ')';
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const dist = url.indexOf('dist/apps/');
  if (dist >= 0) return 'ours: ' + url.slice(dist).replace(/^dist\/apps\/[^/]+\//, '').replace(/\/src\/.*\/([^/]+)$/, '/…/$1');
  return url;
}

/** Self time per category and per function, in % of the sampled (non-idle) time. */
export function summarizeProfile(profile, top = 20) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const cats = new Map();
  const fns = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const c = category(n.callFrame.url, fn);
    cats.set(c, (cats.get(c) ?? 0) + us);
    const key = `${fn} ${n.callFrame.url ? path.basename(n.callFrame.url) + ':' + (n.callFrame.lineNumber + 1) : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  // Inclusive time: each sample counts once for every distinct frame on its stack.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const leaf = byId.get(profile.samples[i]);
    if (!leaf || leaf.callFrame.functionName === '(idle)') continue;
    const seen = new Set();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      const url = n.callFrame.url;
      if (!url || url.startsWith('node:')) continue;
      const key = `${n.callFrame.functionName || '(anonymous)'} ${path.basename(url)}:${n.callFrame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + dt);
    }
  }
  const rank = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => ({ name: k, ms: v / 1000, pct: (100 * v) / total }));
  return { busy_ms: total / 1000, idle_ms: idle / 1000, by_package: rank(cats), by_function: rank(fns), inclusive: rank(incl) };
}

export function printProfile(summary) {
  process.stdout.write(`API CPU profile: ${fmt(summary.busy_ms / 1000, 2)} s busy, ${fmt(summary.idle_ms / 1000, 2)} s idle (self time)\n\n`);
  process.stdout.write(table(['package / module', 'self %'], summary.by_package.map((x) => [x.name, fmt(x.pct)])) + '\n\n');
  process.stdout.write(table(['function', 'self %'], summary.by_function.map((x) => [x.name, fmt(x.pct)])) + '\n\n');
  process.stdout.write(table(['function (JS, inclusive)', 'incl %'], summary.inclusive.map((x) => [x.name, fmt(x.pct)])) + '\n\n');
}
