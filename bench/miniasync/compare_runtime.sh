#!/bin/bash
# compare_runtime.sh BUILD REV [ROUNDS] -- the "runtime" suite against this
# build's libminiasync and against REV's (an older commit, built here in a
# temporary directory with BUILD's CMAKE_BUILD_TYPE), alternately, ROUNDS
# times (default 3). The bench program is BUILD's; only the library differs
# (same soname and ABI). Then, if valgrind is there, instructions per poll
# of runtime_ir under callgrind for both (the hardware counters are not
# available under KVM, and a shared machine makes times noisy).
set -euo pipefail
B=$(cd "${1:?usage: compare_runtime.sh BUILD REV [ROUNDS]}" && pwd)
REV=${2:?usage: compare_runtime.sh BUILD REV [ROUNDS]}
N=${3:-3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/src"
TOP=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$B/CMakeCache.txt")
git -C "$TOP" archive "$REV" | tar -x -C "$T/src"
cmake -S "$T/src" -B "$T/build" -DCMAKE_BUILD_TYPE="${TYPE:-Release}" \
	>/dev/null 2>&1
cmake --build "$T/build" -j2 --target miniasync >/dev/null
for i in $(seq "$N"); do
	echo "== round $i: $REV"
	LD_LIBRARY_PATH=$T/build/src "$B/bench/miniasync/bench_runtime" | grep "^runtime "
	echo "== round $i: this build"
	LD_LIBRARY_PATH=$B/src "$B/bench/miniasync/bench_runtime" | grep "^runtime "
done

IR=$B/bench/miniasync/runtime_ir
command -v valgrind >/dev/null && [ -x "$IR" ] || exit 0
# total instructions of one run; the futures and the loop are the same for
# both libraries, so the difference per poll is the runtime's
ir() {
	LD_LIBRARY_PATH=$1 valgrind --tool=callgrind \
		--callgrind-out-file=/dev/null "$IR" "$2" "$3" "$4" 2>&1 |
		awk '/Collected/ { c = $NF } /^[0-9]+$/ { p = $1 }
			END { printf "%.1f", c / p }'
}
echo "== instructions per poll (callgrind, whole program / polls)"
printf '%-10s %10s %10s %8s\n' set "$REV" this diff
for k in "plain 16 2000" "plain 256 125" "chain 16 2000" "chain 256 125" \
		"lib 16 2000" "lib 256 125"; do
	set -- $k
	old=$(ir "$T/build/src" "$@")
	new=$(ir "$B/src" "$@")
	awk -v k="$1 x$2" -v o="$old" -v n="$new" \
		'BEGIN { printf "%-10s %10s %10s %+8.1f\n", k, o, n, n - o }'
done
