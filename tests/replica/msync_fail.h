/* SPDX-License-Identifier: BSD-3-Clause */
/* The page head that makes msync_fail.c's msync() fail (shared with tests). */
#ifndef MSYNC_FAIL_H
#define MSYNC_FAIL_H
#define MSYNC_FAIL_MARK "msync_fail: EIO!"
#endif
