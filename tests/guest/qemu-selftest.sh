#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Boot every test-guest scenario QEMU can serve (both boot entries) and check the console lines.
# usage: qemu-selftest.sh [--guest PATH]   (prints one PASS/FAIL line per check, exit 1 on failure)
set -u
here="$(cd "$(dirname "$0")" && pwd)"
run="$here/run-qemu.sh"
[ "${1:-}" = "--guest" ] && { export SQUIB_TEST_GUEST="$2"; }
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not found"; exit 77; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0

# check NAME EXPECTED-RC REGEXES [run-qemu.sh args...]; REGEXES: one per line, all must match.
# Standard input of the guest comes from $tmp/in (empty unless a check writes it).
check() {
	name="$1" want_rc="$2" re="$3"
	shift 3
	"$run" --timeout 60 "$@" >"$tmp/out" 2>&1 <"$tmp/in"
	rc=$?
	ok=1
	[ "$rc" = "$want_rc" ] || ok=0
	old_ifs="$IFS"
	IFS='
'
	for r in $re; do
		grep -Eq "$r" "$tmp/out" || ok=0
	done
	IFS="$old_ifs"
	if [ "$ok" = 1 ]; then
		echo "PASS $name"
	else
		echo "FAIL $name (rc=$rc, want $want_rc and /$re/)"
		sed 's/^/    | /' "$tmp/out"
		fails=$((fails + 1))
	fi
}

: >"$tmp/in"
truncate -s 1M "$tmp/disk.img"
blk="-drive if=none,id=d0,file=$tmp/disk.img,format=raw -device virtio-blk-device,drive=d0"
blkro="-drive if=none,id=d0,file=$tmp/disk.img,format=raw,readonly=on"
blkro="$blkro -device virtio-blk-device,drive=d0"
for entry in "" --linux64; do
	p=pvh; [ -n "$entry" ] && p=linux64
	check "$p hello" 0 '^CMDLINE squib.scenario=hello a=b' $entry hello a=b
	check "$p digest" 0 '^DIGEST 663d008a20a891fa$' $entry digest mib=4 rounds=2
	check "$p smp2" 0 '^SMP cpus=2 DIGEST abb56df399270a3f$' $entry --smp 2 smp
	check "$p ticks" 0 '^TICK 5$' $entry ticks ticks=5
	check "$p rng" 0 '^RNG-OK 64 bytes' $entry --qemu-args "-device virtio-rng-device" rng
	check "$p blk" 0 '^BLK-OK sector=3$' $entry --qemu-args "$blk" blk sector=3
	check "$p blk-ro" 0 '^BLK-RO-OK ro=1$' $entry --qemu-args "$blkro" blk-ro sector=3
done
check "digest default" 0 '^DIGEST 5161bda2368a6cbd$' digest
check "smp4" 0 '^SMP cpus=4 DIGEST 5384378dbfc52d68$' --smp 4 smp
check "boottimer" 0 '^BOOTTIMER written$' boottimer
check "mmio-probe" 0 'VIRTIO-MMIO 23 magic=74726976 version=2 devid=4' \
	--qemu-args "-device virtio-rng-device" mmio-probe
check "net" 0 '^NET-OK arp-reply from 10.0.2.2' \
	--qemu-args "-netdev user,id=n0 -device virtio-net-device,netdev=n0" net
check "exit-bench" 0 '^EXIT-BENCH-OK kind=mmio ops=1000 ticks=[0-9]+ hz=100 cycles=[0-9]+ ns_per_op=[0-9]+ addr=0xfeb02e00$
^EXIT-BENCH-OK kind=pio ops=1000 ticks=[0-9]+ hz=100 cycles=[0-9]+ ns_per_op=[0-9]+ port=0x3ff$
^RESET$' --qemu-args "-device virtio-rng-device" exit-bench ops=1000
check "halt" 124 '^HALTING$' --timeout 3 halt
check "fault" 0 '^PANIC exception #PF vec=14 err=0x6 .*cr2=0x100000000' fault panic_reset=1
check "unknown" 0 "^ERROR unknown scenario 'nope'" nope
check "nomem" 0 '^ERROR workload needs RAM' --mem 40 digest mib=16
# blk-bench: a few guest-timed requests (format of the result line; numbers not checked)
check "blk-bench rand write" 0 '^BLK-BENCH-OK mode=rand rw=write bs=4096 ops=200 bytes=819200 ticks=[0-9]+ hz=1000 depth=[1-8]$' \
	--qemu-args "$blk" blk-bench mode=rand rw=write bs=4096 mib=1 ops=200 hz=1000
check "blk-bench seq read" 0 '^BLK-BENCH-OK mode=seq rw=read bs=131072 ops=40 bytes=5242880 ticks=[0-9]+ hz=1000 depth=[1-8]$' \
	--qemu-args "$blk" blk-bench mode=seq bs=131072 mib=1 ops=40 hz=1000
check "blk-bench bad bs" 0 '^ERROR blk-bench: bs=1000 ' --qemu-args "$blk" blk-bench bs=1000 mib=1
if command -v socat >/dev/null; then
	mon="$tmp/mon.sock"
	hmp() { echo "$1" | socat - "UNIX-CONNECT:$mon" >/dev/null 2>&1; }
	(sleep 2; hmp "qom-set /machine/peripheral/b0 guest-stats-polling-interval 1"
		sleep 3; hmp "balloon 100") &
	check "balloon" 0 '^BALLOON-STATS 1$
^BALLOON target=7168 actual=7168$' \
		--qemu-args "-monitor unix:$mon,server=on,wait=off -device virtio-balloon-device,id=b0" \
		balloon exit_at=7168
	wait
fi
# snapshot mid-digest (QEMU migration to a file), restore in a new QEMU: same digest
if command -v socat >/dev/null; then
	mon="$tmp/snap.sock"
	hmp() { echo "$1" | socat - "UNIX-CONNECT:$mon" >/dev/null 2>&1; }
	(sleep 2; hmp stop; hmp "migrate \"exec:cat > $tmp/snap.bin\""; sleep 2; hmp quit) &
	check "snapshot-save" 0 '^PROGRESS 3$' --qemu-args "-monitor unix:$mon,server=on,wait=off" \
		digest mib=8 rounds=12 round_ms=250
	wait
	rm -f "$mon"
	(sleep 2; hmp cont) &
	check "snapshot-restore" 0 '^DIGEST f319b6ab79f35ada$' --qemu-args \
		"-monitor unix:$mon,server=on,wait=off -incoming exec:cat<$tmp/snap.bin" digest mib=8 rounds=12 round_ms=250
	wait
fi
# vsock through QEMU's vhost-user-vsock-device and the test backend (vsock-backend.py)
vsock_check() {
	name="$1" mode="$2" re="$3"
	shift 3
	sock="$tmp/vsock.sock"
	rm -f "$sock"
	/usr/bin/python3 "$here/vsock-backend.py" "$sock" --mode "$mode" 2>"$tmp/backend.log" &
	bpid=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$sock" ] && break; sleep 0.5; done
	check "$name" 0 "$re" --qemu-args "-object memory-backend-memfd,id=mem,size=128M,share=on \
		-machine memory-backend=mem -chardev socket,id=vs,path=$sock \
		-device vhost-user-vsock-device,chardev=vs" "$@"
	kill "$bpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
}
if [ -x /usr/bin/python3 ]; then
	vsock_check vsock echo '^VSOCK-RX 17 bytes: squib-vsock-ping$
^VSOCK-OK$' vsock
	vsock_check vsock-listen connect=52 '^VSOCK-ACCEPTED from 2:1234$
^VSOCK-RX 16 bytes: hello-from-host$
^VSOCK-OK$' vsock-listen port=52
fi
# serial: the scenario arrives on the console input (a FIFO, written once READY is out)
rm -f "$tmp/in"
mkfifo "$tmp/in"
(sleep 2; printf 'digest mib=4 rounds=2\n'; sleep 5) >"$tmp/in" &
check "serial" 0 '^READY$
^DIGEST 663d008a20a891fa$' serial
wait
[ "$fails" = 0 ] && echo "ALL PASS" || echo "$fails FAILED"
[ "$fails" = 0 ]
