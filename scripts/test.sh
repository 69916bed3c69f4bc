#!/bin/bash
# squib's whole test suite: lint, unit+KVM tests (meson), the same unit tests under
# ASan+UBSan, libFuzzer targets, pytest integration and the Linux lane.
# Ends with "N passed, N failed, N skipped". Exit status 0 only if nothing failed.
set -u
cd "$(dirname "$0")/.."
RES=build/test-results
rm -rf "$RES"; mkdir -p "$RES"
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
stage() { echo; echo "=== $* ==="; }
record() { # name status(pass|fail|skip) [message]
	python3 scripts/summarize.py record "$RES" "$1" "$2" "${3:-}"
}

stage "lint"
./scripts/lint.sh > "$RES/lint.log" 2>&1 && record lint-format pass || { cat "$RES/lint.log"; record lint-format fail "see lint.log"; }
if grep -rl --include='*.[ch]' 'linux/kvm.h' src tests tools 2>/dev/null | grep -v '^src/hv/kvm/' ; then
	record lint-kvm-header-seam fail "linux/kvm.h included outside src/hv/kvm"
else
	record lint-kvm-header-seam pass
fi

stage "build + meson tests"
if { [ -f build/build.ninja ] || meson setup build >/dev/null; } && ninja -C build; then
	record build pass
	meson test -C build --print-errorlogs --num-processes 2 --no-rebuild; true
	[ -f build/meson-logs/testlog.junit.xml ] && cp build/meson-logs/testlog.junit.xml "$RES/meson.xml"
else
	record build fail "ninja -C build failed"
fi

stage "ASan+UBSan unit tests (clang)"
if { [ -f build-asan/build.ninja ] || CC=clang meson setup build-asan -Db_sanitize=address,undefined \
	-Db_lundef=false -Dguest=false >/dev/null; } && ninja -C build-asan; then
	record build-asan pass
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --suite unit --print-errorlogs --num-processes 2 --no-rebuild; true
	[ -f build-asan/meson-logs/testlog.junit.xml ] && cp build-asan/meson-logs/testlog.junit.xml "$RES/asan.xml"
else
	record build-asan fail "asan build failed"
fi

stage "libFuzzer targets (${FUZZ_SECONDS}s each)"
./scripts/fuzz.sh "$FUZZ_SECONDS" "$RES"

stage "pytest integration"
if ls tests/integration/test_*.py >/dev/null 2>&1; then
	/usr/bin/python3 -m pytest -p no:cacheprovider -q -rs --junitxml="$RES/pytest.xml" tests/integration
	rc=$?
	[ $rc -eq 5 ] && echo "pytest: no tests collected"
fi

python3 scripts/summarize.py total "$RES"
