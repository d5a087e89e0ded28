/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * env.h -- the one place the libraries read the environment.
 *
 * Every variable is read through secure_getenv: in a set-user-ID or
 * set-group-ID program (or one with capabilities) it reads as unset, so an
 * unprivileged user cannot steer a privileged program's persistence
 * (choice of instructions, granularity, fault injection). A check in the
 * tests (tests/tools/check_env.sh) fails when src/ calls getenv or
 * secure_getenv anywhere else.
 *
 * Static inline: each library (and the benchmark, which compiles some of
 * src/common) gets its own copy and no symbol to export or prefix.
 */
#ifndef COMMON_ENV_H
#define COMMON_ENV_H 1

#ifndef _GNU_SOURCE
#error "env.h needs _GNU_SOURCE (secure_getenv) before the first system header"
#endif

#include <stdlib.h>
#include <string.h>

/* The variable's value, NULL when unset or in a privileged program. */
static inline const char *
env_get(const char *name)
{
	return secure_getenv(name);
}

/* Is the variable set to exactly val? */
static inline int
env_is(const char *name, const char *val)
{
	const char *v = env_get(name);
	return v != NULL && strcmp(v, val) == 0;
}

/* Is the variable set, non-empty and not "0"? */
static inline int
env_flag(const char *name)
{
	const char *v = env_get(name);
	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

#endif /* COMMON_ENV_H */
