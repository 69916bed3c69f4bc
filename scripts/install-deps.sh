#!/bin/sh
# Install squib's build, test and guest-image dependencies from Debian's archive.
# Idempotent: does nothing (and needs no network) when everything is present.
set -e
PKGS="build-essential meson ninja-build pkg-config clang clang-format libclang-rt-14-dev \
libjansson-dev libmicrohttpd-dev libseccomp-dev libcmocka-dev liburing-dev \
python3 python3-pytest curl socat qemu-system-x86 busybox-static cpio e2fsprogs lz4 xz-utils \
iproute2 kmod attr"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
