#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of squib's level-2 Linux initramfs: load virtio modules, print the ready marker, run
# the scenarios listed in squib.scenario=a,b,... (ready reboot blk net vsock rng balloon uptime shell).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
t0=$(cut -d' ' -f1 /proc/uptime)
while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done < /lib/modules/l2.order

arg() { sed -n "s/.*[[:space:]]*$1=\([^[:space:]]*\).*/\1/p" /proc/cmdline; }
ok() { echo "SQUIB-SCENARIO-OK $scen${1:+ $1}"; }
fail() { echo "SQUIB-SCENARIO-FAIL $scen $*"; }
finish() { # poweroff by default; squib.end=reboot|hold changes that
	sync
	case "$(arg squib.end)" in
	reboot) reboot -f ;;
	hold) while :; do sleep 3600; done ;;
	*) poweroff -f ;;
	esac
	sleep 5
	reboot -f
}

s_blk() {
	[ -b /dev/vda ] || { fail "no /dev/vda"; return; }
	mkdir -p /mnt
	mount -t ext4 /dev/vda /mnt || { fail "mount /dev/vda failed"; return; }
	if [ "$(cat /mnt/squib-rootfs 2>/dev/null)" != "squib rootfs" ]; then
		fail "rootfs marker file missing"; umount /mnt; return
	fi
	val="written-$(cat /proc/sys/kernel/random/uuid)"
	echo "$val" > /mnt/squib-blk-test && sync && umount /mnt && mount -t ext4 /dev/vda /mnt
	if [ "$(cat /mnt/squib-blk-test)" = "$val" ]; then ok "$val"; else fail "readback mismatch"; fi
	umount /mnt
	sync
}
s_net() { # squib.ip=GUEST_IP/PREFIX squib.peer=HOST_IP: the host side gets pinged
	[ -e /sys/class/net/eth0 ] || { fail "no eth0"; return; }
	ip=$(arg squib.ip); peer=$(arg squib.peer)
	echo "SQUIB-NET-MAC $(cat /sys/class/net/eth0/address)"
	ip link set lo up; ip link set eth0 up
	[ -n "$ip" ] && ip addr add "$ip" dev eth0
	[ -n "$peer" ] || { ok "eth0 up"; return; }
	if ping -c 3 -W 5 "$peer"; then ok "ping $peer"; else fail "ping $peer"; fi
}
s_vsock() {
	[ -e /dev/vsock ] || { fail "no /dev/vsock"; return; }
	echo "SQUIB-VSOCK-CID $(vsock-probe cid)"
	port=$(arg squib.vsock_port)
	case "$(arg squib.vsock_mode)" in
	connect) r=$(vsock-probe connect 2 "$port" squib-ping) && ok "reply=$r" || fail "connect 2:$port" ;;
	echo) vsock-probe echo "$port" && ok "echo done" || fail "echo" ;;
	*) ok "cid only" ;;
	esac
}
s_rng() {
	cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
	case "$cur" in virtio_rng*) ;; *) fail "rng_current=$cur"; return ;; esac
	a=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | hexdump -v -e '/1 "%02x"')
	b=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | hexdump -v -e '/1 "%02x"')
	if [ ${#a} -eq 64 ] && [ "$a" != "$b" ]; then ok "$a"; else fail "short or repeated read: '$a' '$b'"; fi
}
s_balloon() {
	set -- /sys/bus/virtio/drivers/virtio_balloon/virtio[0-9]*
	if [ -e "$1" ]; then ok; else fail "virtio_balloon not bound"; fi
}

echo "SQUIB-GUEST-READY cpus=$(grep -c ^processor /proc/cpuinfo) mem_kb=$(sed -n 's/MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) init_at=$t0 uptime=$(cut -d' ' -f1 /proc/uptime)"
list=$(arg squib.scenario)
[ -n "$list" ] || list=ready
for scen in $(echo "$list" | tr , ' '); do
	case "$scen" in
	ready) ok ;;
	reboot) ok; sync; reboot -f; sleep 10 ;;
	blk|net|vsock|rng|balloon) "s_$scen" ;;
	uptime) while :; do echo "SQUIB-UPTIME $(cut -d' ' -f1 /proc/uptime)"; sleep 1; done ;;
	shell) setsid cttyhack sh ;;
	*) fail "unknown scenario" ;;
	esac
done
echo "SQUIB-SCENARIOS-DONE"
finish
