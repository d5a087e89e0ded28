#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# deps_test.sh SOURCE_DIR -- scripts/deps.sh, the set-up step of scripts/run
# and scripts/test, against a fake dpkg-query/apt-get on PATH: nothing is
# installed for real. Missing required packages without permission to
# install: the exact apt-get line and a non-zero exit; only optional ones
# missing: a note and on; nothing missing: silence; allowed to install: one
# apt-get call with exactly the missing packages.
set -uo pipefail
S=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir "$W/bin"
# "installed" packages are the files in $W/have
cat >"$W/bin/dpkg-query" <<EOF2
#!/bin/sh
p=\$(eval echo "\\\${\$#}")
[ -e "$W/have/\$p" ] && echo "install ok installed" && exit 0
echo "dpkg-query: no packages found matching \$p" >&2; exit 1
EOF2
cat >"$W/bin/apt-get" <<EOF2
#!/bin/sh
echo "apt-get \$*" >>"$W/apt.log"
EOF2
chmod +x "$W/bin/"*
mkdir "$W/have"
run() {	# required optional -> exit status; stderr in $W/err
	PATH="$W/bin:$PATH" bash -c '. "$1"/scripts/deps.sh; pmem2_deps "$2" "$3"' \
		deps "$S" "$1" "$2" 2>"$W/err"
}

touch "$W/have/gcc" "$W/have/cmake" "$W/have/liburing-dev"
PMEM2_NO_APT=1 run "gcc cmake" "liburing-dev" || fail "all present: exit $?"
[ -s "$W/err" ] && fail "all present, yet it said: $(cat "$W/err")"

rm "$W/have/cmake" "$W/have/liburing-dev"
PMEM2_NO_APT=1 run "gcc cmake" "liburing-dev" && fail "cmake missing: exit 0"
grep -qx '  apt-get install -y --no-install-recommends cmake liburing-dev' "$W/err" ||
	fail "cmake missing: no exact apt-get line: $(cat "$W/err")"

touch "$W/have/cmake"
PMEM2_NO_APT=1 run "gcc cmake" "liburing-dev" || fail "optional missing: exit $?"
grep -q 'apt-get install -y --no-install-recommends liburing-dev' "$W/err" ||
	fail "optional missing: no apt-get line: $(cat "$W/err")"

[ -e "$W/apt.log" ] && fail "apt-get ran with PMEM2_NO_APT=1"
if [ "$(id -u)" = 0 ]; then
	rm "$W/have/gcc"
	run "gcc cmake" "liburing-dev" || fail "root install: exit $?"
	grep -q 'install .*gcc' "$W/apt.log" || fail "root: gcc not installed: $(cat "$W/apt.log")"
	grep -q 'install .*cmake' "$W/apt.log" && fail "root: installed cmake, which was there"
	grep -q 'install .*liburing-dev' "$W/apt.log" || fail "root: optional not installed"
fi
echo "deps.sh: ok"
