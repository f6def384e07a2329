#!/usr/bin/env bash
# Builds the compose topology's images (reflex/reflex, reflex/bird,
# reflex/frr) with no registry: the base image by ops/docker/base.sh, the
# reflex binary by cargo (release unless REFLEX_PROFILE=debug), then the
# same Dockerfiles docker-compose.yml names, FROM that base.
#
#   ops/docker/build.sh
#
# With a registry instead: `docker compose build` (the Dockerfiles start
# from debian:bookworm-slim) after putting the binary in ops/docker/bin/.
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE=${REFLEX_BASE:-reflex/debian:bookworm}
PROFILE=${REFLEX_PROFILE:-release}
REFLEX_BASE=$BASE bash ops/docker/base.sh

if [[ $PROFILE == release ]]; then
    cargo build --release -p reflex-node
else
    cargo build -p reflex-node
fi
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
mkdir -p ops/docker/bin
cp "$target/$PROFILE/reflex" ops/docker/bin/reflex

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for image in reflex bird frr; do
    echo "image reflex/$image"
    docker build -q --build-arg "BASE=$BASE" -t "reflex/$image:dev" \
        -f "ops/docker/$image.Dockerfile" . >"$log" 2>&1 || {
        cat "$log" >&2
        exit 1
    }
done
echo "images built from $BASE: reflex/reflex:dev reflex/bird:dev reflex/frr:dev"
