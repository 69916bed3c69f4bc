#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs tests/crash/snapshot_crash.sh in the nested lane (one level-1 boot) and checks its
# summary: exit 0 when every trial's destination pair either loaded and ran to the right digest
# from the right progress point, or was refused as a pair mismatch and the previous pair was
# recovered from the temp names; exit 1 otherwise.
# Usage: tests/crash/run.sh [TRIALS] [SECONDS]   (defaults 200 and 180; whichever ends first)
# Env: SQUIB_BIN (default build/squib; the test guest is taken from the same build directory).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${SQUIB_BIN:-$ROOT/build/squib}
case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac
TG=$(dirname "$BIN")/tests/guest/squib-test-guest
LOG=${CRASH_LOG:-/tmp/squib-snapshot-crash.log}
[ -x "$BIN" ] && [ -f "$TG" ] || { echo "need $BIN and $TG (build first)"; exit 2; }
ST=""
[ -x /usr/bin/strace ] && ST="--add /usr/bin/strace" # window trials (skipped without strace)
# shellcheck disable=SC2086
"$ROOT/tools/lane/run.sh" --squib "$BIN" --add "$TG" --add /usr/bin/curl:/usr/bin/curl $ST \
	--env "CRASH_TRIALS=${1:-200}" --env "CRASH_SECS=${2:-180}" --timeout $((${2:-180} + 200)) \
	"$ROOT/tests/crash/snapshot_crash.sh" > "$LOG" 2>&1
rc=$?
grep '^CRASH' "$LOG" | grep -v '^CRASH trial .*outcome=\(new\|old\) '
s=$(grep '^CRASH summary' "$LOG")
[ $rc = 0 ] && [ -n "$s" ] || { echo "lane failed (rc=$rc), console in $LOG"; exit 1; }
t=$(echo "$s" | sed 's/.*torn=\([0-9]*\).*/\1/')
r=$(echo "$s" | sed 's/.*torn_recovered=\([0-9]*\).*/\1/')
n=$(echo "$s" | sed 's/.*trials=\([0-9]*\).*/\1/')
case "$s" in *" bad=0 "*) [ "$t" = "$r" ] && [ "$n" -gt 0 ] && exit 0 ;; esac
echo "FAILED (console in $LOG)"
exit 1
