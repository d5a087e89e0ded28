#!/bin/bash
# Packaging check: build the three .deb packages, unpack them into a scratch
# root with dpkg -x, check their contents, build a consumer program against
# that root with pkg-config and run it; then check find_package(libpmem2) and
# find_package(libminiasync) from a consumer CMake project against a
# `cmake --install` prefix, and the man pages through man -M.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
B=$SRC/build-pkg
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
J=$(nproc)
fail() { echo "packaging: FAIL: $*" >&2; exit 1; }

echo "== build with prefix /usr and make the packages"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	-DPMEM2_BUILD_TESTS=OFF -DPMEM2_WERROR=ON >/dev/null
cmake --build "$B" -j"$J" >/dev/null
rm -f "$B"/*.deb
(cd "$B" && cpack -G DEB >/dev/null)
ls -l "$B"/*.deb
for p in pmem2async pmem2async-dev pmem2async-tools; do
	deb=$(ls "$B"/${p}_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || fail "no $p package"
	dpkg-deb --field "$deb" Package | grep -qx "$p" || fail "$deb: wrong Package field"
	dpkg-deb -x "$deb" "$W/root"
done
R=$W/root
dpkg-deb --field "$B"/pmem2async-dev_*.deb Depends | grep -q 'pmem2async (=' ||
	fail "-dev does not depend on the runtime package"

echo "== install with dpkg into a scratch root (dependencies not checked there)"
D=$W/dpkgroot
mkdir -p "$D/var/lib/dpkg/info" "$D/var/lib/dpkg/updates"
touch "$D/var/lib/dpkg/status"
dpkg --root="$D" --force-depends --force-script-chrootless -i "$B"/*.deb >/dev/null 2>&1 ||
	fail "dpkg -i of the packages"
for p in pmem2async pmem2async-dev pmem2async-tools; do
	dpkg --root="$D" -s "$p" | grep -q "^Status: install ok installed" || fail "$p not installed"
done

echo "== contents"
LIBDIR=$(dirname "$(find "$R/usr" -name 'libpmem2.so.1' | head -1)")
[ -d "$LIBDIR" ] || fail "libpmem2.so.1 not packaged"
for f in "$LIBDIR"/libpmem2.so.1 "$LIBDIR"/libminiasync.so.0 \
	"$LIBDIR"/libpmem2.so "$LIBDIR"/libminiasync.so \
	"$LIBDIR"/libpmem2.a "$LIBDIR"/libminiasync.a \
	"$LIBDIR"/pkgconfig/libpmem2.pc "$LIBDIR"/pkgconfig/libminiasync.pc \
	"$LIBDIR"/cmake/libpmem2/libpmem2Config.cmake \
	"$LIBDIR"/cmake/libminiasync/libminiasyncConfig.cmake \
	"$R"/usr/include/libpmem2.h "$R"/usr/include/libpmem2/async.h \
	"$R"/usr/include/libminiasync.h "$R"/usr/include/libminiasync/vdm.h \
	"$R"/usr/bin/pmem2cp "$R"/usr/bin/pmem2bench \
	"$R"/usr/share/man/man1/pmem2cp.1 "$R"/usr/share/man/man1/pmem2bench.1; do
	[ -e "$f" ] || fail "missing from the packages: ${f#"$R"}"
done
# the runtime package holds only the shared libraries
dpkg-deb -c "$B"/pmem2async_*.deb | awk '{print $6}' | grep -v '/$' |
	grep -Ev '/lib(pmem2\.so\.1|miniasync\.so\.0|pmem2rep\.so\.0)' && fail "runtime package holds more than the libraries"

echo "== consumer built with pkg-config against the unpacked packages"
# no PKG_CONFIG_SYSROOT_DIR: the .pc files find their prefix from their own
# place, so the unpacked /usr tree under \$R points at itself
export PKG_CONFIG_LIBDIR=$LIBDIR/pkgconfig
pkg-config --exists 'libpmem2 >= 1.10' 'libminiasync >= 0.2.1' ||
	fail "pkg-config: libpmem2 >= 1.10, libminiasync >= 0.2.1"
FLAGS=$(pkg-config --cflags --libs libpmem2 libminiasync)
echo "pkg-config: $FLAGS"
case " $FLAGS " in *" -I$R/"*) ;; *) fail "pkg-config -I does not lead into the unpacked root";; esac
cc -Wall -Werror tests/tools/consumer/consumer.c $FLAGS -o "$W/consumer-pc"
unset PKG_CONFIG_LIBDIR
LD_LIBRARY_PATH=$LIBDIR ldd "$W/consumer-pc" | grep -q "libpmem2.so.1 => $LIBDIR" ||
	fail "consumer does not load the packaged libpmem2"
LD_LIBRARY_PATH=$LIBDIR "$W/consumer-pc" "/dev/shm/pmem2-consumer-$$"
LD_LIBRARY_PATH=$LIBDIR "$R/usr/bin/pmem2cp" -q --verify "$R/usr/bin/pmem2cp" "$W/copy"
cmp "$R/usr/bin/pmem2cp" "$W/copy" || fail "packaged pmem2cp"

echo "== find_package from a consumer project against a cmake --install prefix"
P=$W/prefix
cmake --install "$B" --prefix "$P" >/dev/null
cmake -S tests/tools/consumer -B "$W/cb" -DCMAKE_PREFIX_PATH="$P" >/dev/null
cmake --build "$W/cb" >/dev/null
ldd "$W/cb/consumer" | grep -q "libpmem2.so.1 => $P" ||
	fail "find_package consumer does not load the installed libpmem2"
"$W/cb/consumer" "/dev/shm/pmem2-consumer-$$"
# the same against the unpacked packages (the CMake files are relocatable)
cmake -S tests/tools/consumer -B "$W/cb2" -DCMAKE_PREFIX_PATH="$R/usr" >/dev/null
cmake --build "$W/cb2" >/dev/null
"$W/cb2/consumer" "/dev/shm/pmem2-consumer-$$"

echo "== man pages"
if command -v man >/dev/null; then
	man -M "$P/share/man" pmem2cp 2>/dev/null | grep -q "durably" || fail "man pmem2cp"
	for page in pmem2_memcpy_async libpmem2 libminiasync; do
		if ls doc/man/"$page".*.md >/dev/null 2>&1; then
			man -M "$P/share/man" "$page" >/dev/null 2>&1 || fail "man $page"
		else
			echo "note: no page $page yet"
		fi
	done
else
	echo "note: man is not installed; man pages not read back"
fi
echo "packaging: ok"
