/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cpu_profile.h -- per-CPU tuning of the memory functions: which stores to
 * use for which sizes. Chosen at load from the CPU vendor (CPUID), or named
 * by PMEM2_CPU_PROFILE=intel|amd. Self-contained (its own CPUID), so the
 * benchmark can name the same profile the library runs with.
 */
#ifndef COMMON_CPU_PROFILE_H
#define COMMON_CPU_PROFILE_H 1

#include <stddef.h>

/* a library's copy takes its prefix, as cpu.h's functions do */
#ifdef COMMON_SYM_PREFIX
#define CPU_PROFILE_CAT2(a, b) a##b
#define CPU_PROFILE_CAT(a, b) CPU_PROFILE_CAT2(a, b)
#define cpu_ident_get CPU_PROFILE_CAT(COMMON_SYM_PREFIX, cpu_ident_get)
#define cpu_profile_choose CPU_PROFILE_CAT(COMMON_SYM_PREFIX, cpu_profile_choose)
#endif

struct cpu_profile {
	const char *name;	/* what PMEM2_CPU_PROFILE calls it */
	/*
	 * CACHE_LINE copies and fills that are written back, without a
	 * hint: from this length on, non-temporal stores (the default of
	 * PMEM_MOVNT_THRESHOLD, which overrides it).
	 */
	size_t movnt_threshold;
	/*
	 * 1: the threshold applies to small lengths too (whole lines, and
	 * 8-byte aligned pieces below a line); 0: lengths up to an
	 * instruction set's small limit always take ordinary stores and
	 * write-backs.
	 */
	int small_nt;
	/* copies that need no write-back (BYTE, NOFLUSH): NT from here */
	size_t movnt_threshold_noflush;
	/* PAGE copies before msync: NT from here; SIZE_MAX leaves it to libc */
	size_t movnt_threshold_page;
};

struct cpu_ident {
	char vendor[13];	/* "GenuineIntel", "AuthenticAMD", ... */
	unsigned family, model;	/* display family and model */
	char brand[49];		/* CPUID brand string, trimmed */
};

/* What CPUID says (zeros and empty strings off x86). */
void cpu_ident_get(struct cpu_ident *id);

/*
 * The profile in use: PMEM2_CPU_PROFILE when it names one, else by vendor.
 * *from (if not NULL) says which: "PMEM2_CPU_PROFILE" or "cpuid".
 * Reads the environment on every call (callers keep the result).
 */
const struct cpu_profile *cpu_profile_choose(const char **from);

#endif /* COMMON_CPU_PROFILE_H */
