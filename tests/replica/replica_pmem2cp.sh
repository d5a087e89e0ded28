#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pmem2cp --replica: the copy lands in DST and, byte for byte, at the same
# offsets of the file pmem2-replicad serves; a replica too small for SRC
# is refused (exit 5); --replica without --key-file is a usage error.
# Usage: replica_pmem2cp.sh PMEM2CP PMEM2-REPLICAD
set -u
cp=$1 d=$2
dir=${PMEM2_TEST_DIR:-/dev/shm}/rep_cp_$$
mkdir -p "$dir" || exit 1
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

head -c 32 /dev/urandom > "$dir/key" && chmod 600 "$dir/key"
head -c 3000000 /dev/urandom > "$dir/src"
truncate -s 4M "$dir/replica"
"$d" --listen 127.0.0.1:0 --key-file "$dir/key" "$dir/replica" > "$dir/out" &
pid=$!
i=0
until grep -q "listening on" "$dir/out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 300 ] && fail "pmem2-replicad did not start"
	kill -0 $pid 2>/dev/null || { echo "SKIP: pmem2-replicad exited (no usable libfabric provider?)" >&2; exit 77; }
	sleep 0.1
done
t=$(sed -n 's/.*listening on //p' "$dir/out")

"$cp" --replica "$t" "$dir/src" "$dir/dst" 2>/dev/null
[ $? -eq 2 ] || fail "--replica without --key-file was not a usage error"
"$cp" -q --chunk 256k --depth 4 --replica "$t" --replica "$t" \
	--key-file "$dir/key" "$dir/src" "$dir/dst" || fail "pmem2cp --replica failed"
cmp "$dir/src" "$dir/dst" || fail "DST differs from SRC"
cmp -n 3000000 "$dir/src" "$dir/replica" || fail "the replica differs from SRC"
[ "$(stat -c %s "$dir/replica")" -eq 4194304 ] || fail "the replica changed size"

head -c 5000000 /dev/urandom > "$dir/big"
"$cp" -q --replica "$t" --key-file "$dir/key" "$dir/big" "$dir/dst2" 2>"$dir/err"
rc=$?
[ $rc -eq 5 ] || fail "a replica smaller than SRC: exit $rc, expected 5"
grep -q "fewer than" "$dir/err" || fail "no clear message: $(cat "$dir/err")"
kill -0 $pid || fail "pmem2-replicad died"
kill $pid; wait $pid || fail "pmem2-replicad did not exit cleanly"
pid=
echo "pmem2cp --replica: ok"
