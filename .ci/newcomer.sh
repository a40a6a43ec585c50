#!/usr/bin/env bash
# The newcomer check: follows sigra_rocket/docs/guide/getting_started.md word for word, so
# the guide cannot drift from what works.
#
# Convention (also stated in an HTML comment at the top of the guide):
#   - a fenced block whose info string is exactly `sh` runs as written, in order, in one
#     shell (a `cd` carries over);
#   - a fenced block whose info string is `sh server` starts the app in the background;
#   - a line "File: `<path>`" directly before a fenced block writes the block, unchanged,
#     to that path (relative to the shell's directory at that point);
#   - every other block is explanation only.
#
# The guide's commands run in a fresh temporary folder holding `sigra/` (a link to this
# repository, the layout the guide states) against a fresh SQLite file. Then the account
# story is walked over HTTP with curl, as a browser would (HTML forms, CSRF field, cookie
# jar): register -> confirm by the mailbox link -> log in -> protected page 200 -> log out
# -> protected page redirects -> reset password by the mailbox link -> the old password
# fails -> log in with the new one -> protected page 200. Any mismatch stops the run with
# the step's name. Prints the time from start to the first protected page, build
# included.
#
# Bounded: the build gets NEWCOMER_BUILD_TIMEOUT seconds (default 1800), the app 120 s to
# answer, every request 30 s; the app is stopped on exit. Builds into $CARGO_TARGET_DIR
# when set, else into a private folder of its own.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
guide="$repo/sigra_rocket/docs/guide/getting_started.md"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sigra-newcomer-target}"
build_timeout="${NEWCOMER_BUILD_TIMEOUT:-1800}"
start=$(date +%s)

step="setup"
fail() { echo "newcomer: FAILED at step '$step': $*" >&2; exit 1; }

for tool in cargo curl python3 setsid timeout; do
  command -v "$tool" >/dev/null || fail "missing tool: $tool"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/sigra-newcomer.XXXXXX")"
app_pid=""
cleanup() {
  if [ -n "$app_pid" ]; then
    kill -TERM -- "-$app_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 -- "-$app_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$app_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
ln -s "$repo" "$work/sigra"

# A port of our own, and links in mails that point at it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export ROCKET_PORT="$port" ROCKET_ADDRESS=127.0.0.1 SIGRA_PUBLIC_URL="$base"

# --- The guide, turned into one script ---------------------------------------------
step="read the guide"
python3 - "$guide" "$work/guide.sh" <<'PY' || fail "cannot extract the guide's commands"
import re, shlex, sys
src, out = sys.argv[1], sys.argv[2]
lines = open(src, encoding="utf-8").read().split("\n")
script = ["set -euo pipefail"]
pending_file, i, counts = None, 0, {"sh": 0, "server": 0, "file": 0}
while i < len(lines):
    line = lines[i]
    m = re.fullmatch(r"File: `([^`]+)`", line.strip())
    if m:
        pending_file = m.group(1)
        i += 1
        continue
    fence = re.fullmatch(r"(```+)(.*)", line)
    if fence:
        ticks, info = fence.group(1), fence.group(2).strip()
        body, i = [], i + 1
        while i < len(lines) and lines[i] != ticks:
            body.append(lines[i])
            i += 1
        i += 1
        text = "\n".join(body)
        if pending_file:
            marker = "SIGRA_NEWCOMER_EOF"
            assert marker not in text
            script.append(f'echo "newcomer: write {pending_file}"')
            path = shlex.quote(pending_file)
            script.append(f"mkdir -p \"$(dirname {path})\"")
            script.append(f"cat > {path} <<'{marker}'\n{text}\n{marker}")
            counts["file"] += 1
        elif info == "sh":
            script.append("echo " + shlex.quote("newcomer: $ " + text))
            script.append(text)
            counts["sh"] += 1
        elif info == "sh server":
            script.append("echo " + shlex.quote("newcomer: $ " + text + "   (in the background)"))
            script.append("setsid bash -c " + shlex.quote(text) + ' >"$NEWCOMER_APP_LOG" 2>&1 &')
            script.append('echo $! >"$NEWCOMER_APP_PID"')
            counts["server"] += 1
        pending_file = None
        continue
    if line.strip():
        pending_file = None
    i += 1
if counts["server"] != 1 or counts["sh"] == 0 or counts["file"] == 0:
    sys.exit(f"expected shell blocks, files and exactly one `sh server` block, found {counts}")
open(out, "w", encoding="utf-8").write("\n".join(script) + "\n")
PY

step="follow the guide's commands (build included)"
export NEWCOMER_APP_LOG="$work/app.log" NEWCOMER_APP_PID="$work/app.pid"
(cd "$work" && timeout "$build_timeout" bash "$work/guide.sh") \
  || fail "a command of the guide failed or ran out of time (${build_timeout}s)"
app_pid=$(cat "$work/app.pid")

step="the app answers"
up=""
for _ in $(seq 1 1200); do
  if curl -fs --max-time 2 -o /dev/null "$base/"; then up=1; break; fi
  kill -0 "$app_pid" 2>/dev/null || { tail -n 40 "$work/app.log" >&2; fail "the app exited"; }
  sleep 0.1
done
[ -n "$up" ] || { tail -n 40 "$work/app.log" >&2; fail "no answer on $base within 120 s"; }

# --- The story over HTTP --------------------------------------------------------------
jar="$work/cookies"
page="$work/page.html"
email="newcomer@example.com"
password="correct horse battery staple"
new_password="a brand new passphrase 42"

# request METHOD PATH [curl args…]: prints "<status> <Location>", the body lands in $page.
request() {
  local method=$1 path=$2; shift 2
  curl -s --max-time 30 -X "$method" -b "$jar" -c "$jar" -o "$page" \
    -H 'Accept: text/html' -H "Origin: $base" \
    -w '%{http_code} %{redirect_url}' "$@" "$base$path"
}
# expect WHAT GOT WANT_STATUS [WANT_LOCATION_PREFIX]
expect() {
  local got_status=${2%% *} got_location=${2#* }
  [ "$got_status" = "$3" ] || { head -c 2000 "$page" >&2; echo >&2; fail "$1: status $got_status, expected $3"; }
  if [ -n "${4:-}" ]; then
    case "$got_location" in
      "$base$4"*) ;;
      *) fail "$1: redirected to '$got_location', expected $base$4…" ;;
    esac
  fi
}
# The CSRF field of the page last fetched.
csrf() {
  grep -o 'name="_csrf" value="[^"]*"' "$page" | head -n 1 | sed 's/.*value="\([^"]*\)"/\1/'
}
# The path of the newest mail's link under PREFIX, for $email.
mail_link() {
  curl -fs --max-time 30 "$base/dev/mailbox/json" | python3 -c '
import json, re, sys
email, prefix = sys.argv[1], sys.argv[2]
for mail in json.load(sys.stdin):
    if email in mail["to"]:
        m = re.search(r"https?://[^/\s]+(" + re.escape(prefix) + r"[^\s\"<]+)", mail["text"])
        if m:
            print(m.group(1))
            break
' "$email" "$1"
}
log_in() { # PASSWORD -> "<status> <Location>"
  request GET /users/log_in >/dev/null
  request POST /users/log_in --data-urlencode "_csrf=$(csrf)" \
    --data-urlencode "email=$email" --data-urlencode "password=$1"
}

step="register"
expect "$step: the form" "$(request GET /users/register)" 200
expect "$step" "$(request POST /users/register --data-urlencode "_csrf=$(csrf)" \
  --data-urlencode "email=$email" --data-urlencode "password=$password")" 200

step="confirm by the link in the dev mailbox"
link=""
for _ in $(seq 1 100); do link=$(mail_link /users/confirm/) && [ -n "$link" ] && break; sleep 0.1; done
[ -n "$link" ] || fail "no confirmation link for $email in /dev/mailbox"
expect "$step: the page" "$(request GET "$link")" 200
expect "$step" "$(request POST "$link" --data-urlencode "_csrf=$(csrf)")" 303 /users/log_in

step="log in"
expect "$step" "$(log_in "$password")" 303 /

step="protected page"
expect "$step" "$(request GET /secret)" 200
grep -q "Only $email can read this." "$page" || fail "/secret does not greet $email"
elapsed=$(( $(date +%s) - start ))
echo "newcomer: from start to the protected page: ${elapsed} s (build included)"

step="log out"
expect "$step: the settings page" "$(request GET /users/settings)" 200
expect "$step" "$(request POST /users/log_out --data-urlencode "_method=DELETE" \
  --data-urlencode "_csrf=$(csrf)")" 303

step="protected page after log-out"
expect "$step" "$(request GET /secret)" 303 /users/log_in

step="reset password"
expect "$step: the form" "$(request GET /users/reset-password)" 200
expect "$step: ask for a link" "$(request POST /users/reset-password \
  --data-urlencode "_csrf=$(csrf)" --data-urlencode "email=$email")" 200
link=""
for _ in $(seq 1 100); do link=$(mail_link /users/reset-password/) && [ -n "$link" ] && break; sleep 0.1; done
[ -n "$link" ] || fail "no reset link for $email in /dev/mailbox"
expect "$step: the link's page" "$(request GET "$link")" 200
expect "$step: choose a new password" "$(request POST "$link" --data-urlencode "_csrf=$(csrf)" \
  --data-urlencode "password=$new_password" \
  --data-urlencode "password_confirmation=$new_password")" 303 /users/log_in

step="the old password no longer works"
got=$(log_in "$password")
[ "${got%% *}" != 303 ] || fail "log-in with the old password redirected to ${got#* }"

step="log in with the new password"
expect "$step" "$(log_in "$new_password")" 303 /

step="protected page again"
expect "$step" "$(request GET /secret)" 200
grep -q "Only $email can read this." "$page" || fail "/secret does not greet $email"

echo "newcomer: the getting-started guide works ($(( $(date +%s) - start )) s in all; protected page after ${elapsed} s)"
