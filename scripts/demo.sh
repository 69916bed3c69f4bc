#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: boot the Debian guest image with squib and show its console. Runs directly on
# hardware KVM; otherwise (no /dev/kvm, or kvm_pvm which cannot run Linux) inside the nested lane.
# `scripts/demo.sh --inner` is the part that runs where /dev/kvm works (env SQUIB, GUEST); it is
# POSIX sh so that busybox runs it inside the lane.
set -u
if [ "${1:-}" = --inner ]; then
	W=$(mktemp -d /tmp/squib-demo.XXXXXX)
	cp "$GUEST/rootfs.ext4" "$W/rootfs.ext4"
	cat > "$W/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$GUEST/vmlinux", "initrd_path": "$GUEST/initramfs.cpio",
  "boot_args": "console=ttyS0 ${DEMO_QUIET:+quiet }reboot=k panic=-1 pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd squib.scenario=ready,blk,rng squib.end=reboot"},
 "machine-config": {"vcpu_count": 2, "mem_size_mib": 256},
 "drives": [{"drive_id": "vda", "path_on_host": "$W/rootfs.ext4", "is_root_device": false, "is_read_only": false}],
 "entropy": {}}
JSON
	echo "demo: $SQUIB --no-api --config-file $W/vm.json  (Debian $(cat "$GUEST/kernel-release" 2>/dev/null || echo kernel), 2 vCPUs, 256 MiB)"
	s=$(date +%s)
	timeout 180 "$SQUIB" --no-api --config-file "$W/vm.json"
	rc=$?
	echo "demo: squib exited with status $rc after $(($(date +%s) - s)) s"
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
	--add scripts/demo.sh - 2>&1 | grep --line-buffered -v -e '^\[ *[0-9.]*\] ' -e '^LANE-L1-UP'
exit "${PIPESTATUS[1]}"
