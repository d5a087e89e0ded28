#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The bounded-time reliability passes (doc/reliability.md), run by .ci/run
# after the normal, clang, sanitizer and helgrind passes (which already run
# the reliability ctests: pcheck, fault, crash, stress, corpus replays).
# Here: each libFuzzer fuzzer for a fixed time, the crash test for longer,
# the full stress run, and the stress test under valgrind memcheck.
# Budget: about 7 minutes. Tunables: REL_FUZZ_SECONDS (45 per fuzzer),
# REL_CRASH_SECONDS (30).
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
say() { echo "-- reliability: $* ($(( $(date +%s) - start ))s)"; }
FUZZ_SECONDS=${REL_FUZZ_SECONDS:-45}
CRASH_SECONDS=${REL_CRASH_SECONDS:-30}
J=$(nproc)
[ "$J" -gt 4 ] && J=4

# ---- fuzzers: clang, libFuzzer + ASan + UBSan, coverage in the libraries ----
if command -v clang >/dev/null; then
	say "building the fuzzers"
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DPMEM2_FUZZ=ON -DPMEM2_SANITIZE=address,undefined \
		-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link \
		-DPMEM2_BUILD_BENCH=OFF -DPMEM2_WERROR=ON >/dev/null
	cmake --build build-fuzz -j"$J" >/dev/null
	work=$(mktemp -d /tmp/pmem2-fuzz.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	for f in build-fuzz/tests/fuzz/*_fuzzer; do
		[ -x "$f" ] || continue
		name=$(basename "$f" _fuzzer)
		mkdir -p "$work/$name"
		say "fuzzing $name for ${FUZZ_SECONDS}s"
		# a finding (crash, leak, undocumented code, timeout) fails CI;
		# the reproducer is left in $work and printed
		if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			"$f" -max_total_time="$FUZZ_SECONDS" -timeout=20 \
			-rss_limit_mb=4096 -print_final_stats=1 \
			-artifact_prefix="$work/$name/" \
			"$work/$name" "tests/fuzz/corpus/$name" >"$work/$name.log" 2>&1; then
			tail -60 "$work/$name.log"
			for a in "$work/$name"/crash-* "$work/$name"/leak-* \
				"$work/$name"/timeout-*; do
				[ -e "$a" ] && { echo "reproducer $a:"; base64 "$a"; }
			done
			exit 1
		fi
		grep -E "stat::number_of_executed_units|DONE" "$work/$name.log" | tail -2
	done
else
	say "clang not found: fuzzers skipped"
fi

# ---- gcc build for the long runs: .ci/run's first build if it is there ----
R=build-rel
if [ -x build-ci/tests/reliability/crash ]; then
	R=build-ci
else
	cmake -S . -B $R -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPMEM2_BUILD_BENCH=OFF \
		-DPMEM2_WERROR=ON >/dev/null
	cmake --build $R -j"$J" >/dev/null
fi

if [ -x $R/tests/reliability/crash ]; then
	say "crash consistency for ${CRASH_SECONDS}s"
	PMEM2_CRASH_SECONDS=$CRASH_SECONDS $R/tests/reliability/crash
fi

if [ -x $R/tests/reliability/stress ]; then
	say "stress, full run (1,000,000 operations per thread)"
	PMEM2_STRESS_OPS=1000000 timeout 600 $R/tests/reliability/stress
	if command -v valgrind >/dev/null; then
		say "stress under valgrind memcheck"
		PMEM2_STRESS_OPS=2000 timeout 600 valgrind --tool=memcheck \
			--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
			-q $R/tests/reliability/stress
	fi
fi

if [ -x $R/tests/reliability/fault_pmem2 ] && command -v valgrind >/dev/null; then
	say "allocation-failure injection under valgrind memcheck"
	timeout 600 valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite -q $R/tests/reliability/fault_pmem2 >/dev/null
fi

say "done"
