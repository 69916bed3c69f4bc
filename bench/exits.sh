#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Exit round trip: cost of a guest MMIO read and a guest port read that the VMM serves in user
# space, squib vs QEMU -M microvm (KVM, PVH), same test guest, same parameters.
# The guest (scenario exit-bench, tests/guest/bench_exit.c) times OPS reads of each kind over the
# whole loop with its LAPIC timer at hz=1000 (and rdtsc):
#   mmio: MagicValue (offset 0) of the first virtio-mmio device (an entropy device on both VMMs),
#         read from ring 3;
#   pio:  the COM1 16550 scratch register (0x3ff), read in one ring-0 loop (SYS_PIO_LOOP).
# Prints ns per exit (ticks / hz / ops) and TSC cycles per exit, medians of N runs alternating
# squib and QEMU, and squib/QEMU ratios (time: < 1.0 means squib is faster).
# usage: bench/exits.sh [-n RUNS] [-o OPS] [-z HZ] [--lane]   (needs /dev/kvm; --lane: nested lane)
# Defaults: 5 runs, 100000 ops, hz=1000. In the lane: 20000 ops, hz=100 (the nested guest loses
# timer ticks at hz=1000). QEMU microvm has no i8042, so the guest's RESET ends in a triple fault
# after a udelay that may not end under the lane at hz=1000: QEMU is killed once RESET is printed.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
N=5
OPS=
HZ=
LANE=0
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	-o) OPS=$2; shift 2 ;;
	-z) HZ=$2; shift 2 ;;
	--lane) LANE=1; shift ;;
	*) die "usage: bench/exits.sh [-n RUNS] [-o OPS] [-z HZ] [--lane]" ;;
	esac
done
if [ $LANE = 1 ]; then
	# Nested exits under TCG cost tens of microseconds: fewer ops keep a run short.
	lane_reexec exits.sh -n "$N" -o "${OPS:-20000}" -z "${HZ:-100}"
	exit $?
fi
OPS=${OPS:-100000}
HZ=${HZ:-1000}
skip_no_kvm exits.sh
need "$SQUIB" "$BENCHCTL" "$GUEST_ELF"
command -v "$QEMU" >/dev/null || die "no $QEMU"

D=$(mktemp -d /tmp/squib-bench-exits.XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM
MEM=128
GARGS="squib.scenario=exit-bench ops=$OPS hz=$HZ"
QMMIO="mmio_base=0xfeb00000 mmio_stride=0x200 mmio_slots=24"
cat >"$D/vm.json" <<J
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "$GARGS"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": $MEM},
 "entropy": {}}
J
QARGS="-M microvm -accel kvm -cpu host -m $MEM -smp 1 -nodefaults -no-user-config -nographic"
QARGS="$QARGS -serial stdio -no-reboot -global virtio-mmio.force-legacy=false"
QARGS="$QARGS -device virtio-rng-device -kernel $GUEST_ELF"

banner "bench/exits.sh: guest exit round trip (MMIO read, port read) served in user space; $N runs each, $OPS ops per loop"
echo "squib: $SQUIB --no-api --config-file (test guest, $GARGS, 1 vCPU, $MEM MiB, entropy device)"
echo "qemu:  $QEMU $QARGS -append \"$GARGS $QMMIO\"   (PVH entry)"
echo "mmio = ring-3 read of virtio-mmio MagicValue of the entropy device; pio = ring-0 inb of COM1 scratch 0x3ff"

: >"$D/res"
i=1
while [ "$i" -le "$N" ]; do
	for v in squib qemu; do
		if [ $v = squib ]; then end=exit; set -- "$SQUIB" --no-api --config-file "$D/vm.json"
		else end=kill; set -- "$QEMU" $QARGS -append "$GARGS $QMMIO"; fi
		rm -f "$D/con"
		"$BENCHCTL" -t 600000 -o "$D/con" match RESET $end -- "$@" >"$D/out" 2>"$D/err" ||
			{ cat "$D/out" "$D/err" "$D/con" >&2; die "$v run $i failed"; }
		if grep -q '^EXIT-BENCH-FAIL\|^ERROR\|^PANIC' "$D/con" ||
			[ "$(grep -c '^EXIT-BENCH-OK' "$D/con")" != 2 ]; then
			cat "$D/con" >&2; die "$v run $i: the guest did not report both loops"
		fi
		for k in mmio pio; do
			l=$(grep "^EXIT-BENCH-OK kind=$k " "$D/con")
			t=$(echo "$l" | kv ticks); c=$(echo "$l" | kv cycles); h=$(echo "$l" | kv hz)
			ns=$(awk -v t="$t" -v h="$h" -v o="$OPS" 'BEGIN {printf "%.1f", t * 1e9 / h / o}')
			cyc=$(awk -v c="$c" -v o="$OPS" 'BEGIN {printf "%.1f", c / o}')
			echo "run $i $v $k: ticks=$t hz=$h ops=$OPS ns_per_exit=$ns cycles_per_exit=$cyc reset_ms=$(kv match_us <"$D/out" | awk '{printf "%.0f", $1 / 1000}')"
			echo "$v $k $ns $cyc" >>"$D/res"
		done
	done
	i=$((i + 1))
done

med() { awk -v v="$1" -v k="$2" -v f="$3" '$1 == v && $2 == k {print $f}' "$D/res" | median; }
echo
echo "medians over $N runs ($OPS ops per loop; time: lower is better, squib/qemu < 1.0 means squib is faster):"
printf '%-34s %10s %10s %10s\n' metric squib qemu squib/qemu
for k in mmio pio; do
	a=$(med squib $k 3); b=$(med qemu $k 3)
	printf '%-34s %10s %10s %10s\n' "$k ns per exit (guest ticks)" "$a" "$b" "$(ratio "$a" "$b")"
	a=$(med squib $k 4); b=$(med qemu $k 4)
	printf '%-34s %10s %10s %10s\n' "$k TSC cycles per exit" "$a" "$b" "$(ratio "$a" "$b")"
done
if [ "${SQUIB_BENCH_LANE:-0}" = 1 ]; then
	echo "NOTE: EMULATED (nested lane under TCG): relative orders only, NOT performance numbers."
fi
