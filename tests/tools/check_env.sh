#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The libraries read the environment only through src/common/env.h
# (secure_getenv, one place): any other getenv/secure_getenv call in src/
# fails this test, with the lines that do it.
# usage: check_env.sh SOURCE_DIR
set -u
src="$1/src"
[ -f "$src/common/env.h" ] || { echo "check_env: no $src/common/env.h" >&2; exit 1; }
hits=$(grep -rnE '(^|[^A-Za-z0-9_])(secure_)?getenv[[:space:]]*\(' "$src" \
	--include='*.c' --include='*.h' | grep -v "^$src/common/env.h:")
n=$(grep -cE 'secure_getenv[[:space:]]*\(' "$src/common/env.h")
if [ -n "$hits" ]; then
	echo "check_env: read the environment through src/common/env.h, not here:" >&2
	echo "$hits" >&2
	exit 1
fi
if [ "$n" -ne 1 ]; then
	echo "check_env: src/common/env.h should call secure_getenv once, found $n" >&2
	exit 1
fi
echo "check_env: src/ reads the environment only through src/common/env.h"
