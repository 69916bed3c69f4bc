#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Crash test for PUT /snapshot/create, run inside the lane's level 1 (tests/crash/run.sh):
# squib is killed with SIGKILL at a random point while it writes a snapshot over an existing
# pair; a new squib then loads whatever pair is at the destination. The pair must load and run
# to the right digest, from the progress point of the snapshot it belongs to (old or new), or
# be refused as a pair mismatch (killed between the renames of the commit; the previous
# files are then under the temp names and are put back and run, as an operator would);
# it must never run a state file on the wrong memory.
# Each trial boots a fresh VM to a (timing-dependent) progress point, so old and new pairs
# differ; the restored run must start right after the progress point of the pair it loaded. Env: CRASH_TRIALS (200), CRASH_SECS (time budget, 180).
# Prints `CRASH trial <i> delay_us=<d> outcome=<old|new|torn|BAD...> ...` and a summary
# `CRASH summary trials=<n> old=<a> new=<b> torn=<c> torn_recovered=<r> rolled_back_at_load=<l>
# bad=<d> ...` (old/new count loads that ran right; l of them were rolled back by the load).
W=/tmp/crash
TG=${TEST_GUEST:-$LANE_ADD/squib-test-guest}
ROUNDS=24
CARGS="squib.scenario=digest mib=2 rounds=$ROUNDS round_ms=30 pct=50"
TRIALS=${CRASH_TRIALS:-200}
SECS=${CRASH_SECS:-180}
now() { cut -d' ' -f1 /proc/uptime; }
api() { # sock method path body -> "<code> <body>"
	o=$(curl -s -m 60 --unix-socket "$1" -X "$2" -H 'Content-Type: application/json' \
		-w ' %{http_code}' -d "$4" "http://localhost$3" 2>/dev/null)
	echo "${o##* } ${o% *}"
}
start_squib() { # name
	rm -f "$W/$1.sock"
	"$SQUIB" --api-sock "$W/$1.sock" > "$W/$1.out" 2> "$W/$1.err" < /dev/null &
	echo $! > "$W/$1.pid"
	i=0
	while [ ! -S "$W/$1.sock" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
}
pid() { cat "$W/$1.pid"; }
kill9() { kill -9 "$(pid "$1")" 2>/dev/null; wait "$(pid "$1")" 2>/dev/null; }
nprog() { grep -c '^PROGRESS' "$W/$1.out" 2>/dev/null; }
lastprog() { sed -n 's/^PROGRESS //p' "$W/$1.out" | tail -1; }
wait_prog() {
	i=0
	while [ "$(nprog "$1")" -lt "$2" ] && [ $i -lt 300 ] && kill -0 "$(pid "$1")" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
}
wait_exit() {
	i=0
	while kill -0 "$(pid "$1")" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	kill9 "$1"
}
digest() { sed -n 's/^DIGEST //p' "$W/$1.out" | tail -1; }
create() { api "$W/$1.sock" PUT /snapshot/create "{\"snapshot_path\": \"$2\", \"mem_file_path\": \"$3\"}"; }
load() { # name state mem resume
	api "$W/$1.sock" PUT /snapshot/load \
		"{\"snapshot_path\": \"$2\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$3\"}, \"resume_vm\": $4}"
}
# Did Y continue exactly where the snapshot taken from X stopped? The serial output of X (up to
# the pause, possibly ending inside a line) followed by Y's must equal the uninterrupted run's
# output after X's last complete PROGRESS line.
guestout() { grep -v '^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T' "$1"; } # drop squib log lines
cont_ok() { # xout yout -> yes/no
	n=$(wc -l < "$1") # complete lines, from the file itself: grep would end a partial one
	k=$(head -n "$n" "$1" | sed -n 's/^PROGRESS //p' | tail -1)
	p=""
	[ -z "$(tail -c1 "$1")" ] || p=$(tail -n1 "$1")
	if [ -n "$k" ]; then pat="^PROGRESS $k\$"; else pat='^CMDLINE'; fi
	guestout "$W/ref.out" | sed -n "/$pat/,\$p" | tail -n +2 > "$W/exp.txt"
	{ printf '%s' "$p"; guestout "$2"; } > "$W/act.txt"
	cmp -s "$W/exp.txt" "$W/act.txt" && echo yes || echo no
}
# After a kill between the renames of the commit, a previous file that was exchanged away sits
# under the temp name and is older than what replaced it (a temp file never committed is newer
# than the destination): put those back. (The pair id sibling alone cannot tell: it is not
# bound to the memory file's content.)
recover() {
	for f in "$D.mem.pairid" "$D.mem"; do
		[ -f "$f.tmp" ] && [ "$f.tmp" -ot "$f" ] && mv "$f.tmp" "$f"
	done
}
sum() { md5sum "$1" 2>/dev/null | cut -d' ' -f1; }
rnd() { # 0..$1-1 from /dev/urandom
	echo $(($(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % $1))
}

rm -rf "$W"
mkdir -p "$W"
mount -t tmpfs -o size=320m tmpfs "$W"
t0=$(now)
# uninterrupted reference
cat > "$W/ref.json" <<J
{"boot-source": {"kernel_image_path": "$TG", "boot_args": "$CARGS"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 40}}
J
timeout -s KILL 60 "$SQUIB" --no-api --config-file "$W/ref.json" > "$W/ref.out" 2> "$W/ref.err" < /dev/null
REF=$(digest ref)
echo "CRASH ref digest=$REF"
boot_x() { # boot a fresh X, run it to its first PROGRESS line(s), pause; echo its progress
	start_squib X
	api "$W/X.sock" PUT /boot-source "{\"kernel_image_path\": \"$TG\", \"boot_args\": \"$CARGS\"}" > /dev/null
	api "$W/X.sock" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 40}' > /dev/null
	api "$W/X.sock" PUT /actions '{"action_type": "InstanceStart"}' > /dev/null
	wait_prog X 1
	api "$W/X.sock" PATCH /vm '{"state": "Paused"}' > /dev/null
	lastprog X
}
# calibration: the first create over the destination runs to completion (timed)
D=$W/dst
dprog=$(boot_x)
c0=$(now)
r=$(create X "$D.state" "$D.mem")
c1=$(now)
kill9 X
CUS=$(awk -v a="$c1" -v b="$c0" 'BEGIN{printf "%d", (a-b)*1000000}')
echo "CRASH calibration create=$r us=$CUS progress=$dprog"
[ -n "$REF" ] && [ -n "$dprog" ] && [ "${r%% *}" = 204 ] || {
	echo "CRASH setup failed"
	cat "$W/X.out" "$W/ref.out"
	exit 1
}
cp "$W/X.out" "$W/dsrc.out"
cp "$W/X.out" "$W/good.out"
cp "$D.state" "$W/good.state"
cp "$D.mem" "$W/good.mem"
[ -f "$D.mem.pairid" ] && cp "$D.mem.pairid" "$W/good.mem.pairid"
old=0 new=0 torn=0 rec=0 bad=0 n=0 rb=0
MAXD=$((CUS * 13 / 10 + 1000))
while [ $n -lt "$TRIALS" ]; do
	if [ "$(awk -v a="$(now)" -v b="$t0" -v s="$SECS" 'BEGIN{print (a-b>s)}')" = 1 ]; then break; fi
	n=$((n + 1))
	before=$(sum "$D.state")
	xp=$(boot_x)
	d=$(rnd $MAXD)
	create X "$D.state" "$D.mem" > "$W/X.create" &
	cpid=$!
	usleep "$d"
	kill9 X
	wait $cpid 2>/dev/null
	changed=no
	[ "$before" = "$(sum "$D.state")" ] || changed=yes
	start_squib Y
	ly=$(load Y "$D.state" "$D.mem" true)
	desc=$("$SQUIB" --describe-snapshot "$D.state" 2>&1 | grep -o 'pair ok\|pair MISMATCH\|MISSING' | head -1)  # after the load: it rolls back a torn commit
	case "$ly" in
	204*)
		wait_exit Y
		[ $changed = yes ] && src="$W/X.out" || src="$W/dsrc.out"
		dg=$(digest Y)
		c=$(cont_ok "$src" "$W/Y.out")
		if [ "$dg" = "$REF" ] && [ "$c" = yes ] && [ "$desc" = "pair ok" ]; then
			if [ $changed = yes ]; then new=$((new + 1)); o=new; else old=$((old + 1)); o=old; fi
			grep -q 'rolled back an interrupted' "$W/Y.err" && { rb=$((rb + 1)); o="$o(rolled-back-at-load)"; }
			[ $changed = yes ] && cp "$W/X.out" "$W/dsrc.out"
		else
			bad=$((bad + 1))
			o="BAD(digest=$dg continues=$c describe=$desc)"
			echo "CRASH bad $n snapshot-side tail: $(tail -c 48 "$src" | od -An -c | tr -s ' \n' ' ')"
			echo "CRASH bad $n restored head: $(head -c 120 "$W/Y.out" | od -An -c | tr -s ' \n' ' ')"
			echo "CRASH bad $n expected head: $(head -c 60 "$W/exp.txt" | od -An -c | tr -s ' \n' ' ')"
			echo "CRASH bad $n cmp: $(cmp "$W/exp.txt" "$W/act.txt" 2>&1 | head -1) sizes $(wc -c < "$W/exp.txt") $(wc -c < "$W/act.txt")"
			echo "CRASH bad $n expected tail: $(tail -c 60 "$W/exp.txt" | od -An -c | tr -s ' \n' ' ')"
			echo "CRASH bad $n actual tail: $(tail -c 60 "$W/act.txt" | od -An -c | tr -s ' \n' ' ')"
			echo "CRASH bad $n Y.err: $(tail -c 300 "$W/Y.err" | tr '\n' '|')"
		fi
		;;
	*"pair id mismatch"*)
		kill9 Y
		torn=$((torn + 1))
		# killed inside the commit (renames): the previous files were exchanged to the temp
		# names; put them back and run them
		recover
		start_squib Y
		lr=$(load Y "$D.state" "$D.mem" true)
		wait_exit Y
		c=$(cont_ok "$W/dsrc.out" "$W/Y.out")
		if [ "${lr%% *}" = 204 ] && [ "$(digest Y)" = "$REF" ] && [ "$c" = yes ]; then
			o="torn(describe=$desc,old-pair-recovered-from-tmp)"
			rec=$((rec + 1))
		else
			o="torn(describe=$desc,not-recovered:load=${lr%% *},continues=$c)"
		fi
		;;
	*)
		kill9 Y
		bad=$((bad + 1))
		o="BAD(load=$ly describe=$desc)"
		;;
	esac
	case "$o" in new* | old* | *old-pair-recovered*) ;; *) # put a valid pair back for the next trial
		cp "$W/good.out" "$W/dsrc.out"
		cp "$W/good.state" "$D.state"
		cp "$W/good.mem" "$D.mem"
		[ -f "$W/good.mem.pairid" ] && cp "$W/good.mem.pairid" "$D.mem.pairid"
		;;
	esac
	echo "CRASH trial $n delay_us=$d x_progress=$xp changed=$changed outcome=$o create=$(cat "$W/X.create")"
done
# Window trials: strace delays the return of the N-th renameat2 of the commit (pair id
# sibling, memory, state) by 4 s and squib is killed inside that delay, so each point between
# the renames is hit for sure (random kills rarely land there).
ST=$LANE_ADD/strace
if [ -x "$ST" ] && [ "${CRASH_WINDOW:-1}" = 1 ]; then
	for N in 1 2 3 1 2 3; do
		n=$((n + 1))
		before=$(sum "$D.state")
		rm -f "$W/X.sock"
		"$ST" -f -o "$W/st.txt" -e trace=renameat2,rename -e inject=renameat2:delay_exit=4000000:when=$N \
			"$SQUIB" --api-sock "$W/X.sock" > "$W/X.out" 2> "$W/X.err" < /dev/null &
		stp=$!
		i=0
		while [ ! -S "$W/X.sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
		api "$W/X.sock" PUT /boot-source "{\"kernel_image_path\": \"$TG\", \"boot_args\": \"$CARGS\"}" > /dev/null
		api "$W/X.sock" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 40}' > /dev/null
		api "$W/X.sock" PUT /actions '{"action_type": "InstanceStart"}' > /dev/null
		i=0
		while [ "$(grep -c '^PROGRESS' "$W/X.out")" -lt 1 ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
		api "$W/X.sock" PATCH /vm '{"state": "Paused"}' > /dev/null
		create X "$D.state" "$D.mem" > "$W/X.create" &
		cpid=$!
		sleep $(awk -v u="$CUS" 'BEGIN{printf "%.2f", u/1000000*2 + 1.5}')
		kill -9 $(pidof squib) 2>/dev/null
		wait $cpid 2>/dev/null
		wait $stp 2>/dev/null
		nren=$(grep -c 'renameat2(' "$W/st.txt")
		changed=no
		[ "$before" = "$(sum "$D.state")" ] || changed=yes
		start_squib Y
		ly=$(load Y "$D.state" "$D.mem" true)
		desc=$("$SQUIB" --describe-snapshot "$D.state" 2>&1 | grep -o 'pair ok\|pair MISMATCH\|MISSING' | head -1)  # after the load: it rolls back a torn commit
		case "$ly" in
		204*)
			wait_exit Y
			[ $changed = yes ] && src="$W/X.out" || src="$W/dsrc.out"
			c=$(cont_ok "$src" "$W/Y.out")
			if [ "$(digest Y)" = "$REF" ] && [ "$c" = yes ] && [ "$desc" = "pair ok" ]; then
				if [ $changed = yes ]; then new=$((new + 1)); o=new; else old=$((old + 1)); o=old; fi
				grep -q 'rolled back an interrupted' "$W/Y.err" && { rb=$((rb + 1)); o="$o(rolled-back-at-load)"; }
				[ $changed = yes ] && cp "$W/X.out" "$W/dsrc.out"
			else
				bad=$((bad + 1))
				o="BAD(digest=$(digest Y) continues=$c describe=$desc)"
			fi
			;;
		*"pair id mismatch"*)
			kill9 Y
			torn=$((torn + 1))
			recover
			start_squib Y
			lr=$(load Y "$D.state" "$D.mem" true)
			wait_exit Y
			c=$(cont_ok "$W/dsrc.out" "$W/Y.out")
			if [ "${lr%% *}" = 204 ] && [ "$(digest Y)" = "$REF" ] && [ "$c" = yes ]; then
				o="torn(describe=$desc,old-pair-recovered-from-tmp)"
				rec=$((rec + 1))
			else
				o="torn(describe=$desc,not-recovered:load=${lr%% *},continues=$c)"
				cp "$W/good.out" "$W/dsrc.out"
				cp "$W/good.state" "$D.state"
				cp "$W/good.mem" "$D.mem"
				[ -f "$W/good.mem.pairid" ] && cp "$W/good.mem.pairid" "$D.mem.pairid"
			fi
			;;
		*)
			kill9 Y
			bad=$((bad + 1))
			o="BAD(load=$ly describe=$desc)"
			;;
		esac
		echo "CRASH window $n after_rename=$N renames_seen=$nren changed=$changed outcome=$o create=$(cat "$W/X.create")"
	done
fi
echo "CRASH summary trials=$n old=$old new=$new torn=$torn torn_recovered=$rec rolled_back_at_load=$rb bad=$bad max_delay_us=$MAXD secs=$(awk -v a="$(now)" -v b="$t0" 'BEGIN{print a-b}')"
umount "$W" 2>/dev/null
exit 0
