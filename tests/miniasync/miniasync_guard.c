/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_guard.c -- the threads mover's copies, moves and fills, plain,
 * VDM_F_NO_CACHE_HINT and VDM_F_MEM_DURABLE, on areas that end or start
 * right at a PROT_NONE page (an over-read or over-write faults): every
 * length to 700 bytes and odd ones past 4 KiB, offsets from the page edge
 * rotating through 0..63, overlapping moves both ways; after each, the
 * whole area byte for byte against libc. ctest runs it again with the
 * mover forced to split into tiny parts and to stream everything, and with
 * narrower instruction sets (MINIASYNC_THREADS_*, PMEM_AVX*, PMEM_NO_CLWB).
 * PMEM2_TEST_QUICK=1 (sanitizer and helgrind runs) takes every 7th length.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <libminiasync.h>

#include "test.h"
#include "helpers.h"

#define PG 4096
#define AREA (3 * PG)

int
main(void)
{
	unsigned char *a = test_guarded(AREA), *b = test_guarded(AREA);
	unsigned char *ref = malloc(AREA);
	CHECK(ref != NULL);
	for (int i = 0; i < AREA; i++) {
		a[i] = ref[i] = (unsigned char)(i * 7 + 1);
		b[i] = (unsigned char)(i * 13 + 5);
	}
	struct data_mover_threads *dmt = data_mover_threads_new(2, 128,
		FUTURE_NOTIFIER_NONE);
	CHECK(dmt != NULL);
	struct vdm *v = data_mover_threads_get_vdm(dmt);
	struct runtime *rt = runtime_new();
	CHECK(rt != NULL);
	static const uint64_t flag_set[] = { 0, VDM_F_MEM_DURABLE,
		VDM_F_NO_CACHE_HINT, VDM_F_MEM_DURABLE | VDM_F_NO_CACHE_HINT };
	const char *q = getenv("PMEM2_TEST_QUICK");
	size_t step = q != NULL && *q != '\0' && strcmp(q, "0") != 0 ? 7 : 1;
	unsigned r = 0;
	for (size_t n = 0; n <= PG + 130; n += n < 700 ? step : 3 * step) {
		r++;
		size_t k = (r * 7) % 64, j = (r * 11) % 64;
		size_t delta = 1 + (r * 29) % 200;
		uint64_t fl = flag_set[r % 4];
		for (int op = 0; op < 5; op++) {
			unsigned char *d, *s;
			struct vdm_operation_future f;
			const char *what;
			switch (op) {
			case 0:
				what = "copy to the end";
				d = a + AREA - n - k;
				s = b + AREA - n - j;
				memcpy(ref + (d - a), s, n);
				f = vdm_memcpy(v, d, s, n, fl);
				break;
			case 1:
				what = "copy at the start";
				d = a + k;
				s = b + j;
				memcpy(ref + (d - a), s, n);
				f = vdm_memcpy(v, d, s, n, fl);
				break;
			case 2:
				what = "move down";
				s = a + AREA - n - k;
				d = s - delta;
				memmove(ref + (d - a), ref + (s - a), n);
				f = vdm_memmove(v, d, s, n, fl);
				break;
			case 3:
				what = "move up";
				s = a + k;
				d = s + delta;
				memmove(ref + (d - a), ref + (s - a), n);
				f = vdm_memmove(v, d, s, n, fl);
				break;
			default:
				what = "fill to the end";
				d = a + AREA - n - j;
				memset(ref + (d - a), (int)(r & 0xff), n);
				f = vdm_memset(v, d, (int)(r & 0xff), n, fl);
				break;
			}
			runtime_wait(rt, FUTURE_AS_RUNNABLE(&f));
			CHECK_EQ(FUTURE_OUTPUT(&f)->result, VDM_SUCCESS);
			for (size_t i = 0; i < AREA; i++)
				if (a[i] != ref[i])
					FAIL("%s n=%zu flags %#llx: byte %zd from "
						"dst differs: %#x != %#x", what, n,
						(unsigned long long)fl,
						(ssize_t)(a + i - d), a[i], ref[i]);
		}
	}
	runtime_delete(rt);
	data_mover_threads_delete(dmt);
	free(ref);
	printf("miniasync_guard: every operation stayed inside its area\n");
	return 0;
}
