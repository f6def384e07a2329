#!/usr/bin/env bash
# The whole test suite. Release mode: the data-driven tests walk full
# Internet tables from ../shared/bgp-data. Then the docker-compose topology
# (ops/compose-test.sh; skipped where no Docker engine runs). Ends with one
# line that sums every test binary's result, and the compose test's.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/bgp-data ]; then
  echo "../shared/bgp-data is missing: the data-driven tests read it beside the repository" >&2
  exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --release --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
compose=passed
if [ -z "${REFLEX_SKIP_COMPOSE:-}" ]; then
  bash ops/compose-test.sh 2>&1 | tee -a "$log" || { status=1; compose=failed; }
  grep -q "compose-test: SKIPPED" "$log" && compose=skipped
else
  compose="skipped (REFLEX_SKIP_COMPOSE)"
fi
# Each failure's panic message, here at the end where a truncated log
# still shows it.
if grep -q "panicked at" "$log"; then
  echo "== failures"
  grep -A40 "panicked at" "$log" | cut -c1-400 | head -n 240
fi
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
echo "compose topology: $compose"
exit "$status"
