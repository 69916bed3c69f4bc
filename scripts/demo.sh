#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: boot the Debian guest image with squib, show its console, snapshot it and
# restore it in a new squib process. Runs directly on
# hardware KVM; otherwise (no /dev/kvm, or kvm_pvm which cannot run Linux) inside the nested lane.
# `scripts/demo.sh --inner` is the part that runs where /dev/kvm works (env SQUIB, GUEST); it is
# POSIX sh so that busybox runs it inside the lane.
set -u
if [ "${1:-}" = --inner ]; then
	W=$(mktemp -d /tmp/squib-demo.XXXXXX)
	cp "$GUEST/rootfs.ext4" "$W/rootfs.ext4"
	cat > "$W/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$GUEST/vmlinux", "initrd_path": "$GUEST/initramfs.cpio",
  "boot_args": "console=ttyS0 ${DEMO_QUIET:+quiet }reboot=k panic=-1 pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd squib.scenario=ready,blk,rng,uptime squib.end=reboot"},
 "machine-config": {"vcpu_count": 2, "mem_size_mib": 256},
 "drives": [{"drive_id": "vda", "path_on_host": "$W/rootfs.ext4", "is_root_device": false, "is_read_only": false}],
 "entropy": {}}
JSON
	api() { # socket method path body
		curl -s -m 60 --unix-socket "$1" -X "$2" -H 'Content-Type: application/json' \
			-w " -> HTTP %{http_code}" -d "$4" "http://localhost$3"
		echo
	}
	wait_uptime() { # file count seconds pid
		i=0
		while [ "$(grep -c SQUIB-UPTIME "$1")" -lt "$2" ] && [ $i -lt "$3" ] && kill -0 "$4" 2>/dev/null; do
			sleep 1; i=$((i + 1))
		done
		[ "$(grep -c SQUIB-UPTIME "$1")" -ge "$2" ]
	}
	echo "demo: 1) boot: $SQUIB --api-sock $W/a.sock --config-file $W/vm.json (Debian $(cat "$GUEST/kernel-release" 2>/dev/null || echo kernel), 2 vCPUs, 256 MiB, virtio-blk + entropy)"
	s=$(date +%s)
	"$SQUIB" --api-sock "$W/a.sock" --config-file "$W/vm.json" > "$W/boot.log" 2>&1 < /dev/null &
	p1=$!
	wait_uptime "$W/boot.log" 3 240 $p1
	cat "$W/boot.log"
	echo "demo: 2) pause + snapshot after $(($(date +%s) - s)) s"
	api "$W/a.sock" PATCH /vm '{"state": "Paused"}'
	api "$W/a.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$W/vm.state\", \"mem_file_path\": \"$W/vm.mem\"}"
	kill -9 $p1 2>/dev/null; wait $p1 2>/dev/null
	ls -ls "$W/vm.state" "$W/vm.mem"
	echo "demo: 3) restore in a new squib process (PUT /snapshot/load, resume_vm)"
	"$SQUIB" --api-sock "$W/b.sock" > "$W/restore.log" 2>&1 < /dev/null &
	p2=$!
	i=0; while [ ! -S "$W/b.sock" ] && [ $i -lt 20 ]; do sleep 1; i=$((i + 1)); done
	api "$W/b.sock" PUT /snapshot/load "{\"snapshot_path\": \"$W/vm.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$W/vm.mem\"}, \"resume_vm\": true}"
	rc=1
	wait_uptime "$W/restore.log" 3 120 $p2 && rc=0
	cat "$W/restore.log"
	kill -9 $p2 2>/dev/null; wait $p2 2>/dev/null
	[ $rc = 0 ] && echo "demo: the restored guest kept running (its uptime continues above)" \
		|| echo "demo: FAILED: the restored guest printed no uptime"
	rm -rf "$W"
	exit $rc
fi

cd "$(dirname "$0")/.." || exit 1
SQUIB_BIN=${SQUIB_BIN:-$PWD/build/squib}
tools/guest-image/build.sh >/dev/null 2>&1 || { tools/guest-image/build.sh; exit 1; }
CACHE=${SQUIB_CACHE:-/var/cache/squib}
hw_kvm() { # /dev/kvm usable and backed by hardware virtualization (not kvm_pvm)
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	[ -d /sys/module/kvm_pvm ] && return 1
	grep -qwE 'vmx|svm' /proc/cpuinfo
}
if hw_kvm; then
	SQUIB=$SQUIB_BIN GUEST=$CACHE/guest exec "$0" --inner
fi
echo "demo: this host's /dev/kvm cannot run Linux (absent or kvm_pvm); running the demo inside the nested lane (QEMU TCG, emulated SVM)"
# The lane hides kernel lines (and a serial byte costs an exit there): boot the guest quiet.
echo 'sh /lane/add/demo.sh --inner' | SQUIB_BIN=$SQUIB_BIN tools/lane/run.sh --timeout 400 --env DEMO_QUIET=1 \
	--add scripts/demo.sh --add /usr/bin/curl:/usr/bin/curl - 2>&1 | grep --line-buffered -v -e '^\[ *[0-9.]*\] ' -e '^LANE-L1-UP'
exit "${PIPESTATUS[1]}"
