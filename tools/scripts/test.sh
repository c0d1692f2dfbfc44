#!/usr/bin/env bash
# `npm test`: the whole suite (unit, integration against PostgreSQL/Redis, e2e) from a fresh
# machine. Starts or installs what the tests need, runs every Jest project of the root
# jest.config.cjs, and ends with one summary line: `Tests: N passed, N failed, N skipped`.
# Extra arguments go to Jest (`npm test -- libs/logs-domain`, `npm test -- -t hashing`).
# Exit code: Jest's; non-zero also when no test ran.
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."

bash tools/scripts/ensure-services.sh </dev/null || { echo "test: services are not ready" >&2; exit 1; }

export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
export PUPPETEER_EXECUTABLE_PATH=${PUPPETEER_EXECUTABLE_PATH:-/usr/bin/chromium}
# PGlite loads its runtime with a dynamic import(), which Jest's module sandbox only allows
# with Node's VM-modules flag (else: "A dynamic import callback was invoked without
# --experimental-vm-modules", and the test worker crashes).
export NODE_OPTIONS="--experimental-vm-modules --disable-warning=ExperimentalWarning${NODE_OPTIONS:+ $NODE_OPTIONS}"

RESULTS=tmp/jest-results.json
mkdir -p tmp
rm -f "$RESULTS"

npx jest --ci --maxWorkers=2 --json --outputFile="$RESULTS" "$@"
rc=$?

counts=$(node -e '
  const r = require(require("path").resolve(process.argv[1]));
  // A suite that failed to run (syntax error, failing import) has no test results of its own:
  // count each as one failure so the summary never says "0 failed" for a broken suite.
  const broken = r.numRuntimeErrorTestSuites || 0;
  console.log(r.numPassedTests, r.numFailedTests + broken, (r.numPendingTests || 0) + (r.numTodoTests || 0), broken);
' "$RESULTS" 2>/dev/null) || counts=""

if [ -z "$counts" ]; then
  # Jest itself crashed or was stopped before writing results: one failure, never "0 failed".
  echo "test: no Jest results in $RESULTS (Jest exit $rc); counted as one failure below" >&2
  echo "Tests: 0 passed, 1 failed"
  [ "$rc" -ne 0 ] && exit "$rc"
  exit 1
fi

read -r passed failed skipped broken <<<"$counts"
[ "$broken" -gt 0 ] && echo "test: $broken test suite(s) failed to run; each counts as one failure below"
echo "Tests: $passed passed, $failed failed, $skipped skipped"

if [ "$rc" -eq 0 ] && [ $((passed + failed)) -eq 0 ]; then
  echo "test: Jest ran no tests" >&2
  exit 1
fi
exit "$rc"
