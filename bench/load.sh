#!/usr/bin/env bash
# Load benchmark. Builds example_app (release), starts it on a fresh SQLite file and a free
# loopback port, and prints, measured in this one run (see bench/load_client.py):
#   a. wrong-password log-in attempts/s vs the Argon2id limit (cores / single-hash time)
#   b. server peak RSS during a 200-connection wrong-password flood, and p50/p99 of an
#      authenticated GET served meanwhile
#   c. log-in latency, known email with a wrong password vs unknown email
#   d. requests/s of GET /bench/guarded (AuthenticatedUser) vs GET /bench/open
# Installs wrk from Debian when missing. Takes about two minutes after the build; stops by
# itself. BENCH_SECONDS (default 10) sets the length of each wrk run, BENCH_ROUNDS
# (default 120) the sequential rounds of (c).
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

# Others may be mid-edit in the workspace: retry the build a few times before giving up.
for attempt in 1 2 3 4 5; do
  if cargo build -q --release -p example_app --features bench; then break; fi
  [ "$attempt" = 5 ] && { echo "release build of example_app failed" >&2; exit 1; }
  echo "build failed (attempt $attempt); retrying in 60 s…" >&2
  sleep 60
done
bin="${CARGO_TARGET_DIR:-$repo/target}/release/example_app"
built=$SECONDS

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
env_extra=()
# The per-IP rate limiter would turn the floods into 429s. Unknown SIGRA_ keys stop
# launch, so only set the switch when this checkout has the section.
if grep -q 'pub rate_limit:' sigra_core/src/config.rs; then
  env_extra+=(SIGRA_RATE_LIMIT__ENABLED=false)
fi
# The validated-session cache (sigra.session.cache_ms, off by default); e.g.
# BENCH_CACHE_MS=1000 bash bench/load.sh measures with it on.
if [ -n "${BENCH_CACHE_MS:-}" ]; then
  env_extra+=(SIGRA_SESSION__CACHE_MS="$BENCH_CACHE_MS")
  echo "session cache: sigra.session.cache_ms = $BENCH_CACHE_MS"
fi
env ${env_extra[@]+"${env_extra[@]}"} \
  ROCKET_PROFILE=release ROCKET_PORT="$port" ROCKET_LOG_LEVEL=off \
  ROCKET_DATABASES="{sigra={url=\"sqlite://$work/bench.sqlite3?mode=rwc\"}}" \
  SIGRA_SECRET_KEY="bench-secret-bench-secret-bench-secret-0123" \
  SIGRA_PUBLIC_URL="http://127.0.0.1:$port" \
  "$bin" >"$work/app.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
up=""
for _ in $(seq 1 100); do
  if curl -fs "http://127.0.0.1:$port/users/log_in" >/dev/null; then up=1; break; fi
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "example_app did not start; its log:" >&2
  cat "$work/app.log" >&2
  exit 1
fi
echo "example_app (release) on 127.0.0.1:$port, pid $pid, fresh SQLite; ${env_extra[*]:-rate limiter not present}"
python3 bench/load_client.py "http://127.0.0.1:$port" "$pid" "$work"
echo
echo "total run time: $((SECONDS - started)) s (build $((built - started)) s, measurements $((SECONDS - built)) s)"
