/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_persist_valgrind.c -- PAGE persistence of a range holding bytes the
 * program never initialised must not make memcheck report an error (the
 * msync behind it only writes pages back), and must leave those bytes
 * undefined for memcheck afterwards.
 *
 * ctest runs it under "valgrind --tool=memcheck --error-exitcode=99": a
 * report fails the test through valgrind's exit code. Argument "run" is
 * that mode; "no-valgrind" / "no-headers" skip loudly when the build found
 * no valgrind program or no valgrind headers.
 */
#include <stdint.h>

#include "helpers.h"

#ifdef PMEM2_HAVE_VALGRIND
#include <valgrind/memcheck.h>

/* Every byte of [p, p+n) is still fully undefined (V-bits all 1). */
static void
check_undefined(const void *p, size_t n, const char *what)
{
	unsigned char *vb = test_alloc(n);
	memset(vb, 0, n);
	CHECK_EQ(VALGRIND_GET_VBITS(p, vb, n), 1);
	for (size_t i = 0; i < n; i++) {
		if (vb[i] != 0xff)
			FAIL("%s: byte %zu of %zu has V-bits %#x, expected "
				"undefined (0xff)", what, i, n, vb[i]);
	}
	free(vb);
}
#endif

/* A buffer whose middle part is uninitialised, the ends defined. */
static unsigned char *
half_defined(size_t n, size_t lo, size_t hi)
{
	unsigned char *b = test_alloc(n);
	memset(b, 0x5a, lo);
	memset(b + hi, 0xa5, n - hi);
	return b;
}

static void
one_map(struct pmem2_source *src, size_t size, const char *force)
{
	if (force)
		setenv("PMEM2_FORCE_GRANULARITY", force, 1);
	else
		unsetenv("PMEM2_FORCE_GRANULARITY");
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	pmem2_config_delete(&cfg);
	unsetenv("PMEM2_FORCE_GRANULARITY");
	CHECK_EQ(pmem2_map_get_size(map), size);
	unsigned char *a = pmem2_map_get_address(map);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	/* uninitialised bytes arrive in the map the usual way: a copy */
	size_t lo = 100, hi = 2 * pg + 300;
	unsigned char *b = half_defined(size, lo, hi);
	memcpy(a, b, size);
	if (!force) {
		CHECK_EQ(pmem2_map_get_store_granularity(map),
			PMEM2_GRANULARITY_PAGE);
		/* persist: msync of the pages around [17, 3 pages) */
		pmem2_persist_fn persist = pmem2_get_persist_fn(map);
		persist(a + 17, 3 * pg - 17);
		/* flush + drain: the same msync on PAGE */
		pmem2_get_flush_fn(map)(a + 1, pg);
		pmem2_get_drain_fn(map)();
		/* a PAGE memcpy copies an undefined source, then msyncs */
		pmem2_memcpy_fn cpy = pmem2_get_memcpy_fn(map);
		cpy(a + 3 * pg, b + lo, pg, 0);
		/* deep flush is nothing to do on PAGE */
		CHECK_PMEM2_OK(pmem2_deep_flush(map, a, size));
	} else {
		/* forced CACHE_LINE on a regular file: deep flush msyncs */
		CHECK_PMEM2_OK(pmem2_deep_flush(map, a + 5, 2 * pg));
	}
#ifdef PMEM2_HAVE_VALGRIND
	if (RUNNING_ON_VALGRIND) {
		/* definedness is untouched: still caught on a later use */
		check_undefined(a + lo, hi - lo, force ? force : "PAGE");
		if (!force)
			check_undefined(a + 3 * pg, pg, "PAGE memcpy");
	}
#endif
	/* the defined bytes arrived */
	for (size_t i = 0; i < lo; i++)
		CHECK_EQ(a[i], 0x5a);
	for (size_t i = hi; i < 3 * pg; i++)
		CHECK_EQ(a[i], 0xa5);
	free(b);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
}

int
main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "run";
	if (strcmp(mode, "no-valgrind") == 0)
		SKIP("valgrind was not found when the build was configured: "
			"memcheck on PAGE persistence NOT checked");
	if (strcmp(mode, "no-headers") == 0)
		SKIP("valgrind's headers (<valgrind/memcheck.h>) were not found "
			"when the build was configured: the library does not hide "
			"msync from memcheck, NOT checked");
#ifdef PMEM2_HAVE_VALGRIND
	if (!RUNNING_ON_VALGRIND)
		FAIL("this test must run under valgrind --tool=memcheck");
#endif

	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = 5 * pg;
	char *path;
	int fd;
	struct pmem2_source *src = test_file_source(test_dir(), "vgpersist",
		size, &path, &fd);

	one_map(src, size, NULL);
	one_map(src, size, "CACHE_LINE");

	CHECK_PMEM2_OK(pmem2_source_delete(&src));
	test_file_remove(path, fd);
	printf("ok\n");
	return 0;
}
