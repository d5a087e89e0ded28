/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcheck_memops.c -- persistence checker over the synchronous memory
 * functions of a checked libpmem2 build (-DPERSIST_CHECK).
 *
 * Usage: pcheck_memops page|cache_line|byte
 * (cache_line and byte map a /dev/shm file with PMEM2_FORCE_GRANULARITY,
 * page a disk-backed file in /var/tmp.)
 *
 * For every flag combination, length and alignment: memcpy/memmove/memset
 * without NODRAIN/NOFLUSH leave every written byte durable when they
 * return; with NODRAIN the drain function makes them durable; with NOFLUSH
 * the persist function does. Every written byte must have been reported
 * stored (the hooks cover the writes), no byte outside the destination may
 * be reported or changed. persist, and flush+drain, make user stores durable.
 *
 * Then the instruction mix the CPU profile (PMEM2_CPU_PROFILE, or CPUID)
 * chose, per size class, from the hooks' counts: e.g. the amd profile
 * makes an aligned 256-byte copy with non-temporal stores and no
 * write-back, the intel profile with ordinary stores and write-backs.
 */
#include <stdint.h>
#include "helpers.h"
#include "pcheck.h"

/* libpmem2 internals (the checked build is linked statically) */
const char *pmem2_memops_variant(void);
const char *pmem2_memops_profile(void);

static struct test_map m;
static pmem2_memcpy_fn f_memcpy;
static pmem2_memmove_fn f_memmove;
static pmem2_memset_fn f_memset;
static pmem2_persist_fn f_persist;
static pmem2_flush_fn f_flush;
static pmem2_drain_fn f_drain;
static unsigned long nchecked;

#define GUARD 192

static void
expect_durable(const char *what, unsigned flags, void *dst, size_t len)
{
	struct pcheck_fail f;
	if (len && pcheck_touched(dst, len, &f))
		FAIL("%s flags %#x len %zu dst+%zu: byte %zu %s", what, flags,
			len, (size_t)((char *)dst - (char *)m.addr), f.offset,
			f.state);
	if (pcheck_durable(dst, len, &f))
		FAIL("%s flags %#x len %zu dst+%zu (%s): byte %zu is %s", what,
			flags, len, (size_t)((char *)dst - (char *)m.addr),
			test_gran_name(m.gran), f.offset, f.state);
	if (pcheck_untouched((char *)dst - GUARD, GUARD, &f) ||
			pcheck_untouched((char *)dst + len, GUARD, &f))
		FAIL("%s flags %#x len %zu: a byte outside the destination was "
			"reported stored", what, flags, len);
	nchecked++;
}

/* Completes a non-durable call as its flags say the caller must. */
static void
finish(unsigned flags, void *dst, size_t len)
{
	if (flags & PMEM2_F_MEM_NOFLUSH)
		f_persist(dst, len);
	else if (flags & PMEM2_F_MEM_NODRAIN)
		f_drain();
}

static void
reset_around(void *dst, size_t len)
{
	pcheck_reset((enum pcheck_model)m.gran, (char *)dst - GUARD,
		len + 2 * GUARD);
}

/* what one call reported: each field 0 (none) or 1 (some) */
struct mix {
	int store, nt, flush, fence, sync;
};

static void
expect_mix(const char *what, size_t len, size_t off, unsigned flags,
	struct mix want)
{
	struct pcheck_counts c;
	pcheck_counts(&c);
	struct mix got = { c.store > 0, c.nt_store > 0, c.flush > 0,
		c.fence > 0, c.sync > 0 };
	if (memcmp(&got, &want, sizeof(got)) != 0)
		FAIL("profile %s, %s: %s len %zu at line+%zu flags %#x: "
			"stores %d nt %d write-backs %d fences %d syncs %d, "
			"wanted %d %d %d %d %d", pmem2_memops_profile(),
			pmem2_memops_variant(), what, len, off, flags,
			got.store, got.nt, got.flush, got.fence, got.sync,
			want.store, want.nt, want.flush, want.fence, want.sync);
	if (c.fence > 1)
		FAIL("%s len %zu: %llu fences, wanted one", what, len,
			(unsigned long long)c.fence);
	nchecked++;
}

/* one memcpy and one memset of len at base+off (off: from a line start) */
static void
mix_case(unsigned char *base, const unsigned char *src, size_t len,
	size_t off, unsigned flags, struct mix want)
{
	unsigned char *dst = base + off;
	reset_around(dst, len);
	f_memcpy(dst, src, len, flags);
	expect_mix("memcpy", len, off, flags, want);
	reset_around(dst, len);
	f_memset(dst, 0x3c, len, flags);
	expect_mix("memset", len, off, flags, want);
}

/*
 * The stores the profile picks per size class, on a map of granularity
 * gran. Only for the default instruction set (AVX-512 with a write-back
 * instruction) and thresholds: other variants have other small limits.
 */
static void
check_mix(int gran, unsigned char *base, const unsigned char *src)
{
	const char *want_prof = getenv("PMEM2_CPU_PROFILE");
	if (want_prof && (strcmp(want_prof, "intel") == 0 ||
			strcmp(want_prof, "amd") == 0) &&
			strcmp(want_prof, pmem2_memops_profile()) != 0)
		FAIL("PMEM2_CPU_PROFILE=%s, but the profile is %s", want_prof,
			pmem2_memops_profile());
	static const char *const knobs[] = { "PMEM_MOVNT_THRESHOLD",
		"PMEM_NO_MOVNT", "PMEM_AVX512F", "PMEM_AVX", "PMEM_MOVDIR64B",
		"PMEM_NO_CLWB", "PMEM_NO_CLFLUSHOPT" };
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (getenv(knobs[i])) {
			printf("instruction mix not checked: %s is set\n",
				knobs[i]);
			return;
		}
	if (strcmp(pmem2_memops_variant(), "avx512/clwb") != 0) {
		printf("instruction mix not checked: variant %s\n",
			pmem2_memops_variant());
		return;
	}
	int amd = strcmp(pmem2_memops_profile(), "amd") == 0;
	const struct mix T = { 1, 0, 1, 1, 0 };	/* stores + write-back */
	const struct mix N = { 0, 1, 0, 1, 0 };	/* NT stores only */
	const struct mix TN = { 1, 1, 1, 1, 0 };	/* NT body, T ends */

	if (gran == PMEM2_GRANULARITY_PAGE) {
		/* PAGE: msync after ordinary stores, or NT on intel at 2 MiB */
		const struct mix P = { 1, 0, 0, 0, 1 };
		const struct mix PN = { 0, 1, 0, 1, 1 };
		size_t big = (size_t)2 << 20;	/* more than main's source */
		unsigned char *bsrc = test_alloc(big);
		memset(bsrc, 0x77, big);
		mix_case(base, bsrc, 4096, 0, 0, P);
		mix_case(base, bsrc, big, 0, 0, amd ? P : PN);
		free(bsrc);
		printf("instruction mix of profile %s checked (PAGE)\n",
			pmem2_memops_profile());
		return;
	}
	if (gran != PMEM2_GRANULARITY_CACHE_LINE)
		return;

	/* aligned, below a line: 8-byte NT stores on amd */
	static const size_t sub[] = { 8, 16, 56 };
	for (size_t i = 0; i < 3; i++)
		mix_case(base, src, sub[i], 0, 0, amd ? N : T);
	/* whole lines up to the small limit (256 B) */
	static const size_t lines[] = { 64, 128, 192, 256 };
	for (size_t i = 0; i < 4; i++)
		mix_case(base, src, lines[i], 0, 0, amd ? N : T);
	/* above the small limit: NT on both */
	mix_case(base, src, 4096, 0, 0, N);
	mix_case(base, src, 65536, 0, 0, N);
	/* unaligned pieces below a line stay ordinary stores + write-back */
	mix_case(base, src, 7, 1, 0, T);
	mix_case(base, src, 12, 4, 0, T);
	/*
	 * Not line aligned: NT body; the partial end lines streamed with
	 * 8-byte stores on amd when d and n are multiples of 8, else
	 * ordinary stores written back.
	 */
	mix_case(base, src, 200, 8, 0, amd ? N : T);
	mix_case(base, src, 1000, 8, 0, amd ? N : TN);
	mix_case(base, src, 200, 1, 0, amd ? TN : T);
	mix_case(base, src, 1000, 4, 0, TN);
	mix_case(base, src, 1000, 8, PMEM2_F_MEM_NONTEMPORAL, amd ? N : TN);
	/* the hints win over the profile */
	mix_case(base, src, 256, 0, PMEM2_F_MEM_TEMPORAL, T);
	mix_case(base, src, 4096, 0, PMEM2_F_MEM_TEMPORAL, T);
	mix_case(base, src, 256, 0, PMEM2_F_MEM_NONTEMPORAL, amd ? N : T);
	/* NOFLUSH: ordinary stores, no write-back, no fence */
	const struct mix S = { 1, 0, 0, 0, 0 };
	mix_case(base, src, 256, 0, PMEM2_F_MEM_NOFLUSH, S);
	printf("instruction mix of profile %s checked\n",
		pmem2_memops_profile());
}

int
main(int argc, char *argv[])
{
	int gran = test_gran_parse(argc > 1 ? argv[1] : NULL);
	if (gran < 0)
		FAIL("usage: %s page|cache_line|byte", argv[0]);
	const char *dir = test_gran_dir(gran);
	size_t mapsize = 4u << 20;
	test_map_open_in(&m, dir, "pcheck-memops", mapsize, NULL, NULL, NULL);
	if (m.gran != gran)
		SKIP("map granularity %s, wanted %s", test_gran_name(m.gran),
			test_gran_name(gran));

	f_memcpy = pmem2_get_memcpy_fn(m.map);
	f_memmove = pmem2_get_memmove_fn(m.map);
	f_memset = pmem2_get_memset_fn(m.map);
	f_persist = pmem2_get_persist_fn(m.map);
	f_flush = pmem2_get_flush_fn(m.map);
	f_drain = pmem2_get_drain_fn(m.map);

	static const size_t lens_full[] = { 0, 1, 7, 8, 63, 64, 65, 100, 255,
		256, 257, 1000, 4095, 4096, 4097, 12345, 65536 + 13,
		(1u << 20) + 5 };
	static const size_t lens_page[] = { 0, 1, 64, 300, 4097, 70000 };
	static const size_t offs[] = { GUARD, GUARD + 1, GUARD + 8,
		GUARD + 63 };
	const size_t *lens = gran == PMEM2_GRANULARITY_PAGE ? lens_page :
		lens_full;
	size_t nlens = gran == PMEM2_GRANULARITY_PAGE ?
		sizeof(lens_page) / sizeof(lens_page[0]) :
		sizeof(lens_full) / sizeof(lens_full[0]);
	size_t noffs = gran == PMEM2_GRANULARITY_PAGE || test_quick() ? 2 : 4;

	size_t srcsz = (1u << 20) + 4096;
	unsigned char *src = malloc(srcsz);
	unsigned char *ref = malloc(srcsz + 2 * GUARD);
	CHECK(src && ref);
	uint64_t seed = test_seed();
	for (size_t i = 0; i < srcsz; i++)
		src[i] = (unsigned char)test_rand(&seed);

	unsigned char *base = (unsigned char *)m.addr;
	check_mix(gran, base + GUARD, src);	/* GUARD: a whole number of lines */
	for (unsigned flags = 0; flags <= PMEM2_F_MEM_VALID_FLAGS; flags++) {
		for (size_t li = 0; li < nlens; li++) {
			size_t len = lens[li];
			/* large copies: each single flag, not every combination */
			if (len > 65536 && (flags & (flags - 1)) != 0)
				continue;
			for (size_t oi = 0; oi < noffs; oi++) {
				unsigned char *dst = base + offs[oi];
				unsigned char *win = dst - GUARD;
				size_t wlen = len + 2 * GUARD;
				/* ref holds the window; saying so also keeps
				 * gcc -O2 -fsanitize=address from a false
				 * stringop-overflow report on memcpy(ref) */
				CHECK(wlen <= srcsz + 2 * GUARD);

				/* memcpy from DRAM */
				memset(win, 0xA5, wlen);
				memcpy(ref, win, wlen);
				memcpy(ref + GUARD, src + oi, len);
				reset_around(dst, len);
				CHECK(f_memcpy(dst, src + oi, len, flags) == dst);
				finish(flags, dst, len);
				expect_durable("memcpy", flags, dst, len);
				CHECK_MEM(win, ref, wlen);

				/* memset */
				memset(win, 0x5A, wlen);
				memcpy(ref, win, wlen);
				memset(ref + GUARD, (int)(len & 0xff), len);
				reset_around(dst, len);
				CHECK(f_memset(dst, (int)(len & 0xff), len,
					flags) == dst);
				finish(flags, dst, len);
				expect_durable("memset", flags, dst, len);
				CHECK_MEM(win, ref, wlen);

				/* memmove within the map, overlapping both ways */
				for (int dir2 = -1; dir2 <= 1; dir2 += 2) {
					size_t shift = 1 + (len / 3);
					unsigned char *s = dir2 < 0 ?
						dst + shift : dst - (shift < GUARD ?
						shift : GUARD);
					unsigned char *lo = dst - GUARD;
					size_t span = len + 2 * GUARD + shift;
					for (size_t i = 0; i < span; i++)
						lo[i] = (unsigned char)(i * 7 + 3);
					memcpy(ref, win, wlen);
					memmove(ref + GUARD, s, len);
					reset_around(dst, len);
					CHECK(f_memmove(dst, s, len, flags) == dst);
					finish(flags, dst, len);
					expect_durable("memmove", flags, dst,
						len);
					CHECK_MEM(win, ref, wlen);
				}
			}
		}
	}

	/* persist, and flush + drain, of user stores */
	for (size_t li = 0; li < nlens; li++) {
		size_t len = lens[li];
		unsigned char *dst = base + GUARD + 5;
		for (int how = 0; how < 2; how++) {
			reset_around(dst, len);
			memset(dst, 0x11 + how, len);
			persist_note_store(dst, len);	/* what a user did */
			if (how == 0) {
				f_persist(dst, len);
			} else {
				f_flush(dst, len);
				f_drain();
			}
			struct pcheck_fail f;
			if (pcheck_durable(dst, len, &f))
				FAIL("%s len %zu: byte %zu is %s",
					how ? "flush+drain" : "persist", len,
					f.offset, f.state);
			nchecked++;
		}
	}

	struct pcheck_counts c;
	pcheck_counts(&c);
	printf("pcheck_memops %s: %lu operations checked durable\n",
		test_gran_name(gran), nchecked);
	free(src);
	free(ref);
	test_map_close(&m);
	return 0;
}
