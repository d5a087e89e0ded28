#!/bin/bash
# compare_runtime.sh BUILD REV [ROUNDS] -- the "runtime" suite against this
# build's libminiasync and against REV's (an older commit, built here in a
# temporary directory), alternately, ROUNDS times (default 3). The bench
# program is BUILD's; only the library differs (same soname and ABI).
set -euo pipefail
B=$(cd "${1:?usage: compare_runtime.sh BUILD REV [ROUNDS]}" && pwd)
REV=${2:?usage: compare_runtime.sh BUILD REV [ROUNDS]}
N=${3:-3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/src"
TOP=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
git -C "$TOP" archive "$REV" | tar -x -C "$T/src"
cmake -S "$T/src" -B "$T/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	>/dev/null 2>&1
cmake --build "$T/build" -j2 --target miniasync >/dev/null
for i in $(seq "$N"); do
	echo "== round $i: $REV"
	LD_LIBRARY_PATH=$T/build/src "$B/bench/miniasync/bench_runtime" | tail -6
	echo "== round $i: this build"
	LD_LIBRARY_PATH=$B/src "$B/bench/miniasync/bench_runtime" | tail -6
done
