#!/bin/bash
# pmem2bench_format.sh PMEM2BENCH -- the output formats of pmem2bench, on a
# quick run of the "limits" suite: the table, CSV, JSON and the SVG plot (both
# the gnuplot and the built-in writer). Figures are not checked: this is not a
# timed test.
set -euo pipefail
B=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$B" --list | grep -qx limits || fail "--list does not name the limits suite"
"$B" --help | grep -q -- '--plot' || fail "--help"
set +e
"$B" --no-such-option >/dev/null 2>"$T/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "bad option: exit $rc, expected 2"
grep -q "unknown option" "$T/err" || fail "bad option message"
set +e
"$B" nosuchsuite >/dev/null 2>"$T/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown suite: exit $rc"
grep -q "unknown suite 'nosuchsuite'" "$T/err" || fail "unknown suite message"

"$B" --quick limits --csv "$T/r.csv" --json "$T/r.json" --plot "$T/r.svg" \
	>"$T/table" 2>"$T/log"
cat "$T/table"
head -4 "$T/table" | grep -q '^suite  *benchmark  *value  *unit  *reference  *ref value  *ratio$' ||
	fail "table header"
# the CPU (CPUID) and the memory-function profile it gets, above the table
head -1 "$T/table" | grep -Eq '^# cpu: .* family [0-9]+ model [0-9]+\); memory-function profile: (intel|amd) \(from (cpuid|PMEM2_CPU_PROFILE)\)$' ||
	fail "cpu line"
# to a file, not a pipe: under pipefail, `| head -1` could kill pmem2bench
# with SIGPIPE and fail the test on a good run
PMEM2_CPU_PROFILE=intel "$B" --quick limits >"$T/forced" 2>/dev/null
head -1 "$T/forced" | grep -q 'profile: intel (from PMEM2_CPU_PROFILE)$' ||
	fail "cpu line, forced profile"
grep -Eq '^limits +[a-z0-9]+ stream copy 4MiB +[0-9.]+ +GB/s +glibc memcpy +[0-9.]+ +[0-9.]+x$' \
	"$T/table" || fail "table row"
# every row of the table has the same width up to its ratio column
awk '/^limits/{print index($0, "GB/s")}' "$T/table" | sort -u | wc -l | grep -qx 1 ||
	fail "table columns not aligned"

head -1 "$T/r.csv" | grep -qx 'suite,name,value,unit,ref_name,ref_value,ratio,higher_is_better' ||
	fail "csv header"
[ "$(grep -c '^limits,' "$T/r.csv")" -ge 2 ] || fail "csv rows"
grep -Eq '^limits,[a-z0-9]+ stream copy 64MiB,[0-9.e+]+,GB/s,glibc memcpy,[0-9.e+]+,[0-9.]+,1$' \
	"$T/r.csv" || fail "csv row"

python3 - "$T/r.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["date"] and d["machine"], d
assert d["quick"] is True, d
rows = d["rows"]
assert len(rows) >= 2, rows
for r in rows:
    assert set(r) == {"suite", "name", "value", "unit", "ref_name", "ref_value",
                      "ratio", "higher_is_better"}, r
    assert r["suite"] == "limits" and r["unit"] == "GB/s" and r["value"] > 0
    assert abs(r["ratio"] - r["value"] / r["ref_value"]) < 1e-3 * r["ratio"]
PY

# --repeat: each row once, with medians
"$B" --quick --repeat 2 limits >"$T/rep" 2>/dev/null
[ "$(grep -c '^limits' "$T/rep")" -eq "$(grep -c '^limits' "$T/table")" ] ||
	fail "--repeat 2 does not fold the passes into one row each"
set +e
"$B" --repeat 0 limits >/dev/null 2>"$T/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q -- "--repeat wants" "$T/err" || fail "--repeat 0"

check_svg() {
	python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith("svg"), root.tag
text = open(sys.argv[1]).read()
assert "stream copy" in text and "glibc memcpy" in text, "legend"
PY
}
check_svg "$T/r.svg" || fail "plot (default writer)"
PMEM2BENCH_NO_GNUPLOT=1 "$B" --quick limits --plot "$T/own.svg" >/dev/null 2>&1
check_svg "$T/own.svg" || fail "plot (built-in writer)"
grep -q '<polyline' "$T/own.svg" || fail "built-in plot has no curve"
echo "pmem2bench formats: ok"
