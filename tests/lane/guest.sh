#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Tier 2 in the lane's level 1: squib boots the freestanding test guest (tests/guest, shipped as
# $LANE_ADD/squib-test-guest) through --config-file or the API, one run per scenario, each
# printed as
#   === BEGIN <name> rc=<rc> start=<uptime> end=<uptime> ===  ...output...  === END <name> ===
# (tests/integration/test_guest_lane.py parses the blocks). Needs socat and curl on PATH in
# level 1 (run.sh --add /usr/bin/socat:/usr/bin/socat --add /usr/bin/curl:/usr/bin/curl).
# GUEST_RUNS (space-separated names) limits what runs; default: everything.
TG=${TEST_GUEST:-$LANE_ADD/squib-test-guest}
T=${LANE_TMP:-/tmp}
SQ_T=${SQ_T:-30}
want() { [ -z "$GUEST_RUNS" ] || case " $GUEST_RUNS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
block() { # name rc start file
	echo "=== BEGIN $1 rc=$2 start=$3 end=$(cut -d' ' -f1 /proc/uptime) ==="
	tr -d '\r' < "$4"
	echo "=== END $1 ==="
}
run_fn() { # name function args...: the function's output and status as one block
	name=$1
	fn=$2
	shift 2
	want "$name" || return 0
	s=$(cut -d' ' -f1 /proc/uptime)
	"$fn" "$@" > "$T/out.$name" 2>&1 < /dev/null
	block "$name" $? "$s" "$T/out.$name"
}
cfg() { # file vcpus mem_mib "boot args" [extra json]
	cat > "$1" <<JSON
{"boot-source": {"kernel_image_path": "$TG", "boot_args": "$4"},
 "machine-config": {"vcpu_count": $2, "mem_size_mib": $3}$5}
JSON
}
squib_cfg() { # vcpus "boot args" [extra json] [squib options...]: boot from a config file
	cfg "$T/$name.json" "$1" 128 "$2" "$3"
	shift 2
	[ $# -gt 0 ] && shift
	timeout -s KILL "$SQ_T" "$SQUIB" --no-api --config-file "$T/$name.json" "$@"
}
wait_for() { # file pattern seconds pid: until a line matches, time is up or pid exits
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt $(($3 * 5)) ] && kill -0 "$4" 2>/dev/null; do
		sleep 0.2
		i=$((i + 1))
	done
	grep -q "$2" "$1" 2>/dev/null
}
wait_exit() { # pid seconds: prints "squib-rc=<rc>" (killed after the time: 137)
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 5)) ]; do
		sleep 0.2
		i=$((i + 1))
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
	echo "squib-rc=$?"
}
api() { # socket method path [body] -> "<method> <path>: <body> HTTP <code>"
	printf '%s %s: ' "$2" "$3"
	if [ -n "$4" ]; then
		curl -s -m 20 --unix-socket "$1" -X "$2" -H 'Content-Type: application/json' \
			-w ' HTTP %{http_code}' -d "$4" "http://localhost$3" 2>&1
	else
		curl -s -m 20 --unix-socket "$1" -X "$2" -w ' HTTP %{http_code}' "http://localhost$3" 2>&1
	fi
	echo
}
tap_up() {
	ip link del tap0 2>/dev/null
	{ tunctl -t tap0 > /dev/null 2>&1 || ip tuntap add dev tap0 mode tap; } &&
		ip addr add 172.16.0.1/24 dev tap0 && ip link set tap0 up
}
sum() { md5sum "$1" | cut -d' ' -f1; }

# --- boot ---------------------------------------------------------------------------------
run_fn hello squib_cfg 1 "console=ttyS0 squib.scenario=hello" "" --level Info
run_fn boottimer squib_cfg 1 "squib.scenario=boottimer" "" --boot-timer --level Info
run_fn digest squib_cfg 1 "squib.scenario=digest"
run_fn smp2 squib_cfg 2 "squib.scenario=smp"
run_fn smp4 squib_cfg 4 "squib.scenario=smp"
run_fn ticks squib_cfg 1 "squib.scenario=ticks ticks=20"
bad_kernel() {
	cat > "$T/bad-kernel.json" <<JSON
{"boot-source": {"kernel_image_path": "$T/no-such-kernel", "boot_args": "squib.scenario=hello"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}
JSON
	timeout -s KILL "$SQ_T" "$SQUIB" --no-api --config-file "$T/bad-kernel.json"
}
run_fn bad-kernel bad_kernel
run_fn bad-vcpus squib_cfg 0 "squib.scenario=hello"

# --- devices ------------------------------------------------------------------------------
run_fn rng squib_cfg 1 "squib.scenario=rng bytes=256" ', "entropy": {}'
drive() { # path read_only cache_type
	echo ", \"drives\": [{\"drive_id\": \"data\", \"path_on_host\": \"$1\", \"is_root_device\": false, \"is_read_only\": $2, \"cache_type\": \"$3\"}]"
}
blk() { # the guest writes its pattern at sector 5 of a zeroed 1 MiB file; dump sectors 4..6
	dd if=/dev/zero of="$T/blk.img" bs=1024 count=1024 2> /dev/null
	squib_cfg 1 "squib.scenario=blk sector=5 seed=0x77" "$(drive "$T/blk.img" false Writeback)"
	rc=$?
	echo "FILE-SIZE $(wc -c < "$T/blk.img")"
	echo "FILE-SECTORS-4-6 $(dd if="$T/blk.img" bs=512 skip=4 count=3 2> /dev/null | od -An -tx1 -v | tr -d ' \n')"
	echo "FILE-MD5 $(sum "$T/blk.img")"
	return $rc
}
run_fn blk blk
blk_ro() {
	dd if=/dev/urandom of="$T/ro.img" bs=1024 count=256 2> /dev/null
	echo "SUM-BEFORE $(sum "$T/ro.img")"
	squib_cfg 1 "squib.scenario=blk-ro sector=3" "$(drive "$T/ro.img" true Unsafe)"
	rc=$?
	echo "SUM-AFTER $(sum "$T/ro.img")"
	return $rc
}
run_fn blk-ro blk_ro
net() {
	tap_up || echo "TAP-FAILED"
	echo "TAP-MAC $(cat /sys/class/net/tap0/address)"
	echo "TAP-RX-BEFORE $(cat /sys/class/net/tap0/statistics/rx_packets)"
	squib_cfg 1 "squib.scenario=net ip=172.16.0.2 gw=172.16.0.1" ', "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}]'
	rc=$?
	echo "TAP-RX-AFTER $(cat /sys/class/net/tap0/statistics/rx_packets)"
	ip link del tap0 2> /dev/null
	return $rc
}
run_fn net net
VSOCK=', "vsock": {"guest_cid": 3, "uds_path": "'$T/v.sock'"}'
vsock() { # guest -> host: the host side echoes on <uds_path>_52
	rm -f "$T/v.sock" "$T/v.sock_52"
	vsock-probe uds-echo "$T/v.sock_52" > "$T/vsock-echo.log" 2>&1 &
	e=$!
	i=0
	while [ ! -S "$T/v.sock_52" ] && [ $i -lt 25 ]; do sleep 0.2; i=$((i + 1)); done
	squib_cfg 1 "squib.scenario=vsock port=52" "$VSOCK"
	rc=$?
	sleep 0.5
	kill $e 2> /dev/null && echo "ECHO-SERVER still running (killed)"
	wait $e
	echo "ECHO-SERVER rc=$?"
	return $rc
}
run_fn vsock vsock
vsock_listen() { # host -> guest: CONNECT on uds_path, send a line, read the echo
	rm -f "$T/v.sock"
	cfg "$T/vl.json" 1 128 "squib.scenario=vsock-listen port=1234" "$VSOCK"
	"$SQUIB" --no-api --config-file "$T/vl.json" > "$T/vl.out" 2>&1 < /dev/null &
	p=$!
	wait_for "$T/vl.out" VSOCK-LISTEN 20 $p
	(printf 'CONNECT 1234\n'; sleep 1; printf 'hello-from-host\n'; sleep 2) |
		timeout -s KILL 15 socat -t 5 - UNIX-CONNECT:"$T/v.sock" > "$T/vl.host" 2>&1
	echo "SOCAT rc=$?"
	wait_exit $p 15
	sed 's/^/HOST-GOT /' "$T/vl.host"
	echo "--- squib"
	cat "$T/vl.out"
}
run_fn vsock-listen vsock_listen
balloon() { # inflate from the config, statistics, then deflate through PATCH /balloon
	rm -f "$T/b.sock"
	cfg "$T/balloon.json" 1 128 "squib.scenario=balloon" \
		', "balloon": {"amount_mib": 8, "deflate_on_oom": false, "stats_polling_interval_s": 1}'
	"$SQUIB" --api-sock "$T/b.sock" --config-file "$T/balloon.json" > "$T/balloon.out" 2>&1 < /dev/null &
	p=$!
	wait_for "$T/balloon.out" "BALLOON-STATS 2" 30 $p
	api "$T/b.sock" GET /balloon
	api "$T/b.sock" GET /balloon/statistics
	api "$T/b.sock" PATCH /balloon '{"amount_mib": 4}'
	wait_for "$T/balloon.out" "actual=1024" 20 $p
	kill -0 $p 2> /dev/null && echo "SQUIB-ALIVE"
	wait_exit $p 0
	echo "--- squib"
	cat "$T/balloon.out"
}
run_fn balloon balloon
all_devices() { # "boot args": every device kind at once (attach order, root drive first)
	tap_up || echo "TAP-FAILED"
	dd if=/dev/zero of="$T/d1.img" bs=1024 count=64 2> /dev/null
	dd if=/dev/zero of="$T/d2.img" bs=1024 count=128 2> /dev/null
	rm -f "$T/v.sock"
	squib_cfg 1 "$1" ', "entropy": {},
 "vsock": {"guest_cid": 3, "uds_path": "'$T/v.sock'"},
 "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0"}],
 "drives": [{"drive_id": "data", "path_on_host": "'$T/d1.img'", "is_root_device": false, "is_read_only": false},
            {"drive_id": "rootfs", "path_on_host": "'$T/d2.img'", "is_root_device": true, "is_read_only": true}],
 "balloon": {"amount_mib": 0, "deflate_on_oom": false}' --level Info
	rc=$?
	ip link del tap0 2> /dev/null
	return $rc
}
run_fn mmio-probe all_devices "squib.scenario=mmio-probe"
run_fn root-first all_devices "squib.scenario=blk-ro dev=0"

# --- API: configure with curl, start, pause/resume a digest run -------------------------
api_digest() {
	rm -f "$T/a.sock"
	"$SQUIB" --api-sock "$T/a.sock" > "$T/api.out" 2>&1 < /dev/null &
	p=$!
	i=0
	while [ ! -S "$T/a.sock" ] && [ $i -lt 50 ] && kill -0 $p 2> /dev/null; do sleep 0.2; i=$((i + 1)); done
	api "$T/a.sock" GET /
	api "$T/a.sock" PUT /boot-source "{\"kernel_image_path\": \"$TG\", \"boot_args\": \"squib.scenario=digest mib=8 rounds=12 round_ms=500\"}"
	api "$T/a.sock" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
	api "$T/a.sock" PUT /actions '{"action_type": "InstanceStart"}'
	wait_for "$T/api.out" "PROGRESS 2" 30 $p
	api "$T/a.sock" PATCH /vm '{"state": "Paused"}'
	api "$T/a.sock" GET /
	echo "PROGRESS-AT-PAUSE $(grep -c '^PROGRESS' "$T/api.out")"
	sleep 3
	echo "PROGRESS-AFTER-3S $(grep -c '^PROGRESS' "$T/api.out")"
	api "$T/a.sock" PATCH /vm '{"state": "Resumed"}'
	api "$T/a.sock" GET /
	wait_exit $p 60
	echo "--- squib"
	cat "$T/api.out"
}
run_fn api-digest api_digest
exit 0
