#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Boot squib's test guest under QEMU TCG (-M microvm, PVH entry) and print its serial console.
#
# usage: run-qemu.sh [--smp N] [--mem MIB] [--timeout SECONDS] [--guest PATH] [--linux64]
#                    [--qemu-args "ARGS"]... [--] SCENARIO [KEY=VALUE]...
# --linux64 boots through the Linux 64-bit entry (linux64-shim recreates Firecracker's zero
# page, GDT and page tables) instead of the guest's own PVH entry.
# e.g.   run-qemu.sh digest mib=4 rounds=2
#        run-qemu.sh --smp 2 smp
#        run-qemu.sh --qemu-args "-device virtio-rng-device" rng
# Unless given, mmio_base/mmio_stride/mmio_slots are set to QEMU microvm's virtio-mmio layout,
# and virtio-mmio is forced to the modern (version 2) transport.
# Exit status: QEMU's (0 after the guest's i8042 reset), 124 on timeout.
set -eu

smp=1 mem=128 tmo=60 guest="${SQUIB_TEST_GUEST:-}" qargs="" linux64=0
while [ $# -gt 0 ]; do
	case "$1" in
	--smp) smp="$2"; shift 2 ;;
	--mem) mem="$2"; shift 2 ;;
	--timeout) tmo="$2"; shift 2 ;;
	--guest) guest="$2"; shift 2 ;;
	--qemu-args) qargs="$qargs $2"; shift 2 ;;
	--linux64) linux64=1; shift ;;
	--) shift; break ;;
	-h|--help) sed -n '3,15p' "$0"; exit 0 ;;
	-*) echo "run-qemu.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "run-qemu.sh: missing scenario" >&2; exit 2; }

if [ -z "$guest" ]; then
	root="$(cd "$(dirname "$0")/../.." && pwd)"
	for b in build-guest build; do
		if [ -f "$root/$b/tests/guest/squib-test-guest" ]; then
			guest="$root/$b/tests/guest/squib-test-guest"
			break
		fi
	done
fi
if [ -z "$guest" ] || [ ! -f "$guest" ]; then
	echo "run-qemu.sh: guest not built (ninja -C build-guest) or pass --guest" >&2
	exit 2
fi

case "$1" in
*=*) cmdline="$*" ;;
*) sc="$1"; shift; cmdline="squib.scenario=$sc${1:+ $*}" ;;
esac

# QEMU microvm's virtio-mmio transports: 24 slots of 0x200 bytes at 0xfeb00000.
case " $cmdline" in
*" mmio_base="*) ;;
*) cmdline="$cmdline mmio_base=0xfeb00000 mmio_stride=0x200 mmio_slots=24" ;;
esac

kernel="$guest"
if [ "$linux64" = 1 ]; then
	kernel="$(dirname "$guest")/linux64-shim"
	[ -f "$kernel" ] || { echo "run-qemu.sh: $kernel not built" >&2; exit 2; }
	qargs="$qargs -device loader,file=$guest"
fi

# shellcheck disable=SC2086 # qargs is word-split on purpose
exec timeout --foreground -k 5 "$tmo" qemu-system-x86_64 -M microvm -accel tcg -m "$mem" \
	-smp "$smp" -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
	-global virtio-mmio.force-legacy=false $qargs -kernel "$kernel" -append "$cmdline"
