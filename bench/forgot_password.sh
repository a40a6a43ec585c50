#!/usr/bin/env bash
# Builds example_app (release), starts it on a fresh SQLite file and a free loopback port,
# and prints the forgot-password timing for known and unknown emails.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
cargo build -q --release -p example_app --features bench
bin="${CARGO_TARGET_DIR:-$repo/target}/release/example_app"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
ROCKET_PROFILE=release ROCKET_PORT="$port" ROCKET_LOG_LEVEL=off \
  ROCKET_DATABASES="{sigra={url=\"sqlite://$work/bench.sqlite3?mode=rwc\"}}" \
  SIGRA_SECRET_KEY="bench-secret-bench-secret-bench-secret-0123" \
  SIGRA_PUBLIC_URL="http://127.0.0.1:$port" SIGRA_DEV_MAILBOX=true \
  "$bin" >"$work/app.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/users/log_in" >/dev/null && break; sleep 0.1; done
python3 bench/forgot_password_timing.py "http://127.0.0.1:$port" "${1:-200}"
