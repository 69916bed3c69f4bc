#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs inside the lane's level 1 (tools/lane/run.sh --with-qemu): boots the level-2 Debian
# guest under the QEMU reference (with blk, net, rng, vsock) and under squib (vmlinux and
# bzImage, 1 and 2 vCPUs, the same devices), prints each run as
#   === BEGIN <name> rc=<rc> start=<uptime> end=<uptime> ===  ...output...  === END <name> ===
# LANE_RUNS (space-separated names) limits what runs; default: everything. On a host with
# hardware KVM the same script runs directly (env GUEST, SQUIB, LANE_TMP; vsock-probe on PATH).
BA="console=ttyS0 reboot=k panic=-1 quiet pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
SQ_T=${SQ_T:-120}
T=${LANE_TMP:-/tmp} # scratch directory (the host-mode fixture passes its own)
want() { [ -z "$LANE_RUNS" ] || case " $LANE_RUNS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
run() { # name timeout cmd... (output captured, then printed as one block)
	name=$1; t=$2; shift 2
	s=$(cut -d' ' -f1 /proc/uptime)
	timeout -s KILL "$t" "$@" > "$T/out.$name" 2>&1 < /dev/null
	rc=$?
	e=$(cut -d' ' -f1 /proc/uptime)
	echo "=== BEGIN $name rc=$rc start=$s end=$e ==="
	tr -d '\r' < "$T/out.$name"
	echo "=== END $name ==="
}
run_fn() { # name function: like run, for a shell function whose waits are all bounded
	name=$1
	s=$(cut -d' ' -f1 /proc/uptime)
	"$2" > "$T/out.$name" 2>&1 < /dev/null
	rc=$?
	e=$(cut -d' ' -f1 /proc/uptime)
	echo "=== BEGIN $name rc=$rc start=$s end=$e ==="
	tr -d '\r' < "$T/out.$name"
	echo "=== END $name ==="
}
tap_up() {
	ip link del tap0 2>/dev/null
	{ tunctl -t tap0 > /dev/null 2>&1 || ip tuntap add dev tap0 mode tap; } && ip addr add 172.16.0.1/24 dev tap0 && ip link set tap0 up
}
NETARGS="squib.ip=172.16.0.2/24 squib.peer=172.16.0.1 squib.vsock_mode=connect squib.vsock_port=5000"
QEMU="qemu-system-x86_64 -M microvm,rtc=on -accel kvm -cpu host -m 256 -nodefaults -no-user-config \
-display none -serial stdio -no-reboot -L /usr/share/qemu"

if want ref; then
	cp "$GUEST/rootfs.ext4" $T/ref.ext4
	tap_up
	vsock-probe echo 5000 > $T/ref-vsock.log 2>&1 &
	run ref 120 $QEMU -smp 1 -kernel "$GUEST/bzImage" -initrd "$GUEST/initramfs.cpio" \
		-append "$BA squib.scenario=ready,blk,net,rng,vsock,balloon $NETARGS" \
		-drive if=none,id=d0,file=$T/ref.ext4,format=raw -device virtio-blk-device,drive=d0 \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02 \
		-device virtio-rng-device -device vhost-vsock-device,guest-cid=3 -device virtio-balloon-device
	kill $! 2>/dev/null
fi

squib_cfg() { # file kernel vcpus scenarios [extra json]
	cat > "$1" <<JSON
{"boot-source": {"kernel_image_path": "$GUEST/$2", "initrd_path": "$GUEST/initramfs.cpio",
  "boot_args": "$BA squib.scenario=$4 squib.end=reboot $NETARGS"},
 "machine-config": {"vcpu_count": $3, "mem_size_mib": 256}$5}
JSON
}
first=1
squib_run() { # name kernel vcpus scenarios [extra json]
	want "$1" || return 0
	squib_cfg "$T/$1.json" "$2" "$3" "$4" "$5"
	run "$1" "$SQ_T" "$SQUIB" --no-api --config-file "$T/$1.json"
	# A first boot that hangs without reaching the marker: do not wait as long for the rest.
	if [ $first = 1 ] && ! grep -q SQUIB-GUEST-READY "$T/out.$1" && [ "$rc" = 137 ]; then SQ_T=30; fi
	first=0
}
squib_run squib-vmlinux-1 vmlinux 1 ready,reboot
squib_run squib-bzImage-1 bzImage 1 ready
squib_run squib-vmlinux-2 vmlinux 2 ready
if want squib-devices; then
	cp "$GUEST/rootfs.ext4" $T/sq.ext4
	tap_up
	rm -f $T/v.sock $T/v.sock_5000
	vsock-probe uds-echo $T/v.sock_5000 > $T/sq-vsock.log 2>&1 &
	dev=", \"drives\": [{\"drive_id\": \"vda\", \"path_on_host\": \"$T/sq.ext4\", \"is_root_device\": false, \"is_read_only\": false}],
 \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:ac:10:00:02\"}],
 \"entropy\": {}, \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"$T/v.sock\"},
 \"balloon\": {\"amount_mib\": 0, \"deflate_on_oom\": false}"
	squib_run squib-devices vmlinux 1 blk,net,rng,vsock,balloon "$dev"
	kill $! 2>/dev/null
fi
# Snapshot a running Linux guest (uptime loop), restore it in a new squib process and check
# the loop continues from where it was. Needs curl in level 1 (run.sh --add /usr/bin/curl).
api() { # socket method path body -> prints "HTTP <code> <body>"
	curl -s -m 60 --unix-socket "$1" -X "$2" -H 'Content-Type: application/json' \
		-w ' HTTP %{http_code}' -d "$4" "http://localhost$3" 2>&1
	echo
}
wait_lines() { # file pattern count seconds pid: until count lines match, time is up or pid exits
	i=0
	while :; do
		n=$(grep -c "$2" "$1" 2>/dev/null)
		[ "${n:-0}" -lt "$3" ] && [ "$i" -lt "${4:-60}" ] && kill -0 "$5" 2>/dev/null || break
		sleep 1
		i=$((i + 1))
	done
}
snapshot_test() {
	rm -f "$T"/a.sock "$T"/b.sock "$T"/snap.state "$T"/snap.mem
	squib_cfg "$T/snap.json" vmlinux 1 uptime
	echo "--- first squib (--api-sock, --config-file, scenario uptime)"
	"$SQUIB" --api-sock "$T/a.sock" --config-file "$T/snap.json" > "$T/out.snap1" 2>&1 < /dev/null &
	p1=$!
	wait_lines "$T/out.snap1" SQUIB-UPTIME 3 "$SQ_T" $p1
	i=0
	while [ ! -S "$T/a.sock" ] && [ $i -lt 20 ] && kill -0 $p1 2>/dev/null; do sleep 1; i=$((i + 1)); done
	echo "pause: $(api "$T/a.sock" PATCH /vm '{"state": "Paused"}')"
	sleep 1
	echo "before-last: $(grep SQUIB-UPTIME "$T/out.snap1" | tail -1)"
	c=$(api "$T/a.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$T/snap.state\", \"mem_file_path\": \"$T/snap.mem\"}")
	echo "create: $c"
	kill -9 $p1 2>/dev/null
	wait $p1 2>/dev/null
	cat "$T/out.snap1"
	case "$c" in *"HTTP 204") ;; *) return 1 ;; esac
	echo "--- second squib (--api-sock, PUT /snapshot/load resume_vm)"
	"$SQUIB" --api-sock "$T/b.sock" > "$T/out.snap2" 2>&1 < /dev/null &
	p2=$!
	i=0
	while [ ! -S "$T/b.sock" ] && [ $i -lt 20 ] && kill -0 $p2 2>/dev/null; do sleep 1; i=$((i + 1)); done
	l=$(api "$T/b.sock" PUT /snapshot/load "{\"snapshot_path\": \"$T/snap.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$T/snap.mem\"}, \"resume_vm\": true}")
	echo "load: $l"
	case "$l" in *"HTTP 204") wait_lines "$T/out.snap2" SQUIB-UPTIME 3 60 $p2 ;; esac
	kill -9 $p2 2>/dev/null
	wait $p2 2>/dev/null
	cat "$T/out.snap2"
}
if want squib-snapshot; then
	run_fn squib-snapshot snapshot_test
fi
exit 0
