#!/bin/bash
# man_install.sh BUILD_DIR SOURCE_DIR -- cmake --install into a scratch
# prefix; every doc/man/*.md must be installed as roff under share/man, the
# alias pages must point at existing pages, and man -M must find pmem2cp(1).
set -uo pipefail
B=$1
S=$2
P=$(mktemp -d)
trap 'rm -rf "$P"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$B" --prefix "$P" >/dev/null || fail "cmake --install"
n=0
for md in "$S"/doc/man/*.md; do
	[ -e "$md" ] || continue
	page=$(basename "$md" .md)		# name.section
	sec=${page##*.}
	f=$P/share/man/man$sec/$page
	[ -s "$f" ] || fail "$page not installed (looked for $f)"
	head -c 4000 "$f" | grep -q '^\.TH ' || fail "$page is not roff"
	n=$((n + 1))
done
for f in "$P"/share/man/man*/*; do
	if head -1 "$f" | grep -q '^\.so '; then
		target=$(head -1 "$f" | awk '{print $2}')
		[ -s "$P/share/man/$target" ] || fail "alias $(basename "$f") points at missing $target"
	fi
done
for bin in pmem2cp pmem2bench; do
	[ -x "$P/bin/$bin" ] || fail "$bin not installed"
done
if command -v man >/dev/null; then
	MANWIDTH=80 man -M "$P/share/man" pmem2cp 2>/dev/null | grep -q "copy a file durably" ||
		fail "man -M PREFIX/share/man pmem2cp"
	if [ -e "$S/doc/man/pmem2_memcpy_async.3.md" ]; then
		man -M "$P/share/man" pmem2_memcpy_async >/dev/null 2>&1 ||
			fail "man -M PREFIX/share/man pmem2_memcpy_async"
	fi
else
	echo "note: no man(1); pages checked as files only"
fi
# the roff kept in the tree (for builds without pandoc) should match
stale=0
for md in "$S"/doc/man/*.md; do
	page=$(basename "$md" .md)
	[ -e "$S/doc/man/generated/$page" ] || { echo "note: doc/man/generated/$page missing (cmake --build BUILD --target man-update)"; stale=1; }
done
echo "$n man pages installed${stale:+; }$([ $stale = 1 ] && echo 'some generated roff missing in the tree')"
