#!/usr/bin/env bash
# Makes sure everything the test suite needs is installed and running:
#   PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), Redis on 127.0.0.1:6379,
#   Chromium (/usr/bin/chromium, for Puppeteer) and poppler-utils (pdftotext, pdfinfo, pdfdetach).
# Idempotent: installs Debian packages only where missing (one `apt-get update` first,
# and only if something must be installed), starts only what is not running.
# Honours DATABASE_TEST_URL / REDIS_TEST_URL: when set, no local server is installed or
# started for it; the script only checks that it answers.
# Runs as root with no TTY and no stdin (CI).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
WAIT_SECONDS=${ENSURE_SERVICES_WAIT:-30}

log() { echo "[services] $*"; }
die() { echo "[services] ERROR: $*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
  [ "$(id -u)" -eq 0 ] || die "need to install $* but not running as root"
  command -v apt-get >/dev/null 2>&1 || die "need to install $* but apt-get is not available"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=300 update -qq </dev/null >/dev/null
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install -y -qq "$@" </dev/null >/dev/null
}

# wait_for <description> <command...>: retries the command once a second, up to WAIT_SECONDS.
wait_for() {
  local what=$1; shift
  local i
  for ((i = 0; i < WAIT_SECONDS; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  "$@" >/dev/null 2>&1
}

# ---------------------------------------------------------------- packages
missing=()
if [ -z "${DATABASE_TEST_URL:-}" ]; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1 \
     || ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
    missing+=(postgresql)
  fi
elif ! command -v pg_isready >/dev/null 2>&1; then
  missing+=(postgresql-client)
fi
if [ -z "${REDIS_TEST_URL:-}" ]; then
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    missing+=(redis-server)
  fi
elif ! command -v redis-cli >/dev/null 2>&1; then
  missing+=(redis-tools)
fi
CHROME=${PUPPETEER_EXECUTABLE_PATH:-/usr/bin/chromium}
if [ ! -x "$CHROME" ]; then
  [ "$CHROME" = /usr/bin/chromium ] || log "PUPPETEER_EXECUTABLE_PATH=$CHROME is not executable; installing Debian chromium"
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdfinfo >/dev/null 2>&1 || ! command -v pdfdetach >/dev/null 2>&1; then
  missing+=(poppler-utils)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
else
  log "packages: all present"
fi

# ---------------------------------------------------------------- PostgreSQL
pg_local_ok() {
  # A real query, not only pg_isready: proves that user postgres gets in without a password.
  PGPASSWORD='' PGCONNECT_TIMEOUT=3 psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -XAtqc 'select 1' 2>/dev/null | grep -qx 1
}

pg_cluster() {
  # Prints "<version> main" for the newest cluster on this machine, creating one if none exists.
  local ver
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$ver" ] || [ ! -f "/etc/postgresql/$ver/main/postgresql.conf" ]; then
    ver=$(ls -d /usr/lib/postgresql/*/bin/postgres | sed 's#/usr/lib/postgresql/\([^/]*\)/.*#\1#' | sort -V | tail -n1)
    [ -n "$ver" ] || die "no PostgreSQL server binary found"
    log "postgres: creating cluster $ver/main on port $PG_PORT" >&2
    pg_createcluster --port "$PG_PORT" "$ver" main >/dev/null
  fi
  echo "$ver"
}

pg_trust_loopback() {
  # Tests connect over TCP as postgres (and as roles they create) without passwords: a test-only
  # cluster trusts the loopback addresses, as this project's development machines do. The lines go
  # before every other rule because pg_hba.conf is first-match.
  local ver=$1 hba="/etc/postgresql/$1/main/pg_hba.conf"
  [ -f "$hba" ] || die "postgres: $hba not found"
  if grep -q 'added by tools/scripts/ensure-services.sh' "$hba"; then
    log "postgres: loopback trust rules already in $hba; reloading"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
    return 0
  fi
  log "postgres: adding loopback trust rules to $hba and reloading"
  cp -p "$hba" "$hba.bak-ensure-services"
  awk 'BEGIN { done = 0 }
       !done && $0 !~ /^[[:space:]]*(#|$)/ {
         print "# added by tools/scripts/ensure-services.sh: test cluster, trust on loopback"
         print "host    all    all    127.0.0.1/32    trust"
         print "host    all    all    ::1/128         trust"
         done = 1
       }
       { print }
       END { if (!done) {
         print "# added by tools/scripts/ensure-services.sh: test cluster, trust on loopback"
         print "host    all    all    127.0.0.1/32    trust"
         print "host    all    all    ::1/128         trust" } }' "$hba.bak-ensure-services" > "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
}

if [ -n "${DATABASE_TEST_URL:-}" ]; then
  log "postgres: DATABASE_TEST_URL is set, not starting a local server"
  wait_for "postgres" pg_isready -q -d "$DATABASE_TEST_URL" -t 2 \
    || die "postgres at DATABASE_TEST_URL does not answer (pg_isready)"
  log "postgres: DATABASE_TEST_URL ready"
else
  if pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2; then
    log "postgres: already running on $PG_HOST:$PG_PORT"
    ver=""
  else
    ver=$(pg_cluster)
    log "postgres: starting cluster $ver/main"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || log "postgres: start returned non-zero, waiting anyway"
    wait_for "postgres" pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 \
      || die "postgres not accepting connections on $PG_HOST:$PG_PORT after ${WAIT_SECONDS}s (see /var/log/postgresql/)"
    log "postgres: ready on $PG_HOST:$PG_PORT"
  fi
  if ! pg_local_ok; then
    [ -n "$ver" ] || ver=$(pg_cluster)
    pg_trust_loopback "$ver"
    wait_for "postgres auth" pg_local_ok \
      || die "postgres: user postgres still cannot connect to $PG_HOST:$PG_PORT without a password"
  fi
  log "postgres: user postgres connects with trust auth"
fi

# ---------------------------------------------------------------- Redis
redis_local_ok() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_url_ok() { [ "$(redis-cli -u "$REDIS_TEST_URL" ping 2>/dev/null)" = PONG ]; }

if [ -n "${REDIS_TEST_URL:-}" ]; then
  log "redis: REDIS_TEST_URL is set, not starting a local server"
  wait_for "redis" redis_url_ok || die "redis at REDIS_TEST_URL does not answer PING"
  log "redis: REDIS_TEST_URL ready"
elif redis_local_ok; then
  log "redis: already running on $REDIS_HOST:$REDIS_PORT"
else
  log "redis: starting on $REDIS_HOST:$REDIS_PORT"
  redis_dir=/var/lib/redis
  [ -d "$redis_dir" ] && [ -w "$redis_dir" ] || redis_dir=${TMPDIR:-/tmp}
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$redis_dir" </dev/null >/dev/null || log "redis: start returned non-zero, waiting anyway"
  wait_for "redis" redis_local_ok || die "redis not answering PING on $REDIS_HOST:$REDIS_PORT after ${WAIT_SECONDS}s"
  log "redis: ready on $REDIS_HOST:$REDIS_PORT"
fi

# ---------------------------------------------------------------- Chromium, poppler
CHROME=${PUPPETEER_EXECUTABLE_PATH:-/usr/bin/chromium}
[ -x "$CHROME" ] || CHROME=/usr/bin/chromium
[ -x "$CHROME" ] || die "chromium not found at $CHROME"
log "chromium: $("$CHROME" --version 2>/dev/null </dev/null || echo "$CHROME (version unknown)")"
log "poppler: $(pdftotext -v 2>&1 </dev/null | head -n1)"
log "all services ready"
