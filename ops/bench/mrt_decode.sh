#!/usr/bin/env bash
# Decoding real dumps end to end (decompression included): `reflex mrt` next
# to bgpdump (RIPE NCC's C decoder, Debian package bgpdump), in the same run,
# best of N runs each. Prints seconds, peak RSS and the ratio.
#
#   summary: reflex decodes every record and counts (no per-prefix output)
#   dump:    reflex prints one JSON line per record; bgpdump -m one text
#            line per prefix (the closest "same work" either tool offers)
#
# BIRD, FRR and GoBGP have no offline MRT decoder to compare with; session
# throughput against them comes with the session benchmarks.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${RUNS:-3}"
data=../shared/bgp-data/mrt
files=("$data/updates/bgpdump_updates.et-header.2015.gz" "$data/derived/DERIVED_rib-from-updates.et-header.2015_pch-as3856_fullv4.gz" "$data/rib/hask-mrt_rib.20150922.1200_routeviews6-v6.bz2")
command -v bgpdump >/dev/null || { apt-get install -y -qq bgpdump >/dev/null; }
cargo build --release -q -p reflex-node
reflex=target/release/reflex
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

best() { # best CMD...: "seconds peak_kib" of the fastest of $runs runs
  local b="" line
  for _ in $(seq "$runs"); do
    /usr/bin/time -o "$tmp" -f "%e %M" "$@" >/dev/null 2>&1 || true
    line=$(tail -1 "$tmp")
    if [[ -z "$b" ]] || awk -v a="${line%% *}" -v c="${b%% *}" 'BEGIN{exit !(a<c)}'; then b="$line"; fi
  done
  echo "$b"
}

printf "%-62s %-8s %9s %10s %9s %10s %7s\n" file mode reflex_s reflex_MiB bgpdump_s bgpdump_MiB ratio
for f in "${files[@]}"; do
  bg=$(best bgpdump -m "$f")
  for mode in summary dump; do
    r=$(best "$reflex" mrt "$mode" "$f")
    awk -v f="$(basename "$f")" -v m="$mode" -v r="$r" -v b="$bg" 'BEGIN{
      split(r, x, " "); split(b, y, " ");
      printf "%-62s %-8s %9.2f %10.1f %9.2f %10.1f %6.2fx\n", f, m, x[1], x[2]/1024, y[1], y[2]/1024, y[1]/x[1] }'
  done
done
