#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# virtio-blk throughput skeleton: sequential MB/s and 4 KiB random IOPS, squib vs QEMU
# -M microvm, with the test guest. It only reports numbers the guest itself measured: it first
# asks the test guest (under QEMU TCG, works without KVM) whether it has a block benchmark
# scenario ("blk-bench"). Today it has none (the "blk" scenario writes and reads back one
# sector), so the script says so and prints no numbers.
# Interface expected from a future guest scenario (tests/guest/README.md would document it):
#   squib.scenario=blk-bench mode=seq|rand bs=<bytes> mib=<span> ops=<n>
#   -> "BLK-BENCH-OK mode=<m> bs=<b> ops=<n> bytes=<n> ticks=<t> hz=<h>" (guest-timed)
# usage: bench/virtio.sh [-n RUNS] [--lane]
set -eu
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
N=5
LANE=0
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	--lane) LANE=1; shift ;;
	*) die "usage: bench/virtio.sh [-n RUNS] [--lane]" ;;
	esac
done
[ $LANE = 1 ] && { lane_reexec virtio.sh -n "$N"; exit $?; }
need "$BENCHCTL" "$GUEST_ELF"
command -v "$QEMU" >/dev/null || die "no $QEMU"

D=$(mktemp -d /tmp/squib-bench-virtio.XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM
banner "bench/virtio.sh: virtio-blk sequential MB/s and 4 KiB random IOPS"

# 1. Does the test guest have a block benchmark mode? (QEMU TCG, no disk needed for the answer.)
"$BENCHCTL" -t 60000 -o "$D/probe" match RESET exit -- "$QEMU" -M microvm -accel tcg -m 128 \
	-nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel "$GUEST_ELF" \
	-append "squib.scenario=blk-bench" >/dev/null 2>&1 || true
if grep -q "ERROR unknown scenario 'blk-bench'" "$D/probe" || ! grep -q 'BLK-BENCH' "$D/probe"; then
	echo "NOT MEASURED: the test guest has no block benchmark mode (squib.scenario=blk-bench answered:"
	echo "  '$(grep -m1 -e ERROR -e BLK "$D/probe" || echo 'no answer')')."
	echo "  Its 'blk' scenario writes and reads back one 512-byte sector, which says nothing about"
	echo "  MB/s or IOPS; timing it would measure boot, not the block device. No numbers printed."
	echo "  To enable: add a guest-timed 'blk-bench' scenario (interface in this script's header)."
	exit 0
fi

# 2. With a benchmark mode: squib vs QEMU, same disk image, same guest parameters.
skip_no_kvm virtio.sh
need "$SQUIB"
dd if=/dev/zero of="$D/disk.img" bs=1M count=0 seek=256 2>/dev/null
for mode in "seq bs=131072 mib=128 ops=1024" "rand bs=4096 mib=128 ops=20000"; do
	i=1
	while [ $i -le "$N" ]; do
		cat >"$D/vm.json" <<J
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "squib.scenario=blk-bench mode=$mode"},
 "drives": [{"drive_id": "d0", "path_on_host": "$D/disk.img", "is_root_device": false, "is_read_only": false}],
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}}
J
		"$BENCHCTL" -t 300000 -o "$D/s.con" match RESET exit -- "$SQUIB" --no-api --config-file "$D/vm.json" >/dev/null
		"$BENCHCTL" -t 300000 -o "$D/q.con" match RESET exit -- "$QEMU" -M microvm -accel kvm -cpu host -m 256 \
			-nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel "$GUEST_ELF" \
			-global virtio-mmio.force-legacy=false \
			-drive "if=none,id=d0,file=$D/disk.img,format=raw,cache=none,aio=io_uring" \
			-device virtio-blk-device,drive=d0 \
			-append "squib.scenario=blk-bench mode=$mode mmio_base=0xfeb00000 mmio_stride=0x200 mmio_slots=24" >/dev/null
		for v in s q; do
			sed -n 's/.*BLK-BENCH-OK \(.*\)/\1/p' "$D/$v.con" | awk -v v=$v '{
				for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
				s = f["ticks"] / f["hz"]; if (s <= 0) exit
				printf "%s %s MBps=%.1f IOPS=%.0f\n", v, f["mode"], f["bytes"] / s / 1e6, f["ops"] / s }'
		done >>"$D/res"
		i=$((i + 1))
	done
done
med() { grep "^$1 $2 " "$D/res" | sed -n "s/.* $3=\([^ ]*\).*/\1/p" | median; }
echo "medians over $N runs; ratio = squib/qemu (> 1: squib faster)"
a=$(med s seq MBps); b=$(med q seq MBps)
echo "sequential 128 KiB: squib $a MB/s, qemu $b MB/s, ratio $(ratio "$a" "$b")"
a=$(med s rand IOPS); b=$(med q rand IOPS)
echo "random 4 KiB:       squib $a IOPS, qemu $b IOPS, ratio $(ratio "$a" "$b")"
