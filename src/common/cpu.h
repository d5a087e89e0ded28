/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cpu.h -- CPU features found by CPUID at load time, and the cache-line
 * write-back primitives both libraries use. Each library compiles cpu.c
 * into itself (the two stay independent .so files).
 */
#ifndef COMMON_CPU_H
#define COMMON_CPU_H 1

#include <stddef.h>
#include <stdint.h>

#define CPU_CACHELINE 64

/*
 * Each library compiles its own copy of cpu.c: its functions take the
 * library's prefix (COMMON_SYM_PREFIX, e.g. pmem2_, set by src/CMakeLists.txt)
 * so that both static archives link into one program. Code including this
 * header must be built with the prefix of the library it links.
 */
#ifdef COMMON_SYM_PREFIX
#define COMMON_SYM_CAT2(a, b) a##b
#define COMMON_SYM_CAT(a, b) COMMON_SYM_CAT2(a, b)
#define cpu_features COMMON_SYM_CAT(COMMON_SYM_PREFIX, cpu_features)
#define cpu_flush_kind COMMON_SYM_CAT(COMMON_SYM_PREFIX, cpu_flush_kind)
#define cpu_flush_kind_name COMMON_SYM_CAT(COMMON_SYM_PREFIX, cpu_flush_kind_name)
#define cpu_init COMMON_SYM_CAT(COMMON_SYM_PREFIX, cpu_init)
#define lib_init COMMON_SYM_CAT(COMMON_SYM_PREFIX, lib_init)
#endif

struct cpu_features {
	unsigned clflush : 1;
	unsigned clflushopt : 1;
	unsigned clwb : 1;
	unsigned sse2 : 1;
	unsigned avx : 1;
	unsigned avx2 : 1;
	unsigned avx512f : 1;
	unsigned avx512bw : 1;
	unsigned movdir64b : 1;
	unsigned erms : 1;
	unsigned fsrm : 1;
	unsigned genuine_intel : 1;
	unsigned authentic_amd : 1;
};

/*
 * Runs CPUID and reads PMEM_NO_CLWB / PMEM_NO_CLFLUSHOPT. The first step of
 * each library's init (src/pmem2/init.c, src/miniasync/init.c): everything
 * below reads what it found. Calling it again redoes the same work.
 */
void cpu_init(void);

/*
 * The start-up of whatever links src/common (src/pmem2/init.c,
 * src/miniasync/init.c, bench/common/bench.c): what the one constructor
 * runs, every step (cpu_init() first) in order. cpu.c refers to it, so that
 * a program linking a static archive gets the init with the first object
 * that needs it.
 */
void lib_init(void);

/* What CPUID reports (OS support for AVX/AVX-512 state included). */
const struct cpu_features *cpu_features(void);

enum cpu_flush_kind {
	CPU_FLUSH_NONE,		/* not x86, or no flush instruction */
	CPU_FLUSH_CLFLUSH,
	CPU_FLUSH_CLFLUSHOPT,
	CPU_FLUSH_CLWB,
};

/*
 * The write-back instruction to use: the best the CPU has, unless
 * PMEM_NO_CLWB=1 / PMEM_NO_CLFLUSHOPT=1 rule one out (read once).
 */
enum cpu_flush_kind cpu_flush_kind(void);
const char *cpu_flush_kind_name(enum cpu_flush_kind k);

#if defined(__x86_64__)
static inline __attribute__((always_inline)) void
cpu_clflush(const void *p)
{
	__asm__ volatile("clflush %0" : "+m"(*(volatile char *)p));
}

/* Raw encodings so that no -m flag is needed to build. */
static inline __attribute__((always_inline)) void
cpu_clflushopt(const void *p)
{
	__asm__ volatile(".byte 0x66; clflush %0" : "+m"(*(volatile char *)p));
}

static inline __attribute__((always_inline)) void
cpu_clwb(const void *p)
{
	__asm__ volatile(".byte 0x66; xsaveopt %0" : "+m"(*(volatile char *)p));
}

static inline void
cpu_sfence(void)
{
	__asm__ volatile("sfence" ::: "memory");
}
#else
static inline void cpu_clflush(const void *p) { (void)p; }
static inline void cpu_clflushopt(const void *p) { (void)p; }
static inline void cpu_clwb(const void *p) { (void)p; }
static inline void cpu_sfence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
#endif

/*
 * The write-back of the libraries: every line of [addr, addr+len) written
 * back from the caches with instruction k, no fence. Always inlined, so a
 * caller that passes a constant k (the memory functions instantiate one
 * copy per kind) gets the bare loop, without the switch.
 */
static inline __attribute__((always_inline)) void
cpu_flush_line(enum cpu_flush_kind k, const void *p)
{
	switch (k) {
	case CPU_FLUSH_CLWB:
		cpu_clwb(p);
		break;
	case CPU_FLUSH_CLFLUSHOPT:
		cpu_clflushopt(p);
		break;
	case CPU_FLUSH_CLFLUSH:
		cpu_clflush(p);
		break;
	case CPU_FLUSH_NONE:
		break;
	}
}

static inline __attribute__((always_inline)) void
cpu_flush_range(enum cpu_flush_kind k, const void *addr, size_t len)
{
	if (len == 0 || k == CPU_FLUSH_NONE)
		return;
	/* len > 0: the first line is always written back (no test before it) */
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(CPU_CACHELINE - 1);
	uintptr_t end = (uintptr_t)addr + len;
	/* the choice outside the loops, also when k is not a constant */
	switch (k) {
	case CPU_FLUSH_CLWB:
		do {
			cpu_clwb((const void *)p);
			p += CPU_CACHELINE;
		} while (p < end);
		break;
	case CPU_FLUSH_CLFLUSHOPT:
		do {
			cpu_clflushopt((const void *)p);
			p += CPU_CACHELINE;
		} while (p < end);
		break;
	case CPU_FLUSH_CLFLUSH:
		do {
			cpu_clflush((const void *)p);
			p += CPU_CACHELINE;
		} while (p < end);
		break;
	case CPU_FLUSH_NONE:
		break;
	}
}

#endif /* COMMON_CPU_H */
