#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# installed.sh BUILD_DIR SOURCE_DIR -- the installed tree, as its users meet
# it: `cmake --install` into a scratch prefix outside the system, then
#  - the versions reported there (pkg-config, CMake) pass upstream's checks;
#  - tests/tools/consumer is configured against that prefix and its three
#    programs (exported targets, upstream miniasync's MINIASYNC_* variables,
#    pkg-config asking libpmem2>=1.10) are built and run, loading our
#    libraries;
#  - the installed pmem2cp and pmem2bench run with no LD_LIBRARY_PATH and
#    load the prefix's libpmem2/libminiasync (the path is asserted), even
#    with Debian's libpmem2.so.1 installed in /usr/lib.
set -euo pipefail
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
W=$(mktemp -d /tmp/pmem2-installed.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset LD_LIBRARY_PATH LD_PRELOAD PKG_CONFIG_PATH PKG_CONFIG_LIBDIR
P=$W/prefix

cmake --install "$B" --prefix "$P" >/dev/null || fail "cmake --install"
LIBDIR=$(dirname "$(find "$P" -name libpmem2.so.1 | head -1)")
[ -e "$LIBDIR/libminiasync.so.0" ] || fail "no libminiasync.so.0 beside $LIBDIR/libpmem2.so.1"
if [ -e /usr/lib/x86_64-linux-gnu/libpmem2.so.1 ] || [ -e /usr/lib/libpmem2.so.1 ]; then
	echo "note: a system libpmem2.so.1 is installed: the checks below tell ours from it"
fi

# ---- versions ----
for f in "$LIBDIR/pkgconfig/libpmem2.pc:1.14.0" "$LIBDIR/pkgconfig/libminiasync.pc:0.2.1"; do
	grep -qx "Version: ${f##*:}" "${f%:*}" || fail "${f%:*}: not version ${f##*:}"
done
grep -q 'PACKAGE_VERSION "1.14.0"' "$LIBDIR/cmake/libpmem2/libpmem2ConfigVersion.cmake" ||
	fail "libpmem2ConfigVersion.cmake is not 1.14.0"
grep -q 'PACKAGE_VERSION "0.2.1"' "$LIBDIR/cmake/libminiasync/libminiasyncConfigVersion.cmake" ||
	fail "libminiasyncConfigVersion.cmake is not 0.2.1"
if command -v pkg-config >/dev/null; then
	export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
	pkg-config --exists 'libpmem2 >= 1.10' || fail "pkg-config: libpmem2 >= 1.10"
	pkg-config --exists 'libminiasync >= 0.2.1' || fail "pkg-config: libminiasync >= 0.2.1"
	[ "$(pkg-config --path libpmem2)" = "$LIBDIR/pkgconfig/libpmem2.pc" ] ||
		fail "pkg-config found another libpmem2.pc: $(pkg-config --path libpmem2)"
	# the .pc files are relocatable: their paths lead into P, not into
	# the configured CMAKE_INSTALL_PREFIX
	inc=$(pkg-config --variable=includedir libpmem2)
	[ "$(cd "$inc" && pwd -P)" = "$(cd "$P/include" && pwd -P)" ] ||
		fail "libpmem2.pc: includedir $inc is not $P/include"
	lib=$(pkg-config --variable=libdir libminiasync)
	[ "$(cd "$lib" && pwd -P)" = "$(cd "$LIBDIR" && pwd -P)" ] ||
		fail "libminiasync.pc: libdir $lib is not $LIBDIR"
	unset PKG_CONFIG_PATH
fi

# loads LIB (libpmem2 or libminiasync) from the prefix: ldd, then the
# loader itself (LD_DEBUG) on a run of the program; paths compared resolved
# ($ORIGIN gives PREFIX/bin/../lib/...)
from_prefix() {	# prog lib run-args...
	local prog=$1 lib=$2 want got
	shift 2
	want=$(realpath "$LIBDIR/$lib.so."[0-9])
	got=$(ldd "$prog" | awk -v l="$lib.so." 'index($1, l) == 1 { print $3 }')
	[ -n "$got" ] && [ "$(realpath "$got")" = "$want" ] ||
		fail "$prog: ldd resolves $lib to '$got', not $want"
	LD_DEBUG=libs "$prog" "$@" >/dev/null 2>"$W/lddebug" ||
		{ tail -20 "$W/lddebug" >&2; fail "$prog $* failed"; }
	got=$(sed -n "s/.*calling init: \(.*\/$lib\.so\.[0-9]\)\$/\1/p" "$W/lddebug" | head -1)
	[ -n "$got" ] && [ "$(realpath "$got")" = "$want" ] ||
		fail "$prog: the loader loaded $lib from '$got', not $want"
	echo "$(basename "$prog"): $lib loaded from $got"
}

# ---- installed programs: a run path to their own prefix ----
for bin in pmem2cp pmem2bench; do
	[ -x "$P/bin/$bin" ] || fail "$bin not installed"
	readelf -d "$P/bin/$bin" | grep -Eq '(RUNPATH|RPATH).*\$ORIGIN' ||
		fail "$bin: no \$ORIGIN run path: $(readelf -d "$P/bin/$bin" | grep -E 'RPATH|RUNPATH')"
	readelf -d "$P/bin/$bin" | grep -E 'RPATH|RUNPATH' | grep -q "$B" &&
		fail "$bin: the installed run path still names the build tree"
done
head -c 3000000 /dev/urandom >"$W/src"
from_prefix "$P/bin/pmem2cp" libpmem2 -q "$W/src" "$W/dst"
from_prefix "$P/bin/pmem2cp" libminiasync -q "$W/src" "$W/dst"
cmp "$W/src" "$W/dst" || fail "installed pmem2cp: copy differs"
from_prefix "$P/bin/pmem2bench" libpmem2 --list

# ---- consumer programs built against the prefix ----
pc=ON
command -v pkg-config >/dev/null || { pc=OFF; echo "note: no pkg-config: consumer_pc not built"; }
cmake -S "$S/tests/tools/consumer" -B "$W/cb" -DCMAKE_PREFIX_PATH="$P" \
	-DCONSUMER_PKGCONFIG=$pc >"$W/cb.log" 2>&1 || { cat "$W/cb.log"; fail "consumer: configure"; }
cmake --build "$W/cb" >"$W/cb.log" 2>&1 || { cat "$W/cb.log"; fail "consumer: build"; }
from_prefix "$W/cb/consumer" libpmem2 "/dev/shm/pmem2-installed-$$"
from_prefix "$W/cb/consumer_miniasync" libminiasync
[ $pc = OFF ] || from_prefix "$W/cb/consumer_pc" libpmem2 "/dev/shm/pmem2-installed-$$"
echo "installed tree: ok ($P)"
