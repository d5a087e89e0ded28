#!/bin/bash
# pmem2cp_test.sh PMEM2CP CASE -- one behaviour of pmem2cp per CASE (ctest
# runs each as its own test). Exit 0 pass, 77 skip, anything else fail.
set -uo pipefail
P=$1
CASE=$2
SHM=${PMEM2_TEST_DIR:-/dev/shm}
DISK=${PMEM2_TEST_DISK_DIR:-/var/tmp}
T=$(mktemp -d "$SHM/pmem2cp-test.XXXXXX")
TD=$(mktemp -d "$DISK/pmem2cp-test.XXXXXX")
trap 'chmod -R u+w "$T" "$TD" 2>/dev/null; rm -rf "$T" "$TD"' EXIT
unset PMEM2_FORCE_GRANULARITY

fail() { echo "FAIL [$CASE]: $*" >&2; exit 1; }
skip() { echo "SKIP [$CASE]: $*" >&2; exit 77; }

# gen FILE BYTES: pseudo-random content
gen() { head -c "$2" /dev/urandom >"$1" || fail "cannot generate $1"; }

# run EXPECTED_EXIT ARGS...: runs pmem2cp, keeps stdout/stderr in $T/out, $T/err
run() {
	local want=$1
	shift
	"$P" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
		fail "pmem2cp $* exited $rc, expected $want"
	fi
}

# err_is REGEX: stderr is exactly one line, matching REGEX
err_is() {
	[ "$(wc -l <"$T/err")" -le 2 ] || { cat "$T/err"; fail "more than one error line"; }
	grep -Eq "^pmem2cp: $1" "$T/err" || { cat "$T/err"; fail "message does not match '$1'"; }
}

summary_ok() {
	grep -Eq "^pmem2cp: $1 bytes \(.*\) in [0-9.]+ s, [0-9.]+ GB/s, granularity [a-z_]+, mover [a-z0-9:]+" \
		"$T/out" || { cat "$T/out"; fail "no summary line for $1 bytes"; }
}

roundtrip() {	# DIR SIZE ARGS...
	local d=$1 n=$2
	shift 2
	gen "$d/src" "$n"
	rm -f "$d/dst"
	run 0 "$@" "$d/src" "$d/dst"
	cmp "$d/src" "$d/dst" || fail "DST differs from SRC ($n bytes, $*)"
	summary_ok "$n"
}

case $CASE in
shm)
	roundtrip "$T" $((5 * 1048576 + 123))
	roundtrip "$T" 1
	roundtrip "$T" 4096 --chunk 1k --depth 3
	;;
disk)
	roundtrip "$TD" $((5 * 1048576 + 4095)) --verify
	grep -q "granularity page" "$T/out" || fail "disk file not page granularity"
	grep -q "verified" "$T/out" || fail "no 'verified' in the summary"
	;;
stdin)
	gen "$T/src" $((3 * 1048576 + 77))
	"$P" - "$T/dst" <"$T/src" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "stdin copy"; }
	cmp "$T/src" "$T/dst" || fail "stdin copy differs"
	summary_ok $((3 * 1048576 + 77))
	# a pipe, growing DST window by window, with a size ending on a window
	# boundary and one that doesn't, and --verify against the stream's hash
	# a regular file that claims size 0 (procfs) is read to its end
	"$P" /proc/version "$T/dst" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "/proc/version"; }
	cmp /proc/version "$T/dst" || fail "/proc/version copy differs"
	for n in $((4 * 1048576)) $((5 * 1048576 + 1)) 0; do
		gen "$T/src" $n
		rm -f "$T/dst"
		cat "$T/src" | PMEM2CP_STREAM_WINDOW=1048576 "$P" --verify --chunk 300k - "$T/dst" \
			>"$T/out" 2>"$T/err" || { cat "$T/err"; fail "pipe copy of $n bytes"; }
		cmp "$T/src" "$T/dst" || fail "pipe copy of $n bytes differs"
		grep -q verified "$T/out" || fail "pipe copy not verified"
	done
	;;
verify)
	roundtrip "$T" $((2 * 1048576 + 5)) --verify
	grep -q ", verified" "$T/out" || fail "summary lacks 'verified'"
	# a stream read in chunks that are not multiples of 8 hashes the same
	gen "$T/src" 4096
	for c in 100 7 1 4097 300k; do
		rm -f "$T/dst"
		head -c 4096 "$T/src" | run 0 --chunk $c --verify - "$T/dst"
		cmp "$T/src" "$T/dst" || fail "stream copy with --chunk $c differs"
		grep -q ", verified" "$T/out" || fail "stream --chunk $c not verified"
	done
	;;
movers)
	for m in default sync threads threads:1 threads:3; do
		for d in 1 4 16; do
			roundtrip "$T" $((3 * 1048576 + 999)) --mover "$m" --depth $d --chunk 256k
			grep -q "mover $m," "$T/out" || fail "summary does not name mover $m"
		done
	done
	gen "$T/src" $((2 * 1048576 + 3))
	for m in default sync threads:2; do
		rm -f "$T/dst"
		"$P" --mover $m --chunk 64k - "$T/dst" <"$T/src" >"$T/out" 2>&1 ||
			fail "stdin with mover $m"
		cmp "$T/src" "$T/dst" || fail "stdin with mover $m differs"
	done
	;;
granularity)
	gen "$T/src" 100000
	# /dev/shm offers PAGE only (unless the platform has eADR)
	run 6 --granularity cache_line "$T/src" "$T/dst" || true
	err_is "granularity cache_line not available for '$T/dst': .+"
	[ ! -e "$T/dst" ] || fail "DST left behind after a granularity error"
	run 6 --granularity byte "$T/src" "$T/dst"
	err_is "granularity byte not available"
	for g in cache_line byte; do
		rm -f "$T/dst"
		PMEM2_FORCE_GRANULARITY=$g run 0 --granularity $g "$T/src" "$T/dst"
		cmp "$T/src" "$T/dst" || fail "forced $g copy differs"
		grep -q "granularity $g," "$T/out" || fail "summary does not say $g"
	done
	;;
missing_src)
	run 3 "$T/nonexistent" "$T/dst"
	err_is "cannot open '$T/nonexistent': No such file or directory$"
	[ ! -e "$T/dst" ] || fail "DST created for a missing SRC"
	mkdir "$T/adir"
	run 3 "$T/adir" "$T/dst"
	err_is "'$T/adir' is a directory$"
	[ ! -e "$T/dst" ] || fail "DST created for a directory SRC"
	;;
dst_not_writable)
	gen "$T/src" 5000
	run 4 "$T/src" "$T/no/such/dir/dst"
	err_is "cannot open '$T/no/such/dir/dst' for writing: No such file or directory$"
	mkdir "$T/adir"
	run 4 "$T/src" "$T/adir"
	err_is "cannot write '$T/adir': Is a directory$"
	run 4 "$T/src" "$T/newdir/"
	err_is "cannot write '$T/newdir/': Is a directory$"
	run 4 "$T/src" ""
	err_is "cannot open '' for writing: No such file or directory$"
	[ "$(ls -A "$T" | grep -v -x -e out -e err)" = "adir
src" ] || { ls -A "$T"; fail "something was created"; }
	run 4 "$T/src" "$T/src"
	err_is "'$T/src' and '$T/src' are the same file$"
	# a read-only file in a read-only directory, as a user without privileges
	mkdir "$T/ro" && touch "$T/ro/dst" && chmod 0444 "$T/ro/dst" && chmod 0555 "$T/ro"
	chmod 0755 "$T" && chmod 0644 "$T/src"
	if [ "$(id -u)" = 0 ]; then
		command -v setpriv >/dev/null || skip "root and no setpriv"
		as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	else
		as_user() { "$@"; }
	fi
	as_user "$P" "$T/src" "$T/ro/dst" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 126 ] || [ $rc -eq 127 ]; then
		skip "cannot run pmem2cp as an unprivileged user here"
	fi
	[ $rc -eq 4 ] || { cat "$T/err"; fail "read-only DST: exit $rc, expected 4"; }
	err_is "cannot open '$T/ro/dst' for writing: Permission denied$"
	as_user "$P" "$T/src" "$T/ro/new" >"$T/out" 2>"$T/err"
	[ $? -eq 4 ] || fail "DST in a read-only directory"
	err_is "cannot open '$T/ro/new' for writing: Permission denied$"
	# a DST we may write, in a directory we may not: the message names
	# the directory (where the replacement must go), not DST
	chmod 0755 "$T/ro" && chmod 0666 "$T/ro/dst" && chmod 0555 "$T/ro"
	as_user "$P" "$T/src" "$T/ro/dst" >"$T/out" 2>"$T/err"
	[ $? -eq 4 ] || { cat "$T/err"; fail "writable DST in a read-only directory"; }
	err_is "cannot replace '$T/ro/dst': cannot create a file in its directory '$T/ro' \(--in-place writes into DST instead\): Permission denied$"
	[ ! -s "$T/ro/dst" ] || fail "DST changed"
	# another user's writable DST in a sticky directory cannot be renamed
	# over: refused before the copy (it failed after it, exit 1), DST kept
	mkdir "$T/sticky" && chmod 1777 "$T/sticky" && echo old >"$T/sticky/dst" &&
		chmod 0666 "$T/sticky/dst"
	as_user "$P" "$T/src" "$T/sticky/dst" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 4 ] || { cat "$T/err"; fail "sticky directory: exit $rc, expected 4"; }
	err_is "cannot replace '$T/sticky/dst': it belongs to another user in the sticky directory '$T/sticky' \(--in-place writes into DST instead\): Operation not permitted$"
	[ "$(cat "$T/sticky/dst")" = old ] || fail "sticky directory: DST changed"
	[ "$(ls -A "$T/sticky")" = dst ] || fail "sticky directory: something left behind"
	as_user "$P" -q --in-place "$T/src" "$T/sticky/dst" || fail "sticky directory: --in-place"
	cmp -s "$T/src" "$T/sticky/dst" || fail "sticky directory: --in-place copy differs"
	;;
no_space)
	gen "$T/src" $((4 * 1048576))
	# a file size limit (ulimit -f, in KiB) stands in for a full file system
	( ulimit -f 1024; exec "$P" "$T/src" "$T/dst" ) >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 5 ] || { cat "$T/err"; fail "size limit: exit $rc, expected 5"; }
	err_is "not enough space for '$T/dst': 4194304 bytes needed: File too large$"
	[ ! -e "$T/dst" ] || fail "a short DST was left behind"
	[ ! -s "$T/out" ] || fail "a summary was printed for a failed copy"
	# a limit SRC fits under, though not rounded up to a page: no refusal
	# ("1049600 bytes needed: File too large" under a 1050624-byte limit)
	gen "$T/src2" $((1025 * 1024))
	( ulimit -f 1026; exec "$P" -q "$T/src2" "$T/dst" ) 2>"$T/err" ||
		{ cat "$T/err"; fail "a SRC within the size limit was refused"; }
	cmp -s "$T/src2" "$T/dst" || fail "copy within the size limit differs"
	rm -f "$T/dst" "$T/src2"
	# from a pipe: fails when DST must grow past the limit
	( ulimit -f 2048; cat "$T/src" | PMEM2CP_STREAM_WINDOW=1048576 "$P" - "$T/dst" ) \
		>"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 5 ] || { cat "$T/err"; fail "pipe over the size limit: exit $rc, expected 5"; }
	err_is "not enough space for '$T/dst': full after [0-9]+ bytes: File too large$"
	[ ! -e "$T/dst" ] || fail "a short DST was left behind (pipe)"
	# a real full file system, where mounting one is allowed
	if unshare -m true 2>/dev/null; then
		unshare -m bash -c "mount -t tmpfs -o size=1m none '$T' 2>/dev/null || exit 77
			head -c 2000000 /dev/urandom >'$TD/big'
			'$P' '$TD/big' '$T/dst'; rc=\$?
			[ -e '$T/dst' ] && exit 99
			[ \$rc = 5 ] || exit \$rc
			# from a pipe: too much for the file system, then just enough
			cat '$TD/big' | '$P' - '$T/dst'; rc=\$?
			[ -e '$T/dst' ] && exit 98
			[ \$rc = 5 ] || exit \$rc
			head -c 700000 '$TD/big' >'$TD/small'
			cat '$TD/small' | '$P' -q - '$T/dst' || exit 97
			cmp '$TD/small' '$T/dst' || exit 96
			# an existing DST is left as it was, neither grown nor cut
			'$P' '$TD/big' '$T/dst'; rc=\$?
			[ \$rc = 5 ] || exit \$rc
			cmp '$TD/small' '$T/dst' || exit 95
			[ \$(ls -A '$T' | wc -l) = 1 ] || exit 94
			exit 0" >"$T/out" 2>"$T/err2"
		rc=$?
		if [ $rc -eq 77 ]; then
			echo "note: cannot mount a tmpfs here; no full file system tested"
		else
			echo "full 1 MiB tmpfs: refused 2 MB (file and pipe), took 700 kB from a pipe"
			[ $rc -eq 0 ] || { cat "$T/err2"; fail "full tmpfs: exit $rc"; }
			[ "$(grep -c "No space left on device" "$T/err2")" = 3 ] ||
				{ cat "$T/err2"; fail "full tmpfs messages"; }
		fi
	fi
	;;
bad_option)
	gen "$T/src" 10
	run 2 --bogus "$T/src" "$T/dst"; err_is "unknown option '--bogus'"
	run 2 -x "$T/src" "$T/dst"; err_is "unknown option '-x'"
	run 2 --mover warp "$T/src" "$T/dst"; err_is "unknown mover 'warp'"
	run 2 --mover threads:0 "$T/src" "$T/dst"; err_is "bad thread count"
	run 2 --mover threads:x "$T/src" "$T/dst"; err_is "bad thread count"
	run 2 --depth 0 "$T/src" "$T/dst"; err_is "bad --depth '0'"
	run 2 --depth 99999 "$T/src" "$T/dst"; err_is "bad --depth"
	run 2 --chunk 12X "$T/src" "$T/dst"; err_is "bad --chunk '12X'"
	run 2 --chunk 0 "$T/src" "$T/dst"; err_is "bad --chunk"
	run 2 --granularity huge "$T/src" "$T/dst"; err_is "unknown granularity 'huge'"
	run 2 --depth; err_is "option '--depth' needs an argument"
	run 2 "$T/src"; err_is "missing SRC or DST"
	run 2 "$T/src" "$T/dst" extra; err_is "too many arguments"
	run 2 --demo "$T/src"; err_is "--demo takes no SRC or DST"
	echo x | run 2 --depth 4096 --chunk 1G - "$T/dst"; err_is "--depth 4096 x --chunk"
	[ ! -e "$T/dst" ] || fail "DST created on a usage error"
	run 0 --help
	grep -q "Usage: pmem2cp" "$T/out" || fail "--help"
	run 0 --chunk 2MiB --depth 2 "$T/src" "$T/dst"
	;;
sizes)
	# an empty SRC gives an empty DST; a longer DST is cut to SRC's size
	: >"$T/empty"
	run 0 "$T/empty" "$T/dst"
	[ -f "$T/dst" ] && [ ! -s "$T/dst" ] || fail "empty copy"
	gen "$T/dst" 300000
	gen "$T/src" 1000
	run 0 "$T/src" "$T/dst"
	cmp "$T/src" "$T/dst" || fail "a longer DST was not cut to SRC"
	run 0 -q "$T/src" "$T/dst2"
	[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "-q printed something"
	;;
progress)
	gen "$T/src" $((8 * 1048576))
	# not a terminal: no progress bar
	run 0 "$T/src" "$T/dst"
	[ ! -s "$T/err" ] || fail "output on stderr when it is not a terminal"
	command -v script >/dev/null || skip "no script(1) for a terminal"
	rm -f "$T/dst"
	script -qec "'$P' --chunk 64k --depth 1 '$T/src' '$T/dst'" /dev/null >"$T/tty" 2>&1 ||
		{ cat "$T/tty"; fail "copy on a terminal"; }
	cmp "$T/src" "$T/dst" || fail "copy on a terminal differs"
	grep -q "pmem2cp: 8388608 bytes" "$T/tty" || fail "no summary on the terminal"
	# the bar: empty at the start, full at the end, with bytes, rate and time left
	grep -aq '\[------------------------\] 0 B / 8.0 MiB' "$T/tty" || { cat -v "$T/tty"; fail "no empty bar"; }
	grep -aEq '\[########################\] 8.0 MiB / 8.0 MiB  [0-9.]+ GB/s  0:00 left' "$T/tty" ||
		{ cat -v "$T/tty"; fail "no full bar"; }
	;;
demo)
	TMPDIR=$T run 0 --demo
	grep -q "pmem2cp --demo: durable copy of a generated 256 MiB file" "$T/out" || fail "demo banner"
	summary_ok 268435456
	grep -q "verified, both files removed" "$T/out" || fail "demo end"
	[ -z "$(ls "$T" | grep pmem2cp-demo)" ] || fail "demo left files behind"
	# names planted in TMPDIR (here at the names a pid would give) are
	# never followed: the victim stays as it was
	echo victim >"$T/victim"
	TMPDIR=$T bash -c 'ln -s "$1/victim" "$1/pmem2cp-demo-$$.dst"
		ln -s "$1/victim" "$1/pmem2cp-demo.dst"; exec "$2" -q --demo' _ "$T" "$P" \
		>"$T/out" 2>"$T/err" || { cat "$T/err"; fail "demo with planted links"; }
	[ "$(cat "$T/victim")" = victim ] || fail "demo wrote through a planted symbolic link"
	;;
atomic)
	# DST is replaced only by a complete, durable copy: an interruption
	# or a failure leaves an existing DST as it was and creates none
	gen "$TD/old" 5000
	gen "$TD/src" $((3 * 1048576))
	for tmp in tmpfile named; do
		[ $tmp = named ] && export PMEM2CP_NO_TMPFILE=1
		sigs="KILL TERM INT" launch=(env --default-signal=INT)
		env --default-signal=INT true 2>/dev/null || { sigs="KILL TERM" launch=(env)
			echo "note: env cannot reset SIGINT; SIGINT not tried"; }
		for sig in $sigs; do
			for existing in 1 0; do
				rm -f "$TD/dst"
				[ $existing = 1 ] && cp "$TD/old" "$TD/dst"
				# a stream that stalls after 1 MiB: killed mid-copy
				mkfifo "$TD/fifo"
				# (a script's background job starts with SIGINT ignored)
				"${launch[@]}" "$P" --chunk 64k - "$TD/dst" \
					<"$TD/fifo" >"$T/out" 2>"$T/err" &
				pid=$!
				exec 3>"$TD/fifo"
				head -c 1048576 "$TD/src" >&3
				sleep 0.3
				kill -s $sig $pid
				sleep 0.1
				exec 3>&-
				wait $pid
				rc=$?
				rm -f "$TD/fifo"
				[ $rc -gt 128 ] || { cat "$T/err"; fail "SIG$sig ($tmp): exit $rc, not killed"; }
				if [ $existing = 1 ]; then
					cmp -s "$TD/old" "$TD/dst" || fail "SIG$sig ($tmp) damaged the existing DST"
				else
					[ ! -e "$TD/dst" ] || fail "SIG$sig ($tmp) left a DST of $(stat -c %s "$TD/dst") bytes"
				fi
				left=$(ls -A "$TD" | grep -v -x -e old -e src -e dst)
				if [ $tmp = named ] && [ $sig = KILL ]; then
					# SIGKILL cannot be caught: a named temporary stays, clearly named
					echo "$left" | grep -Eqx '\.dst\.pmem2cp-[a-z0-9]{6}' ||
						fail "SIGKILL (named): left '$left'"
					rm -f "$TD"/.dst.pmem2cp-*
				else
					[ -z "$left" ] || fail "SIG$sig ($tmp) left '$left' behind"
				fi
			done
		done
		unset PMEM2CP_NO_TMPFILE
	done
	# a failed stream (file size limit) does not overwrite DST with a prefix
	cp "$TD/old" "$TD/dst"
	( ulimit -f 2048; cat "$TD/src" | PMEM2CP_STREAM_WINDOW=1048576 "$P" - "$TD/dst" ) \
		>"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 5 ] || { cat "$T/err"; fail "pipe over the size limit: exit $rc, expected 5"; }
	cmp -s "$TD/old" "$TD/dst" || fail "a failed stream copy damaged DST"
	# nor does an unavailable granularity, nor a failed sync
	run 6 --granularity byte "$TD/src" "$TD/dst"
	cmp -s "$TD/old" "$TD/dst" || fail "a granularity error damaged DST"
	PMEM2_ASYNC_TEST_SYNC_ERRNO=5 run 1 "$TD/src" "$TD/dst"
	cmp -s "$TD/old" "$TD/dst" || fail "a failed sync damaged DST"
	[ "$(ls -A "$TD" | wc -l)" = 3 ] || { ls -A "$TD"; fail "a temporary was left behind"; }
	# the new DST keeps the old one's mode; a new one gets 0644 under umask 022
	chmod 0604 "$TD/dst"
	run 0 "$TD/src" "$TD/dst"
	cmp "$TD/src" "$TD/dst" || fail "copy over an existing DST differs"
	[ "$(stat -c %a "$TD/dst")" = 604 ] || fail "mode not kept: $(stat -c %a "$TD/dst")"
	rm -f "$TD/dst"
	( umask 022; exec "$P" "$TD/old" "$TD/dst" ) >/dev/null || fail "new DST"
	[ "$(stat -c %a "$TD/dst")" = 644 ] || fail "new DST mode $(stat -c %a "$TD/dst")"
	# a symbolic link stays one; the file it names is replaced
	ln -s dst "$TD/link"
	run 0 "$TD/src" "$TD/link"
	[ -L "$TD/link" ] && cmp -s "$TD/src" "$TD/dst" || fail "copy through a symbolic link"
	rm -f "$TD/link"
	# --in-place writes DST itself (same inode), and still cuts it to size
	cp "$TD/old" "$TD/dst"
	ino=$(stat -c %i "$TD/dst")
	run 0 --in-place "$TD/src" "$TD/dst"
	cmp -s "$TD/src" "$TD/dst" || fail "--in-place copy differs"
	[ "$(stat -c %i "$TD/dst")" = "$ino" ] || fail "--in-place replaced the inode"
	ino=$(stat -c %i "$TD/dst")
	run 0 "$TD/old" "$TD/dst"
	[ "$(stat -c %i "$TD/dst")" != "$ino" ] || fail "the default did not replace DST"
	rm -f "$TD/dst"
	run 0 --in-place "$TD/old" "$TD/dst"
	cmp -s "$TD/old" "$TD/dst" || fail "--in-place into a new DST"
	# --in-place, interrupted: a DST it created goes again
	rm -f "$TD/dst"
	mkfifo "$TD/fifo"
	"$P" --in-place --chunk 64k - "$TD/dst" <"$TD/fifo" >"$T/out" 2>"$T/err" &
	pid=$!
	exec 3>"$TD/fifo"
	head -c 1048576 "$TD/src" >&3
	sleep 0.3
	kill -s TERM $pid
	sleep 0.1
	exec 3>&-
	wait $pid
	[ $? -gt 128 ] || fail "--in-place: not killed"
	rm -f "$TD/fifo"
	[ ! -e "$TD/dst" ] || fail "--in-place: an interrupted new DST was left"
	;;
concurrent)
	# two copies into one DST: both succeed and DST is one of them, whole
	gen "$TD/a" $((2 * 1048576 + 1))
	gen "$TD/b" $((3 * 1048576 + 7))
	for i in $(seq 10); do
		rm -f "$TD/dst"
		[ $((i % 2)) = 0 ] && cp "$TD/a" "$TD/dst"
		"$P" -q --chunk 64k "$TD/a" "$TD/dst" 2>"$T/err" & pa=$!
		"$P" -q --chunk 64k - "$TD/dst" <"$TD/b" 2>"$T/err2" & pb=$!
		wait $pa; ra=$?
		wait $pb; rb=$?
		[ $ra = 0 ] && [ $rb = 0 ] || { cat "$T/err" "$T/err2"; fail "round $i: exits $ra and $rb"; }
		cmp -s "$TD/a" "$TD/dst" || cmp -s "$TD/b" "$TD/dst" ||
			fail "round $i: DST equals neither copy"
	done
	[ "$(ls -A "$TD" | wc -l)" = 3 ] || { ls -A "$TD"; fail "temporaries left behind"; }
	;;
source_shrinks)
	# the source truncated mid-copy: a read error, not SIGBUS
	gen "$T/src" $((64 * 1048576))
	gen "$TD/old" 1000
	cp "$TD/old" "$TD/dst"
	# a named temporary (or, before issue 12, DST growing) shows when
	# SRC's size has been taken
	PMEM2CP_NO_TMPFILE=1 "$P" --depth 1 --chunk 4k "$T/src" "$TD/dst" >"$T/out" 2>"$T/err" &
	pid=$!
	for _ in $(seq 400); do
		ls -A "$TD" | grep -q '^\.dst\.pmem2cp-' && break
		[ "$(stat -c %s "$TD/dst")" = 1000 ] || break
		sleep 0.025
	done
	truncate -s 8192 "$T/src"
	wait $pid
	rc=$?
	[ $rc -ne 0 ] || fail "the copy ended before the source shrank: inconclusive"
	[ $rc -eq 1 ] || { cat "$T/err"; fail "source shrank: exit $rc, expected 1"; }
	err_is "reading '$T/src': it shrank during the copy \([0-9]+ of 67108864 bytes read\)$"
	cmp -s "$TD/old" "$TD/dst" || fail "DST damaged"
	[ "$(ls -A "$TD" | wc -l)" = 2 ] || { ls -A "$TD"; fail "the temporary was left"; }
	;;
stdin_offset)
	# standard input that is a regular file is copied from where it stands
	gen "$T/src" 100000
	exec 3<"$T/src"
	dd bs=1000 count=1 <&3 >/dev/null 2>&1 || fail "dd"
	"$P" - "$T/dst" <&3 >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "stdin at offset 1000"; }
	exec 3<&-
	tail -c +1001 "$T/src" >"$T/want"
	cmp "$T/want" "$T/dst" || fail "stdin not copied from its offset"
	summary_ok 99000
	# past its end: an empty copy
	exec 3<"$T/src"
	dd bs=100000 count=1 <&3 >/dev/null 2>&1 || fail "dd"
	"$P" -q - "$T/dst" <&3 || fail "stdin at its end"
	exec 3<&-
	[ -f "$T/dst" ] && [ ! -s "$T/dst" ] || fail "stdin at its end: DST not empty"
	;;
dir_sync)
	# a directory we may write but not read cannot be synced: say so,
	# before anything is written, rather than claim a durable DST
	gen "$T/src" 5000
	chmod 0755 "$T" && chmod 0644 "$T/src"
	mkdir "$T/wx" && echo old >"$T/wx/dst" && chmod 0666 "$T/wx/dst" && chmod 0333 "$T/wx"
	if [ "$(id -u)" = 0 ]; then
		command -v setpriv >/dev/null || skip "root and no setpriv"
		as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	else
		as_user() { "$@"; }
	fi
	for d in new dst; do
		as_user "$P" "$T/src" "$T/wx/$d" >"$T/out" 2>"$T/err"
		rc=$?
		if [ $rc -eq 126 ] || [ $rc -eq 127 ]; then
			skip "cannot run pmem2cp as an unprivileged user here"
		fi
		[ $rc -eq 4 ] || { cat "$T/err"; fail "unreadable directory ($d): exit $rc, expected 4"; }
		err_is "cannot open the directory '$T/wx', needed to make '$T/wx/$d' durable: Permission denied$"
	done
	chmod 0755 "$T/wx"
	[ ! -e "$T/wx/new" ] || fail "DST created in an unreadable directory"
	[ "$(cat "$T/wx/dst")" = old ] || fail "DST changed in an unreadable directory"
	# --in-place into an existing DST changes no name: no directory sync needed
	chmod 0333 "$T/wx"
	as_user "$P" -q --in-place "$T/src" "$T/wx/dst" 2>"$T/err" ||
		{ cat "$T/err"; fail "--in-place in an unreadable directory"; }
	chmod 0755 "$T/wx"
	cmp -s "$T/src" "$T/wx/dst" || fail "--in-place in an unreadable directory: differs"
	;;
error_cause)
	# a failed sync names its cause (errno text and libpmem2's message)
	gen "$TD/src" 300000
	PMEM2_ASYNC_TEST_SYNC_ERRNO=28 run 1 "$TD/src" "$TD/dst"
	err_is "copy into '$TD/dst' failed \(data not durable\): I/O error: .*No space left on device"
	[ ! -e "$TD/dst" ] || fail "DST left behind"
	PMEM2_ASYNC_TEST_SYNC_ERRNO=5 run 1 --mover threads:2 "$TD/src" "$TD/dst"
	err_is "copy into '$TD/dst' failed \(data not durable\): I/O error: .*Input/output error"
	;;
stream_windows)
	# streams grow DST window by window: sizes on, around and between
	# window and chunk boundaries, for several windows, chunks, depths and
	# movers, each copy byte-exact and verified against the stream's hash
	gen "$T/pool" $((3 * 65536 + 4099))
	n=0
	for w in 4096 12288 65536; do
		for c in 1000 4096 5001 65536; do
			for size in 0 1 4095 4096 4097 $((w - 1)) $w $((w + 1)) \
					$((2 * w + 3)) $((3 * w + 4099)); do
				head -c $size "$T/pool" >"$T/src"
				for mv in "default --depth 1" "threads:2 --depth 5"; do
					rm -f "$T/dst"
					cat "$T/src" | PMEM2CP_STREAM_WINDOW=$w "$P" -q --verify \
						--chunk $c --mover $mv - "$T/dst" 2>"$T/err" ||
						{ cat "$T/err"; fail "window $w chunk $c size $size mover $mv"; }
					cmp -s "$T/src" "$T/dst" ||
						fail "window $w chunk $c size $size mover $mv: differs"
					n=$((n + 1))
				done
			done
		done
	done
	echo "$n stream copies checked"
	;;
enospc_ext4)
	# ext4 keeps what a failed posix_fallocate did allocate: the old
	# in-place copy grew DST to fill the file system. Now DST stays as it
	# was, and the space goes back.
	[ "$(id -u)" = 0 ] || skip "needs root (mount -o loop)"
	command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4"
	truncate -s 16M "$TD/img" && mkfs.ext4 -q -F "$TD/img" >/dev/null 2>&1 ||
		skip "mkfs.ext4 failed"
	mkdir "$TD/fs"
	mount -o loop "$TD/img" "$TD/fs" 2>/dev/null || skip "cannot mount a loop device"
	trap 'umount "$TD/fs"; chmod -R u+w "$T" "$TD" 2>/dev/null; rm -rf "$T" "$TD"' EXIT
	gen "$TD/big" $((30 * 1048576))
	gen "$TD/fs/dst" 5000
	cp "$TD/fs/dst" "$TD/keep"
	free0=$(df --output=avail "$TD/fs" | tail -1)
	for args in "" "--mover threads:2"; do
		run 5 $args "$TD/big" "$TD/fs/dst"
		err_is "not enough space for '$TD/fs/dst': 31457280 bytes needed: No space left on device$"
		cmp -s "$TD/keep" "$TD/fs/dst" || fail "ENOSPC changed DST (now $(stat -c %s "$TD/fs/dst") bytes)"
		cat "$TD/big" | run 5 - "$TD/fs/dst"
		cmp -s "$TD/keep" "$TD/fs/dst" || fail "ENOSPC (pipe) changed DST"
	done
	[ "$(ls -A "$TD/fs" | grep -v lost+found)" = dst ] || { ls -A "$TD/fs"; fail "files left behind"; }
	free1=$(df --output=avail "$TD/fs" | tail -1)
	[ "$free1" -ge $((free0 - 64)) ] || fail "space not given back: $free0 KiB free before, $free1 after"
	# --in-place: refused up front, DST stays as it was and the space
	# comes back (posix_fallocate had grown it to fill the file system)
	run 5 --in-place "$TD/big" "$TD/fs/dst"
	err_is "not enough space for '$TD/fs/dst': 31457280 bytes needed: No space left on device$"
	cmp -s "$TD/keep" "$TD/fs/dst" || fail "--in-place: ENOSPC changed DST (now $(stat -c %s "$TD/fs/dst") bytes)"
	free1=$(df --output=avail "$TD/fs" | tail -1)
	[ "$free1" -ge $((free0 - 64)) ] || fail "--in-place: space not given back: $free0 KiB free before, $free1 after"
	# from a pipe it fails once part is written: what was written stays,
	# the space allocated and not written goes back
	head -c $((20 * 1048576)) "$TD/big" | PMEM2CP_STREAM_WINDOW=1048576 run 5 --in-place - "$TD/fs/dst"
	n=$(stat -c %s "$TD/fs/dst")
	cmp -s -n "$n" "$TD/big" "$TD/fs/dst" || fail "--in-place pipe: DST is not a prefix of the input"
	full=$(sed -n 's/.*full after \([0-9]*\) bytes.*/\1/p' "$T/err")
	[ "$n" = "$full" ] || fail "--in-place pipe: DST of $n bytes, but $full were written"
	;;
closed_stdio)
	# a closed stdout (or stdin) must not become DST's descriptor: the
	# summary was printed into an --in-place DST, after its sync, exit 0
	gen "$T/src" 300000
	for redir in ">&-" "<&- >&-" ">&- 2>&-"; do
		gen "$T/dst" 100
		eval '"$P" --in-place "$T/src" "$T/dst"' "$redir"
		rc=$?
		[ $rc -eq 0 ] || fail "--in-place with $redir: exit $rc"
		cmp -s "$T/src" "$T/dst" || fail "--in-place with $redir: DST differs from SRC"
		gen "$T/dst" 100
		eval '"$P" --in-place - "$T/dst" <"$T/src"' "${redir#<&- }"
		cmp -s "$T/src" "$T/dst" || fail "--in-place from stdin with ${redir#<&- }: DST differs"
		rm -f "$T/dst"
		eval '"$P" "$T/src" "$T/dst"' "$redir" || fail "new DST with $redir"
		cmp -s "$T/src" "$T/dst" || fail "new DST with $redir: differs"
	done
	# a closed standard input is no empty stream: DST stays as it was
	echo old >"$T/dst"
	"$P" - "$T/dst" <&- >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 3 ] || { cat "$T/err"; fail "closed stdin: exit $rc, expected 3"; }
	err_is "cannot stat 'standard input': Bad file descriptor$"
	[ "$(cat "$T/dst")" = old ] || fail "closed stdin changed DST"
	;;
dir_renamed)
	# DST's directory renamed during the copy, then a signal: the cleanup
	# finds its file through the directory it opened, not by the old path
	# (which left the temporary behind, and with --in-place deleted a file
	# someone else had since put at that path)
	gen "$TD/src" $((3 * 1048576))
	launch=(env --default-signal=INT)
	env --default-signal=INT true 2>/dev/null || launch=(env)
	for mode in named in-place; do
		rm -rf "$TD/d" "$TD/d2"
		mkdir "$TD/d"
		args=(--chunk 64k)
		if [ $mode = named ]; then
			echo old >"$TD/d/dst"
			export PMEM2CP_NO_TMPFILE=1
		else
			args+=(--in-place)
		fi
		mkfifo "$TD/fifo"
		"${launch[@]}" "$P" "${args[@]}" - "$TD/d/dst" <"$TD/fifo" >"$T/out" 2>"$T/err" &
		pid=$!
		exec 3>"$TD/fifo"
		head -c 1048576 "$TD/src" >&3
		sleep 0.3
		mv "$TD/d" "$TD/d2"
		mkdir "$TD/d"
		echo precious >"$TD/d/dst"
		kill -s TERM $pid
		sleep 0.1
		exec 3>&-
		wait $pid
		rc=$?
		rm -f "$TD/fifo"
		unset PMEM2CP_NO_TMPFILE
		[ $rc -gt 128 ] || { cat "$T/err"; fail "$mode: exit $rc, not killed"; }
		[ "$(cat "$TD/d/dst" 2>/dev/null)" = precious ] ||
			fail "$mode: a file at DST's old path was removed"
		if [ $mode = named ]; then
			[ "$(ls -A "$TD/d2")" = dst ] || { ls -A "$TD/d2"; fail "named: temporary left behind"; }
			[ "$(cat "$TD/d2/dst")" = old ] || fail "named: DST changed"
		else
			[ -z "$(ls -A "$TD/d2")" ] || { ls -A "$TD/d2"; fail "in-place: the new DST was left"; }
		fi
	done
	;;
*)
	fail "unknown case"
	;;
esac
echo "pass [$CASE]"
