#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# virtio-net and virtio-vsock throughput, squib vs QEMU -M microvm (virtio-mmio, modern), same
# test guest, same workload, both timed by the guest itself (tests/guest/README.md: net-bench,
# vsock-bench; LAPIC timer at hz=1000):
#   net tx    guest -> host: NET_FRAMES frames of NET_SIZE bytes into a tap (squib: the
#             "network-interfaces" tap; QEMU: -netdev tap,vhost=off + virtio-net-device)
#   net rx    host -> guest: netblast sends NET_SIZE-byte frames into the tap; the guest counts
#             them for NET_MS ms after the first one
#   vsock tx  guest -> host: VSOCK_BYTES over one stream (squib: vsocksink on <uds_path>_PORT;
#             QEMU: vhost-vsock-device guest-cid=3, vsocksink on AF_VSOCK)
#   vsock rx  host -> guest: vsocksink sends VSOCK_BYTES, the guest counts them
# Prints every run, then medians of N runs of frames/s and MB/s (10^6 bytes/s) and the
# squib/QEMU ratios (> 1: squib faster), guest-timed (the guest's ticks) and host-timed (host
# clock between the guest's *-BENCH-GO and *-BENCH-OK console lines, via benchctl). Needs root (tap), /dev/kvm, /dev/vhost-vsock.
# usage: bench/virtio-net.sh [-n RUNS] [--lane]
# env: NET_SIZE NET_FRAMES NET_MS VSOCK_BYTES VSOCK_CHUNK TAP VM_TIMEOUT NETBLAST VSOCKSINK
set -eu
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
NETBLAST=${NETBLAST:-$BUILD/bench/netblast}
VSOCKSINK=${VSOCKSINK:-$BUILD/bench/vsocksink}
N=5
LANE=0
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	--lane) LANE=1; shift ;;
	*) die "usage: bench/virtio-net.sh [-n RUNS] [--lane]" ;;
	esac
done
if [ $LANE = 1 ]; then
	need "$NETBLAST" "$VSOCKSINK"
	# lane_reexec copies squib, the guest and benchctl; our two helpers ride along in LANE_ENV.
	LANE_ENV="${LANE_ENV:-} --add $NETBLAST --add $VSOCKSINK --env NETBLAST=/lane/add/netblast --env VSOCKSINK=/lane/add/vsocksink"
	for v in NET_SIZE NET_FRAMES NET_MS VSOCK_BYTES VSOCK_CHUNK VM_TIMEOUT; do
		eval "x=\${$v:-}"
		[ -n "$x" ] && LANE_ENV="$LANE_ENV --env $v=$x"
	done
	lane_reexec virtio-net.sh -n "$N"
	exit $?
fi
skip_no_kvm virtio-net.sh
need "$SQUIB" "$GUEST_ELF" "$BENCHCTL" "$NETBLAST" "$VSOCKSINK"
command -v "$QEMU" >/dev/null || die "no $QEMU"
[ "$(id -u)" = 0 ] || { echo "SKIP: virtio-net.sh needs root (tap device, AF_PACKET)"; exit 0; }
[ -c /dev/vhost-vsock ] || modprobe vhost_vsock 2>/dev/null || true
[ -c /dev/vhost-vsock ] || die "no /dev/vhost-vsock (modprobe vhost_vsock) for QEMU's vhost-vsock-device"

if [ "${SQUIB_BENCH_LANE:-0}" = 1 ]; then # emulated: small workloads
	NET_FRAMES=${NET_FRAMES:-20000}; VSOCK_BYTES=${VSOCK_BYTES:-33554432}
else
	NET_FRAMES=${NET_FRAMES:-1000000}; VSOCK_BYTES=${VSOCK_BYTES:-1073741824}
fi
NET_SIZE=${NET_SIZE:-1514}
NET_MS=${NET_MS:-2000}
VSOCK_CHUNK=${VSOCK_CHUNK:-65536}
VM_TIMEOUT=${VM_TIMEOUT:-120}
TAP=${TAP:-sqbench0}
MAC=06:00:ac:10:00:02
PORT=5201
GARGS="hz=1000 timeout_ms=20000"
QMMIO="mmio_base=0xfeb00000 mmio_stride=0x200 mmio_slots=24"

D=$(mktemp -d /tmp/squib-bench-vnet.XXXXXX)
BG=
cleanup() {
	[ -n "$BG" ] && kill "$BG" 2>/dev/null
	ip link del "$TAP" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

tap_up() {
	ip link del "$TAP" 2>/dev/null || true
	{ tunctl -t "$TAP" >/dev/null 2>&1 || ip tuntap add dev "$TAP" mode tap; } || die "cannot create tap $TAP"
	echo 1 >"/proc/sys/net/ipv6/conf/$TAP/disable_ipv6" 2>/dev/null || true
	ip link set "$TAP" up
}

# vm squib|qemu net|vsock "guest args" OUT: boot the test guest under benchctl, console into
# OUT, benchctl's times (go_match_us= ok_match_us=: arrival of the guest's *-BENCH-GO and
# *-BENCH-OK lines) into OUT.t. The VMM is killed 0.1 s after the RESET line (or on failure):
# QEMU microvm has no i8042, so it would only exit on the guest's fallback triple fault, which
# comes late or never at hz=1000 in the lane (the guest's udelay misses LAPIC timer wraps when
# exits are slow).
vm() {
	vm_ "$@" >"$4.t" 2>>"$D/err" || true
}
vm_() {
	if [ "$1" = squib ]; then
		if [ "$2" = net ]; then
			dev='"network-interfaces": [{"iface_id": "eth0", "host_dev_name": "'$TAP'", "guest_mac": "'$MAC'"}]'
		else
			dev='"vsock": {"guest_cid": 3, "uds_path": "'$D/v.sock'"}'
		fi
		cat >"$D/vm.json" <<J
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "$3 $GARGS"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}, $dev}
J
		"$BENCHCTL" -t $((VM_TIMEOUT * 1000)) -o "$4" as go match -BENCH-GO as ok match -BENCH-OK \
			match RESET sleep 100 -- "$SQUIB" --no-api --config-file "$D/vm.json" </dev/null
	else
		if [ "$2" = net ]; then
			set -- "$@" -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off" \
				-device "virtio-net-device,netdev=n0,mac=$MAC"
		else
			set -- "$@" -device vhost-vsock-device,guest-cid=3
		fi
		a=$3 o=$4
		shift 4
		"$BENCHCTL" -t $((VM_TIMEOUT * 1000)) -o "$o" as go match -BENCH-GO as ok match -BENCH-OK \
			match RESET sleep 100 -- "$QEMU" -M microvm -accel kvm -cpu host -m 256 -smp 1 \
			-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
			-kernel "$GUEST_ELF" -global virtio-mmio.force-legacy=false "$@" \
			-append "$a $GARGS $QMMIO" </dev/null
	fi
}

# result VMM TEST CONSOLE EXTRA: the guest's OK line -> "VMM TEST fps= MBps= hfps= hMBps="
# (guest-timed: ticks/hz; host-timed: benchctl's GO -> OK console line arrival).
result() {
	line=$(tr -d '\r' <"$3" | grep -m1 -e 'NET-BENCH-OK' -e 'VSOCK-BENCH-OK' || true)
	if [ -z "$line" ]; then
		echo "run $i $1 $2: FAILED; console tail:" >&2
		tail -5 "$3" >&2
		return 0
	fi
	r=$(echo "$line $(tr '\n' ' ' <"$3.t")" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["hz"] <= 0) exit
		s = f["ticks"] / f["hz"]; if (s <= 0) s = 0.5 / f["hz"]
		h = (f["ok_match_us"] - f["go_match_us"]) / 1e6; if (h <= 0) h = 1e-3
		printf "fps=%.0f MBps=%.2f hfps=%.0f hMBps=%.2f guest_s=%.3f host_s=%.3f",
			f["frames"] / s, f["bytes"] / s / 1e6, f["frames"] / h, f["bytes"] / h / 1e6, s, h }')
	[ -n "$r" ] || { echo "run $i $1 $2: FAILED (incomplete line: $line)" >&2; return 0; }
	echo "$1 $2 $r" >>"$D/res"
	echo "run $i $1 $2: $r [${line#*OK }] $4"
}

wait_sock() { # path: until it is a socket (5 s)
	k=0
	while [ ! -S "$1" ] && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
}

stop_bg() { # wait up to 3 s for the background helper, then kill it; its output -> $D/bg
	k=0
	while kill -0 "$BG" 2>/dev/null && [ $k -lt 30 ]; do sleep 0.1; k=$((k + 1)); done
	kill "$BG" 2>/dev/null || true
	wait "$BG" 2>/dev/null || true
	BG=
}

net_tx() { # vmm
	before=$(cat "/sys/class/net/$TAP/statistics/rx_packets")
	vm "$1" net "squib.scenario=net-bench dir=tx frames=$NET_FRAMES size=$NET_SIZE" "$D/con"
	after=$(cat "/sys/class/net/$TAP/statistics/rx_packets")
	result "$1" net-tx "$D/con" "host: tap rx_packets +$((after - before))"
}

net_rx() { # vmm
	"$NETBLAST" "$TAP" "$MAC" "$NET_SIZE" "$VM_TIMEOUT" >"$D/bg" 2>&1 &
	BG=$!
	vm "$1" net "squib.scenario=net-bench dir=rx ms=$NET_MS size=$NET_SIZE" "$D/con"
	kill "$BG" 2>/dev/null || true
	stop_bg
	result "$1" net-rx "$D/con" "host: $(grep NETBLAST "$D/bg" || cat "$D/bg")"
}

vsock_run() { # vmm tx|rx
	mode=recv
	[ "$2" = rx ] && mode=send
	if [ "$1" = squib ]; then
		rm -f "$D/v.sock" "$D/v.sock_$PORT"
		"$VSOCKSINK" unix "$D/v.sock_$PORT" $mode "$VSOCK_BYTES" >"$D/bg" 2>&1 &
		BG=$!
		wait_sock "$D/v.sock_$PORT"
	else
		"$VSOCKSINK" vsock $PORT $mode "$VSOCK_BYTES" >"$D/bg" 2>&1 &
		BG=$!
		sleep 0.3
	fi
	vm "$1" vsock "squib.scenario=vsock-bench dir=$2 port=$PORT bytes=$VSOCK_BYTES chunk=$VSOCK_CHUNK" "$D/con"
	stop_bg
	result "$1" "vsock-$2" "$D/con" "host: $(grep VSOCKSINK "$D/bg" || cat "$D/bg")"
}

banner "bench/virtio-net.sh: virtio-net frames/s + MB/s and vsock MB/s, guest- and host-timed; $N runs each"
echo "guest: $GUEST_ELF, 1 vCPU, 256 MiB, $GARGS; net: $NET_SIZE-byte frames, tx $NET_FRAMES frames, rx ${NET_MS} ms window; vsock: $VSOCK_BYTES bytes in $VSOCK_CHUNK-byte packets"
echo "squib: --no-api --config-file, tap $TAP, vsock uds_path (host side: vsocksink on <uds_path>_$PORT)"
echo "qemu:  -M microvm -accel kvm -cpu host -global virtio-mmio.force-legacy=false, -netdev tap,vhost=off + virtio-net-device; vhost-vsock-device guest-cid=3 (host side: vsocksink on AF_VSOCK)"
tap_up
: >"$D/res"
i=1
while [ "$i" -le "$N" ]; do
	for v in squib qemu; do
		net_tx $v
		net_rx $v
		vsock_run $v tx
		vsock_run $v rx
	done
	i=$((i + 1))
done

med() { grep "^$1 $2 " "$D/res" | sed -n "s/.* $3=\([^ ]*\).*/\1/p" | median; }
echo
echo "medians over $N runs; ratio = squib/qemu (> 1: squib faster)"
echo "guest-timed = the guest's ticks (hz=1000); host-timed = host clock between the guest's GO and OK console lines"
printf '%-34s %12s %12s %8s %12s %12s %8s\n' "" "guest-timed" "" "" "host-timed" "" ""
printf '%-34s %12s %12s %8s %12s %12s %8s\n' metric squib qemu ratio squib qemu ratio
for m in "net-tx fps net tx guest->host frames/s" "net-tx MBps net tx guest->host MB/s" \
	"net-rx fps net rx host->guest frames/s" "net-rx MBps net rx host->guest MB/s" \
	"vsock-tx MBps vsock guest->host MB/s" "vsock-rx MBps vsock host->guest MB/s"; do
	t=${m%% *}; rest=${m#* }; k=${rest%% *}; label=${rest#* }
	a=$(med squib "$t" "$k"); b=$(med qemu "$t" "$k")
	c=$(med squib "$t" "h$k"); d=$(med qemu "$t" "h$k")
	printf '%-34s %12s %12s %8s %12s %12s %8s\n' "$label" "$a" "$b" "$(ratio "$a" "$b")" \
		"$c" "$d" "$(ratio "$c" "$d")"
done
if [ "${SQUIB_BENCH_LANE:-0}" = 1 ]; then
	echo "NOTE: EMULATED (nested lane): not performance numbers. In the lane the guest loses LAPIC"
	echo "NOTE: timer ticks while its vCPU waits for the one emulated CPU, so guest-timed rates are"
	echo "NOTE: inflated by a load-dependent factor; the host-timed columns use the L1 wall clock."
fi
