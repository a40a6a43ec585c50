#!/usr/bin/env bash
# The published crates package and build from their packages alone: `cargo package` for
# sigra_core, sigra_rocket and sigra_cli together (cargo resolves their dependencies on
# each other from the packages it just made, so crates.io is not needed), including the
# verify build of each package. Then it checks what each package holds and prints its
# size and file count.
#
# SIGRA_PACKAGE_ALLOW_DIRTY=1 packages uncommitted changes too (local use; CI packages
# the commit).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
log() { printf '[package] %s\n' "$*"; }
crates=(sigra_core sigra_rocket sigra_cli)
target="${CARGO_TARGET_DIR:-target}"
version=$(cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "sigra_core"))')

# Each crate carries copies of the root license files: they must not drift.
for crate in "${crates[@]}"; do
  for license in LICENSE-MIT LICENSE-APACHE; do
    cmp -s "$license" "$crate/$license" || { log "FAIL: $crate/$license differs from $license"; exit 1; }
  done
done

dirty=()
[ "${SIGRA_PACKAGE_ALLOW_DIRTY:-0}" = 1 ] && dirty=(--allow-dirty)

# What goes in: every package has its README and both licenses, and none of the
# repository's tests, workspace files or build output.
for crate in "${crates[@]}"; do
  list=$(timeout 300 cargo package -q --locked "${dirty[@]}" --list -p "$crate")
  for required in Cargo.toml README.md LICENSE-MIT LICENSE-APACHE src/lib.rs; do
    [ "$crate" = sigra_cli ] && [ "$required" = src/lib.rs ] && required=src/main.rs
    grep -qx "$required" <<<"$list" || { log "FAIL: $crate's package lacks $required"; exit 1; }
  done
  if stray=$(grep -E '^(tests/|target/|\.\./)|\.sqlite3' <<<"$list"); then
    echo "$stray"
    log "FAIL: $crate's package holds the files above"
    exit 1
  fi
done

log "cargo package -p sigra_core -p sigra_rocket -p sigra_cli (with the verify build)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
args=()
for crate in "${crates[@]}"; do args+=(-p "$crate"); done
if ! timeout 3600 cargo package --locked "${dirty[@]}" "${args[@]}" >"$out" 2>&1; then
  tail -n 60 "$out"
  log "FAIL: cargo package"
  exit 1
fi
grep -E '^ *(Packaged|Verifying) ' "$out" | sed 's/^ */[package] /'
# Warnings (a missing field, a file left out) are failures: the packages are what
# crates.io gets. The one expected kind: the include lists keep the crates' integration
# tests in the repository (they read workspace files or need its databases), so cargo
# drops those test targets from the packaged manifests.
expected='^warning: ignoring test `[a-z_]+` as `tests/[a-z_]+\.rs` is not included in the published package$'
if grep -E '^(warning|error)' "$out" | grep -vE "$expected"; then
  log "FAIL: cargo package warned (above)"
  exit 1
fi
log "integration test targets left in the repository: $(grep -cE "$expected" "$out")"

printf '[package] %-14s %10s %10s %6s\n' crate ".crate" unpacked files
for crate in "${crates[@]}"; do
  file="$target/package/$crate-$version.crate"
  [ -f "$file" ] || { log "FAIL: $file is missing"; exit 1; }
  size=$(stat -c %s "$file")
  files=$(tar -tzf "$file" | grep -vc '/$')
  unpacked=$(tar -xzOf "$file" | wc -c)
  printf '[package] %-14s %8d kB %8d kB %6d\n' "$crate" $((size / 1024)) $((unpacked / 1024)) "$files"
done
log "ok"
