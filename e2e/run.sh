#!/usr/bin/env bash
# Browser end-to-end suite: Playwright (npm playwright-core) driving Debian's Chromium,
# headless, against example_app on a fresh SQLite file and a free loopback port.
#
#   bash e2e/run.sh            # from anywhere; CARGO_TARGET_DIR is respected
#
# Screenshots land in e2e/artifacts/ (gitignored).
set -euo pipefail

e2e_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$e2e_dir/.." && pwd)"
cd "$repo"

log() { printf '[e2e] %s\n' "$*"; }

# --- Chromium (Debian's package; Playwright's own browser downloads need the network) ---
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
fi

# --- Node dependencies: npm ci when node_modules is missing or older than the lockfile ---
for tool in node npm curl; do
  command -v "$tool" >/dev/null || { echo "[e2e] $tool is required but not installed" >&2; exit 1; }
done
hidden_lock="$e2e_dir/node_modules/.package-lock.json"
if [ ! -f "$hidden_lock" ] || [ ! -d "$e2e_dir/node_modules/playwright-core" ] \
  || [ "$e2e_dir/package-lock.json" -nt "$hidden_lock" ] \
  || [ "$e2e_dir/package.json" -nt "$hidden_lock" ]; then
  log "npm ci"
  (cd "$e2e_dir" && npm ci --no-audit --no-fund)
fi

# --- example_app ---
log "cargo build -p example_app"
cargo build -p example_app
app_bin="${CARGO_TARGET_DIR:-$repo/target}/debug/example_app"
[ -x "$app_bin" ] || { echo "[e2e] example_app binary not found at $app_bin" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/sigra-e2e.XXXXXX")"
app_log="$work/example_app.log"
app_pid=""
idp_log="$work/oidc_provider.log"
idp_pid=""

cleanup() {
  local status=$?
  for pid in "$app_pid" "$idp_pid"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [ "$status" -ne 0 ] && [ -f "$idp_log" ]; then
    printf '\n[e2e] ---- OpenID provider log (%s) ----\n' "$idp_log"
    cat "$idp_log" || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$app_log" ]; then
    printf '\n[e2e] ---- example_app log (%s) ----\n' "$app_log"
    cat "$app_log" || true
    printf '[e2e] ---- end of example_app log ----\n'
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
port=""
if command -v python3 >/dev/null; then
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || true)"
fi
if [ -z "$port" ]; then
  for candidate in 18080 18081 18082 18083 18084 18085; do
    if port_is_free "$candidate"; then port=$candidate; break; fi
  done
fi
[ -n "$port" ] || { echo "[e2e] no free port found" >&2; exit 1; }

# `localhost`, not an IP address: WebAuthn (passkeys) needs a domain.
base_url="http://localhost:$port"

# --- a real OpenID provider (npm oidc-provider, tests/oidc) for the social log-in tests ---
if [ ! -f "$repo/tests/oidc/node_modules/oidc-provider/package.json" ]; then
  log "npm ci (tests/oidc)"
  npm ci --prefix "$repo/tests/oidc" --no-audit --no-fund
fi
idp_clients="[{\"client_id\":\"sigra-e2e\",\"client_secret\":\"sigra-e2e-secret\",\"redirect_uris\":[\"$base_url/users/auth/idp/callback\"]}]"
# Its stdin stays open (a fifo held by this shell on fd 7, which no child inherits): the
# provider exits when it closes, so it goes with this script even without the cleanup.
mkfifo "$work/idp_stdin"
exec 7<>"$work/idp_stdin"
OIDC_CLIENTS="$idp_clients" node "$repo/tests/oidc/provider.mjs" <"$work/idp_stdin" >"$idp_log" 2>&1 7>&- &
idp_pid=$!
issuer=""
for _ in $(seq 1 120); do
  issuer="$(sed -n 's/^LISTENING //p' "$idp_log" | head -1)"
  [ -n "$issuer" ] && break
  kill -0 "$idp_pid" 2>/dev/null || { echo "[e2e] the OpenID provider exited" >&2; cat "$idp_log" >&2; exit 1; }
  sleep 0.25
done
[ -n "$issuer" ] || { echo "[e2e] the OpenID provider did not start within 30 s" >&2; exit 1; }
log "OpenID provider at $issuer"
db="$work/e2e.sqlite3"
log "starting example_app on $base_url (database $db)"
(
  cd "$repo/example_app"
  # The suite logs in more than ten times a minute from one address; the limiter itself
  # is tested in tests/rate_limit.rs, so here its ceiling is raised out of the way.
  exec env \
    ROCKET_ADDRESS=127.0.0.1 \
    ROCKET_PORT="$port" \
    ROCKET_DATABASES="{sigra={url=\"sqlite://$db?mode=rwc\"}}" \
    SIGRA_PUBLIC_URL="$base_url" \
    SIGRA_RATE_LIMIT__MAX_REQUESTS=1000 \
    SIGRA_OAUTH__PROVIDERS__IDP__KIND=oidc \
    SIGRA_OAUTH__PROVIDERS__IDP__ISSUER="$issuer" \
    SIGRA_OAUTH__PROVIDERS__IDP__CLIENT_ID=sigra-e2e \
    SIGRA_OAUTH__PROVIDERS__IDP__CLIENT_SECRET=sigra-e2e-secret \
    SIGRA_OAUTH__PROVIDERS__IDP__DISPLAY_NAME="Test IdP" \
    "$app_bin"
) >"$app_log" 2>&1 7>&- &
app_pid=$!

# Bounded wait: up to 60 s for the first answer.
up=""
for _ in $(seq 1 120); do
  if ! kill -0 "$app_pid" 2>/dev/null; then
    echo "[e2e] example_app exited before answering" >&2
    exit 1
  fi
  if curl -fs -o /dev/null --max-time 2 "$base_url/"; then up=1; break; fi
  sleep 0.5
done
[ -n "$up" ] || { echo "[e2e] example_app did not answer on $base_url within 60 s" >&2; exit 1; }
log "example_app is up"

export E2E_BASE_URL="$base_url"
export E2E_OIDC_ISSUER="$issuer"
export E2E_ARTIFACTS_DIR="$e2e_dir/artifacts"
mkdir -p "$E2E_ARTIFACTS_DIR"
rm -f "$E2E_ARTIFACTS_DIR"/*.png   # only this run's screenshots
cd "$e2e_dir"
log "npm test"
npm test 7>&-
log "passed; screenshots in $E2E_ARTIFACTS_DIR"
