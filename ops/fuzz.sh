#!/usr/bin/env bash
# Runs every fuzz target of speaker/fuzz for a bounded time each (libFuzzer
# through cargo-fuzz on the stable toolchain), seeding the corpora from the
# shared data folder. Usage: ops/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../speaker"
secs="${1:-60}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(decode_message decode_attributes decode_mrt)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
data=../../shared/bgp-data
seed() { # seed TARGET: a few real inputs, copied into the git-ignored corpus folder
  local dir="fuzz/corpus/$1"
  mkdir -p "$dir"
  case "$1" in
    decode_message)
      python3 - "$data" "$dir" <<'PY'
import glob, os, re, sys
data, out = sys.argv[1:]
for f in glob.glob(data + '/bgp-msg/exabgp-qa-decoding/*'):
    raw = bytes.fromhex(re.sub('[^0-9a-fA-F]', '', open(f).read().splitlines()[1]))
    if raw.startswith(b'\xff' * 16):
        open(os.path.join(out, os.path.basename(f)), 'wb').write(b'\x03' + raw)
PY
      ;;
    decode_mrt)
      for f in "$data"/mrt/impl-samples/*; do cp "$f" "$dir/"; done ;;
  esac
}
for t in "${targets[@]}"; do
  seed "$t"
  echo "== $t for ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=70000 2>&1 |
    grep -E "^(#[0-9]+ *DONE|Done [0-9]+ runs|SUMMARY|==[0-9]+==ERROR)" || true
done
