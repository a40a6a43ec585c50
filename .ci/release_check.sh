#!/usr/bin/env bash
# The release binary of example_app runs in Rocket's `release` profile, which Sigra treats
# as production: without SIGRA_SECRET_KEY it must refuse to start; with one it must serve
# no dev mailbox and send only `Secure`, `__Host-` cookies (the passkey ceremony's too);
# its pages allow only their own script. Its OpenAPI document must validate.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[release] %s\n' "$*"; }

cargo build --release -p example_app
bin="${CARGO_TARGET_DIR:-target}/release/example_app"
# The binary runs from a folder of its own, pointed at the app's configuration the way a
# deployment points it (Rocket looks for Rocket.toml from the working directory up).
export ROCKET_CONFIG="$PWD/Rocket.toml"
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

set +e
(cd "$work" && env -u SIGRA_SECRET_KEY -u ROCKET_PROFILE ROCKET_PORT="$port" timeout 60 "$bin") >"$work/no-secret.log" 2>&1
status=$?
set -e
if [ "$status" -eq 0 ] || [ "$status" -eq 124 ]; then
  cat "$work/no-secret.log"; log "FAIL: started without SIGRA_SECRET_KEY (exit $status)"; exit 1
fi
grep -q "sigra.secret_key" "$work/no-secret.log" || { cat "$work/no-secret.log"; log "FAIL: no message naming sigra.secret_key"; exit 1; }
log "refuses to start without SIGRA_SECRET_KEY (exit $status): $(grep -o 'Sigra cannot start.*' "$work/no-secret.log" | head -1)"

# A GitHub provider (its flow starts without a network call) for the social log-in checks.
(cd "$work" && SIGRA_SECRET_KEY="release-check-secret-0123456789abcdef" ROCKET_PORT="$port" \
  SIGRA_OAUTH__PROVIDERS__GITHUB__KIND=github SIGRA_OAUTH__PROVIDERS__GITHUB__CLIENT_ID=release-check \
  SIGRA_OAUTH__PROVIDERS__GITHUB__CLIENT_SECRET=release-check-client-secret "$bin") >"$work/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/users/log_in" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/run.log"; log "FAIL: did not start with a secret"; exit 1; }
  sleep 0.5
done
headers=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$port/users/log_in")
echo "$headers" | grep -qi '^set-cookie: __Host-sigra_csrf=.*Secure' || { echo "$headers"; log "FAIL: cookie without __Host-/Secure"; exit 1; }
if echo "$headers" | grep -qi '^set-cookie: sigra_'; then echo "$headers"; log "FAIL: unprefixed cookie"; exit 1; fi
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/dev/mailbox/json")
[ "$code" = 404 ] || { log "FAIL: /dev/mailbox/json answered $code"; exit 1; }
log "with a secret: serves, cookies are __Host- and Secure, /dev/mailbox/json is 404"

# Pages run only the script Sigra serves itself: the policy allows 'self' and nothing inline,
# and that script is there to be allowed.
csp=$(echo "$headers" | grep -i '^content-security-policy:' || true)
echo "$csp" | grep -q "script-src 'self';" || { echo "$headers"; log "FAIL: no script-src 'self' policy"; exit 1; }
if echo "$csp" | grep -qi "unsafe-inline\|unsafe-eval"; then log "FAIL: the policy allows inline script: $csp"; exit 1; fi
script=$(curl -fsS -D - -o "$work/sigra.js" "http://127.0.0.1:$port/users/assets/sigra.js")
echo "$script" | grep -qi '^content-type: text/javascript' || { echo "$script"; log "FAIL: /users/assets/sigra.js is not served as JavaScript"; exit 1; }
grep -q "api-key-copy" "$work/sigra.js" || { log "FAIL: /users/assets/sigra.js lacks the copy button's handler"; exit 1; }
log "pages allow script-src 'self' only, and /users/assets/sigra.js is served"

# The app's own home page (Sigra::security_headers()) extends Sigra's layout and sends the
# same kind of policy.
home=$(curl -fsS -D - -o "$work/home.html" "http://127.0.0.1:$port/")
home_csp=$(echo "$home" | grep -i '^content-security-policy:' || true)
echo "$home_csp" | grep -q "script-src 'self'" || { echo "$home"; log "FAIL: the home page has no script-src 'self' policy"; exit 1; }
if echo "$home_csp" | grep -qi "unsafe-inline"; then log "FAIL: the home page allows inline script: $home_csp"; exit 1; fi
echo "$home" | grep -qi '^x-frame-options: DENY' || { echo "$home"; log "FAIL: the home page may be framed"; exit 1; }
echo "$home" | grep -qi '^x-content-type-options: nosniff' || { echo "$home"; log "FAIL: the home page lacks nosniff"; exit 1; }
grep -q 'name="csrf-token"' "$work/home.html" || { log "FAIL: the home page is not in Sigra's layout"; exit 1; }
log "the app's home page: Sigra's layout, CSP without inline script, nosniff, DENY"

# A passkey ceremony's token travels only in a `__Host-`, Secure, HttpOnly cookie.
jar="$work/cookies"
csrf=$(curl -fsS -c "$jar" -H 'Accept: application/json' "http://127.0.0.1:$port/users/csrf" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
passkey=$(curl -fsS -b "$jar" -D - -o "$work/options.json" -X POST -H 'Accept: application/json' \
  -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" -d '{}' \
  "http://127.0.0.1:$port/users/passkeys/options")
echo "$passkey" | grep -qi '^set-cookie: __Host-sigra_passkey=.*Secure' || { echo "$passkey"; log "FAIL: the passkey ceremony cookie is not __Host-/Secure"; exit 1; }
echo "$passkey" | grep -qi '^set-cookie: __Host-sigra_passkey=.*HttpOnly' || { echo "$passkey"; log "FAIL: the passkey ceremony cookie is readable by script"; exit 1; }
grep -q '"challenge"' "$work/options.json" || { cat "$work/options.json"; log "FAIL: no passkey options"; exit 1; }
log "passkey sign-in options answered; the ceremony cookie is __Host-, Secure and HttpOnly"

# A social log-in flow is bound to the browser by a `__Host-`, Secure, HttpOnly, SameSite=Lax
# cookie; the provider gets state, PKCE S256 and the redirect URL at the public origin.
oauth=$(curl -fsS -b "$jar" -D - -o "$work/oauth.json" -X POST -H 'Accept: application/json' \
  -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" -d '{}' \
  "http://127.0.0.1:$port/users/auth/github")
echo "$oauth" | grep -qi '^set-cookie: __Host-sigra_oauth=.*Secure' || { echo "$oauth"; log "FAIL: the social log-in binding cookie is not __Host-/Secure"; exit 1; }
echo "$oauth" | grep -qi '^set-cookie: __Host-sigra_oauth=.*HttpOnly' || { echo "$oauth"; log "FAIL: the social log-in binding cookie is readable by script"; exit 1; }
echo "$oauth" | grep -qi '^set-cookie: __Host-sigra_oauth=.*SameSite=Lax' || { echo "$oauth"; log "FAIL: the social log-in binding cookie is not SameSite=Lax"; exit 1; }
next=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["next"])' "$work/oauth.json")
case "$next" in
  https://github.com/login/oauth/authorize\?*code_challenge_method=S256*) ;;
  *) log "FAIL: the GitHub flow does not start at GitHub with PKCE: $next"; exit 1 ;;
esac
echo "$next" | grep -q 'state=' || { log "FAIL: no state in $next"; exit 1; }
if grep -q "release-check-client-secret" "$work/run.log" || echo "$next" | grep -q "client-secret"; then
  log "FAIL: the client secret reached the log or the URL"; exit 1
fi
log "social log-in starts at the provider with state and PKCE; its cookie is __Host-, Secure, HttpOnly, SameSite=Lax"

# The OpenAPI document the deployed app serves must be a valid OpenAPI 3.1 document.
curl -fsS "http://127.0.0.1:$port/users/openapi.json" >"$work/openapi.json"
python3 -m openapi_spec_validator "$work/openapi.json" || { log "FAIL: /users/openapi.json is not a valid OpenAPI document"; exit 1; }
paths=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(len(v) for v in d["paths"].values()))' "$work/openapi.json")
log "/users/openapi.json validates (openapi-spec-validator): $paths operations"
