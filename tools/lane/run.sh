#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Run a shell script inside the nested lane: a level-1 Debian kernel under QEMU TCG (-cpu max,
# emulated AMD SVM) that loads kvm-amd, so the script gets a real /dev/kvm, squib, and the
# level-2 guest artefacts. Prints the console; exits with the script's rc (124 timeout,
# 125 if level 1 died without reporting). See docs/lane.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${SQUIB_CACHE:-/var/cache/squib}
MEM=${LANE_MEM:-2048}
TIMEOUT=${LANE_TIMEOUT:-300}
SQUIB_BIN=${SQUIB_BIN:-$ROOT/build/squib}
WITH_QEMU=0
ADDS=()
ENVS=()
usage() {
	cat >&2 <<USAGE
usage: tools/lane/run.sh [--mem MiB] [--timeout S] [--squib PATH] [--with-qemu]
                         [--add HOSTPATH[:L1PATH]]... [--env NAME=VALUE]... [--log FILE]
                         [--out DIR] SCRIPT|-
  SCRIPT runs with sh in level 1 (cwd /tmp) with \$SQUIB (squib binary), \$GUEST (/guest:
  vmlinux bzImage initramfs.cpio rootfs.ext4), \$LANE_ADD (/lane/add). --add copies a file or a
  whole directory (default L1 path /lane/add/<basename>); ELF executables get their libraries.
  --out DIR: files the script leaves in \$LANE_OUT (/lane/out) are copied to DIR.
  Env: SQUIB_BIN (default build/squib), SQUIB_CACHE (default /var/cache/squib), LANE_MEM, LANE_TIMEOUT.
USAGE
	exit 2
}
LOG=
OUTDIR=
while [ $# -gt 0 ]; do
	case "$1" in
	--mem) MEM=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--squib) SQUIB_BIN=$2; shift 2 ;;
	--with-qemu) WITH_QEMU=1; shift ;;
	--add) ADDS+=("$2"); shift 2 ;;
	--env) ENVS+=("$2"); shift 2 ;;
	--log) LOG=$2; shift 2 ;;
	--out) OUTDIR=$2; ENVS+=("LANE_COLLECT=1"); shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-) break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
SCRIPT=$1
log() { echo "lane: $*" >&2; }

"$ROOT/tools/guest-image/build.sh" "$CACHE" >/dev/null 2>"$CACHE/.guest-build.log" ||
	{ cat "$CACHE/.guest-build.log" >&2; exit 125; }
G=$CACHE/guest
mkdir -p "$CACHE/lane"
find "$CACHE/lane" -maxdepth 1 -name '.stage.*' -mmin +120 -exec rm -rf {} + 2>/dev/null || true
W=$(mktemp -d "$CACHE/lane/.stage.XXXXXX")
trap 'rm -rf "$W"' EXIT
S=$W/root
mkdir -p "$S"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,lane/add,guest,lib/modules/l1}
: > "$S/lane/env"
for e in ${ENVS[@]+"${ENVS[@]}"}; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}" >> "$S/lane/env"; done
if [ "$SCRIPT" = - ]; then cat > "$S/lane/script.sh"; else cp "$SCRIPT" "$S/lane/script.sh"; fi

is_elf() { [ -f "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
addlibs() { # copy the shared libraries of ELF $1 into the stage at their host paths
	local l
	is_elf "$1" || return 0
	for l in $(ldd "$1" 2>/dev/null | awk '/=> \// {print $3} /^[[:space:]]*\/[^ ]+ \(/ {print $1}'); do
		[ -e "$S$l" ] || { mkdir -p "$S$(dirname "$l")"; cp -L "$l" "$S$l"; }
	done
}
put() { # hostpath l1path
	mkdir -p "$S$(dirname "$2")"
	cp -aL "$1" "$S$2"
	if [ -d "$1" ]; then
		while IFS= read -r -d '' f; do addlibs "$f"; done < <(find "$S$2" -type f -perm -u+x -print0)
	else
		addlibs "$1"
	fi
}

cp "$G/busybox" "$S/bin/busybox"
ln -s busybox "$S/bin/sh" # init-l1.sh installs the other applet links
cp "$G/vsock-probe" "$S/usr/bin/vsock-probe"
cp "$HERE/init-l1.sh" "$S/init"
cp "$G"/l1-modules/* "$S/lib/modules/l1/"
for f in vmlinux bzImage initramfs.cpio rootfs.ext4 kernel-release; do ln "$G/$f" "$S/guest/$f" 2>/dev/null || cp "$G/$f" "$S/guest/$f"; done
if [ -x "$SQUIB_BIN" ]; then put "$SQUIB_BIN" /usr/bin/squib; else log "no squib binary at $SQUIB_BIN (set SQUIB_BIN)"; fi
# squib dlopens libmicrohttpd (not in its ldd list): ship it and its own libraries too.
mhd=$(ldconfig -p | awk '/libmicrohttpd\.so\.12 .*x86-64/ && !f {print $NF; f = 1}')
if [ -n "$mhd" ]; then mkdir -p "$S$(dirname "$mhd")"; cp -L "$mhd" "$S$mhd"; addlibs "$mhd"; fi
if [ $WITH_QEMU = 1 ]; then
	put "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64
	mkdir -p "$S/usr/share/qemu"
	cp -L /usr/share/qemu/qboot.rom /usr/share/qemu/bios-microvm.bin /usr/share/qemu/linuxboot_dma.bin \
		/usr/share/qemu/pvh.bin "$S/usr/share/qemu/"
fi
for a in ${ADDS[@]+"${ADDS[@]}"}; do
	hp=${a%%:*}; lp=${a#*:}
	[ "$lp" = "$a" ] && lp=/lane/add/$(basename "$hp")
	[ -e "$hp" ] || { log "--add: $hp does not exist"; exit 2; }
	put "$hp" "$lp"
done

# Content hash of the staged tree -> cached initramfs.
hash=$( (cd "$S" && find . -mindepth 1 -printf '%y %m %p %l\n' | LC_ALL=C sort &&
	find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
CPIO=$CACHE/lane/l1-$hash.cpio
if [ ! -s "$CPIO" ]; then
	(cd "$S" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$W/l1.cpio"
	# /dev/console must exist before /init runs.
	mkdir -p "$W/dev/dev" && (cd "$W/dev" && mknod -m 600 dev/console c 5 1 && echo dev/console | cpio -o -H newc -R 0:0 --quiet) >> "$W/l1.cpio"
	mv "$W/l1.cpio" "$CPIO"
	ls -t "$CACHE"/lane/l1-*.cpio 2>/dev/null | tail -n +7 | xargs -r rm -f
fi
touch "$CPIO"
rm -rf "$S"

# Host TSC for the guest's calibration (TCG's TSC runs at the host rate). HZ=250 (Debian).
khz=$(awk -F: '/^cpu MHz/ {printf "%d", $2 * 1000 + 0.5; exit}' /proc/cpuinfo)
[ -n "$khz" ] || khz=2000000
lpj=$((khz * 1000 / 250))
APPEND="console=ttyS0 reboot=k panic=-1 quiet i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd \
tsc_early_khz=$khz lpj=$lpj pci=off"
OUTF=$W/console.log
set +e
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -M microvm,pit=on,pic=on,rtc=on -accel tcg -cpu max \
	-m "$MEM" -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
	-kernel "$G/bzImage" -initrd "$CPIO" -append "$APPEND" < /dev/null 2>&1 | tee "$OUTF" |
	awk '/^LANE-OUT-BEGIN/ {h = 1} !h {print; fflush()} /^LANE-OUT-END/ {h = 0}'
qrc=${PIPESTATUS[0]}
set -e
[ -n "$LOG" ] && cp "$OUTF" "$LOG"
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	log "timeout after ${TIMEOUT}s"; exit 124
fi
if [ -n "$OUTDIR" ]; then
	mkdir -p "$OUTDIR"
	tr -d '\r' < "$OUTF" | sed -n '/^LANE-OUT-BEGIN$/,/^LANE-OUT-END$/p' | sed '1d;$d' | grep -E '^[A-Za-z0-9+/=]+$' | base64 -d |
		tar -xz -C "$OUTDIR" || log "--out: could not unpack the files from level 1"
fi
rc=$(tr -d '\r' < "$OUTF" | sed -n 's/^LANE-EXIT=\([0-9]*\)$/\1/p' | tail -1)
if [ -z "$rc" ]; then log "level 1 ended without LANE-EXIT (qemu rc=$qrc)"; exit 125; fi
exit "$rc"
