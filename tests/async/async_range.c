/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_range.c -- destinations that are not wholly inside the map: another
 * map, before the map, past its end, lengths that overflow. Every
 * operation (memcpy, memmove, memset, persist), through the pmem2_*_async
 * functions and through the map's mover with vdm_*(), on every mover, must
 * complete with VDM_ERROR_JOB_CORRUPTED and a message, and write nothing;
 * ranges that are inside (up to the last byte, zero bytes at the end) work.
 *
 * Usage: async_range page|cache_line
 */
#include <libminiasync.h>
#include "helpers.h"

#define MAPSZ ((size_t)1 << 16)

enum where { IN_A, IN_B, NOWHERE };

struct rcase {
	const char *name;
	enum where base;
	long long off;		/* from the base map's start; < 0: before it */
	size_t len;		/* SIZE_MAX - k is written as such */
	int ok;
};

/* "END" stands for the map's size, filled in at run time */
#define END (1LL << 40)

static const struct rcase Cases[] = {
	{ "inside", IN_A, 4096, 4096, 1 },
	{ "last byte", IN_A, END - 1, 1, 1 },
	{ "zero bytes at the end", IN_A, END, 0, 1 },
	{ "whole map", IN_A, 0, MAPSZ, 1 },
	{ "one byte past the end", IN_A, END - 4095, 4096, 0 },
	{ "starts at the end", IN_A, END, 1, 0 },
	{ "starts past the end", IN_A, END + 4096, 0, 0 },
	{ "one byte before", IN_A, -1, 1, 0 },
	{ "SIZE_MAX - 50 bytes", IN_A, 50, SIZE_MAX - 50, 0 },
	{ "SIZE_MAX bytes", IN_A, 4096, SIZE_MAX, 0 },
	{ "inside another map", IN_B, 0, 4096, 0 },
	{ "NULL", NOWHERE, 0, 1, 0 },
};

static const char *const Ops[] = { "memcpy", "memmove", "memset", "persist" };

static char Src[MAPSZ];

static struct vdm_operation_future
make(int op, int via_vdm, struct pmem2_map *map, void *dest, size_t len)
{
	if (via_vdm) {
		/* the map's own mover, through the generic interface */
		struct vdm *v = pmem2_memcpy_async(map, pmem2_map_get_address(map),
			Src, 0, 0).data.vdm;
		switch (op) {
		case 0: return vdm_memcpy(v, dest, Src, len, 0);
		case 1: return vdm_memmove(v, dest, Src, len, 0);
		case 2: return vdm_memset(v, dest, 0x5a, len, 0);
		default: return vdm_flush(v, dest, len, 0);
		}
	}
	switch (op) {
	case 0: return pmem2_memcpy_async(map, dest, Src, len, 0);
	case 1: return pmem2_memmove_async(map, dest, Src, len, 0);
	case 2: return pmem2_memset_async(map, dest, 0x5a, len, 0);
	default: return pmem2_persist_async(map, dest, len);
	}
}

static int
run_mover(enum pmem2_granularity g, const char *mname, struct vdm *vdm)
{
	struct test_map a, b;
	test_map_open(&b, g, MAPSZ, NULL);
	test_map_open(&a, g, MAPSZ, vdm);
	char *want_a = malloc(MAPSZ), *want_b = malloc(MAPSZ);
	CHECK(want_a && want_b);
	int nchecks = 0;

	for (size_t c = 0; c < sizeof(Cases) / sizeof(Cases[0]); c++) {
		const struct rcase *rc = &Cases[c];
		for (int op = 0; op < 4; op++) {
			for (int via = 0; via < 2; via++) {
				test_pattern(a.addr, MAPSZ, (unsigned)c + 1);
				test_pattern(b.addr, MAPSZ, (unsigned)c + 100);
				memcpy(want_a, a.addr, MAPSZ);
				memcpy(want_b, b.addr, MAPSZ);

				long long off = rc->off;
				if (off >= END / 2)
					off = off - END + (long long)a.size;
				uintptr_t base = rc->base == IN_A ?
					(uintptr_t)a.addr : rc->base == IN_B ?
					(uintptr_t)b.addr : 0;
				void *dest = (void *)(base + (uintptr_t)off);

				struct vdm_operation_future f =
					make(op, via, a.map, dest, rc->len);
				FUTURE_BUSY_POLL(&f);
				enum vdm_operation_result r =
					FUTURE_OUTPUT(&f)->result;
				if (rc->ok && r != VDM_SUCCESS)
					FAIL("%s, %s, %s%s: result %d (%s)", mname,
						rc->name, Ops[op],
						via ? " via vdm" : "", r,
						pmem2_errormsg());
				if (!rc->ok && r != VDM_ERROR_JOB_CORRUPTED)
					FAIL("%s, %s, %s%s: result %d, expected "
						"VDM_ERROR_JOB_CORRUPTED", mname,
						rc->name, Ops[op],
						via ? " via vdm" : "", r);
				if (!rc->ok) {
					if (pmem2_errormsg()[0] == '\0')
						FAIL("%s, %s: no message", mname,
							rc->name);
					/* nothing written anywhere */
					CHECK_MEM_FAST(a.addr, want_a, MAPSZ);
					CHECK_MEM_FAST(b.addr, want_b, MAPSZ);
					CHECK(FUTURE_OUTPUT(&f)->output.memcpy.dest
						== NULL || op == 3);
				}
				nchecks++;
			}
		}
	}
	printf("async_range %s %s: %d cases\n", test_gran_name(g), mname, nchecks);
	test_map_close(&a);
	test_map_close(&b);
	free(want_a);
	free(want_b);
	return nchecks;
}

int
main(int argc, char *argv[])
{
	enum pmem2_granularity g = test_gran_arg(argc, argv,
		PMEM2_GRANULARITY_PAGE);
	test_pattern(Src, sizeof(Src), 7);

	run_mover(g, "default mover", NULL);

	struct data_mover_sync *dms = data_mover_sync_new();
	CHECK(dms);
	run_mover(g, "sync mover", data_mover_sync_get_vdm(dms));
	data_mover_sync_delete(dms);

	struct data_mover_threads *dmt = data_mover_threads_default();
	CHECK(dmt);
	run_mover(g, "threads mover", data_mover_threads_get_vdm(dmt));
	data_mover_threads_delete(dmt);
	return 0;
}
