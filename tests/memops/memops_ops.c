/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memops_ops.c -- the per-granularity tables: never NULL, the same pointers
 * on every call, memcpy == memmove, and each function works on plain
 * memory (PAGE's msync skips ranges outside any map).
 */
#include <string.h>
#include <libpmem2.h>

#include "test.h"
#include "memops.h"

int
main(void)
{
	static unsigned char buf[8192] __attribute__((aligned(64)));
	static unsigned char ref[8192];
	enum pmem2_granularity gs[] = { PMEM2_GRANULARITY_BYTE,
		PMEM2_GRANULARITY_CACHE_LINE, PMEM2_GRANULARITY_PAGE };

	for (unsigned i = 0; i < 3; i++) {
		const struct pmem2_ops *o = pmem2_ops_get(gs[i]);
		CHECK(o != NULL);
		CHECK(o == pmem2_ops_get(gs[i]));
		CHECK(o->persist && o->flush && o->drain);
		CHECK(o->memmove && o->memcpy && o->memset);
		CHECK(o->memcpy == o->memmove);
		for (unsigned j = 0; j < 3; j++)
			if (j != i)
				CHECK(o != pmem2_ops_get(gs[j]));

		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = ref[k] = (unsigned char)(k * 7 + i);
		CHECK(o->memset(buf + 3, 0xab, 1000, 0) == buf + 3);
		memset(ref + 3, 0xab, 1000);
		CHECK_MEM(buf, ref, sizeof(buf));
		CHECK(o->memmove(buf + 10, buf + 1, 3000, 0) == buf + 10);
		memmove(ref + 10, ref + 1, 3000);
		CHECK_MEM(buf, ref, sizeof(buf));
		CHECK(o->memcpy(buf + 4000, buf + 7, 100,
			PMEM2_F_MEM_NODRAIN) == buf + 4000);
		memcpy(ref + 4000, ref + 7, 100);
		CHECK_MEM(buf, ref, sizeof(buf));
		o->persist(buf, sizeof(buf));
		o->flush(buf + 1, 100);
		o->drain();
	}
	pmem2_cpu_flush(buf, 100);
	pmem2_cpu_fence();
	return 0;
}
