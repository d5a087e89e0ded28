#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# doc/code-map.md names every source file of the libraries and tools, so the
# map stays true: a file added under src/ or tools/ and not named there
# fails this test. A header counts as named when its .c twin is named as
# "name.c/.h"; otherwise every file is named by its own file name.
# usage: check_code_map.sh SOURCE_DIR
set -u
root="$1"
map="$root/doc/code-map.md"
[ -f "$map" ] || { echo "check_code_map: no $map" >&2; exit 1; }
missing=0
for f in $(cd "$root" && find src tools -name '*.c' -o -name '*.h' | sort); do
	b=$(basename "$f")
	stem=${b%.*}
	if grep -qF "$b" "$map"; then
		continue
	fi
	case "$b" in
	*.c|*.h) grep -qF "$stem.c/.h" "$map" && continue ;;
	esac
	echo "check_code_map: $f is not named in doc/code-map.md" >&2
	missing=$((missing + 1))
done
# and every file the map names in a table row still exists somewhere
for n in $(grep -oE '`[A-Za-z0-9_/-]+\.(c|h)' "$map" | tr -d '`' | sort -u); do
	b=$(basename "$n")
	if [ -z "$(cd "$root" && find src tools -name "$b" | head -1)" ]; then
		echo "check_code_map: doc/code-map.md names $n, which does not exist" >&2
		missing=$((missing + 1))
	fi
done
[ "$missing" -eq 0 ] || exit 1
echo "check_code_map: doc/code-map.md names every file under src/ and tools/"
