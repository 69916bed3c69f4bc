#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Boot time and memory overhead: squib vs QEMU -M microvm (KVM, PVH) with the test guest.
#  1. process start -> first guest console byte (and -> VMM exit after the guest's RESET),
#     scenario hello, 1 vCPU, 128 MiB; medians of N runs, squib and QEMU alternating.
#  2. RSS outside guest RAM of an idle 1-vCPU 128 MiB guest (scenario halt):
#     /proc/PID/smaps_rollup Rss minus the Rss of the guest RAM mapping (the 128 MiB memfd for
#     squib, QEMU's 128 MiB RAM block); medians of N runs.
# usage: bench/boot.sh [-n RUNS] [--lane]   (needs /dev/kvm; --lane runs it in the nested lane)
set -eu
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
N=10
LANE=0
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	--lane) LANE=1; shift ;;
	*) die "usage: bench/boot.sh [-n RUNS] [--lane]" ;;
	esac
done
[ $LANE = 1 ] && { lane_reexec boot.sh -n "$N"; exit $?; }
skip_no_kvm boot.sh
need "$SQUIB" "$BENCHCTL" "$GUEST_ELF"
command -v "$QEMU" >/dev/null || die "no $QEMU"

D=$(mktemp -d /tmp/squib-bench-boot.XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM
MEM=128
cfg() { # SCENARIO -> $D/SCENARIO.json
	cat >"$D/$1.json" <<J
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "squib.scenario=$1"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": $MEM}}
J
}
cfg hello
cfg halt
QARGS="-M microvm -accel kvm -cpu host -m $MEM -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel $GUEST_ELF"

banner "bench/boot.sh: start -> first console byte, RSS outside guest RAM; $N runs each"
echo "squib: $SQUIB --no-api --config-file (test guest, squib.scenario=hello|halt, 1 vCPU, $MEM MiB)"
echo "qemu:  $QEMU $QARGS -append squib.scenario=hello|halt   (PVH entry)"

: >"$D/res"
i=1
while [ $i -le "$N" ]; do
	for v in squib qemu; do
		if [ $v = squib ]; then set -- "$SQUIB" --no-api --config-file "$D/hello.json"
		else set -- "$QEMU" $QARGS -append squib.scenario=hello; fi
		"$BENCHCTL" -t 30000 -o "$D/con" first match RESET exit -- "$@" >"$D/out" 2>"$D/err" ||
			{ cat "$D/out" "$D/err" "$D/con" >&2; die "$v hello run $i failed"; }
		o=$(tr '\n' ' ' <"$D/out")
		head -c 10 "$D/con" | grep -q '^BOOT proto' || { cat "$D/con" >&2; die "$v: first console bytes are not the guest's BOOT line"; }
		echo "run $i $v hello: $o"
		echo "$v.boot $o" >>"$D/res"
		if [ $v = squib ]; then set -- "$SQUIB" --no-api --config-file "$D/halt.json"
		else set -- "$QEMU" $QARGS -append squib.scenario=halt; fi
		"$BENCHCTL" -t 30000 match HALTING sleep 200 rss $((MEM * 1024)) kill -- "$@" >"$D/out" 2>"$D/err" ||
			{ cat "$D/out" "$D/err" >&2; die "$v halt run $i failed"; }
		o=$(tr '\n' ' ' <"$D/out")
		echo "run $i $v halt:  $o"
		echo "$v.rss $o" >>"$D/res"
	done
	i=$((i + 1))
done

med() { grep "^$1 " "$D/res" | sed -n "s/.* $2=\([^ ]*\).*/\1/p" | median; }
ms() { awk -v u="$1" 'BEGIN {if (u == "nan") print u; else printf "%.2f", u / 1000}'; }
mib() { awk -v k="$1" 'BEGIN {if (k == "nan") print k; else printf "%.2f", k / 1024}'; }
echo
echo "medians over $N runs:"
printf '%-46s %10s %10s %10s\n' metric squib qemu squib/qemu
for m in "first_us start -> first console byte (ms)" "match_us start -> RESET line (ms)" "exit_us start -> VMM exit after RESET (ms)"; do
	k=${m%% *}; a=$(med squib.boot "$k"); b=$(med qemu.boot "$k")
	printf '%-46s %10s %10s %10s\n' "${m#* }" "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")"
done
for m in "other_kb RSS outside guest RAM (MiB)" "rss_kb RSS total (MiB)" "guest_kb RSS of guest RAM (MiB)"; do
	k=${m%% *}; a=$(med squib.rss "$k"); b=$(med qemu.rss "$k")
	printf '%-46s %10s %10s %10s\n' "${m#* }" "$(mib "$a")" "$(mib "$b")" "$(ratio "$a" "$b")"
done
if [ "$(med squib.rss guest_maps)" != 1 ] || [ "$(med qemu.rss guest_maps)" != 1 ]; then
	echo "WARNING: guest RAM mapping not found exactly once (guest_maps), the RSS split is unreliable"
fi
