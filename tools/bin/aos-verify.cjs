#!/usr/bin/env node
// `node tools/bin/aos-verify.cjs bundle.json --key <verifier key>` (the `aos-verify` bin when this
// package is installed): the offline verifier of
// libs/logs-domain (no server, no database). Build it once: `npx nx run logs-domain:build`.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const cli = join(__dirname, '../../dist/libs/logs-domain/cli/aos-verify.js');
if (!existsSync(cli)) {
  process.stderr.write('aos-verify: not built yet; run `npx nx run logs-domain:build` first\n');
  process.exit(2);
}
require(cli)
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`aos-verify: ${err && err.stack ? err.stack : String(err)}\n`);
      process.exit(2);
    },
  );
