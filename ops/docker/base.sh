#!/usr/bin/env bash
# The base image of every Reflex image, made here without a registry:
# Debian bookworm by debootstrap, with the packages the images use (BIRD,
# FRR, iproute2), turned into an image by `docker import`.
#
#   ops/docker/base.sh            # makes reflex/debian:bookworm unless present
#   REBUILD=1 ops/docker/base.sh  # makes it again
#
# With a registry, skip this: the Dockerfiles start from debian:bookworm-slim
# and install the same packages themselves.
set -euo pipefail

IMAGE=${REFLEX_BASE:-reflex/debian:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=(iproute2 iputils-ping procps bird2 frr)

if [[ -z ${REBUILD:-} ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base image $IMAGE: present"
    exit 0
fi
command -v debootstrap >/dev/null || {
    echo "base.sh: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1
}

root=$(mktemp -d /var/tmp/reflex-base.XXXXXX)
cleanup() {
    umount -l "$root/proc" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT

echo "base image $IMAGE: debootstrap bookworm from $MIRROR"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2
    exit 1
}
rm -f "$root.log"
# No service starts inside the build (FRR's postinst would try).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
log=$(mktemp)
if ! { chroot "$root" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" &&
    chroot "$root" apt-get clean; } >"$log" 2>&1; then
    tail -20 "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
umount -l "$root/proc"
rm -rf "$root"/var/lib/apt/lists/* "$root/etc/resolv.conf" "$root/usr/sbin/policy-rc.d"
tar --numeric-owner -C "$root" -c . | docker import --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "base image $IMAGE: made ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MiB", $1/1048576}'))"
