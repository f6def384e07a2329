#!/usr/bin/env bash
# The whole test suite. Release mode: the data-driven tests walk full
# Internet tables from ../shared/bgp-data.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/bgp-data ]; then
  echo "../shared/bgp-data is missing: the data-driven tests read it beside the repository" >&2
  exit 1
fi
exec cargo test --workspace --release "$@"
