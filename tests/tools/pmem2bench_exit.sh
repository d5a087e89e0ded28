#!/bin/bash
# pmem2bench_exit.sh PMEM2BENCH -- a suite that cannot measure makes
# pmem2bench exit 1 (pmem2bench(1), EXIT STATUS), not 0 with an empty table.
set -uo pipefail
B=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
"$B" --list | grep -qx page || { echo "SKIP: no page suite built" >&2; exit 77; }

# expect_fail WHAT ENV...: the page suite fails; exit 1 and a message
expect_fail() {
	local what=$1
	shift
	env "$@" "$B" --quick page >"$T/out" 2>"$T/err"
	local rc=$?
	[ $rc -eq 1 ] || { cat "$T/err"; fail "$what: exit $rc, expected 1"; }
	grep -q "suite page failed" "$T/err" || { cat "$T/err"; fail "$what: no message"; }
	grep -q "(some failed)" "$T/err" || { cat "$T/err"; fail "$what: no summary note"; }
}
# no directory to put its file in
expect_fail "no TMPDIR" TMPDIR=/nonexistent PMEM2_TEST_DISK_DIR=
# every sync fails (libpmem2's test-only injection)
expect_fail "sync error" PMEM2_ASYNC_TEST_SYNC_ERRNO=5 PMEM2_TEST_DISK_DIR=
echo pass
