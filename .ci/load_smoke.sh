#!/usr/bin/env bash
# CI smoke of bench/faults.sh: 100 virtual users for 10 s against two example_app
# instances (release) on a private PostgreSQL, with a PostgreSQL restart, a Redis outage,
# a killed instance and an SMTP outage, then the same checks as the full run. Exits
# non-zero when a check fails. Private servers on loopback only (never the machine's
# shared services); installs what it needs (aiohttp, aiosmtpd from PyPI; PostgreSQL and
# Redis from Debian when missing). Reuses $CARGO_TARGET_DIR's release build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sigra-target}"
exec bash bench/faults.sh --smoke
