#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Snapshot create and restore: squib (PUT /snapshot/create Full, PUT /snapshot/load File backend
# + resume_vm) vs QEMU -M microvm (stop + migrate to a file after raising max-bandwidth;
# -S -incoming from the file + cont), same test guest, same machine, medians of N runs per size.
# The guest runs scenario "ticks" (hz=1000: one console line per ms), so "running" = the first
# console byte the restored guest prints; "start -> running" starts at the new process' start.
# Then two workloads that write memory (scenario "digest": fills mib= MiB with random data, then
# per round rewrites pct % of those pages): a Full create of a 256 MiB guest with 64 MiB touched
# (time and bytes on disk, vs QEMU's migration file), and a Diff create of a 1 GiB guest after
# one round that dirtied ~10 MiB (1 %), with pause and resume latencies (squib only: QEMU has no
# diff snapshot to compare with).
# usage: bench/snapshot.sh [-n RUNS] [-s "128 1024 4096"] [-w] [--lane]   (needs /dev/kvm)
#   -w: only the two memory-writing workloads (skip the per-size load table)
set -eu
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
N=10
SIZES="128 1024 4096"
LANE=0
ONLYW=0
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	-s) SIZES=$2; shift 2 ;;
	--lane) LANE=1; shift ;;
	-w) ONLYW=1; SIZES=""; shift ;;
	*) die "usage: bench/snapshot.sh [-n RUNS] [-s SIZES_MIB] [-w] [--lane]" ;;
	esac
done
if [ $LANE = 1 ]; then
	if [ $ONLYW = 1 ]; then lane_reexec snapshot.sh -n "$N" -w; else lane_reexec snapshot.sh -n "$N" -s "\"$SIZES\""; fi
	exit $?
fi
skip_no_kvm snapshot.sh
need "$SQUIB" "$BENCHCTL" "$GUEST_ELF"
command -v "$QEMU" >/dev/null || die "no $QEMU"

if [ "${SQUIB_BENCH_LANE:-0}" = 1 ]; then
	# Level 1 has less RAM than the largest guest: QEMU's anonymous guest RAM is refused under
	# the default heuristic overcommit (squib's memfd is not). Untouched pages cost nothing.
	echo 1 >/proc/sys/vm/overcommit_memory && echo "lane: vm.overcommit_memory=1 (guests larger than level 1's RAM)"
fi
D=$(mktemp -d "${SNAP_DIR:-/tmp}/squib-bench-snap.XXXXXX")
trap 'rm -rf "$D"' EXIT INT TERM
T=${SNAP_TIMEOUT_MS:-300000}
ARGS="squib.scenario=ticks ticks=1000000000 hz=1000"
BW=107374182400 # QEMU max-bandwidth, bytes/s (default is 128 MiB/s)

banner "bench/snapshot.sh: snapshot create and load -> running; sizes $SIZES MiB; $N runs each"
echo "guest: test guest, 1 vCPU, '$ARGS' (touches a few MiB: the rest of RAM is never written)"
echo "squib: --api-sock --config-file; PATCH /vm Paused; PUT /snapshot/create Full; new squib: PUT /snapshot/load File backend, resume_vm"
echo "qemu:  -M microvm -accel kvm -cpu host; migrate-set-parameters max-bandwidth=$BW; stop; migrate exec:cat>FILE;"
echo "       new qemu -S -incoming exec:cat FILE; poll query-migrate (1 ms) until completed; cont"
echo "snapshot files in $D (page cache warm: files were just written)"

: >"$D/res"
run() { # TAG STEPS... -- CMD...: benchctl, output appended to res as one line
	tag=$1; shift
	"$BENCHCTL" -t "$T" -o "$D/con" "$@" >"$D/out" 2>"$D/err" ||
		{ cat "$D/out" "$D/err" >&2; tail -c 400 "$D/con" >&2; die "$tag failed"; }
	o=$(tr '\n' ' ' <"$D/out")
	echo "$tag $o" >>"$D/res"
	echo "$tag $o"
}
for M in $SIZES; do
	cat >"$D/vm.json" <<J
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "$ARGS"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": $M}}
J
	Q="-M microvm -accel kvm -cpu host -m $M -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel $GUEST_ELF"
	i=1
	while [ $i -le "$N" ]; do
		rm -f "$D"/*.sock "$D/sq.state" "$D/sq.mem" "$D/q.mig"
		run "$M squib.create" match "TICK 3" \
			as pause http "$D/a.sock" PATCH /vm '{"state": "Paused"}' \
			as create http "$D/a.sock" PUT /snapshot/create \
			"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$D/sq.state\", \"mem_file_path\": \"$D/sq.mem\"}" \
			as r0 mark as resume http "$D/a.sock" PATCH /vm '{"state": "Resumed"}' as resumed first \
			kill -- "$SQUIB" --api-sock "$D/a.sock" --config-file "$D/vm.json"
		run "$M squib.load" as api sock "$D/b.sock" \
			as load http "$D/b.sock" PUT /snapshot/load \
			"{\"snapshot_path\": \"$D/sq.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$D/sq.mem\"}, \"resume_vm\": true}" \
			as running first match TICK kill -- "$SQUIB" --api-sock "$D/b.sock"
		# shellcheck disable=SC2086 # $Q is a word list on purpose
		run "$M qemu.create" match "TICK 3" \
			qmp "$D/q.sock" "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": $BW}}" \
			as pause qmp "$D/q.sock" '{"execute": "stop"}' \
			as migrate qmp "$D/q.sock" "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > $D/q.mig\"}}" \
			as create qmpwait "$D/q.sock" \
			kill -- "$QEMU" $Q -append "$ARGS" -qmp "unix:$D/q.sock,server=on,wait=off"
		# shellcheck disable=SC2086
		run "$M qemu.load" as api sock "$D/r.sock" as load qmpwait "$D/r.sock" \
			as cont qmp "$D/r.sock" '{"execute": "cont"}' as running first match TICK \
			kill -- "$QEMU" $Q -append "$ARGS" -S -incoming "exec:cat $D/q.mig" -qmp "unix:$D/r.sock,server=on,wait=off"
		[ $i != 1 ] || echo "$M files (du -k, apparent size): squib $(du -k "$D/sq.state" "$D/sq.mem" | awk '{s += $1} END {print s}') KiB ($(ls -l "$D/sq.mem" | awk '{print $5}') bytes mem file), qemu $(du -k "$D/q.mig" | awk '{print $1}') KiB"
		i=$((i + 1))
	done
done

# ---- memory-writing workloads -------------------------------------------------------------
WT="squib.scenario=digest mib=64 rounds=1000000 pct=0"             # 64 MiB touched, then reads
WD="squib.scenario=digest mib=64 rounds=1000000 pct=16 round_ms=500" # ~10 MiB dirtied per round
cat >"$D/wt.json" <<J
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "$WT"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}}
J
cat >"$D/wd.json" <<J
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "$WD"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 1024, "track_dirty_pages": true}}
J
QT="-M microvm -accel kvm -cpu host -m 256 -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel $GUEST_ELF"
kib() { du -k "$1" | awk '{print $1}'; }
i=1
while [ $i -le "$N" ]; do
	rm -f "$D"/*.sock "$D"/t.* "$D"/d.state "$D"/d.mem "$D"/e.* "$D/q.mig"
	run "W squib.touched" match "PROGRESS 1" \
		as pause http "$D/a.sock" PATCH /vm '{"state": "Paused"}' \
		as create http "$D/a.sock" PUT /snapshot/create \
		"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$D/t.state\", \"mem_file_path\": \"$D/t.mem\"}" \
		kill -- "$SQUIB" --api-sock "$D/a.sock" --config-file "$D/wt.json"
	# shellcheck disable=SC2086
	run "W qemu.touched" match "PROGRESS 1" \
		qmp "$D/q.sock" "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": $BW}}" \
		as pause qmp "$D/q.sock" '{"execute": "stop"}' \
		as migrate qmp "$D/q.sock" "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > $D/q.mig\"}}" \
		as create qmpwait "$D/q.sock" \
		kill -- "$QEMU" $QT -append "$WT" -qmp "unix:$D/q.sock,server=on,wait=off"
	echo "W files.touched squib_kib=$(kib "$D/t.mem") qemu_kib=$(kib "$D/q.mig")" >>"$D/res"
	run "W squib.diff" match "PROGRESS 1" \
		as pause http "$D/a.sock" PATCH /vm '{"state": "Paused"}' \
		as base http "$D/a.sock" PUT /snapshot/create \
		"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$D/d.state\", \"mem_file_path\": \"$D/d.mem\"}" \
		mark as resume http "$D/a.sock" PATCH /vm '{"state": "Resumed"}' match "PROGRESS" \
		as pause2 http "$D/a.sock" PATCH /vm '{"state": "Paused"}' \
		as diff http "$D/a.sock" PUT /snapshot/create \
		"{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$D/e.state\", \"mem_file_path\": \"$D/e.mem\"}" \
		kill -- "$SQUIB" --api-sock "$D/a.sock" --config-file "$D/wd.json"
	echo "W files.diff base_kib=$(kib "$D/d.mem") diff_kib=$(kib "$D/e.mem")" >>"$D/res"
	i=$((i + 1))
done

med() { grep "^$1 $2 " "$D/res" | sed -n "s/.* $3=\([^ ]*\).*/\1/p" | median; }
ms() { awk -v u="$1" 'BEGIN {if (u == "nan" || u == "") print "nan"; else printf "%.2f", u / 1000}'; }
# sum of two per-run keys, median over runs
med2() { grep "^$1 $2 " "$D/res" | sed -n "s/.* $3=\([^ ]*\).* $4=\([^ ]*\).*/\1 \2/p" | awk '{print $1 + $2}' | median; }
echo
echo "medians over $N runs (ms); ratio = squib/qemu (< 1: squib faster)"
printf '%6s %-46s %10s %10s %8s\n' MiB metric squib qemu ratio
for M in $SIZES; do
	a=$(med "$M" squib.load running_first_us); b=$(med "$M" qemu.load running_first_us)
	printf '%6s %-46s %10s %10s %8s\n' "$M" "process start -> guest running" "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")"
	sa=$(med "$M" squib.load api_sock_us); sb=$(med "$M" qemu.load api_sock_us)
	printf '%6s %-46s %10s %10s %8s\n' "$M" "process start -> API/QMP socket up" "$(ms "$sa")" "$(ms "$sb")" "$(ratio "$sa" "$sb")"
	a=$(med "$M" squib.load load_http_us); b=$(med2 "$M" qemu.load load_qmpwait_us cont_qmp_us)
	printf '%6s %-46s %10s %10s %8s\n' "$M" "load call (squib load+resume; qemu wait+cont)" "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")"
	a=$(med "$M" squib.create create_http_us); b=$(med2 "$M" qemu.create migrate_qmp_us create_qmpwait_us)
	printf '%6s %-46s %10s %10s %8s\n' "$M" "create (squib PUT create; qemu migrate)" "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")"
	a=$(med "$M" squib.create pause_http_us); b=$(med "$M" qemu.create pause_qmp_us)
	printf '%6s %-46s %10s %10s %8s\n' "$M" "pause (PATCH /vm Paused; stop)" "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")"
done
a=$(med W squib.touched create_http_us); b=$(med2 W qemu.touched migrate_qmp_us create_qmpwait_us)
printf '%6s %-46s %10s %10s %8s\n' 256 "Full create, 64 MiB touched (goal <= 0.3)" "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")"
a=$(med W files.touched squib_kib); b=$(med W files.touched qemu_kib)
printf '%6s %-46s %10s %10s %8s\n' 256 "  bytes on disk, KiB (goal: ~65536 touched)" "$a" "$b" "$(ratio "$a" "$b")"
echo
echo "squib only (QEMU has no diff snapshot), 1 GiB guest, track_dirty_pages, medians over $N runs:"
printf '  %-52s %10s\n' "Diff create after one round (~1 % dirty), ms" "$(ms "$(med W squib.diff diff_http_us)")"
printf '  %-52s %10s\n' "  diff file on disk, KiB (1 % of 1 GiB = 10486)" "$(med W files.diff diff_kib)"
printf '  %-52s %10s\n' "  (the Full base before it, ms)" "$(ms "$(med W squib.diff base_http_us)")"
printf '  %-52s %10s\n' "pause (PATCH /vm Paused, running guest), ms" "$(ms "$(med W squib.diff pause2_http_us)")"
printf '  %-52s %10s\n' "resume (PATCH /vm Resumed), ms" "$(ms "$(med W squib.diff resume_http_us)")"
[ -n "$SIZES" ] || exit 0
rf=$(grep " squib.create " "$D/res" | sed -n 's/.* r0_mark_us=\([^ ]*\).* resumed_first_us=\([^ ]*\).*/\1 \2/p' | awk '{print $2 - $1}' | median)
printf '  %-52s %10s\n' "resume -> first console byte (ticks guest, all sizes)" "$(ms "$rf")"
