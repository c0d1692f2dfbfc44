// Preloaded into the API by `--cpu-prof` of the benches (node --require ...):
// SIGWINCH starts the V8 sampling profiler, the next SIGWINCH stops it and writes
// the .cpuprofile to AOS_BENCH_PROFILE (then `<file>.done` marks it complete).
// A signal instead of --cpu-prof, because the API exits by re-raising SIGTERM
// (NestJS shutdown hooks), which skips Node's own profile writing. SIGWINCH
// because NestJS shuts down on SIGUSR2 (and its default action is to ignore).
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');

const file = process.env.AOS_BENCH_PROFILE;
const session = new inspector.Session();
session.connect();
let running = false;

process.on('SIGWINCH', () => {
  if (!running) {
    running = true;
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
    );
    return;
  }
  running = false;
  session.post('Profiler.stop', (err, result) => {
    if (!err && file) {
      fs.writeFileSync(file, JSON.stringify(result.profile));
      fs.writeFileSync(file + '.done', '');
    }
  });
});
