# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by scripts/run and scripts/test: make sure the Debian packages a
# command needs are there before it builds.
#
#   pmem2_deps "required packages" "optional packages"
#
# Only what dpkg-query reports missing is installed, so on a machine that has
# everything this costs a few dpkg-query calls. As root, apt-get installs the
# missing packages (optional ones too; their failure is only reported).
# Otherwise it prints the apt-get line to run and exits non-zero if a required
# package is missing. On a system without dpkg it checks nothing.
# PMEM2_NO_APT=1 never installs (prints the line instead).

pmem2_deps_missing() {	# packages... -> the missing ones on stdout
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -qx 'install ok installed' || printf '%s ' "$p"
	done
}

pmem2_deps() {
	local required=$1 optional=$2 me miss_req miss_opt
	me=$(basename "$0")
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "$me: not a Debian system: not checking for build packages ($required)" >&2
		return 0
	fi
	# shellcheck disable=SC2086
	miss_req=$(pmem2_deps_missing $required)
	# shellcheck disable=SC2086
	miss_opt=$(pmem2_deps_missing $optional)
	miss_req=${miss_req% } miss_opt=${miss_opt% }
	[ -z "$miss_req$miss_opt" ] && return 0
	local all="$miss_req${miss_req:+${miss_opt:+ }}$miss_opt"

	if [ "$(id -u)" = 0 ] && [ "${PMEM2_NO_APT:-0}" != 1 ] &&
		command -v apt-get >/dev/null 2>&1; then
		echo "$me: installing $all with apt-get" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null || echo "$me: apt-get update failed" >&2
		# shellcheck disable=SC2086
		if [ -n "$miss_req" ] && ! apt-get install -y -qq --no-install-recommends \
				$miss_req >/dev/null; then
			echo "$me: FAILED to install the required packages: $miss_req" >&2
			exit 1
		fi
		local p
		for p in $miss_opt; do
			apt-get install -y -qq --no-install-recommends "$p" >/dev/null ||
				echo "$me: optional package $p not installed; building without it" >&2
		done
		return 0
	fi

	if [ -n "$miss_req" ]; then
		echo "$me: missing packages: $miss_req (optional: ${miss_opt:-none})" >&2
		echo "$me: install them first, as root:" >&2
		echo "  apt-get install -y --no-install-recommends $all" >&2
		exit 1
	fi
	echo "$me: optional packages missing (building without them): $miss_opt" >&2
	echo "$me: to add them, as root: apt-get install -y --no-install-recommends $miss_opt" >&2
	return 0
}
