#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# API latency: squib's HTTP API (pre-boot, no KVM needed) vs QEMU's QMP (-M microvm -accel tcg
# -S) on the same machine, in the same run. Prints p50/p99 per test and squib/QEMU ratios.
# usage: bench/api.sh [-n REQUESTS] [-r ROUNDS] [--lane]
#   -n  requests per measurement (default 10000); -r rounds, alternating squib and QEMU, the
#   reported value is the median over rounds (default 3). --lane runs it in the nested lane.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
N=10000
ROUNDS=3
LANE=0
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	--lane) LANE=1; shift ;;
	*) die "usage: bench/api.sh [-n REQUESTS] [-r ROUNDS] [--lane]" ;;
	esac
done
[ $LANE = 1 ] && { lane_reexec api.sh -n "$N" -r "$ROUNDS"; exit $?; }
need "$SQUIB" "$APILAT"
command -v "$QEMU" >/dev/null || die "no $QEMU"

D=$(mktemp -d /tmp/squib-bench-api.XXXXXX)
SPID=; QPID=; HPID=
cleanup() {
	for p in $HPID $SPID $QPID; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

wait_sock() { # PATH: wait up to 10 s for a socket file
	i=0
	while [ ! -S "$1" ]; do
		i=$((i + 1)); [ $i -le 200 ] || die "socket $1 did not appear"
		sleep 0.05
	done
}

banner "bench/api.sh: API request latency, $N requests per measurement, $ROUNDS rounds"
echo "squib: $SQUIB --api-sock (pre-boot state, default logging); one keep-alive connection per client"
echo "qemu:  $QEMU -M microvm -accel tcg -S -nodefaults -no-user-config -display none -qmp unix:...; query-status"

"$SQUIB" --api-sock "$D/api.sock" >"$D/squib.log" 2>&1 &
SPID=$!
"$QEMU" -M microvm -accel tcg -S -nodefaults -no-user-config -display none -m 128 \
	-qmp "unix:$D/qmp.sock,server=on,wait=off" -qmp "unix:$D/qmp2.sock,server=on,wait=off" \
	>"$D/qemu.log" 2>&1 &
QPID=$!
wait_sock "$D/api.sock"
wait_sock "$D/qmp.sock"
wait_sock "$D/qmp2.sock"

MC='{"vcpu_count":1,"mem_size_mib":128}'
# warm-up (first-connection and page-in costs are not what we measure)
"$APILAT" http "$D/api.sock" GET / 200 >/dev/null
"$APILAT" http "$D/api.sock" PUT /machine-config "$MC" 200 >/dev/null
"$APILAT" qmp "$D/qmp.sock" 200 >/dev/null

# hammer CMD...: start a background client that keeps the server busy
hammer() { "$@" >/dev/null 2>&1 & HPID=$!; sleep 0.2; }
unhammer() { kill "$HPID" 2>/dev/null || true; wait "$HPID" 2>/dev/null || true; HPID=; }

: >"$D/res"
r=1
while [ $r -le "$ROUNDS" ]; do
	o=$("$APILAT" http "$D/api.sock" GET / "$N"); echo "round $r squib GET /               $o"
	echo "sget $o" >>"$D/res"
	o=$("$APILAT" qmp "$D/qmp.sock" "$N"); echo "round $r qemu  query-status        $o"
	echo "qst $o" >>"$D/res"
	o=$("$APILAT" http "$D/api.sock" PUT /machine-config "$MC" "$N"); echo "round $r squib PUT /machine-config $o"
	echo "sput $o" >>"$D/res"
	hammer "$APILAT" http "$D/api.sock" PUT /machine-config "$MC" 100000000
	o=$("$APILAT" http "$D/api.sock" GET / "$N"); echo "round $r squib GET / under PUTs    $o"
	unhammer
	echo "sgetc $o" >>"$D/res"
	hammer "$APILAT" qmp "$D/qmp2.sock" 100000000
	o=$("$APILAT" qmp "$D/qmp.sock" "$N"); echo "round $r qemu  query-status under load $o"
	unhammer
	echo "qstc $o" >>"$D/res"
	r=$((r + 1))
done

med() { grep "^$1 " "$D/res" | sed -n "s/.* $2=\([^ ]*\).*/\1/p" | median; }
echo
echo "median over $ROUNDS rounds (microseconds):"
printf '%-54s %10s %10s\n' test p50_us p99_us
for t in "sget squib GET /" "qst qemu query-status" "sput squib PUT /machine-config" \
	"sgetc squib GET / while a 2nd client PUTs" "qstc qemu query-status while a 2nd QMP client queries"; do
	k=${t%% *}
	printf '%-54s %10s %10s\n' "${t#* }" "$(med "$k" p50_us)" "$(med "$k" p99_us)"
done
echo
echo "ratios squib/QEMU (< 1: squib faster):"
echo "  GET / vs query-status:          p50 $(ratio "$(med sget p50_us)" "$(med qst p50_us)")  p99 $(ratio "$(med sget p99_us)" "$(med qst p99_us)")"
echo "  PUT /machine-config vs query-status: p50 $(ratio "$(med sput p50_us)" "$(med qst p50_us)")  p99 $(ratio "$(med sput p99_us)" "$(med qst p99_us)")"
echo "  GET / under load vs query-status under load: p50 $(ratio "$(med sgetc p50_us)" "$(med qstc p50_us)")  p99 $(ratio "$(med sgetc p99_us)" "$(med qstc p99_us)")"
echo
for k in "sget GET /" "sput PUT /machine-config" "sgetc GET / under PUTs"; do
	v=$(med "${k%% *}" p99_us)
	if awk -v v="$v" 'BEGIN {exit !(v < 500)}'; then verdict=MET; else verdict=MISSED; fi
	echo "goal p99 < 500 us, ${k#* }: $v us -> $verdict"
done

# Process start -> API socket accepting connections (squib) vs QMP socket accepting (QEMU),
# STARTS runs each, median. Goal (issue): squib <= 3 ms.
STARTS=${STARTS:-50}
echo
echo "start-up: exec -> socket accepting, $STARTS runs each (benchctl sock)"
i=0
while [ $i -lt "$STARTS" ]; do
	rm -f "$D/s.sock" "$D/q.sock"
	"$BENCHCTL" sock "$D/s.sock" -- "$SQUIB" --api-sock "$D/s.sock" 2>/dev/null |
		sed -n 's/.*sock_us=\([0-9.]*\).*/\1/p' >>"$D/start_squib"
	"$BENCHCTL" sock "$D/q.sock" -- "$QEMU" -M microvm -accel tcg -S -nodefaults -no-user-config \
		-display none -m 128 -qmp "unix:$D/q.sock,server=on,wait=off" 2>/dev/null |
		sed -n 's/.*sock_us=\([0-9.]*\).*/\1/p' >>"$D/start_qemu"
	i=$((i + 1))
done
ss=$(median <"$D/start_squib"); qs=$(median <"$D/start_qemu")
echo "  squib exec -> API socket accepting: median ${ss} us ($(wc -l <"$D/start_squib") runs)"
echo "  qemu  exec -> QMP socket accepting: median ${qs} us ($(wc -l <"$D/start_qemu") runs)"
echo "  ratio squib/QEMU: $(ratio "$ss" "$qs")"
if awk -v v="$ss" 'BEGIN {exit !(v <= 3000)}'; then verdict=MET; else verdict=MISSED; fi
echo "goal squib start <= 3 ms: $ss us -> $verdict"
