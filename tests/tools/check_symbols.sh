#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Symbol hygiene of one library:
#  - the shared library exports (nm -D --defined-only) exactly the names its
#    version script lists as global, and every one of them is declared in a
#    public header under include/ (no internal helper leaks into the ABI);
#  - every global the static archive defines is either such a public name
#    or carries the library's prefix, so that the static archives of all
#    our libraries link into one program without a clash (tools_static_both
#    tries the link; this says which name would clash first).
# usage: check_symbols.sh SOURCE_DIR SHARED_LIB STATIC_LIB VERSION_SCRIPT PREFIX
set -u
srcdir=$1 so=$2 ar=$3 map=$4 prefix=$5
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# the version script's global names
sed -n '/global:/,/local:/p' "$map" | grep -E '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;' |
	tr -d ' \t;' | sort -u > "$tmp/map"
[ -s "$tmp/map" ] || { echo "no global names in $map" >&2; exit 1; }

# defined dynamic symbols, less the version nodes (absolute, type A)
nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
	sort -u > "$tmp/dyn"
if ! cmp -s "$tmp/map" "$tmp/dyn"; then
	echo "$so: exports differ from $map (< script only, > exported only):" >&2
	diff "$tmp/map" "$tmp/dyn" | grep '^[<>]' >&2
	fail=1
fi

# every public name is declared in a public header
while read -r s; do
	if ! grep -rqw -- "$s" "$srcdir/include"; then
		echo "$so: $s is exported but declared in no header under include/" >&2
		fail=1
	fi
done < "$tmp/map"

# the static archive's globals: public or prefixed (case aside: Pmem2_x)
nm -g --defined-only "$ar" 2>/dev/null | awk 'NF == 3 && $2 ~ /[A-Z]/ { print $3 }' |
	sort -u > "$tmp/ar"
[ -s "$tmp/ar" ] || { echo "$ar: no global symbols?" >&2; exit 1; }
bad=$(comm -23 "$tmp/ar" "$tmp/map" | grep -vi "^$prefix")
if [ -n "$bad" ]; then
	echo "$ar: internal globals without the prefix $prefix (would clash" \
		"with another library's static archive):" >&2
	echo "$bad" >&2
	fail=1
fi
[ $fail -eq 0 ] && echo "$(basename "$so"): $(wc -l < "$tmp/dyn") public symbols, archive globals prefixed $prefix"
exit $fail
