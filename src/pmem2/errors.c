/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * errors.c -- the per-thread message behind pmem2_errormsg(), pmem2_perror()
 * and the translation of PMEM2_E_* codes to errno values.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "libpmem2.h"
#include "errors.h"

#define PMEM2_MSG_MAX 8192

static __thread char Last_msg[PMEM2_MSG_MAX];

/*
 * Formats into a scratch buffer first, so that an argument which points
 * into the current message (say, pmem2_errormsg() itself) is read before
 * it is overwritten.
 */
static void
err_vset(int errnum, const char *fmt, va_list ap)
{
	char tmp[PMEM2_MSG_MAX];
	size_t n = 0;

	int r = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (r > 0)
		n = (size_t)r;
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if (errnum != 0 && n < sizeof(tmp) - 1) {
		char ebuf[256];
		/* GNU strerror_r: returns the text, maybe not in ebuf */
		const char *e = strerror_r(errnum, ebuf, sizeof(ebuf));
		snprintf(tmp + n, sizeof(tmp) - n, ": %s", e);
	}
	tmp[sizeof(tmp) - 1] = '\0';
	memcpy(Last_msg, tmp, strlen(tmp) + 1);
}

void
pmem2_err_set(const char *fmt, ...)
{
	int olderrno = errno;
	va_list ap;
	va_start(ap, fmt);
	err_vset(0, fmt, ap);
	va_end(ap);
	errno = olderrno;
}

void
pmem2_err_set_errno(int errnum, const char *fmt, ...)
{
	int olderrno = errno;
	va_list ap;
	va_start(ap, fmt);
	err_vset(errnum, fmt, ap);
	va_end(ap);
	errno = olderrno;
}

const char *
pmem2_errormsg(void)
{
	return Last_msg;
}

void
pmem2_perror(const char *format, ...)
{
	char prefix[PMEM2_MSG_MAX];
	va_list ap;
	int olderrno = errno;

	va_start(ap, format);
	int r = vsnprintf(prefix, sizeof(prefix), format, ap);
	va_end(ap);
	if (r < 0)
		prefix[0] = '\0';
	fprintf(stderr, "%s: %s\n", prefix, Last_msg);
	errno = olderrno;
}

/*
 * PMEM2_E_NOSUPP becomes ENOTSUP, every other library code EINVAL, and a
 * -errno value its errno. Upstream treats a positive argument as a fatal
 * programming error; we do not abort a caller's process for it and hand the
 * value back unchanged (it can only have been an errno value).
 */
int
pmem2_err_to_errno(int err)
{
	if (err > 0)
		return err;
	if (err == PMEM2_E_NOSUPP)
		return ENOTSUP;
	if (err <= PMEM2_E_UNKNOWN)
		return EINVAL;
	return -err;
}
