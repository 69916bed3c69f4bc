#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs inside the lane's level 1 (tools/lane/run.sh --with-qemu): boots the level-2 Debian
# guest under the QEMU reference (with blk, net, rng, vsock) and under squib (vmlinux and
# bzImage, 1 and 2 vCPUs, the same devices), prints each run as
#   === BEGIN <name> rc=<rc> start=<uptime> end=<uptime> ===  ...output...  === END <name> ===
# LANE_RUNS (space-separated names) limits what runs; default: everything.
BA="console=ttyS0 reboot=k panic=-1 quiet pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd initcall_blacklist=cmos_init"
SQ_T=${SQ_T:-120}
want() { [ -z "$LANE_RUNS" ] || case " $LANE_RUNS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
run() { # name timeout cmd... (output captured, then printed as one block)
	name=$1; t=$2; shift 2
	s=$(cut -d' ' -f1 /proc/uptime)
	timeout -s KILL "$t" "$@" > "/tmp/out.$name" 2>&1 < /dev/null
	rc=$?
	e=$(cut -d' ' -f1 /proc/uptime)
	echo "=== BEGIN $name rc=$rc start=$s end=$e ==="
	tr -d '\r' < "/tmp/out.$name"
	echo "=== END $name ==="
}
tap_up() {
	ip link del tap0 2>/dev/null
	tunctl -t tap0 > /dev/null && ip addr add 172.16.0.1/24 dev tap0 && ip link set tap0 up
}
NETARGS="squib.ip=172.16.0.2/24 squib.peer=172.16.0.1 squib.vsock_mode=connect squib.vsock_port=5000"
QEMU="qemu-system-x86_64 -M microvm -accel kvm -cpu host -m 256 -nodefaults -no-user-config \
-display none -serial stdio -no-reboot -L /usr/share/qemu"

if want ref; then
	cp "$GUEST/rootfs.ext4" /tmp/ref.ext4
	tap_up
	vsock-probe echo 5000 > /tmp/ref-vsock.log 2>&1 &
	run ref 120 $QEMU -smp 1 -kernel "$GUEST/bzImage" -initrd "$GUEST/initramfs.cpio" \
		-append "$BA squib.scenario=ready,blk,net,rng,vsock $NETARGS" \
		-drive if=none,id=d0,file=/tmp/ref.ext4,format=raw -device virtio-blk-device,drive=d0 \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02 \
		-device virtio-rng-device -device vhost-vsock-device,guest-cid=3
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
	squib_cfg "/tmp/$1.json" "$2" "$3" "$4" "$5"
	run "$1" "$SQ_T" "$SQUIB" --no-api --config-file "/tmp/$1.json"
	# A first boot that hangs without reaching the marker: do not wait as long for the rest.
	if [ $first = 1 ] && ! grep -q SQUIB-GUEST-READY "/tmp/out.$1" && [ "$rc" = 137 ]; then SQ_T=30; fi
	first=0
}
squib_run squib-vmlinux-1 vmlinux 1 ready,reboot
squib_run squib-bzImage-1 bzImage 1 ready
squib_run squib-vmlinux-2 vmlinux 2 ready
if want squib-devices; then
	cp "$GUEST/rootfs.ext4" /tmp/sq.ext4
	tap_up
	rm -f /tmp/v.sock /tmp/v.sock_5000
	vsock-probe uds-echo /tmp/v.sock_5000 > /tmp/sq-vsock.log 2>&1 &
	squib_run squib-devices vmlinux 1 blk,net,rng,vsock ',
 "drives": [{"drive_id": "vda", "path_on_host": "/tmp/sq.ext4", "is_root_device": false, "is_read_only": false}],
 "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}],
 "entropy": {},
 "vsock": {"guest_cid": 3, "uds_path": "/tmp/v.sock"}'
	kill $! 2>/dev/null
fi
exit 0
