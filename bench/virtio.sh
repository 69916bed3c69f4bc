#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# virtio-blk throughput: sequential MB/s (128 KiB requests) and 4 KiB random IOPS, read and
# write, squib vs QEMU -M microvm, plus squib's drive rate-limiter accuracy. Every number comes
# from the test guest's blk-bench scenario, timed by the guest itself (LAPIC timer, hz=1000):
#   squib.scenario=blk-bench mode=seq|rand rw=read|write bs=<bytes> mib=<span> ops=<n>
#   -> "BLK-BENCH-OK mode=<m> rw=<r> bs=<b> ops=<n> bytes=<n> ticks=<t> hz=<h> depth=<d>"
# (tests/guest/README.md). Same disk image, same guest parameters, same 1 vCPU / 256 MiB for
# both VMMs; engines are paired: squib io_engine Sync vs QEMU aio=threads, squib Async
# (io_uring) vs QEMU aio=io_uring. Caching: both use the host page cache and honour flushes
# (squib cache_type Writeback, QEMU cache=writeback); the guest sends no flushes. O_DIRECT
# (QEMU cache=none) has no squib (or Firecracker) counterpart and fails on the lane's tmpfs.
# MB = 10^6 bytes in the throughput table; the rate limiter is configured and reported in
# MiB/s (10 MiB/s = "size": 10485760 bytes per "refill_time": 1000 ms).
# The guest keeps up to 5 requests in flight (16-entry ring, 3 descriptors each) and polls.
# Besides the guest clock, the host times each run by the arrival of the BLK-BENCH-START and
# BLK-BENCH-OK console lines; the two tables and the clock ratio show whether the guest's timer
# is trustworthy (in the nested lane it loses most ticks at hz=1000: read the host table there).
# Then (--only all or net) bench/virtio-net.sh: net frames/s and MB/s both ways, vsock MB/s.
# usage: bench/virtio.sh [-n RUNS] [--only tput|rl|blk|net] [--lane]   (blk = tput + rl)
# env: SEQ_OPS RAND_OPS (requests per throughput run), RL_SECS (rate-limited run length, s),
#      HZ_GUEST (guest timer, default 1000)
set -eu
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
N=5
LANE=0
ONLY=all
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--lane) LANE=1; shift ;;
	*) die "usage: bench/virtio.sh [-n RUNS] [--only tput|rl|blk|net] [--lane]" ;;
	esac
done
case "$ONLY" in all | tput | rl | blk | net) ;; *) die "--only tput|rl|blk|net" ;; esac
net_part() { # the net and vsock script, same options
	case "$ONLY" in all | net) ;; *) return 0 ;; esac
	if [ $LANE = 1 ]; then sh "$BENCH_DIR/virtio-net.sh" -n "$N" --lane; else sh "$BENCH_DIR/virtio-net.sh" -n "$N"; fi
}
if [ $LANE = 1 ]; then
	rc=0
	if [ "$ONLY" != net ]; then
		[ "$ONLY" = all ] && inner=blk || inner=$ONLY
		LANE_ENV="${LANE_ENV:-} --env SEQ_OPS=${SEQ_OPS:-} --env RAND_OPS=${RAND_OPS:-} --env RL_SECS=${RL_SECS:-} --env HZ_GUEST=${HZ_GUEST:-}"
		lane_reexec virtio.sh -n "$N" --only "$inner" || rc=$?
	fi
	net_part || rc=$?
	exit $rc
fi
[ "$ONLY" = net ] && { net_part; exit $?; }
need "$BENCHCTL" "$GUEST_ELF"
command -v "$QEMU" >/dev/null || die "no $QEMU"
skip_no_kvm virtio.sh
need "$SQUIB"

# Request counts: ~1 s per run on hardware KVM; the lane is ~20x slower (emulated).
if [ "${SQUIB_BENCH_LANE:-0}" = 1 ]; then
	SEQ_OPS=${SEQ_OPS:-512} RAND_OPS=${RAND_OPS:-4000}
else
	SEQ_OPS=${SEQ_OPS:-8192} RAND_OPS=${RAND_OPS:-100000}
fi
RL_SECS=${RL_SECS:-6}
MEM=256
HZ=${HZ_GUEST:-1000}
SPAN_MIB=64
IMG_MIB=80
BW_RATE=10485760 # bytes per second (10 MiB/s)
OPS_RATE=1000    # requests per second
QARGS="-M microvm -accel kvm -cpu host -m $MEM -smp 1 -nodefaults -no-user-config -nographic
 -serial stdio -no-reboot -kernel $GUEST_ELF -global virtio-mmio.force-legacy=false"
QMMIO="mmio_base=0xfeb00000 mmio_stride=0x200 mmio_slots=24"

D=$(mktemp -d /tmp/squib-bench-virtio.XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM
IMG=$D/disk.img
dd if=/dev/zero of="$IMG" bs=1048576 count=$IMG_MIB 2>/dev/null # allocated, not sparse
: >"$D/res"

# run VMM ENGINE GUEST-ARGS [RATE_LIMITER_JSON]: one boot; appends
# "VMM ENGINE <BLK-BENCH-OK fields> host_us=<START..OK line, host clock>" to $D/res.
run() {
	vmm=$1 eng=$2 args="squib.scenario=blk-bench $3 mib=$SPAN_MIB hz=$HZ timeout_ms=30000"
	if [ "$vmm" = squib ]; then
		drive="\"drive_id\": \"d0\", \"path_on_host\": \"$IMG\", \"is_root_device\": false"
		drive="$drive, \"is_read_only\": false, \"cache_type\": \"Writeback\", \"io_engine\": \"$eng\""
		[ -n "${4:-}" ] && drive="$drive, \"rate_limiter\": $4"
		cat >"$D/vm.json" <<J
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "$args"},
 "drives": [{$drive}],
 "machine-config": {"vcpu_count": 1, "mem_size_mib": $MEM}}
J
		set -- "$SQUIB" --no-api --config-file "$D/vm.json"
	else
		set -- "$QEMU" $QARGS -device virtio-blk-device,drive=d0 \
			-drive "if=none,id=d0,file=$IMG,format=raw,cache=writeback,aio=$eng" \
			-append "$args $QMMIO"
	fi
	# QEMU microvm has no i8042: the guest's reset is a triple fault after a LAPIC-timed delay,
	# which with hz=1000 may not end under the lane's slow LAPIC reads; so QEMU is killed.
	fin=exit
	[ "$vmm" = qemu ] && fin=kill
	"$BENCHCTL" -t 120000 -o "$D/con" as start match BLK-BENCH-START as end match BLK-BENCH-OK \
		match RESET $fin -- "$@" >"$D/bc" 2>"$D/err" ||
		{ cat "$D/bc" "$D/err" "$D/con" >&2; die "$vmm $eng '$3' failed"; }
	if grep -q 'io_uring unavailable\|without liburing' "$D/err"; then
		cat "$D/err" >&2; die "squib has no Async engine here"
	fi
	ok=$(sed -n 's/.*BLK-BENCH-OK //p' "$D/con")
	s=$(kv start_match_us <"$D/bc") e=$(kv end_match_us <"$D/bc")
	echo "$vmm $eng $ok host_us=$((e - s))" | tee -a "$D/res"
}

# field KEY: value of KEY= in the result lines on stdin, one per line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
# metric guest|host: per result line, MB/s (seq) or IOPS (rand), timed by the guest's ticks
# or by the host (arrival of the console lines BLK-BENCH-START .. BLK-BENCH-OK).
metric() {
	awk -v clk="$1" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		s = clk == "host" ? f["host_us"] / 1e6 : f["ticks"] / f["hz"]; if (s <= 0) next
		if (f["mode"] == "seq") printf "%.1f\n", f["bytes"] / s / 1e6; else printf "%.0f\n", f["ops"] / s }'
}
# clockq: per result line, guest seconds / host seconds (1.00 = guest clock agrees with host).
clockq() { awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	if (f["host_us"] > 0) printf "%.3f\n", f["ticks"] / f["hz"] / (f["host_us"] / 1e6) }'; }
sel() { grep "^$1 $2 .*mode=$3 rw=$4 "; }

# table guest|host TITLE: medians and ratios of the throughput results.
table() {
	clk=$1
	echo
	echo "medians over $N runs, $2; ratio = squib/qemu (>= 1: squib as fast or faster)"
	printf '%-22s %-24s %10s %10s %8s\n' "squib vs qemu engine" workload squib qemu ratio
	for pair in Sync:threads Async:io_uring; do
		se=${pair%:*} qe=${pair#*:}
		for w in "seq read MB/s" "seq write MB/s" "rand read IOPS" "rand write IOPS"; do
			set -- $w
			a=$(sel squib "$se" "$1" "$2" <"$D/res" | metric "$clk" | median)
			b=$(sel qemu "$qe" "$1" "$2" <"$D/res" | metric "$clk" | median)
			lbl="$1 $2 $([ "$1" = seq ] && echo 128K || echo 4K) $3"
			printf '%-22s %-24s %10s %10s %8s\n' "$se vs $qe" "$lbl" "$a" "$b" "$(ratio "$a" "$b")"
		done
	done
}

throughput() {
	echo "throughput: $N runs per cell, squib and qemu alternating; disk image ${IMG_MIB} MiB (zeros,"
	echo "allocated), span ${SPAN_MIB} MiB; seq: $SEQ_OPS x 128 KiB, rand: $RAND_OPS x 4 KiB"
	for pair in Sync:threads Async:io_uring; do
		se=${pair%:*} qe=${pair#*:}
		for w in "seq read 131072 $SEQ_OPS" "seq write 131072 $SEQ_OPS" \
			"rand read 4096 $RAND_OPS" "rand write 4096 $RAND_OPS"; do
			set -- $w
			i=1
			while [ $i -le "$N" ]; do
				run squib "$se" "mode=$1 rw=$2 bs=$3 ops=$4"
				run qemu "$qe" "mode=$1 rw=$2 bs=$3 ops=$4"
				i=$((i + 1))
			done
		done
	done
	table guest "guest-timed (LAPIC ticks, hz=$HZ)"
	table host "host-timed (console BLK-BENCH-START .. BLK-BENCH-OK arrival; cross-check)"
	echo "guest clock / host clock over the timed part (median; 1.000 = agree): squib" \
		"$(grep '^squib ' "$D/res" | clockq | median), qemu $(grep '^qemu ' "$D/res" | clockq | median)"
}

# rl_report KIND CONFIGURED INITIAL: measured steady-state rate of the last result line.
# Bucket model: it starts full (INITIAL tokens: size, one_time_burst 0) and refills at the
# configured rate, so over T seconds at most INITIAL + rate * T pass: rate = (total - INITIAL) / T.
rl_report() {
	tail -1 "$D/res" | awk -v kind="$1" -v cfg="$2" -v init="$3" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		tot = kind == "bw" ? f["bytes"] : f["ops"]; unit = kind == "bw" ? 1048576 : 1
		u = kind == "bw" ? "MiB/s" : "ops/s"
		tg = f["ticks"] / f["hz"]; th = f["host_us"] / 1e6
		mg = (tot - init) / tg; mh = (tot - init) / th
		printf "  %s %-5s %s: configured %.2f; measured %.2f host clock (%+.1f%%), %.2f guest clock" \
			" (%+.1f%%); T host %.2f s, guest %.2f s; naive total/T host %.2f\n", $1, $2, u,
			cfg / unit, mh / unit, 100 * (mh - cfg) / cfg, mg / unit, 100 * (mg - cfg) / cfg,
			th, tg, tot / th / unit }'
}

# unthrottled ENGINE: squib's host-timed medians from the throughput part (the limit must bind).
unthrottled() {
	a=$(sel squib "$1" seq read <"$D/res" | metric host | median)
	b=$(sel squib "$1" rand read <"$D/res" | metric host | median)
	awk -v a="$a" -v b="$b" -v e="$1" 'BEGIN { if (a == "nan") print "  squib " e \
		": unthrottled rates n/a (throughput part not run)"; else printf "  squib %s unthrottled" \
		" (throughput part, host clock): seq read %.2f MiB/s, rand read %s IOPS\n", e, a * 1e6 / 1048576, b }'
}

ratelimit() {
	bw_ops=$(((BW_RATE * RL_SECS + BW_RATE) / 131072))
	ops_ops=$((OPS_RATE * RL_SECS + OPS_RATE))
	echo "rate limiter (squib only): ~${RL_SECS} s steady state after the initial full bucket"
	echo "bandwidth: {\"size\": $BW_RATE, \"refill_time\": 1000} = 10 MiB/s (10.49 MB/s), seq read"
	echo "  128 KiB x $bw_ops; ops: {\"size\": $OPS_RATE, \"refill_time\": 1000}, rand read 4 KiB x $ops_ops"
	echo "  (one_time_burst unset = 0; the bucket starts full, so 'size' tokens pass at once and are"
	echo "  subtracted; host clock = console START..OK lines, the clock squib's limiter uses)"
	for eng in Sync Async; do
		unthrottled "$eng"
		run squib "$eng" "mode=seq rw=read bs=131072 ops=$bw_ops" \
			"{\"bandwidth\": {\"size\": $BW_RATE, \"refill_time\": 1000}}" >/dev/null
		rl_report bw "$BW_RATE" "$BW_RATE"
		run squib "$eng" "mode=rand rw=read bs=4096 ops=$ops_ops" \
			"{\"ops\": {\"size\": $OPS_RATE, \"refill_time\": 1000}}" >/dev/null
		rl_report ops "$OPS_RATE" "$OPS_RATE"
	done
}

banner "bench/virtio.sh: virtio-blk MB/s and IOPS (guest-timed blk-bench), rate limiter"
echo "squib: --no-api --config-file, drive cache_type Writeback, io_engine Sync|Async"
echo "qemu:  $(echo $QARGS) -drive ...,format=raw,cache=writeback,aio=threads|io_uring" \
	"-device virtio-blk-device -append '... $QMMIO'"
[ "$ONLY" = rl ] || throughput
[ "$ONLY" = tput ] || { echo; ratelimit; }
[ "$ONLY" != all ] || { echo; net_part; }
