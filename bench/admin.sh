#!/usr/bin/env bash
# Admin console benchmark (bench/admin.rs, example `admin_bench` of sigra_tests). Seeds
# 100 000 accounts and 1 000 000 audit events with multi-row inserts (printing how long it
# took), then drives the admin console in-process through Rocket's local client as a
# logged-in admin and prints p50/p99 wall-clock latency, and p99 as a share of the 100 ms
# budget, of:
#   user search (GET /admin/users): (a) a prefix matching ~1 000 accounts, (b) one
#     matching 1, (c) 20 pages deep;
#   audit explorer (GET /admin/audit; "not mounted" where this checkout has none):
#     (d) first page, (e) filtered by action, (f) by actor (a typical account and a busy
#     one, first page and 5 pages deep), (g) 20 pages deep;
# beside an unguarded trivial GET through the same client.
# Runs on a fresh SQLite file under /tmp, then on PostgreSQL when SIGRA_BENCH_POSTGRES_URL
# (or SIGRA_TEST_POSTGRES_URL) names a server: database sigra_bench_admin there, created
# when missing and seeded once (later runs reuse it). About 5 minutes after the build.
# Prints figures; never fails on them.
#   bash bench/admin.sh
#   SIGRA_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres bash bench/admin.sh
# BENCH_ITERATIONS (default 200) timed requests per figure after BENCH_WARMUP (20);
# BENCH_SQLITE_FILE reuses a SQLite file (seeded once) instead of a fresh one.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
echo "cores (nproc): $(nproc)"

if ! cargo build -q --release -p sigra_tests --example admin_bench; then
  echo "release build of admin_bench failed: no figures" >&2
  exit 0
fi
bin="${CARGO_TARGET_DIR:-$repo/target}/release/examples/admin_bench"
# Sigra overlays SIGRA_* variables onto its configuration and refuses unknown keys (only
# SIGRA_TEST_* are skipped): the benchmark's own setting must not reach the app.
run() { env -u SIGRA_BENCH_POSTGRES_URL "$bin" "$@"; }

work=""
if [ -n "${BENCH_SQLITE_FILE:-}" ]; then
  sqlite_file="$BENCH_SQLITE_FILE"
else
  work="$(mktemp -d /tmp/sigra-admin-bench.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  sqlite_file="$work/admin.sqlite3"
fi

echo
echo "=== SQLite ($sqlite_file) ==="
run "sqlite://$sqlite_file" || echo "(SQLite run failed: see above)"

pg_server="${SIGRA_BENCH_POSTGRES_URL:-${SIGRA_TEST_POSTGRES_URL:-}}"
if [ -n "$pg_server" ]; then
  # The same server, database sigra_bench_admin (the program creates it when missing).
  base="${pg_server%%\?*}"
  query=""
  case "$pg_server" in *\?*) query="?${pg_server#*\?}" ;; esac
  scheme_rest="${base#*://}"
  authority="${scheme_rest%%/*}"
  pg_url="${base%%://*}://$authority/sigra_bench_admin$query"
  echo
  echo "=== PostgreSQL ($pg_url) ==="
  run "$pg_url" || echo "(PostgreSQL run failed: see above)"
else
  echo
  echo "PostgreSQL skipped: set SIGRA_BENCH_POSTGRES_URL (or SIGRA_TEST_POSTGRES_URL)."
fi
exit 0
