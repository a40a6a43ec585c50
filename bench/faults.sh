#!/usr/bin/env bash
# Load and faults: 1 000 virtual users for 60 s against two example_app instances (release)
# on one PostgreSQL database, with faults injected on a schedule, then checks.
#
# Everything runs on loopback from this machine's installed binaries, in private servers
# started here (never the machine's shared PostgreSQL, MariaDB or Redis): a PostgreSQL
# cluster (initdb + pg_ctl, as user postgres when run as root), a Redis, and an SMTP sink
# (bench/smtp_sink.py, PyPI aiosmtpd). Both instances use the private Redis for their rate
# limits (SIGRA_REDIS_URL); the session cache is left at its default (cache_ms = 5000),
# whose revocations travel over PostgreSQL LISTEN/NOTIFY.
#
# The virtual users (bench/faults_client.py, Python asyncio + PyPI aiohttp) loop: log in,
# browse guarded pages (/users/settings, /organizations, /dashboard, /notes,
# /bench/guarded), switch organization (a write with an audit event), log out. A probe
# account times "sign out everywhere else" on instance 1 every second. Faults (seconds
# after the start; the smoke run compresses them):
#   15 stop PostgreSQL (fast), 18 start it again
#   25 stop Redis (rate limits fall back to memory), 35 start it again
#   35 kill instance 2 (SIGKILL): the client sends everything to instance 1
#   45 stop the SMTP server, 55 start it again
# Then it waits for the outbox to drain (mail that failed is retried 30 s later) and the
# audit log to be sealed, and checks: no server error but 429/503 with Retry-After, an
# audit event for every success counted, the audit chain verifies, every mail delivered
# exactly once, no orphan or half-written rows, revocations after the kill within
# cache_ms. Exits 1 when a check fails.
#
#   bash bench/faults.sh            # 1 000 users, 60 s (about 4 minutes after the build)
#   bash bench/faults.sh --smoke    # 100 users, 10 s, the same faults compressed (CI)
#   BENCH_SECONDS=10 bash bench/faults.sh   # the same as --smoke
# BENCH_VUS overrides the number of users; BENCH_KEEP=1 keeps the work directory (logs);
# BENCH_NO_BUILD=1 skips the build (uses the release example_app already built).
set -euo pipefail
started=$SECONDS
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; fi
seconds="${BENCH_SECONDS:-60}"
if [ "$smoke" = 1 ] || [ "$seconds" -le 10 ]; then
  smoke=1
  seconds=10
fi
if [ "$smoke" = 1 ]; then
  vus="${BENCH_VUS:-100}"
  # PG down 2.0–3.5, Redis down 4.0–5.5, instance 2 killed at 6, SMTP down 7.0–8.5.
  schedule=(2 3.5 4 5.5 6 7 8.5)
  drain=75
else
  vus="${BENCH_VUS:-1000}"
  schedule=(15 18 25 35 35 45 55)
  drain=150
fi
echo "cores (nproc): $(nproc); mode: $([ "$smoke" = 1 ] && echo smoke || echo full), $vus virtual users, $seconds s"

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then $sudo apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
pip_install() {
  python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql postgresql-client
command -v psql >/dev/null || apt_install postgresql-client
command -v redis-server >/dev/null || apt_install redis-server
command -v curl >/dev/null || apt_install curl
python3 -c 'import aiohttp' 2>/dev/null || pip_install aiohttp
python3 -c 'import aiosmtpd' 2>/dev/null || pip_install aiosmtpd
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# Others may be mid-edit in the workspace: retry the build a few times before giving up.
# BENCH_NO_BUILD=1 uses the release binary already in the target directory.
for attempt in 1 2 3; do
  if [ "${BENCH_NO_BUILD:-}" = 1 ] || cargo build -q --release -p example_app --features bench; then break; fi
  [ "$attempt" = 3 ] && { echo "release build of example_app failed" >&2; exit 1; }
  echo "build failed (attempt $attempt); retrying in 30 s…" >&2
  sleep 30
done
bin="${CARGO_TARGET_DIR:-$repo/target}/release/example_app"
built=$SECONDS

work="$(mktemp -d /tmp/sigra-faults.XXXXXX)"
chmod 755 "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_port=$(free_port); redis_port=$(free_port); smtp_port=$(free_port)
app1_port=$(free_port); app2_port=$(free_port)
timeline="$work/timeline"
: >"$timeline"
app1=""; app2=""; scheduler=""

# PostgreSQL refuses to run as root: the cluster belongs to user postgres then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_start() {
  as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -w -t 60 -l "$work/pg/log" \
    -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
}
pg_stop() { as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w -t 60 stop >/dev/null; }
redis_start() {
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no >>"$work/redis.log" 2>&1 &
  echo $! >"$work/redis.pid"
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "Redis did not start" >&2; return 1
}
stop_pidfile() {
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
sink_start() {
  python3 bench/smtp_sink.py "$smtp_port" "$work/sink.log" >>"$work/sink.err" 2>&1 &
  echo $! >"$work/sink.pid"
  for _ in $(seq 1 50); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $smtp_port), 1)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "SMTP sink did not start" >&2; return 1
}
psql_app() { psql -X -h "$work/pg" -p "$pg_port" -U postgres -d sigra "$@"; }

cleanup() {
  set +e
  for pid in $scheduler $app1 $app2; do kill "$pid" 2>/dev/null; done
  for pid in $app1 $app2; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  stop_pidfile "$work/redis.pid"
  stop_pidfile "$work/sink.pid"
  [ -f "$work/pg/data/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate -w -t 30 stop >/dev/null 2>&1
  if [ "${BENCH_KEEP:-}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Private servers ------------------------------------------------------------------
mkdir -p "$work/pg"
if [ "$(id -u)" = 0 ]; then chown postgres "$work/pg"; fi
as_pg "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres -E UTF8 --no-sync >"$work/pg/initdb.log" 2>&1 \
  || { cat "$work/pg/initdb.log" >&2; exit 1; }
pg_start
psql -X -q -h "$work/pg" -p "$pg_port" -U postgres -d postgres -c "CREATE DATABASE sigra"
redis_start
sink_start
echo "private servers: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port, Redis on :$redis_port, SMTP sink on :$smtp_port"

start_app() {
  local n=$1 port=$2
  env ROCKET_PROFILE=release ROCKET_PORT="$port" ROCKET_LOG_LEVEL=critical \
    ROCKET_DATABASES="{sigra={url=\"postgres://postgres@127.0.0.1:$pg_port/sigra\"}}" \
    SIGRA_SECRET_KEY="bench-secret-bench-secret-bench-secret-0123" \
    SIGRA_PUBLIC_URL="http://127.0.0.1:$port" \
    SIGRA_REDIS_URL="redis://127.0.0.1:$redis_port" \
    SIGRA_MAIL__SMTP_URL="smtp://127.0.0.1:$smtp_port" \
    SIGRA_RATE_LIMIT__TRUSTED_PROXIES='["127.0.0.1"]' \
    "$bin" >"$work/app$n.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 150); do
    if curl -fs "http://127.0.0.1:$port/bench/open" >/dev/null; then echo "$pid"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "example_app $n did not start; its log:" >&2
  cat "$work/app$n.log" >&2
  return 1
}
# One after the other: the first runs the migrations.
app1=$(start_app 1 "$app1_port")
app2=$(start_app 2 "$app2_port")
echo "example_app (release): instance 1 on :$app1_port (pid $app1), instance 2 on :$app2_port (pid $app2)"

export BASE1="http://127.0.0.1:$app1_port" BASE2="http://127.0.0.1:$app2_port"
export VUS="$vus" BENCH_SECONDS="$seconds" CACHE_MS=5000 TIMELINE="$timeline"
export SINK_LOG="$work/sink.log" DRAIN_SECS="$drain"
export PSQL="psql -h $work/pg -p $pg_port -U postgres -d sigra"

# --- Accounts -------------------------------------------------------------------------
timeout 300 python3 bench/faults_client.py setup "$work"
psql_app -q -c "UPDATE sigra_users SET confirmed_at = coalesce(confirmed_at, now());
                UPDATE sigra_users SET is_admin = TRUE WHERE email = 'admin@bench.example.com'"
# The registrations' confirmation mail goes out before the run.
for _ in $(seq 1 120); do
  [ "$(psql_app -qAt -c 'SELECT count(*) FROM sigra_outbox WHERE done_at IS NULL')" = 0 ] && break
  sleep 1
done
echo "setup: accounts confirmed in bulk (SQL); outbox drained: $(psql_app -qAt -c "SELECT count(*) FROM sigra_outbox WHERE done_at IS NOT NULL") mails sent, $(wc -l <"$work/sink.log") received"

# --- The run ----------------------------------------------------------------------------
# Sigra stores times in whole seconds and the checks count what was recorded from t0's
# second on: the run starts on a second of its own, after everything the setup recorded.
sleep 1
python3 -c 'import time; time.sleep(1 - time.time() % 1)'
t0=$(date +%s.%N)
export BENCH_T0="$t0"
event() { echo "$(date +%s.%N) $*" >>"$timeline"; }
at() { python3 -c 'import sys,time; time.sleep(max(0.0, float(sys.argv[1]) + float(sys.argv[2]) - time.time()))' "$t0" "$1"; }
rl_keys() { redis-cli -p "$redis_port" --scan --pattern 'sigra:rl:*' 2>/dev/null | wc -l; }
run_schedule() {
  at "${schedule[0]}"; event "PostgreSQL stopping (fast shutdown)"; pg_stop; event "PostgreSQL stopped"
  at "${schedule[1]}"; pg_start; event "PostgreSQL started again"
  at "${schedule[2]}"; event "rate-limit counters in Redis: $(rl_keys)"
  stop_pidfile "$work/redis.pid"; event "Redis stopped"
  at "${schedule[3]}"; redis_start; event "Redis started again (empty)"
  at "${schedule[4]}"; kill -9 "$app2"; event "kill instance 2"
  at "${schedule[5]}"; stop_pidfile "$work/sink.pid"; event "SMTP stopped"
  at "${schedule[6]}"; sink_start; event "SMTP started again"
  at "$seconds"; event "rate-limit counters in Redis (written since it came back): $(rl_keys)"
}
run_schedule &
scheduler=$!
timeout $((seconds + 120)) python3 bench/faults_client.py load "$work"
wait "$scheduler" || { echo "the fault schedule failed" >&2; exit 1; }
scheduler=""
loaded=$SECONDS

status=0
timeout $((600 + 240)) python3 bench/faults_client.py check "$work" || status=$?
for n in 1 2; do
  echo "instance $n log, warnings and errors (ids and numbers masked, by count):"
  grep -E "Warning|Error|sigra:" "$work/app$n.log" | grep -v "passkeys are off" \
    | sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<id>/g; s/[0-9]+([.:][0-9]+)*/N/g' \
    | cut -c1-200 | sort | uniq -c | sort -rn | head -12 || true
done
echo
echo "total run time: $((SECONDS - started)) s (build $((built - started)) s, setup and load $((loaded - built)) s, drain and checks $((SECONDS - loaded)) s)"
exit "$status"
