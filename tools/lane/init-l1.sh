#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of the level-1 lane guest: load kvm-amd, make /dev/kvm, run /lane/script.sh,
# print LANE-EXIT=<rc> and power off. Environment for the script: SQUIB, GUEST, LANE_ADD,
# LANE_OUT (files left there come back with run.sh --out DIR).
/bin/busybox --install -s
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# halt_poll_ns=0: an idle L2 vCPU must not burn emulated L1 time polling.
while read -r m; do
	p=
	[ "$m" = kvm.ko ] && p=halt_poll_ns=0
	insmod "/lib/modules/l1/$m" $p || echo "LANE: insmod $m failed"
done < /lib/modules/l1/l1.order
[ -e /dev/kvm ] || mknod /dev/kvm c 10 232
[ -e /dev/net/tun ] || { mkdir -p /dev/net; mknod /dev/net/tun c 10 200; }
ip link set lo up 2>/dev/null
ulimit -c 0
export SQUIB=/usr/bin/squib GUEST=/guest LANE_ADD=/lane/add LANE_OUT=/lane/out HOME=/root
mkdir -p /root /lane/out
echo "LANE-L1-UP uptime=$(cut -d' ' -f1 /proc/uptime) kvm=$([ -c /dev/kvm ] && echo yes || echo no)"
. /lane/env
cd /tmp || exit 1
sh /lane/script.sh
rc=$?
if [ "$LANE_COLLECT" = 1 ]; then # run.sh --out: ship /lane/out back over the console
	echo 1 > /proc/sys/kernel/printk # no kernel messages inside the base64 block
	echo "LANE-OUT-BEGIN"
	tar -c -C /lane/out . | gzip -1 | base64
	echo "LANE-OUT-END"
fi
echo "LANE-EXIT=$rc"
sync
poweroff -f
sleep 10
