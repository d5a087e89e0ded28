#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# check_headers.sh BUILD_DIR SOURCE_DIR -- every object of the build was
# compiled against our own libpmem2/libminiasync headers (SOURCE_DIR/include),
# never a copy installed elsewhere (Debian's PMDK in /usr/include). Reads the
# dependency files the compiler wrote: CMake's *.o.d depfiles and the
# compiler_depend.make/depend.make it keeps (Makefiles), or `ninja -t deps`.
# Exempt, as the top-level CMakeLists.txt exempts them from our include/:
# the targets built against Debian's PMDK on purpose, compat_debian_* and
# *_pmdk. Run it after a complete build (CI: .ci/run after the gcc build).
set -euo pipefail
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
T=$(mktemp)
trap 'rm -f "$T"' EXIT

# one "object-or-depfile header" pair per line
list_deps() {
	if [ -f "$B/build.ninja" ] && command -v ninja >/dev/null; then
		ninja -C "$B" -t deps 2>/dev/null | awk '
			/^[^ \t].*: #deps/ { obj = $1; sub(":$", "", obj); next }
			NF == 1 { print obj, $1 }'
	fi
	# A target's *.o.d files are rewritten by every compile; CMake's
	# compiler_depend.make may still hold entries of an earlier compile
	# in a reused build directory, so it is read only where no *.o.d is.
	{
		find "$B" -name '*.o.d' -type f -print0
		find "$B" \( -name 'compiler_depend.make' -o -name 'depend.make' \) -type f -print0 |
			while IFS= read -r -d '' f; do
				compgen -G "$(dirname "$f")/*.o.d" >/dev/null || printf '%s\0' "$f"
			done
	} | xargs -0 -r awk '{
			for (i = 1; i <= NF; i++) {
				w = $i
				sub(/:$/, "", w)
				if (w != "" && w != "\\") print FILENAME, w
			}
		}'
}
list_deps | grep -Ev '/compat_debian_[^/ ]*\.dir/|/[^/ ]*_pmdk\.dir/|^[^ ]*compat_debian_|^[^ ]*_pmdk[ /.]' \
	>"$T" || true

[ -s "$T" ] || { echo "FAIL: no dependency files under $B (build first)" >&2; exit 1; }
# our headers are named at all: the check below is not vacuous
for h in libpmem2.h libminiasync.h; do
	grep -q " $S/include/$h\$" "$T" ||
		{ echo "FAIL: no object depends on $S/include/$h" >&2; exit 1; }
done
# any libpmem2*/libminiasync* header outside our include/
bad=$(awk -v inc="$S/include/" '
	{ h = $2 }
	h ~ /(^|\/)lib(pmem2|miniasync)[^\/]*\.h$/ || h ~ /(^|\/)lib(pmem2|miniasync)\/[^\/]*\.h$/ {
		if (index(h, inc) != 1) print $1 ": " h
	}' "$T" | sort -u)
if [ -n "$bad" ]; then
	echo "FAIL: objects compiled against libpmem2/libminiasync headers other than $S/include:" >&2
	echo "$bad" | head -40 >&2
	exit 1
fi
echo "headers: every object uses $S/include ($(wc -l <"$T") dependency entries read)"
