/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test.h -- the tiny harness every test program uses: checks that print
 * where and why they failed, and a loud skip (exit 77, which ctest reports
 * as "Skipped").
 */
#ifndef PMEM2_TEST_H
#define PMEM2_TEST_H 1

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_SKIP_CODE 77

#define FAIL(...) do { \
	fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); \
	fprintf(stderr, "\n"); \
	exit(1); \
} while (0)

#define SKIP(...) do { \
	fprintf(stderr, "SKIP %s: ", __FILE__); \
	fprintf(stderr, __VA_ARGS__); \
	fprintf(stderr, "\n"); \
	exit(TEST_SKIP_CODE); \
} while (0)

#define CHECK(cond) do { \
	if (!(cond)) \
		FAIL("check failed: %s", #cond); \
} while (0)

/* Integer equality, printing both values. */
#define CHECK_EQ(a, b) do { \
	long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) \
		FAIL("%s == %s: %lld != %lld", #a, #b, _a, _b); \
} while (0)

#define CHECK_MEM(a, b, n) do { \
	size_t _n = (n); \
	const unsigned char *_x = (const void *)(a), *_y = (const void *)(b); \
	for (size_t _i = 0; _i < _n; _i++) \
		if (_x[_i] != _y[_i]) \
			FAIL("%s and %s differ at byte %zu of %zu: %#x != %#x", \
				#a, #b, _i, _n, _x[_i], _y[_i]); \
} while (0)

/* A pmem2 call's result with its message on failure. */
#define CHECK_PMEM2_OK(expr) do { \
	int _r = (expr); \
	if (_r != 0) \
		FAIL("%s returned %d: %s", #expr, _r, pmem2_errormsg()); \
} while (0)

/* An exact error code and a non-empty message. */
#define CHECK_PMEM2_ERR(expr, code) do { \
	int _r = (expr); \
	if (_r != (code)) \
		FAIL("%s returned %d, expected %s (%d): %s", #expr, _r, \
			#code, (int)(code), pmem2_errormsg()); \
	if (pmem2_errormsg()[0] == '\0') \
		FAIL("%s: empty pmem2_errormsg()", #expr); \
} while (0)

/* A directory for test files: $PMEM2_TEST_DIR, else /dev/shm, else /tmp. */
static inline const char *
test_dir(void)
{
	const char *d = getenv("PMEM2_TEST_DIR");
	if (d && *d)
		return d;
	return "/dev/shm";
}

/* A disk-backed directory (page cache + writeback): $PMEM2_TEST_DISK_DIR or /var/tmp. */
static inline const char *
test_disk_dir(void)
{
	const char *d = getenv("PMEM2_TEST_DISK_DIR");
	if (d && *d)
		return d;
	return "/var/tmp";
}

#endif /* PMEM2_TEST_H */
