/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vg_quiet.h -- hide valgrind's false reports about system calls that
 * write a user's pages back.
 *
 * msync() hands the kernel a page-rounded range of a map. memcheck checks
 * such a range as if the call read it, and reports every byte the program
 * never initialised (struct padding copied in, the untouched rest of a
 * page). Writing a page back is not a use of its contents, so those reports
 * are false; PMDK hides them the same way.
 *
 * Error reporting is switched off for the calling thread around the call
 * only: the V-bits are left untouched, so memcheck still reports the
 * program's own later use of the same bytes. Both requests are no-ops when
 * the process does not run under valgrind.
 */
#ifndef PMEM2_VG_QUIET_H
#define PMEM2_VG_QUIET_H 1

#ifdef PMEM2_HAVE_VALGRIND
#include <valgrind/valgrind.h>
/*
 * Whether we run under valgrind, asked once at load (memops.c): a client
 * request costs a dozen instructions and a stack block even natively, and
 * the PAGE copy path, a small copy plus one msync, would show it.
 */
extern int Pmem2_on_valgrind;
#define PMEM2_VG_QUIET_BEGIN() do { \
	if (__builtin_expect(Pmem2_on_valgrind, 0)) \
		VALGRIND_DISABLE_ERROR_REPORTING; \
} while (0)
#define PMEM2_VG_QUIET_END() do { \
	if (__builtin_expect(Pmem2_on_valgrind, 0)) \
		VALGRIND_ENABLE_ERROR_REPORTING; \
} while (0)
#else
#define PMEM2_VG_QUIET_BEGIN() do { } while (0)
#define PMEM2_VG_QUIET_END() do { } while (0)
#endif

#endif /* PMEM2_VG_QUIET_H */
