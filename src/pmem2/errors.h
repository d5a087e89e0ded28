/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * errors.h -- the thread-local message behind pmem2_errormsg() and helpers
 * to set it at the point of failure.
 */
#ifndef PMEM2_ERRORS_H
#define PMEM2_ERRORS_H 1

#include <errno.h>

/*
 * Sets the message to the reason alone, as PMDK does: callers name the
 * function themselves (pmem2_perror("pmem2_map_new") prints
 * "pmem2_map_new: <reason>"), so a prefix here would show it twice.
 */
void pmem2_err_set(const char *fmt, ...)
	__attribute__((__format__(__printf__, 1, 2)));
/* Same, followed by ": <strerror(errnum)>". */
void pmem2_err_set_errno(int errnum, const char *fmt, ...)
	__attribute__((__format__(__printf__, 2, 3)));

#define ERR(...) pmem2_err_set(__VA_ARGS__)
#define ERR_ERRNO(errnum, ...) pmem2_err_set_errno(errnum, __VA_ARGS__)

/* -errno for the current errno, never 0 (a lost errno becomes -EINVAL). */
static inline int
pmem2_errno_code(void)
{
	return errno ? -errno : -EINVAL;
}

#endif /* PMEM2_ERRORS_H */
