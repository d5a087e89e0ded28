#!/bin/bash
# coverage.sh SRCDIR -- which public function, inline or macro family of the
# installed headers has no man page. A function counts as documented when a
# page is named after it or a page's NAME section lists it in bold; a macro
# when any page mentions it. Prints what is missing; exit 1 if anything is.
set -euo pipefail
S=${1:-.}
M=$S/doc/man
names=$(mktemp) text=$(mktemp)
trap 'rm -f "$names" "$text"' EXIT
for md in "$M"/*.md; do
	[ -e "$md" ] || continue
	b=$(basename "$md" .md)
	echo "${b%.*}" >>"$names"
	# the bold names of the NAME section
	awk '/^#+ *NAME/{on=1;next} /^#/{on=0} on' "$md" |
		grep -o '\*\*[A-Za-z_][A-Za-z0-9_]*\*\*' | tr -d '*' >>"$names" || true
	cat "$md" >>"$text"
done

missing=0
# functions: the version scripts' exports and the headers' static inlines
funcs=$( (sed -n 's/^[[:space:]]*\([a-z_][a-z0-9_]*\);$/\1/p' \
		"$S"/src/pmem2/libpmem2.map "$S"/src/miniasync/libminiasync.map;
	grep -h -A1 '^static inline' "$S"/include/libminiasync/*.h "$S"/include/libpmem2/*.h |
		sed -n 's/^\([a-z][a-z0-9_]*\)(.*/\1/p') | sort -u)
for f in $funcs; do
	if ! grep -qx "$f" "$names"; then
		echo "function without a page: $f"
		missing=$((missing + 1))
	fi
done
# macro families: public macros, grouped by their first two words
# (FUTURE_CHAIN_ENTRY_INIT -> FUTURE_CHAIN); a family is covered when any
# page mentions one of its members
fams=$(grep -h '^#define [A-Z]' "$S"/include/libminiasync/*.h "$S"/include/libpmem2/*.h \
	"$S"/include/*.h | awk '{print $2}' | sed 's/(.*//' |
	grep -v '_H$' | sort -u)
declare -A covered seen
for m in $fams; do
	fam=$(echo "$m" | cut -d_ -f1-2)
	seen[$fam]=1
	if grep -qw "$m" "$text"; then
		covered[$fam]=1
	fi
done
for fam in $(printf '%s\n' "${!seen[@]}" | sort); do
	if [ -z "${covered[$fam]:-}" ]; then
		echo "macro family without a page: ${fam}*"
		missing=$((missing + 1))
	fi
done
for p in libpmem2.7 libminiasync.7; do
	[ -e "$M/$p.md" ] || { echo "overview page missing: $p"; missing=$((missing + 1)); }
done
echo "$missing missing"
[ "$missing" -eq 0 ]
