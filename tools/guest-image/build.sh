#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build squib's Linux guest artefacts from Debian packages into a cache outside git:
#   OUTDIR/guest/{vmlinux,bzImage,initramfs.cpio,rootfs.ext4,busybox,vsock-probe,l1-modules/,kernel-release}
# Usage: tools/guest-image/build.sh [OUTDIR]   (default ${SQUIB_CACHE:-/var/cache/squib})
# Idempotent: when the inputs (packages + these scripts) are unchanged nothing is rewritten
# and no network is used. SQUIB_GUEST_REFRESH=1 re-resolves the kernel package with apt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-${SQUIB_CACHE:-/var/cache/squib}}
KMETA=${SQUIB_KERNEL_PKG:-linux-image-cloud-amd64}
DEBS=$OUT/debs
G=$OUT/guest
mkdir -p "$DEBS" "$G"
exec 9>> "$OUT/.guest-image.lock" # concurrent lane runs: one builder at a time
flock 9
log() { echo "guest-image: $*" >&2; }

# 1. Resolve and fetch packages (apt-get download only when the .deb is not cached yet).
# The cached kernel is reused unless SQUIB_GUEST_REFRESH=1 (apt-cache costs ~1.5 s per call).
cached_kpkg() { ls "$DEBS" 2>/dev/null | sed -n 's/^\(linux-image-[0-9][^_]*\)_.*\.deb$/\1/p' | sort -V | tail -1; }
kpkg=
[ "${SQUIB_GUEST_REFRESH:-0}" = 1 ] || kpkg=$(cached_kpkg)
if [ -z "$kpkg" ]; then
	kpkg=$(apt-cache depends "$KMETA" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$kpkg" ] || kpkg=$(cached_kpkg) # no apt lists: whatever kernel is cached
fi
[ -n "$kpkg" ] || { log "cannot resolve $KMETA (run apt-get update)"; exit 1; }
fetch() { # package -> path of its cached .deb
	local f
	f=$(ls "$DEBS"/"$1"_*.deb 2>/dev/null | sort -V | tail -1 || true)
	if [ -z "$f" ]; then
		log "apt-get download $1"
		(cd "$DEBS" && apt-get download "$1" >/dev/null 2>&1) || { log "apt-get download $1 failed"; exit 1; }
		f=$(ls "$DEBS"/"$1"_*.deb | sort -V | tail -1)
	fi
	echo "$f"
}
kdeb=$(fetch "$kpkg")
bdeb=$(fetch busybox-static)

# 2. Skip everything when inputs are unchanged.
stamp=$( (sha256sum "$kdeb" "$bdeb" "$HERE"/build.sh "$HERE"/init-l2.sh "$HERE"/extract-vmlinux.py \
	"$HERE"/vsock-probe.c | awk '{print $1}') | sha256sum | awk '{print $1}')
if [ -f "$G/.stamp" ] && [ "$(cat "$G/.stamp")" = "$stamp" ]; then
	for f in vmlinux bzImage initramfs.cpio rootfs.ext4 busybox vsock-probe; do [ -s "$G/$f" ] || stamp=stale; done
	if [ "$stamp" != stale ]; then log "up to date in $G ($kpkg)"; exit 0; fi
fi

W=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$W"' EXIT
log "extracting $(basename "$kdeb")"
dpkg-deb -x "$kdeb" "$W/k"
dpkg-deb -x "$bdeb" "$W/bb"
krel=$(ls "$W/k/lib/modules" | head -1)
MODDIR=$W/k/lib/modules/$krel
cp "$W/k/boot/vmlinuz-$krel" "$W/bzImage"
"$HERE/extract-vmlinux.py" "$W/bzImage" "$W/vmlinux"
cp "$W/bb/bin/busybox" "$W/busybox"

# Module dependency order from modinfo (no modules.dep ships in the package).
modpath() { find "$MODDIR" -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" | head -1; }
declare -A seen=()
order=()
addmod() {
	local m=$1 p d
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	p=$(modpath "$m")
	[ -n "$p" ] || { log "module $m not found (built in?)"; return 0; }
	for d in $(/sbin/modinfo -F depends "$p" | tr , ' '); do addmod "$d"; done
	order+=("$p")
}
modlist() { # dest-dir order-file modules...
	local dir=$1 ofile=$2 p
	shift 2
	seen=(); order=()
	for m in "$@"; do addmod "$m"; done
	mkdir -p "$dir"
	: > "$ofile"
	for p in "${order[@]}"; do cp "$p" "$dir/"; basename "$p" >> "$ofile"; done
}

# 3. Level-2 initramfs.
R=$W/l2
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,mnt,tmp,lib/modules}
cp "$W/busybox" "$R/bin/busybox"
for a in $("$W/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
cp "$HERE/init-l2.sh" "$R/init"
chmod 755 "$R/init"
gcc -static -Os -o "$W/vsock-probe" "$HERE/vsock-probe.c"
strip "$W/vsock-probe"
cp "$W/vsock-probe" "$R/bin/vsock-probe"
modlist "$R/lib/modules" "$R/lib/modules/l2.order" virtio_mmio virtio_blk virtio_net \
	vmw_vsock_virtio_transport virtio_rng virtio_balloon
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --reproducible -R 0:0 --quiet) > "$W/initramfs.cpio"

# 4. Level-1 modules: irqbypass, kvm, kvm-amd (ccp comes in if kvm-amd depends on it), tun, vhost_vsock (for the QEMU reference).
modlist "$W/l1-modules" "$W/l1-modules/l1.order" kvm_amd tun vhost_vsock

# 5. ext4 rootfs image (a busybox tree, a marker file) for the blk scenario.
F=$W/rootfs
mkdir -p "$F"/{bin,proc,sys,dev,tmp,mnt}
cp "$W/busybox" "$F/bin/busybox"
echo "squib rootfs" > "$F/squib-rootfs"
find "$F" -exec touch -h -d @0 {} +
truncate -s 16M "$W/rootfs.ext4"
E2FSPROGS_FAKE_TIME=1 mkfs.ext4 -q -F -L squibroot -U 5e0b5e0b-0000-4000-8000-00000000c0de \
	-E root_owner=0:0,hash_seed=5e0b5e0b-0000-4000-8000-00000000c0de -d "$F" "$W/rootfs.ext4"

echo "$krel" > "$W/kernel-release"
# 6. Install (replace only what changed).
rm -rf "$G/l1-modules.new"
mv "$W/l1-modules" "$G/l1-modules.new"
rm -rf "$G/l1-modules"
mv "$G/l1-modules.new" "$G/l1-modules"
for f in vmlinux bzImage initramfs.cpio rootfs.ext4 busybox vsock-probe kernel-release; do
	cmp -s "$W/$f" "$G/$f" || mv -f "$W/$f" "$G/$f"
done
echo "$stamp" > "$G/.stamp"
log "built $G ($krel): $(cd "$G" && ls | tr '\n' ' ')"
