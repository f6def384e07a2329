#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, quietly and only when
# missing, so running it twice costs nothing. The list is ops/ci/packages.txt.
set -euo pipefail
here="$(dirname "$0")"
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$here/packages.txt"
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "cargo not found: this machine kind ships the Rust toolchain; nothing to install it from" >&2
  exit 1
fi
