# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the bench/ scripts (sourced; POSIX sh, also busybox sh in the lane).
# Finds the binaries (env overrides: SQUIB, APILAT, BENCHCTL, GUEST_ELF, QEMU, BUILD),
# re-runs a script inside the nested lane (--lane), and does medians and ratios.

BENCH_DIR=${BENCH_DIR:-$(cd "$(dirname "$0")" && pwd)}
ROOT=${ROOT:-$(cd "$BENCH_DIR/.." 2>/dev/null && pwd)}
if [ -z "${BUILD:-}" ]; then
	for b in build-bench build; do
		if [ -x "$ROOT/$b/bench/benchctl" ]; then BUILD=$ROOT/$b; break; fi
	done
	BUILD=${BUILD:-$ROOT/build}
fi
SQUIB=${SQUIB:-$BUILD/squib}
APILAT=${APILAT:-$BUILD/bench/apilat}
BENCHCTL=${BENCHCTL:-$BUILD/bench/benchctl}
GUEST_ELF=${GUEST_ELF:-$BUILD/tests/guest/squib-test-guest}
QEMU=${QEMU:-qemu-system-x86_64}

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
need() { for f in "$@"; do [ -x "$f" ] || die "missing $f (build with: meson setup build-bench -Dbuildtype=release && ninja -C build-bench, or set BUILD=)"; done; }

# One line that says where the numbers come from.
banner() {
	echo "== $1 =="
	echo "date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')  host: $(uname -r)  cpus: $(grep -c ^processor /proc/cpuinfo)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "squib: $SQUIB ($("$SQUIB" --version 2>&1 | head -1))"
	echo "qemu: $("$QEMU" --version 2>/dev/null | head -1)"
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
	if [ "${SQUIB_BENCH_LANE:-0}" = 1 ]; then
		echo "NOTE: running inside the nested lane (level 1 under QEMU TCG emulating AMD SVM)."
		echo "NOTE: lane numbers are EMULATED: they are NOT performance numbers; only hardware KVM gives those."
		echo "NOTE: level 1 has one (emulated) CPU; its clock may tick in 4 ms steps (clocksource jiffies)."
	fi
}

# kvm_usable: 0 if /dev/kvm can be opened (and is not kvm_pvm, which cannot run these guests fast
# or at all: see docs/decisions.md).
kvm_usable() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	[ -d /sys/module/kvm_pvm ] && return 1
	return 0
}

# skip_no_kvm SCRIPT: print one line and exit 0 when there is no usable /dev/kvm.
skip_no_kvm() {
	kvm_usable && return 0
	echo "SKIP: $1 needs a usable /dev/kvm (absent here); on this host run it in the nested lane: bench/$1 --lane"
	exit 0
}

# median: of the numbers on stdin, one per line (lower median for an even count).
median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "nan"}'; }

# ratio A B: A/B with 2 decimals ("n/a" if either is missing or B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || a == "nan" || b == "nan" || b + 0 == 0) print "n/a"; else printf "%.3g\n", a / b}'; }

# kv KEY: the value of KEY=... on stdin (last occurrence).
kv() { tr ' ' '\n' | sed -n "s/^$1=//p" | tail -1; }

# lane_reexec SCRIPT ARGS...: run bench/SCRIPT inside the nested lane with everything it needs.
lane_reexec() {
	script=$1; shift
	need "$SQUIB" "$APILAT" "$BENCHCTL" "$GUEST_ELF"
	echo "running bench/$script inside the nested lane (tools/lane/run.sh --with-qemu); EMULATED numbers follow"
	printf 'sh /lane/add/bench/%s %s\n' "$script" "$*" |
		"$ROOT/tools/lane/run.sh" --timeout "${LANE_TIMEOUT:-1800}" --mem "${LANE_MEM:-3072}" \
			--with-qemu --squib "$SQUIB" \
			--add "$APILAT" --add "$BENCHCTL" --add "$GUEST_ELF" \
			--add "$BENCH_DIR/common.sh:/lane/add/bench/common.sh" \
			--add "$BENCH_DIR/$script:/lane/add/bench/$script" \
			--env SQUIB_BENCH_LANE=1 --env ROOT=/lane/add --env BENCH_DIR=/lane/add/bench \
			--env BUILD=/lane/add --env APILAT=/lane/add/apilat --env BENCHCTL=/lane/add/benchctl \
			--env GUEST_ELF=/lane/add/squib-test-guest ${LANE_ENV:-} -
}
