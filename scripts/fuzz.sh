#!/bin/bash
# Build the libFuzzer targets with clang (ASan+UBSan) and run each for $1 seconds, two at once.
set -u
SECS=${1:-60}; RES=${2:-build/test-results}
cd "$(dirname "$0")/.."
if ! ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then exit 0; fi
if ! { [ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dguest=false \
	-Db_sanitize=address,undefined -Db_lundef=false >/dev/null; } || ! ninja -C build-fuzz >/dev/null; then
	python3 scripts/summarize.py record "$RES" fuzz-build fail "fuzz build failed"; exit 0
fi
run_one() {
	local t=$1 name; name=$(basename "$t")
	local corpus=build-fuzz/corpus-$name; mkdir -p "$corpus"
	local seeds=tests/fuzz/corpus/${name#fuzz_}
	[ -d "$seeds" ] || seeds=
	if "$t" -max_total_time="$SECS" -rss_limit_mb=2048 -print_final_stats=0 "$corpus" $seeds \
		> "$RES/$name.log" 2>&1; then
		python3 scripts/summarize.py record "$RES" "$name" pass
	else
		tail -40 "$RES/$name.log"
		python3 scripts/summarize.py record "$RES" "$name" fail "crash, see $name.log"
	fi
}
pids=()
for t in build-fuzz/tests/fuzz/fuzz_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	run_one "$t" & pids+=($!)
	if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
