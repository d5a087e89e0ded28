/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memops.c -- the per-granularity tables of persistence and memory
 * functions, chosen once at library load from CPUID and the environment,
 * and the exported pmem2_get_*_fn getters.
 *
 *   granularity  persist          flush            drain    mem functions
 *   PAGE         msync of maps    msync of maps    nothing  copy, then msync
 *   CACHE_LINE   write-back+fence write-back       sfence   copy+write-back+fence
 *   BYTE         sfence           nothing          sfence   copy+fence
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memops.h"
#include "map.h"
#include "pmem2_utils.h"
#include "common/check_hooks.h"
#include "vg_quiet.h"
#include "common/cpu_profile.h"
#include "common/env.h"
#include "memops_impl.h"

/* set from the CPU profile at load (cpu_profile.c says why) */
size_t pmem2_movnt_threshold = 256;
size_t pmem2_movnt_threshold_noflush = (size_t)2 << 20;
size_t pmem2_movnt_threshold_page = (size_t)2 << 20;
int pmem2_small_nt;
int pmem2_wc_workaround;
enum cpu_flush_kind pmem2_flush_kind;

static const struct memops_isa *Isa = &pmem2_isa_generic;
static char Variant[96] = "generic";
static const char *Profile = "intel";
static const char *Profile_from = "cpuid";

static struct pmem2_ops Ops[3];

/* ---- raw primitives, also used by the async module ---- */

void
pmem2_cpu_flush(const void *addr, size_t len)
{
	cpu_flush_range(pmem2_flush_kind, addr, len);
	persist_note_flush(addr, len);
}

void
pmem2_cpu_fence(void)
{
	cpu_sfence();
	persist_note_fence();
}

/* ---- CACHE_LINE: one persist/flush pair per write-back instruction ---- */

#define CL_FLUSH_FNS(name, kind) \
static void \
cl_flush_##name(const void *addr, size_t len) \
{ \
	cpu_flush_range(kind, addr, len); \
	persist_note_flush(addr, len); \
} \
static void \
cl_persist_##name(const void *addr, size_t len) \
{ \
	cpu_flush_range(kind, addr, len); \
	persist_note_flush(addr, len); \
	cpu_sfence(); \
	persist_note_fence(); \
}

CL_FLUSH_FNS(none, CPU_FLUSH_NONE)
CL_FLUSH_FNS(clflush, CPU_FLUSH_CLFLUSH)
CL_FLUSH_FNS(clflushopt, CPU_FLUSH_CLFLUSHOPT)
CL_FLUSH_FNS(clwb, CPU_FLUSH_CLWB)

static const pmem2_flush_fn Cl_flush[4] = {
	[CPU_FLUSH_NONE] = cl_flush_none,
	[CPU_FLUSH_CLFLUSH] = cl_flush_clflush,
	[CPU_FLUSH_CLFLUSHOPT] = cl_flush_clflushopt,
	[CPU_FLUSH_CLWB] = cl_flush_clwb,
};

static const pmem2_persist_fn Cl_persist[4] = {
	[CPU_FLUSH_NONE] = cl_persist_none,
	[CPU_FLUSH_CLFLUSH] = cl_persist_clflush,
	[CPU_FLUSH_CLFLUSHOPT] = cl_persist_clflushopt,
	[CPU_FLUSH_CLWB] = cl_persist_clwb,
};

/* The drain of CACHE_LINE and BYTE, and the persist of BYTE. */
static void
fence_drain(void)
{
	cpu_sfence();
	persist_note_fence();
}

static void
byte_persist(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
	cpu_sfence();
	persist_note_fence();
}

static void
byte_flush(const void *addr, size_t len)
{
	/* eADR: the caches are in the persistence domain already. */
	(void)addr;
	(void)len;
}

/* ---- PAGE: msync of the registered maps' pages ---- */

/*
 * Never aborts: on msync failure errno says why and the call returns
 * (the function type has no return value). errno is kept on success.
 *
 * The common case (the range lies inside one map) is a single msync of the
 * page-rounded range, without taking the map registry's lock. Only when
 * that fails with ENOMEM (part of the range is not mapped) does the
 * registry clip the range to the registered maps and skip the gaps.
 */
static uintptr_t Page_mask;	/* ~(page size - 1), set at load */
#ifdef PMEM2_HAVE_VALGRIND
int Pmem2_on_valgrind;		/* vg_quiet.h */
#endif

/*
 * msync of [a, a+n), returning 0 or -errno and leaving errno alone. On
 * x86-64 it is the system call itself: libc's wrapper would add a
 * thread-local errno access and, once the process has a second thread,
 * the bookkeeping of a cancellation point, around every PAGE copy.
 */
static inline long
page_msync(uintptr_t a, size_t n)
{
#if defined(__x86_64__) && defined(__linux__)
	long r;
	__asm__ volatile("syscall"
		: "=a"(r)
		: "0"((long)SYS_msync), "D"(a), "S"(n), "d"((long)MS_SYNC)
		: "rcx", "r11", "memory");
	return r;
#else
	int saved = errno;
	long r = msync((void *)a, n, MS_SYNC) == 0 ? 0 : -errno;
	errno = saved;
	return r;
#endif
}

/* After the first msync failed with err: EINTR retries, ENOMEM gaps. */
__attribute__((noinline)) static void
page_persist_slow(const void *addr, size_t len, uintptr_t a, int err)
{
	int saved = errno;
	int ret = -err;
	if (err == EINTR)
		ret = pmem2_msync_retry(a, (size_t)((uintptr_t)addr + len - a));
	if (ret == -ENOMEM)
		ret = pmem2_page_sync(addr, len);
	if (ret != 0) {
		/* the maps' asynchronous syncs must not report success later */
		pmem2_registry_sync_failed(addr, len, ret);
		errno = -ret;
		return;
	}
	/* pages an earlier failed write-back took look clean: still failed */
	ret = pmem2_registry_sync_err(addr, len);
	if (ret != 0) {
		errno = -ret;
		return;
	}
	persist_note_sync(addr, len);
	errno = saved;
}

/*
 * The fast path is one msync and nothing else but a load of a counter that
 * stays 0 until some write-back fails: at 4 KiB the system call is most of
 * the cost of a PAGE copy, and any extra work shows against a bare
 * memcpy+msync. errno is touched only on failure.
 */
static inline void
page_persist_inline(const void *addr, size_t len)
{
	if (len == 0)
		return;
	uintptr_t a = (uintptr_t)addr & Page_mask;
	PMEM2_VG_QUIET_BEGIN();
	long r = page_msync(a, (size_t)((uintptr_t)addr + len - a));
	PMEM2_VG_QUIET_END();
	if (r == 0) {
		/* a map's earlier failed write-back: see page_persist_slow */
		if (__builtin_expect(__atomic_load_n(&Pmem2_sync_err_maps,
				__ATOMIC_RELAXED) != 0, 0)) {
			int e = pmem2_registry_sync_err(addr, len);
			if (e != 0) {
				errno = -e;
				return;
			}
		}
		persist_note_sync(addr, len);
		return;
	}
	page_persist_slow(addr, len, a, (int)-r);
}

static void
page_persist(const void *addr, size_t len)
{
	page_persist_inline(addr, len);
}

static void
page_drain(void)
{
}

/*
 * The copy itself needs no cache write-back: msync makes the page cache
 * durable, and on a DAX file the kernel writes back the CPU caches itself.
 */
static void *
page_memmove(void *d, const void *s, size_t n, unsigned flags)
{
	if (n == 0 || d == s)
		return d;
	/*
	 * msync dominates; below the profile's NT threshold the copy is
	 * libc's, called straight (the same work as memmove+msync, nothing
	 * in between) unless the caller asks for non-temporal stores.
	 */
	if (n < pmem2_movnt_threshold_page &&
			!(flags & (PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_WC))) {
		memmove(d, s, n);
		persist_note_store(d, n);
	} else {
		Isa->raw_memmove(d, s, n, flags);
	}
	if (!(flags & PMEM2_F_MEM_NOFLUSH))
		page_persist_inline(d, n);
	return d;
}

static void *
page_memset(void *d, int c, size_t n, unsigned flags)
{
	if (n == 0)
		return d;
	if (n < pmem2_movnt_threshold_page &&
			!(flags & (PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_WC))) {
		memset(d, c, n);
		persist_note_store(d, n);
	} else {
		Isa->raw_memset(d, c, n, flags);
	}
	if (!(flags & PMEM2_F_MEM_NOFLUSH))
		page_persist_inline(d, n);
	return d;
}

/* ---- selection at load ---- */

static void
select_isa(void)
{
	const char *v;

	const struct cpu_profile *p = cpu_profile_choose(&Profile_from);
	Profile = p->name;
	pmem2_movnt_threshold = p->movnt_threshold;
	pmem2_small_nt = p->small_nt;
	pmem2_movnt_threshold_noflush = p->movnt_threshold_noflush;
	pmem2_movnt_threshold_page = p->movnt_threshold_page;

	v = env_get("PMEM_MOVNT_THRESHOLD");
	if (v != NULL) {
		long long t = atoll(v);
		if (t >= 0)
			pmem2_movnt_threshold = (size_t)t;
	}

	const struct cpu_features *f = cpu_features();
	pmem2_wc_workaround = f->genuine_intel;
	if (env_is("PMEM_WC_WORKAROUND", "1"))
		pmem2_wc_workaround = 1;
	else if (env_is("PMEM_WC_WORKAROUND", "0"))
		pmem2_wc_workaround = 0;

	Isa = &pmem2_isa_generic;
	if (env_is("PMEM_NO_MOVNT", "1")) {
		v = env_get("PMEM_NO_GENERIC_MEMCPY");
		if (v != NULL && atoll(v) != 0)
			Isa = &pmem2_isa_libc;
		return;
	}
#if defined(__x86_64__)
	int md = 0;
	v = env_get("PMEM_MOVDIR64B");
	if (v != NULL && strcmp(v, "0") != 0 && f->movdir64b)
		md = 1;	/* opt-in: replaces the non-temporal stores */

	if (f->sse2)
		Isa = md ? &pmem2_isa_sse2_md : &pmem2_isa_sse2;
	if (f->avx && !env_is("PMEM_AVX", "0"))
		Isa = md ? &pmem2_isa_avx_md : &pmem2_isa_avx;
	/* the byte-masked head/tail stores need AVX512BW as well */
	if (f->avx512f && f->avx512bw && !env_is("PMEM_AVX512F", "0"))
		Isa = md ? &pmem2_isa_avx512_md : &pmem2_isa_avx512;
#endif
}

void
pmem2_memops_init(void)
{
#ifdef PMEM2_HAVE_VALGRIND
	Pmem2_on_valgrind = RUNNING_ON_VALGRIND != 0;
#endif
	pmem2_flush_kind = cpu_flush_kind();
	long pg = sysconf(_SC_PAGESIZE);
	Page_mask = ~((uintptr_t)(pg > 0 ? pg : 4096) - 1);
	select_isa();

	struct pmem2_ops *o = &Ops[PMEM2_GRANULARITY_PAGE];
	o->persist = page_persist;
	o->flush = page_persist;
	o->drain = page_drain;
	o->memmove = page_memmove;
	o->memcpy = page_memmove;
	o->memset = page_memset;

	o = &Ops[PMEM2_GRANULARITY_CACHE_LINE];
	o->persist = Cl_persist[pmem2_flush_kind];
	o->flush = Cl_flush[pmem2_flush_kind];
	o->drain = fence_drain;
	o->memmove = Isa->cl_memmove[pmem2_flush_kind];
	o->memcpy = o->memmove;
	o->memset = Isa->cl_memset[pmem2_flush_kind];

	o = &Ops[PMEM2_GRANULARITY_BYTE];
	o->persist = byte_persist;
	o->flush = byte_flush;
	o->drain = fence_drain;
	o->memmove = Isa->byte_memmove;
	o->memcpy = o->memmove;
	o->memset = Isa->byte_memset;

	snprintf(Variant, sizeof(Variant), "%s/%s", Isa->name,
		cpu_flush_kind_name(pmem2_flush_kind));

	if (env_get("PMEM2_MEMOPS_SHOW_VARIANT") != NULL)
		fprintf(stderr, "libpmem2: memory functions: %s, "
			"cpu profile %s (from %s), movnt threshold %zu%s, "
			"wc workaround %d\n", Variant, Profile, Profile_from,
			pmem2_movnt_threshold,
			pmem2_small_nt ? " (small copies too)" : "",
			pmem2_wc_workaround);
}

const char *
pmem2_memops_variant(void)
{
	return Variant;
}

const char *
pmem2_memops_profile(void)
{
	return Profile;
}

const struct pmem2_ops *
pmem2_ops_get(enum pmem2_granularity g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE:
	case PMEM2_GRANULARITY_CACHE_LINE:
	case PMEM2_GRANULARITY_PAGE:
		return &Ops[g];
	default:
		return &Ops[PMEM2_GRANULARITY_PAGE];
	}
}

/* ---- the exported getters: never NULL, shared per granularity ---- */

static inline const struct pmem2_ops *
map_ops(struct pmem2_map *map)
{
	if (map->ops != NULL)
		return map->ops;
	return pmem2_ops_get(map->effective_granularity);
}

pmem2_persist_fn
pmem2_get_persist_fn(struct pmem2_map *map)
{
	return map_ops(map)->persist;
}

pmem2_flush_fn
pmem2_get_flush_fn(struct pmem2_map *map)
{
	return map_ops(map)->flush;
}

pmem2_drain_fn
pmem2_get_drain_fn(struct pmem2_map *map)
{
	return map_ops(map)->drain;
}

pmem2_memmove_fn
pmem2_get_memmove_fn(struct pmem2_map *map)
{
	return map_ops(map)->memmove;
}

pmem2_memcpy_fn
pmem2_get_memcpy_fn(struct pmem2_map *map)
{
	return map_ops(map)->memcpy;
}

pmem2_memset_fn
pmem2_get_memset_fn(struct pmem2_map *map)
{
	return map_ops(map)->memset;
}
