#!/usr/bin/env bash
# Proves that the layer rule of DESIGN.md section 1 (@nx/enforce-module-boundaries in
# eslint.config.mjs) bites: throwaway probe files with wrong-way imports must fail lint with
# that rule, and an allowed import must not be reported by it. The probes are always deleted.
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."

export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
RULE='@nx/enforce-module-boundaries'
PROBE_NAME=__boundary_probe__.ts
PROBES=()

cleanup() { [ "${#PROBES[@]}" -eq 0 ] || rm -f -- "${PROBES[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# The rule reads Nx's cached project graph; with no cache it is silently skipped (a warning,
# exit 0). Computing the graph first makes the check independent of what ran before.
if ! npx nx show projects >/dev/null; then
  echo "boundaries: could not compute the Nx project graph" >&2
  exit 1
fi

# probe <project dir> <import>: writes the probe file, lints it with ESLint's JSON formatter and
# prints "<eslint exit code> <boundary-rule errors> <fatal errors>", then the messages on stderr.
probe() {
  local import=$2 file="$1/src/$PROBE_NAME" out rc
  printf "// Throwaway probe written by tools/scripts/check-boundaries.sh; deleted on exit.\nimport * as probe from '%s';\nexport const __probe = probe;\n" \
    "$import" >"$file"
  out=$(npx eslint --no-warn-ignored --format json "$file" 2>/dev/null)
  rc=$?
  rm -f -- "$file"
  node -e '
    const [rule, rc] = [process.argv[1], process.argv[2]];
    let results;
    try { results = JSON.parse(require("fs").readFileSync(0, "utf8")); }
    catch { console.log(rc, 0, 1); console.error("    (ESLint printed no JSON result)"); process.exit(0); }
    const msgs = results.flatMap((r) => r.messages);
    for (const m of msgs) console.error(`    ${m.line}:${m.column} ${m.severity === 2 ? "error" : "warning"} ${m.message} ${m.ruleId ?? "(fatal)"}`);
    const hits = msgs.filter((m) => m.ruleId === rule && m.severity === 2).length;
    console.log(rc, hits, msgs.filter((m) => m.fatal).length);
  ' "$RULE" "$rc" <<<"$out"
}

failures=0

# register <project dir>: the probe path goes on the cleanup list in this shell (probe() runs
# in a subshell, whose changes to PROBES would be lost).
register() {
  if [ ! -d "$1/src" ]; then
    echo "boundaries: $1/src does not exist" >&2
    exit 1
  fi
  PROBES+=("$1/src/$PROBE_NAME")
}

# must_fail <project dir> <import> <why>
must_fail() {
  local rc hits fatal
  echo "boundaries: $1 imports '$2' ($3): must fail"
  register "$1"
  read -r rc hits fatal < <(probe "$1" "$2")
  if [ "$rc" -ne 0 ] && [ "$hits" -gt 0 ]; then
    echo "boundaries:   ok, rejected by $RULE"
  else
    echo "boundaries:   FAILED: not rejected by $RULE (eslint exit $rc, rule errors $hits)" >&2
    failures=$((failures + 1))
  fi
}

# must_pass <project dir> <import> <why>
must_pass() {
  local rc hits fatal
  echo "boundaries: $1 imports '$2' ($3): must pass the rule"
  register "$1"
  read -r rc hits fatal < <(probe "$1" "$2")
  if [ "$rc" -le 1 ] && [ "$hits" -eq 0 ] && [ "$fatal" -eq 0 ]; then
    echo "boundaries:   ok, not reported by $RULE (eslint exit $rc)"
  else
    echo "boundaries:   FAILED: eslint exit $rc, rule errors $hits, fatal errors $fatal" >&2
    failures=$((failures + 1))
  fi
}

must_fail libs/traces-store '@aos/audit' 'L6 importing L4'
must_fail libs/logs-domain '@aos/traces-store' 'the model imports nothing of ours'
must_pass libs/audit '@aos/traces-store' 'L4 importing L6'

if [ "$failures" -gt 0 ]; then
  echo "boundaries: $failures check(s) failed: the module-boundary rule does not bite" >&2
  exit 1
fi
echo "boundaries: the module-boundary rule bites (2 wrong-way imports rejected, 1 allowed import accepted)"
