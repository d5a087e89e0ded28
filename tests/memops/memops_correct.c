/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memops_correct.c -- the memory functions against libc's memmove/memset,
 * byte for byte with guard bytes on both sides, on a /dev/shm file mapped
 * with each granularity forced (PMEM2_FORCE_GRANULARITY):
 *   - every length 0..2 KiB with every destination alignment 0..63 (the
 *     source alignment and the flags rotate), every src x dst alignment
 *     pair for lengths around the path boundaries, large lengths up to a
 *     few MiB with sampled alignments and flags;
 *   - overlapping memmove both ways, by small and large distances;
 *   - memset likewise;
 *   - persist/flush/drain of each granularity; identical pointers for
 *     maps of equal granularity.
 * It also checks that the variant running is the one CPUID and the
 * environment ask for (ctest runs it once per forced variant).
 * PMEM2_TEST_QUICK=1 samples fewer cases.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <libpmem2.h>

#include "test.h"
#include "memops.h"
#include "memops_impl.h"

#define GUARD 96
#define MAPSZ ((size_t)20 << 20)
#define BIG ((size_t)4 << 20)

static int Quick;
static unsigned Seed = 1;

struct target {
	const char *name;
	enum pmem2_granularity g;
	int fd;
	char path[512];
	struct pmem2_map *map;
	unsigned char *base;
	pmem2_memmove_fn mm;
	pmem2_memcpy_fn mc;
	pmem2_memset_fn ms;
};

static unsigned char *Ref;	/* mirrors the map */
static unsigned char *Src;	/* an external source, same size */

static void
fill_pattern(size_t lo, size_t hi)
{
	unsigned x = Seed++ * 2654435761u;
	for (size_t i = lo; i < hi; i++) {
		x = x * 1103515245u + 12345u;
		unsigned char b = (unsigned char)(x >> 23);
		Ref[i] = b;
	}
}

static void
check_window(struct target *t, size_t lo, size_t hi, const char *what,
	size_t len, size_t doff, long soff, unsigned flags)
{
	if (memcmp(t->base + lo, Ref + lo, hi - lo) == 0)
		return;
	for (size_t i = lo; i < hi; i++) {
		if (t->base[i] != Ref[i])
			FAIL("%s %s (%s): len %zu dst off %zu src off %ld flags "
				"%#x: byte %zu (dst%+ld) is %#x, expected %#x",
				t->name, what, pmem2_memops_variant(), len, doff,
				soff, flags, i, (long)i - (long)doff,
				t->base[i], Ref[i]);
	}
}

/* copy from the external source at soff to the map at doff */
static void
one_copy(struct target *t, size_t doff, size_t soff, size_t len,
	unsigned flags, int use_memcpy)
{
	size_t lo = doff - GUARD, hi = doff + len + GUARD;
	fill_pattern(lo, hi);
	memcpy(t->base + lo, Ref + lo, hi - lo);
	void *r = use_memcpy ?
		t->mc(t->base + doff, Src + soff, len, flags) :
		t->mm(t->base + doff, Src + soff, len, flags);
	if (r != t->base + doff)
		FAIL("%s: returned %p, not dest %p", t->name, r,
			(void *)(t->base + doff));
	memcpy(Ref + doff, Src + soff, len);
	check_window(t, lo, hi, use_memcpy ? "memcpy" : "memmove", len, doff,
		(long)soff, flags);
}

/* memmove inside the map: src = dst + shift */
static void
one_overlap(struct target *t, size_t doff, long shift, size_t len,
	unsigned flags)
{
	size_t soff = (size_t)((long)doff + shift);
	size_t lo = (doff < soff ? doff : soff) - GUARD;
	size_t hi = (doff > soff ? doff : soff) + len + GUARD;
	fill_pattern(lo, hi);
	memcpy(t->base + lo, Ref + lo, hi - lo);
	void *r = t->mm(t->base + doff, t->base + soff, len, flags);
	CHECK(r == t->base + doff);
	memmove(Ref + doff, Ref + soff, len);
	check_window(t, lo, hi, "overlapping memmove", len, doff,
		(long)soff, flags);
}

static void
one_set(struct target *t, size_t doff, int c, size_t len, unsigned flags)
{
	size_t lo = doff - GUARD, hi = doff + len + GUARD;
	fill_pattern(lo, hi);
	memcpy(t->base + lo, Ref + lo, hi - lo);
	void *r = t->ms(t->base + doff, c, len, flags);
	CHECK(r == t->base + doff);
	memset(Ref + doff, c, len);
	check_window(t, lo, hi, "memset", len, doff, -1, flags);
}

static void
run_copies(struct target *t)
{
	size_t base = 4096;	/* room for the guards and negative shifts */
	size_t step = Quick ? 29 : 1;

	/* every length 0..2048, every dst alignment */
	for (size_t len = 0; len <= 2048; len += step)
		for (size_t da = 0; da < 64; da += Quick ? 7 : 1) {
			size_t sa = (da * 29 + len * 7) % 64;
			unsigned fl = (unsigned)(len * 3 + da) % 64;
			one_copy(t, base + da, 8192 + sa, len, fl, (len + da) & 1);
		}

	/* every src x dst alignment around the path boundaries */
	static const size_t lens[] = { 1, 7, 8, 16, 31, 63, 64, 65, 127, 128,
		129, 200, 255, 256, 257, 511, 1041, 4100 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (size_t da = 0; da < 64; da += Quick ? 5 : 1)
			for (size_t sa = 0; sa < 64; sa += Quick ? 11 : 1)
				one_copy(t, base + da, 8192 + sa, lens[i],
					(unsigned)(da + sa + i) % 64, 0);

	/* large lengths: sampled alignments, the interesting flags */
	static const size_t big[] = { 4095, 4096, 65536 + 3, 262144 - 8,
		(1 << 20) + 13, BIG - 5 };
	static const size_t al[][2] = { { 0, 0 }, { 8, 8 }, { 1, 63 },
		{ 63, 5 }, { 32, 0 } };
	static const unsigned fls[] = { 0, PMEM2_F_MEM_NONTEMPORAL,
		PMEM2_F_MEM_TEMPORAL, PMEM2_F_MEM_NODRAIN, PMEM2_F_MEM_NOFLUSH,
		PMEM2_F_MEM_WC | PMEM2_F_MEM_NODRAIN, PMEM2_F_MEM_WB,
		PMEM2_F_MEM_NOFLUSH | PMEM2_F_MEM_NONTEMPORAL };
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		for (size_t a = 0; a < 5; a++)
			for (size_t f = 0; f < 8; f += (Quick ? 3 : 1))
				one_copy(t, base + al[a][0], 8192 + al[a][1],
					big[i], fls[f], 0);
}

static void
run_overlaps(struct target *t)
{
	static const size_t lens[] = { 1, 8, 33, 48, 100, 256, 257, 300, 1000,
		4100, 70000, (1 << 20) + 7 };
	static const long shifts[] = { 1, 7, 8, 63, 64, 65, 200, 255, 256,
		257, 1000, 5000 };
	static const unsigned fls[] = { 0, PMEM2_F_MEM_NONTEMPORAL,
		PMEM2_F_MEM_TEMPORAL, PMEM2_F_MEM_NOFLUSH };
	/* destination offsets in a line: 8 and 24 are 8-byte aligned */
	static const size_t das[] = { 0, 8, 37, 13, 24, 52 };
	size_t nda = Quick ? 3 : 6;
	size_t base = (size_t)8 << 20;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (size_t s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++)
			for (size_t f = 0; f < 4; f++)
				for (size_t di = 0; di < nda; di++) {
					size_t da = das[di];
					one_overlap(t, base + da, shifts[s],
						lens[i], fls[f]);
					one_overlap(t, base + da, -shifts[s],
						lens[i], fls[f]);
				}
	/* src == dst is a no-op */
	one_overlap(t, base, 0, 1000, 0);
	/* halves of the length */
	one_overlap(t, base + 3, 500000, 1000000, 0);
	one_overlap(t, base + 3, -500000, 1000000, PMEM2_F_MEM_NONTEMPORAL);
}

static void
run_sets(struct target *t)
{
	size_t base = 4096;
	size_t step = Quick ? 31 : 1;
	for (size_t len = 0; len <= 2048; len += step)
		for (size_t da = 0; da < 64; da += Quick ? 9 : 3)
			one_set(t, base + da, (int)(len * 7 + da),
				len, (unsigned)(len + da) % 64);
	static const size_t big[] = { 4096, 65536 + 3, (1 << 20) + 13,
		BIG - 5 };
	for (size_t i = 0; i < 4; i++)
		for (unsigned f = 0; f < 64; f += (Quick ? 21 : 3))
			one_set(t, base + (f % 64), 0x5a + (int)f, big[i], f);
}

/* what CPUID and the environment should have chosen */
static void
expected_variant(char *buf, size_t n)
{
	const struct cpu_features *f = cpu_features();
	const char *v;
	const char *isa = "generic";
	int md = 0;

	v = getenv("PMEM_NO_MOVNT");
	if (v && strcmp(v, "1") == 0) {
		v = getenv("PMEM_NO_GENERIC_MEMCPY");
		isa = v && atoll(v) != 0 ? "libc" : "generic";
	} else {
#if defined(__x86_64__)
		v = getenv("PMEM_MOVDIR64B");
		md = v && strcmp(v, "0") != 0 && f->movdir64b;
		if (f->sse2)
			isa = "sse2";
		v = getenv("PMEM_AVX");
		if (f->avx && !(v && strcmp(v, "0") == 0))
			isa = "avx";
		v = getenv("PMEM_AVX512F");
		if (f->avx512f && f->avx512bw && !(v && strcmp(v, "0") == 0))
			isa = "avx512";
#endif
	}
	enum cpu_flush_kind k = CPU_FLUSH_NONE;
	if (f->clflush)
		k = CPU_FLUSH_CLFLUSH;
	v = getenv("PMEM_NO_CLFLUSHOPT");
	if (f->clflushopt && !(v && strcmp(v, "1") == 0))
		k = CPU_FLUSH_CLFLUSHOPT;
	v = getenv("PMEM_NO_CLWB");
	if (f->clwb && !(v && strcmp(v, "1") == 0))
		k = CPU_FLUSH_CLWB;
	snprintf(buf, n, "%s%s/%s", isa, md ? "+movdir64b" : "",
		cpu_flush_kind_name(k));
}

static void
check_variant(void)
{
	char exp[128];
	expected_variant(exp, sizeof(exp));
	printf("variant: %s (expected %s), movnt threshold %zu, "
		"wc workaround %d\n", pmem2_memops_variant(), exp,
		pmem2_movnt_threshold, pmem2_wc_workaround);
	if (strcmp(exp, pmem2_memops_variant()) != 0)
		FAIL("running variant %s, expected %s",
			pmem2_memops_variant(), exp);
	/* the CPU profile: named by PMEM2_CPU_PROFILE, else by vendor */
	const char *prof = getenv("PMEM2_CPU_PROFILE");
	if (!prof || (strcmp(prof, "intel") != 0 && strcmp(prof, "amd") != 0))
		prof = cpu_features()->authentic_amd ? "amd" : "intel";
	printf("cpu profile %s (expected %s), small copies NT %d\n",
		pmem2_memops_profile(), prof, pmem2_small_nt);
	if (strcmp(prof, pmem2_memops_profile()) != 0)
		FAIL("cpu profile %s, expected %s", pmem2_memops_profile(),
			prof);
	int amd = strcmp(prof, "amd") == 0;
	CHECK_EQ(pmem2_small_nt, amd);
	const char *v = getenv("PMEM_MOVNT_THRESHOLD");
	if (v && atoll(v) >= 0)
		CHECK_EQ(pmem2_movnt_threshold, atoll(v));
	else
		CHECK_EQ(pmem2_movnt_threshold, amd ? 0 : 256);
	v = getenv("PMEM_WC_WORKAROUND");
	if (v && (strcmp(v, "0") == 0 || strcmp(v, "1") == 0))
		CHECK_EQ(pmem2_wc_workaround, atoi(v));
	/* a test run that names its variant must really get it */
	v = getenv("PMEM2_TEST_EXPECT_ISA");
	if (v && strncmp(pmem2_memops_variant(), v, strlen(v)) != 0) {
		if (strcmp(exp, pmem2_memops_variant()) == 0 &&
				strncmp(exp, v, strlen(v)) != 0)
			SKIP("this CPU cannot run variant %s (gets %s)", v,
				exp);
		FAIL("variant %s, wanted %s", pmem2_memops_variant(), v);
	}
}

static void
open_target(struct target *t, enum pmem2_granularity g, const char *force,
	const char *name)
{
	t->name = name;
	t->g = g;
	snprintf(t->path, sizeof(t->path), "%s/pa_memops_%d_%s", test_dir(),
		(int)getpid(), name);
	t->fd = open(t->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (t->fd < 0)
		SKIP("cannot create %s: %s", t->path, strerror(errno));
	if (ftruncate(t->fd, (off_t)MAPSZ) != 0)
		SKIP("cannot size %s: %s", t->path, strerror(errno));
	struct pmem2_config *cfg;
	struct pmem2_source *src;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, t->fd));
	setenv("PMEM2_FORCE_GRANULARITY", force, 1);
	CHECK_PMEM2_OK(pmem2_map_new(&t->map, cfg, src));
	unsetenv("PMEM2_FORCE_GRANULARITY");
	unlink(t->path);	/* the map keeps it; nothing is left if we die */
	CHECK_EQ(pmem2_map_get_store_granularity(t->map), g);
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);
	t->base = pmem2_map_get_address(t->map);
	t->mm = pmem2_get_memmove_fn(t->map);
	t->mc = pmem2_get_memcpy_fn(t->map);
	t->ms = pmem2_get_memset_fn(t->map);
	CHECK(t->mm && t->mc && t->ms);
	CHECK(t->mc == t->mm);
	const struct pmem2_ops *o = pmem2_ops_get(g);
	CHECK(t->mm == o->memmove && t->ms == o->memset);
	CHECK(pmem2_get_persist_fn(t->map) == o->persist);
	CHECK(pmem2_get_flush_fn(t->map) == o->flush);
	CHECK(pmem2_get_drain_fn(t->map) == o->drain);
}

static void
close_target(struct target *t)
{
	CHECK_PMEM2_OK(pmem2_map_delete(&t->map));
	close(t->fd);
}

static void
check_persistence(struct target *t)
{
	pmem2_persist_fn p = pmem2_get_persist_fn(t->map);
	pmem2_flush_fn f = pmem2_get_flush_fn(t->map);
	pmem2_drain_fn d = pmem2_get_drain_fn(t->map);
	memset(t->base + 100, 0x11, 5000);
	errno = 12345;
	p(t->base + 100, 5000);
	p(t->base + 1, 0);
	f(t->base + 7, 9000);
	d();
	CHECK_EQ(errno, 12345);	/* success leaves errno alone */
	/* PAGE persist of memory outside any map is skipped, not an error */
	static char outside[64];
	p(outside, sizeof(outside));
	f(outside, sizeof(outside));
	CHECK_EQ(errno, 12345);
	if (t->g == PMEM2_GRANULARITY_PAGE) {
		/* a page nobody maps: msync fails with ENOMEM, the gap is
		 * skipped, errno kept (the slow path) */
		long pg = sysconf(_SC_PAGESIZE);
		char *hole = mmap(NULL, (size_t)pg, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(hole != MAP_FAILED);
		CHECK(munmap(hole, (size_t)pg) == 0);
		p(hole + 5, 100);
		CHECK_EQ(errno, 12345);
		pmem2_get_memset_fn(t->map)(t->base + 3, 0x22, 10, 0);
		CHECK_EQ(errno, 12345);
	}
	CHECK_EQ(t->base[100], 0x11);
}

int
main(int argc, char **argv)
{
	const char *q = getenv("PMEM2_TEST_QUICK");
	Quick = q && strcmp(q, "0") != 0;
	const char *only = argc > 1 ? argv[1] : NULL;

	check_variant();

	Ref = malloc(MAPSZ);
	Src = malloc(MAPSZ);
	CHECK(Ref && Src);
	for (size_t i = 0; i < MAPSZ; i++)
		Src[i] = (unsigned char)(i * 31 + (i >> 9));

	struct {
		enum pmem2_granularity g;
		const char *force, *name;
	} gs[] = {
		{ PMEM2_GRANULARITY_CACHE_LINE, "CACHE_LINE", "cache_line" },
		{ PMEM2_GRANULARITY_BYTE, "BYTE", "byte" },
		{ PMEM2_GRANULARITY_PAGE, "PAGE", "page" },
	};
	for (int i = 0; i < 3; i++) {
		if (only && strcmp(only, gs[i].name) != 0)
			continue;
		struct target t, t2;
		open_target(&t, gs[i].g, gs[i].force, gs[i].name);
		/* a second map of the same granularity shares the functions */
		open_target(&t2, gs[i].g, gs[i].force, "second");
		CHECK(pmem2_get_memmove_fn(t2.map) == t.mm);
		CHECK(pmem2_get_memset_fn(t2.map) == t.ms);
		CHECK(pmem2_get_persist_fn(t2.map) ==
			pmem2_get_persist_fn(t.map));
		close_target(&t2);

		memcpy(Ref, t.base, MAPSZ);
		run_copies(&t);
		run_overlaps(&t);
		run_sets(&t);
		check_persistence(&t);
		close_target(&t);
		printf("%s: ok\n", gs[i].name);
	}
	free(Ref);
	free(Src);
	return 0;
}
