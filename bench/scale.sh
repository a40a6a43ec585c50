#!/usr/bin/env bash
# Scale benchmark: prints, from one run, each figure as a ratio with its target.
#   1. guarded ÷ unguarded requests/s (GET /bench/guarded with a session vs /bench/open,
#      wrk, median ratio of pairs of runs close in time) in the default configuration
#      (session cache on, cache_ms = 5000) on SQLite, one instance       (target ≥ 0.8)
#   2. log-in attempts/s ÷ the Argon2id limit on the same instance, median of rounds of
#      (single-hash time, flood)                                         (target ≥ 0.9)
#   3. the same guarded ÷ unguarded on PostgreSQL with two instances on one database,
#      wrk on both at once                                               (target ≥ 0.7)
#   4. the added latency of a revoking request ("sign out everywhere else", POST
#      /users/settings/sessions/others) with two instances: p50/p99 on instance 1 while
#      instance 2 runs (every revocation waits for its acknowledgement over LISTEN/NOTIFY),
#      minus the same after instance 2 stopped cleanly               (target p99 < 50 ms)
#   5. session lookup time (store::sessions::find_by_hash, the database path, median) with
#      1 000 000 sessions ÷ with 1 000, two databases measured side by side in alternating
#      rounds, on SQLite and PostgreSQL                                 (target ≤ 1.2)
# The rate limiter is off for 1–4 (SIGRA_RATE_LIMIT__ENABLED=false): all the load comes
# from one client IP and would be answered 429. Nothing else is configured: no cache_ms.
# PostgreSQL: throwaway databases on the server at SIGRA_BENCH_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), dropped at the end. Installs wrk from
# Debian when missing. About 6 minutes after the build; stops by itself.
#   bash bench/scale.sh
# BENCH_SECONDS (default 3) sets each wrk run of 1 and 3, BENCH_ROUNDS (6) their pairs
# of runs, BENCH_SAMPLES (200) the revocations timed in 4, BENCH_LOOKUP_SECS
# (5) the lookup time per database in 5.
set -euo pipefail
started=$SECONDS
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
echo "cores (nproc): $(nproc)"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)…"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
command -v psql >/dev/null || { echo "psql is needed (Debian postgresql-client)" >&2; exit 1; }

# BENCH_NO_BUILD=1 uses the release binaries already in the target directory.
for attempt in 1 2 3; do
  if [ "${BENCH_NO_BUILD:-}" = 1 ] || { cargo build -q --release -p example_app --features bench &&
    cargo build -q --release -p sigra_tests --example scale_bench; }; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "release build failed" >&2; exit 1; }
  echo "build failed (attempt $attempt); retrying in 30 s…" >&2
  sleep 30
done
target="${CARGO_TARGET_DIR:-$repo/target}/release"
built=$SECONDS

pg_server="${SIGRA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_base="${pg_server%/*}"
db_app="sigra_bench_scale_app_$$"
db_lookup_1k="sigra_bench_scale_lookup_1k_$$"
db_lookup_1m="sigra_bench_scale_lookup_1m_$$"
work="$(mktemp -d /tmp/sigra-scale.XXXXXX)"
export BENCH_WORK="$work" SUMMARY_FILE="$work/summary"
pids=()
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  for db in "$db_app" "$db_lookup_1k" "$db_lookup_1m"; do
    psql -X -q "$pg_server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_app NAME DATABASE_URL: an example_app in the default configuration (rate limiter
# off); prints its port and pid (the caller adds the pid to `pids`, stopped at exit).
start_app() {
  local name=$1 url=$2 port
  port=$(free_port)
  env ROCKET_PROFILE=release ROCKET_PORT="$port" ROCKET_LOG_LEVEL=critical \
    ROCKET_DATABASES="{sigra={url=\"$url\"}}" \
    SIGRA_SECRET_KEY="bench-secret-bench-secret-bench-secret-0123" \
    SIGRA_PUBLIC_URL="http://127.0.0.1:$port" \
    SIGRA_RATE_LIMIT__ENABLED=false \
    "$target/example_app" >"$work/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 150); do
    if curl -fs "http://127.0.0.1:$port/bench/open" >/dev/null; then
      echo "$port $pid"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "example_app ($name) did not start; its log:" >&2
  cat "$work/$name.log" >&2
  return 1
}
stop_app() {
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

echo
echo "=== SQLite, one instance, default configuration ==="
read -r port pid < <(start_app sqlite "sqlite://$work/app.sqlite3?mode=rwc")
pids+=("$pid")
python3 bench/scale_client.py guarded sqlite 0.8 "http://127.0.0.1:$port"
python3 bench/scale_client.py login sqlite "http://127.0.0.1:$port"
stop_app "$pid"

echo
echo "=== PostgreSQL, two instances on one database, default configuration ==="
psql -X -q "$pg_server" -c "CREATE DATABASE $db_app"
read -r port1 pid1 < <(start_app pg1 "$pg_base/$db_app")
pids+=("$pid1")
read -r port2 pid2 < <(start_app pg2 "$pg_base/$db_app")
pids+=("$pid2")
python3 bench/scale_client.py guarded "postgres, two instances" 0.7 \
  "http://127.0.0.1:$port1" "http://127.0.0.1:$port2"
python3 bench/scale_client.py revoke two "http://127.0.0.1:$port1"
stop_app "$pid2"  # a clean stop deregisters it: instance 1 waits for nobody
python3 bench/scale_client.py revoke one "http://127.0.0.1:$port1"
python3 - "$work" <<'EOF' | tee -a "$SUMMARY_FILE"
import json, sys
two = json.load(open(f"{sys.argv[1]}/revoke-two.json"))
one = json.load(open(f"{sys.argv[1]}/revoke-one.json"))
print(f"revocation added latency, two instances vs one: p50 {two['p50'] - one['p50']:+.2f} ms, "
      f"p99 {two['p99'] - one['p99']:+.2f} ms (target p99 < 50 ms; two instances p50 "
      f"{two['p50']:.2f} / p99 {two['p99']:.2f} ms, one p50 {one['p50']:.2f} / p99 {one['p99']:.2f} ms)")
EOF
stop_app "$pid1"
psql -X -q "$pg_server" -c "DROP DATABASE IF EXISTS $db_app WITH (FORCE)"
echo "  the instances' own warnings (session cache gate, broadcast), by count:"
grep -h "sigra:" "$work"/pg1.log "$work"/pg2.log | sort | uniq -c | sed 's/^/  /' || true

echo
echo "=== Session lookup, 1 k vs 1 M sessions ==="
"$target/examples/scale_bench" "sqlite://$work/lookup-1k.sqlite3?mode=rwc" \
  "sqlite://$work/lookup-1m.sqlite3?mode=rwc" | tee -a "$work/lookup.out"
rm -f "$work"/lookup-*.sqlite3*
for db in "$db_lookup_1k" "$db_lookup_1m"; do psql -X -q "$pg_server" -c "CREATE DATABASE $db"; done
"$target/examples/scale_bench" "$pg_base/$db_lookup_1k" "$pg_base/$db_lookup_1m" | tee -a "$work/lookup.out"
for db in "$db_lookup_1k" "$db_lookup_1m"; do
  psql -X -q "$pg_server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
done
grep '^session lookup time' "$work/lookup.out" >>"$SUMMARY_FILE"

echo
echo "=== Summary ==="
cat "$SUMMARY_FILE"
echo
echo "total run time: $((SECONDS - started)) s (build $((built - started)) s, measurements $((SECONDS - built)) s)"
