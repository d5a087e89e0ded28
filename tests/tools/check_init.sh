#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Start-up order is written down in one place per library (src/pmem2/init.c,
# src/miniasync/init.c), not spread over constructor priorities: fails on
# any constructor priority in src/ but the one of each init.c (which puts
# the library's init before a statically linked program's own
# constructors, tests/tools/static_ctor.c), and on a constructor outside the
# library's init.c (the threads mover's thread-cache key, which depends on
# nothing, is the one exception).
# usage: check_init.sh SOURCE_DIR
set -u
src="$1/src"
[ -f "$src/pmem2/init.c" ] && [ -f "$src/miniasync/init.c" ] ||
	{ echo "check_init: no init.c in src/pmem2 or src/miniasync" >&2; exit 1; }
fail=0
prio=$(grep -rnE 'constructor[[:space:]]*\([[:space:]]*[0-9]' "$src" --include='*.c' --include='*.h' |
	grep -vE "^$src/(pmem2|miniasync)/init\.c:[0-9]+:__attribute__\(\(constructor\(101\)\)\) static void$")
if [ -n "$prio" ]; then
	echo "check_init: constructor priorities (call the step from init.c instead):" >&2
	echo "$prio" >&2
	fail=1
fi
other=$(grep -rnE '__attribute__[[:space:]]*\(\([[:space:]]*constructor' \
	"$src/pmem2" "$src/miniasync" "$src/common" --include='*.c' --include='*.h' |
	grep -vE "^$src/(pmem2|miniasync)/init\.c:|^$src/miniasync/data_mover_threads\.c:")
if [ -n "$other" ]; then
	echo "check_init: a constructor outside the library's init.c:" >&2
	echo "$other" >&2
	fail=1
fi
[ $fail -eq 0 ] && echo "check_init: one init per library, no constructor priorities"
exit $fail
