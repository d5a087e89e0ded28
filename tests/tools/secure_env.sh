#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The libraries read the environment through secure_getenv (src/common/env.h):
# in a set-group-ID program (AT_SECURE) PMEM_AVX512F, PMEM_AVX, PMEM_NO_CLWB,
# PMEM_NO_CLFLUSHOPT and PMEM2_MEMOPS_SHOW_VARIANT must change nothing, while
# in an ordinary run they do. Needs root (to make the program set-group-ID to
# another group) and a file system without nosuid; skips loudly otherwise.
# usage: secure_env.sh PROGRAM
set -u
prog=$1
skip() { echo "SKIP secure_env: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to make a set-group-ID program"
grp=$(getent group nogroup >/dev/null && echo nogroup || echo 65534)
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cp "$prog" "$dir/p" && chgrp "$grp" "$dir/p" && chmod 2755 "$dir/p" ||
	skip "cannot make $dir/p set-group-ID"
knobs="PMEM_AVX512F=0 PMEM_AVX=0 PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1 PMEM2_MEMOPS_SHOW_VARIANT=1"

base=$("$prog" 2>&1) || { echo "FAIL: $prog: $base" >&2; exit 1; }
steered=$(env $knobs "$prog" 2>&1)
secure=$(env $knobs "$dir/p" 2>&1)
case $secure in
secure=0*) skip "no AT_SECURE for a set-group-ID program here (nosuid?): $secure" ;;
esac
# the environment does steer an ordinary run (else the check below is void)
[ "$steered" != "$base" ] ||
	{ echo "FAIL: the knobs changed nothing in an ordinary run: $base" >&2; exit 1; }
want="secure=1 ${base#secure=0 }"
if [ "$secure" != "$want" ]; then
	echo "FAIL: set-group-ID run obeyed the environment:" >&2
	echo "  got:  $secure" >&2
	echo "  want: $want" >&2
	exit 1
fi
echo "secure_env: ignored in secure mode ($want); ordinary run: $steered" | head -1
