#!/usr/bin/env bash
# Reflect-time benchmark: builds Reflex and the bench in release, then runs
# Reflex (its default one-member Raft cluster, and a three-member cluster),
# BIRD, FRR and GoBGP in turn as the route reflector of one network
# namespace topology (a route source replaying the PCH full IPv4 table from
# ../shared/bgp-data, and N BIRD clients) and prints, per reflector, the
# time from the first UPDATE sent to the last client holding every route,
# and its peak RSS. Needs root. Arguments go to the bench, e.g.
#   ops/bench/reflect.sh --clients 5 --reflectors reflex,bird
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p reflex-node -p reflex-bench
exec "$CARGO_TARGET_DIR/release/reflect-bench" "$@"
