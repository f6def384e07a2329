#!/usr/bin/env bash
# Kernel FIB benchmark (issue 6): builds Reflex and the bench in release,
# then, in a network namespace, has a route source replay the full IPv4
# table from ../shared/bgp-data to a border (Reflex with role "border", and
# BIRD with its kernel protocol) that installs it into kernel table 1000;
# then closes the session so the whole table is withdrawn. Prints, per
# daemon, the time from the source's End-of-RIB to the last prefix in the
# kernel, the withdrawal time, peak RSS, and the ratios. Needs root.
# Arguments go to the bench, e.g.
#   ops/bench/fib.sh --runs 5 --daemons reflex,bird
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p reflex-node -p reflex-bench
exec "$CARGO_TARGET_DIR/release/reflect-bench" fib "$@"
