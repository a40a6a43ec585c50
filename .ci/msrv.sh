#!/usr/bin/env bash
# The minimum supported Rust version (`rust-version` in Cargo.toml) checked as far as this
# machine allows:
#   (a) no package in the resolved dependency graph declares a newer `rust-version`;
#   (b) clippy's `incompatible_msrv` lint (default set, reads `rust-version`) is not
#       turned off anywhere, CI's clippy step denies warnings, and the lint fires on this
#       toolchain for a standard-library API newer than the MSRV;
#   (c) with a toolchain of exactly that version installed, `cargo +<msrv> check`.
# (a) and (b) failing fail the script. Without the toolchain, (c) says loudly that the
# compile with the MSRV itself did not run: (a) and (b) do not catch language features
# or compiler behaviour newer than the MSRV.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
log() { printf '[msrv] %s\n' "$*"; }
status=0

meta=$(mktemp)
trap 'rm -f "$meta"; rm -rf "${probe:-}"' EXIT
timeout 600 cargo metadata --format-version 1 --locked >"$meta"

# Our own `rust-version`: one value, shared by every member through the workspace.
msrv=$(python3 - "$meta" <<'EOF'
import json, sys
meta = json.load(open(sys.argv[1]))
members = set(meta["workspace_members"])
versions = {p["rust_version"] for p in meta["packages"] if p["id"] in members}
if len(versions) != 1 or None in versions:
    sys.exit(f"workspace members declare different or missing rust-version: {versions}")
print(versions.pop())
EOF
)
log "rust-version of the workspace: $msrv"

# ---- (a) dependencies ----------------------------------------------------------------
if python3 - "$meta" "$msrv" <<'EOF'
import json, sys
meta = json.load(open(sys.argv[1]))
def key(v):
    return tuple(int(x) for x in (v.split(".") + ["0", "0"])[:3])
msrv = key(sys.argv[2])
members = set(meta["workspace_members"])
deps = [p for p in meta["packages"] if p["id"] not in members]
declared = [p for p in deps if p.get("rust_version")]
offenders = sorted(
    (p["name"], p["version"], p["rust_version"])
    for p in declared
    if key(p["rust_version"]) > msrv
)
newest = max((key(p["rust_version"]), p["name"]) for p in declared) if declared else None
print(f"[msrv] (a) {len(deps)} dependencies in the resolved graph, {len(declared)} declare a "
      f"rust-version, {len(deps) - len(declared)} declare none")
if newest:
    print(f"[msrv] (a) highest declared: {'.'.join(map(str, newest[0]))} ({newest[1]})")
for name, version, rv in offenders:
    print(f"[msrv] (a) OFFENDER: {name} {version} declares rust-version {rv}")
sys.exit(1 if offenders else 0)
EOF
then
  log "(a) ok: no dependency declares a rust-version above $msrv"
else
  log "(a) FAIL: dependencies above need a newer Rust than $msrv"
  status=1
fi

# ---- (b) clippy's incompatible_msrv --------------------------------------------------
b_ok=1
# Anything that would silence the lint, or its group (`suspicious`), or override the MSRV
# clippy reads (`msrv` in clippy.toml, `#[clippy::msrv]`).
hits=$(git grep -nE 'incompatible_msrv|clippy::suspicious|clippy::msrv' -- \
  '*.rs' '*.toml' '.cargo' '.ci' ':!.ci/msrv.sh' || true)
if [ -n "$hits" ]; then
  echo "$hits"
  log "(b) FAIL: the lines above name incompatible_msrv, its group or clippy's msrv"
  b_ok=0
fi
for conf in clippy.toml .clippy.toml; do
  if [ -f "$conf" ] && grep -nE '^[[:space:]]*msrv[[:space:]]*=' "$conf"; then
    log "(b) FAIL: $conf sets msrv, which overrides rust-version for clippy"
    b_ok=0
  fi
done
if ! grep -qE 'cargo clippy .*-D warnings' .ci/run; then
  log "(b) FAIL: .ci/run has no clippy step that denies warnings"
  b_ok=0
fi
# The lint on this toolchain: a throwaway crate with our rust-version and clippy.toml
# calls AtomicU32::update (stable since 1.95.0), which clippy must report.
if [ "$(printf '%s\n' "$msrv" 1.95 | sort -V | head -1)" = 1.95 ]; then
  log "(b) probe skipped: its API (1.95.0) is not newer than rust-version $msrv"
else
  probe=$(mktemp -d)
  mkdir -p "$probe/src"
  cat >"$probe/Cargo.toml" <<EOF
[package]
name = "msrv_probe"
version = "0.0.0"
edition = "2024"
rust-version = "$msrv"
publish = false
[workspace]
EOF
  cat >"$probe/src/main.rs" <<'EOF'
use std::sync::atomic::{AtomicU32, Ordering};
fn main() {
    let n = AtomicU32::new(1);
    println!("{}", n.update(Ordering::SeqCst, Ordering::SeqCst, |x| x + 1));
}
EOF
  root=$(pwd)
  probe_out=$(cd "$probe" && CLIPPY_CONF_DIR="$root" CARGO_TARGET_DIR="$probe/target" \
    timeout 300 cargo clippy -q 2>&1 || true)
  if echo "$probe_out" | grep -q 'incompatible_msrv'; then
    log "(b) probe: clippy reports AtomicU32::update (stable since 1.95.0) under rust-version $msrv"
  else
    echo "$probe_out"
    log "(b) FAIL: clippy did not report an API newer than rust-version $msrv"
    b_ok=0
  fi
fi
if [ "$b_ok" = 1 ]; then
  log "(b) ok: incompatible_msrv is on (clippy default set, nothing turns it off) and CI's clippy denies it"
else
  status=1
fi

# ---- (c) the MSRV toolchain itself ---------------------------------------------------
toolchain=$(rustup toolchain list 2>/dev/null | awk '{print $1}' \
  | grep -E "^${msrv//./\\.}(\.[0-9]+)?-" | head -1 || true)
if [ -n "$toolchain" ]; then
  log "(c) cargo +$toolchain check --workspace --all-targets"
  if timeout 3600 cargo "+$toolchain" check -q --locked --workspace --all-targets; then
    log "(c) ok: the workspace builds with Rust $msrv"
  else
    log "(c) FAIL: the workspace does not build with Rust $msrv"
    status=1
  fi
else
  log "(c) !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  log "(c) NOT CHECKED: no Rust $msrv toolchain is installed here ($(rustc -V));"
  log "(c) the workspace was NOT compiled with its MSRV. Only (a) and (b) ran."
  log "(c) !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi

if [ "$status" = 0 ]; then log "passed"; else log "FAILED"; fi
exit "$status"
