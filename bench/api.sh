#!/usr/bin/env bash
# API benchmark. Builds example_app (release), starts it on a fresh SQLite file and a free
# loopback port, signs up one account through the JSON routes, and measures side by side
# in this one run, with wrk, the requests/s of GET /bench/api (behind `ApiCaller`) with
#   a. a JWT access token   b. a personal API key   c. a session cookie
# each divided by the same route with no guard (GET /bench/open) sent the same request
# (the same credential header, so the ratio is the guard's cost alone): BENCH_ROUNDS (3)
# alternating rounds, medians.
# Prints figures; never fails on them. BENCH_SECONDS (default 10) sets each wrk run's
# length; BENCH_CACHE_MS turns on the validated-session cache (sigra.session.cache_ms).
# With two or more cores, the server runs on the first and wrk on the second (taskset), so
# the load generator does not take the server's time.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
secs="${BENCH_SECONDS:-10}"
echo "cores (nproc): $(nproc)"
if ! command -v wrk >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
cargo build -q --release -p example_app --features bench
bin="${CARGO_TARGET_DIR:-$repo/target}/release/example_app"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
server_cpu=(); client_cpu=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_cpu=(taskset -c 0); client_cpu=(taskset -c 1)
  echo "server on CPU 0, wrk on CPU 1"
fi
extra=()
[ -n "${BENCH_CACHE_MS:-}" ] && extra+=(SIGRA_SESSION__CACHE_MS="$BENCH_CACHE_MS")
# The dev mailbox (danger_ in release) only to read the confirmation code of the bench account.
env ${extra[@]+"${extra[@]}"} \
  ROCKET_PROFILE=release ROCKET_PORT="$port" ROCKET_LOG_LEVEL=off \
  ROCKET_DATABASES="{sigra={url=\"sqlite://$work/bench.sqlite3?mode=rwc\"}}" \
  SIGRA_SECRET_KEY="bench-secret-bench-secret-bench-secret-0123" \
  SIGRA_PUBLIC_URL="$base" SIGRA_RATE_LIMIT__ENABLED=false SIGRA_DANGER_DEV_MAILBOX=true \
  SIGRA_DANGER_INSECURE_COOKIES=true \
  ${server_cpu[@]+"${server_cpu[@]}"} "$bin" >"$work/app.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fs "$base/users/log_in" >/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$work/app.log" >&2; exit 1; }
  sleep 0.1
done

# One account, and its three credentials: access token, API key, session cookie.
python3 - "$base" "$work" <<'PY'
import http.cookiejar, json, re, sys, time, urllib.request
base, work = sys.argv[1], sys.argv[2]
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
def call(method, path, body=None, headers=None, opener=web):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Accept": "application/json", "Content-Type": "application/json", **(headers or {})})
    with opener.open(req) as r:
        return json.loads(r.read() or b"{}")
def signed(method, path, body):
    token = call("GET", "/users/csrf")["token"]
    return call(method, path, body, {"X-CSRF-Token": token})
email, password = "bench@example.com", "bench passphrase 0123456789"
signed("POST", "/users/register", {"email": email, "password": password,
                                   "display_name": "Bench", "accept_terms": True})
for _ in range(100):
    mails = [m for m in call("GET", "/dev/mailbox/json") if email in m["to"]]
    if mails: break
    time.sleep(0.1)
code = re.search(r"\b(\d{6})\b", mails[0]["text"]).group(1)
signed("POST", "/users/confirm", {"email": email, "code": code})
signed("POST", "/users/log_in", {"email": email, "password": password})
key = signed("POST", "/users/settings/api-keys", {"name": "bench", "scopes": ["notes:read"]})["key"]
plain = urllib.request.build_opener()
tokens = call("POST", "/users/api/token", {"email": email, "password": password}, opener=plain)
session = "; ".join(f"{c.name}={c.value}" for c in jar)
open(f"{work}/token", "w").write(tokens["access_token"])
open(f"{work}/key", "w").write(key)
open(f"{work}/cookie", "w").write(session)
PY

rate() { # path, extra wrk args…
  local path=$1; shift
  ${client_cpu[@]+"${client_cpu[@]}"} wrk -t2 -c32 -d"${secs}s" "$@" "$base$path" | awk '/Requests\/sec/ {print $2}'
}
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.0f}')" "$@"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
rounds="${BENCH_ROUNDS:-3}"
echo "GET /bench/api behind ApiCaller vs GET /bench/open (no guard), the same headers to both: $rounds alternating rounds of ${secs} s each, wrk -t2 -c32; medians"
echo "sigra.session.cache_ms: ${BENCH_CACHE_MS:-0 (default: off)}"
printf '%-28s %10s %10s %7s\n' "credential" "guarded/s" "open/s" "ratio"
for kind in token key cookie; do
  case $kind in
    token)  header="Authorization: Bearer $(cat "$work/token")"; label="a. access token (JWT)";;
    key)    header="Authorization: Bearer $(cat "$work/key")"; label="b. API key";;
    cookie) header="Cookie: $(cat "$work/cookie")"; label="c. session cookie";;
  esac
  opens=(); guardeds=()
  for _ in $(seq 1 "$rounds"); do
    opens+=("$(rate /bench/open -H "$header")")
    guardeds+=("$(rate /bench/api -H "$header")")
  done
  open=$(median "${opens[@]}"); guarded=$(median "${guardeds[@]}")
  printf '%-28s %10s %10s %7s\n' "$label" "$guarded" "$open" "$(ratio "$guarded" "$open")"
done
