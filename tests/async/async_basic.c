/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_basic.c -- pmem2_{memcpy,memmove,memset,persist}_async with the
 * map's default mover on every granularity, driven by FUTURE_BUSY_POLL.
 *
 * This program links libpmem2 only, not libminiasync: the async API needs
 * nothing but libminiasync's headers as long as no miniasync function is
 * called (the test's CMake rule checks the link line).
 *
 * Usage: async_basic [page|cache_line|byte]...  (default: all three)
 */
#include "helpers.h"

#define MAPSZ (2u << 20)

static const size_t Sizes[] = { 0, 1, 7, 63, 64, 65, 4095, 4096, 4097,
	65536 + 13, 300000 };
#define NSIZES (sizeof(Sizes) / sizeof(Sizes[0]))

/* The map equals the shadow around [off, off+n) (and, at the end, all). */
#define CHECK_AROUND(m, shadow, off, n) do { \
	size_t _lo = (off) > 256 ? (off) - 256 : 0; \
	size_t _hi = (off) + (n) + 256 < MAPSZ ? (off) + (n) + 256 : MAPSZ; \
	CHECK_MEM((m).addr + _lo, (shadow) + _lo, _hi - _lo); \
} while (0)

static void
check_done(struct vdm_operation_future *f, enum vdm_operation_type type,
	void *dest)
{
	CHECK_EQ(FUTURE_STATE(f), FUTURE_STATE_COMPLETE);
	CHECK_EQ(f->output.type, type);
	CHECK_EQ(f->output.result, VDM_SUCCESS);
	switch (type) {
	case VDM_OPERATION_MEMCPY:
		CHECK(f->output.output.memcpy.dest == dest);
		break;
	case VDM_OPERATION_MEMMOVE:
		CHECK(f->output.output.memmove.dest == dest);
		break;
	case VDM_OPERATION_MEMSET:
		CHECK(f->output.output.memset.str == dest);
		break;
	default:
		break;
	}
}

static void
test_gran(enum pmem2_granularity g)
{
	struct test_map m;
	test_map_open(&m, g, MAPSZ, NULL);
	char *src = malloc(MAPSZ);
	char *shadow = malloc(MAPSZ);
	CHECK(src && shadow);
	memset(m.addr, 0, MAPSZ);
	memset(shadow, 0, MAPSZ);

	unsigned seed = 1;
	for (size_t i = 0; i < NSIZES; i++) {
		size_t n = Sizes[i];
		size_t off = (i * 4099) % (MAPSZ / 2);

		/* memcpy */
		test_pattern(src, n, seed++);
		struct vdm_operation_future f = pmem2_memcpy_async(m.map,
			m.addr + off, src, n, 0);
		/* what the future says it will do, readable before the poll */
		CHECK(f.data.vdm != NULL);
		CHECK_EQ(f.data.operation.type, VDM_OPERATION_MEMCPY);
		CHECK(f.data.operation.data.memcpy.dest == m.addr + off);
		CHECK(f.data.operation.data.memcpy.src == src);
		CHECK_EQ(f.data.operation.data.memcpy.n, n);
		CHECK_EQ(f.data.operation.data.memcpy.flags, VDM_F_MEM_DURABLE);
		CHECK_EQ(FUTURE_STATE(&f), FUTURE_STATE_IDLE);
		FUTURE_BUSY_POLL(&f);
		check_done(&f, VDM_OPERATION_MEMCPY, m.addr + off);
		memcpy(shadow + off, src, n);
		CHECK_AROUND(m, shadow, off, n);
		/* polling a complete future does nothing */
		CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL),
			FUTURE_STATE_COMPLETE);

		/* memmove, overlapping both ways */
		if (n > 8) {
			char *d = m.addr + off;
			f = pmem2_memmove_async(m.map, d + 5, d, n - 5, 0);
			FUTURE_BUSY_POLL(&f);
			check_done(&f, VDM_OPERATION_MEMMOVE, d + 5);
			memmove(shadow + off + 5, shadow + off, n - 5);
			CHECK_AROUND(m, shadow, off, n);

			f = pmem2_memmove_async(m.map, d, d + 3, n - 3,
				PMEM2_F_MEM_NONTEMPORAL);
			CHECK_EQ(f.data.operation.data.memmove.flags &
				VDM_F_MEM_DURABLE, VDM_F_MEM_DURABLE);
			FUTURE_BUSY_POLL(&f);
			check_done(&f, VDM_OPERATION_MEMMOVE, d);
			memmove(shadow + off, shadow + off + 3, n - 3);
			CHECK_AROUND(m, shadow, off, n);
		}

		/* memset */
		size_t soff = MAPSZ / 2 + off;
		f = pmem2_memset_async(m.map, m.addr + soff, (int)(0x100 + i),
			n, PMEM2_F_MEM_TEMPORAL);
		CHECK_EQ(f.data.operation.data.memset.c, (int)(0x100 + i));
		FUTURE_BUSY_POLL(&f);
		check_done(&f, VDM_OPERATION_MEMSET, m.addr + soff);
		memset(shadow + soff, (int)(0x100 + i), n);
		CHECK_AROUND(m, shadow, soff, n);

		/* persist of what a plain store wrote */
		memset(m.addr + off, 0x5a, n);
		memset(shadow + off, 0x5a, n);
		f = pmem2_persist_async(m.map, m.addr + off, n);
		CHECK_EQ(f.data.operation.type, VDM_OPERATION_FLUSH);
		CHECK(f.data.operation.data.flush.dest == m.addr + off);
		CHECK_EQ(f.data.operation.data.flush.n, n);
		FUTURE_BUSY_POLL(&f);
		check_done(&f, VDM_OPERATION_FLUSH, NULL);
		CHECK_AROUND(m, shadow, off, n);

		/* NOFLUSH: the bytes, but no promise of durability */
		test_pattern(src, n, seed++);
		f = pmem2_memcpy_async(m.map, m.addr + off, src, n,
			PMEM2_F_MEM_NOFLUSH);
		CHECK_EQ(f.data.operation.data.memcpy.flags, 0);
		FUTURE_BUSY_POLL(&f);
		check_done(&f, VDM_OPERATION_MEMCPY, m.addr + off);
		memcpy(shadow + off, src, n);
		CHECK_MEM(m.addr, shadow, MAPSZ);
	}

	/*
	 * The future's mover through the generic vdm interface: the same
	 * durable behaviour as the pmem2 functions with no flags.
	 */
	struct vdm_operation_future f0 = pmem2_memcpy_async(m.map, m.addr,
		src, 1, 0);
	struct vdm *v = f0.data.vdm;
	FUTURE_BUSY_POLL(&f0);
	CHECK(vdm_is_supported(v, VDM_F_MEM_DURABLE));
	test_pattern(src, 8192, seed++);
	struct vdm_operation_future f = vdm_memcpy(v, m.addr + 100, src, 8192,
		0);
	FUTURE_BUSY_POLL(&f);
	check_done(&f, VDM_OPERATION_MEMCPY, m.addr + 100);
	CHECK_MEM(m.addr + 100, src, 8192);
	f = vdm_memset(v, m.addr + 100, 0x11, 300, 0);
	FUTURE_BUSY_POLL(&f);
	check_done(&f, VDM_OPERATION_MEMSET, m.addr + 100);
	for (int i = 0; i < 300; i++)
		CHECK_EQ(m.addr[100 + i], 0x11);
	f = vdm_flush(v, m.addr + 100, 300, 0);
	FUTURE_BUSY_POLL(&f);
	check_done(&f, VDM_OPERATION_FLUSH, NULL);

	/* futures may be moved (copied) before and between polls */
	struct vdm_operation_future arr[4];
	for (int i = 0; i < 4; i++) {
		test_pattern(src + i * 1000, 1000, seed++);
		arr[i] = pmem2_memcpy_async(m.map, m.addr + 20000 + i * 1000,
			src + i * 1000, 1000, 0);
	}
	for (int i = 3; i >= 0; i--) {
		struct vdm_operation_future moved = arr[i];
		FUTURE_BUSY_POLL(&moved);
		CHECK_EQ(moved.output.result, VDM_SUCCESS);
	}
	CHECK_MEM(m.addr + 20000, src, 4000);

	/* many unpolled futures, then all polled: each one completes */
	enum { N = 200 };
	struct vdm_operation_future *many = malloc(N * sizeof(*many));
	CHECK(many);
	test_pattern(src, N * 512, seed++);
	for (int i = 0; i < N; i++)
		many[i] = pmem2_memcpy_async(m.map, m.addr + i * 512,
			src + i * 512, 512, 0);
	int left = N;
	while (left) {
		for (int i = 0; i < N; i++) {
			if (FUTURE_STATE(&many[i]) == FUTURE_STATE_COMPLETE)
				continue;
			if (future_poll(FUTURE_AS_RUNNABLE(&many[i]), NULL) ==
					FUTURE_STATE_COMPLETE) {
				CHECK_EQ(many[i].output.result, VDM_SUCCESS);
				left--;
			}
		}
	}
	CHECK_MEM(m.addr, src, N * 512);
	free(many);

	free(src);
	free(shadow);
	test_map_close(&m);
	printf("async_basic %s: ok\n", test_gran_name(g));
}

int
main(int argc, char *argv[])
{
	if (argc < 2) {
		test_gran(PMEM2_GRANULARITY_CACHE_LINE);
		test_gran(PMEM2_GRANULARITY_BYTE);
		test_gran(PMEM2_GRANULARITY_PAGE);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		int g = test_gran_parse(argv[i]);
		if (g < 0)
			FAIL("unknown granularity %s", argv[i]);
		test_gran((enum pmem2_granularity)g);
	}
	return 0;
}
