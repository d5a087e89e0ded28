/* SPDX-License-Identifier: BSD-3-Clause */
/* cpu.c -- CPUID feature detection, done once. */
#define _GNU_SOURCE
#include "cpu.h"
#include "env.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t
xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static void
detect(struct cpu_features *f)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0, &a, &b, &c, &d))
		return;
	unsigned max = a;
	char vendor[13];
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = '\0';
	f->genuine_intel = strcmp(vendor, "GenuineIntel") == 0;
	f->authentic_amd = strcmp(vendor, "AuthenticAMD") == 0;

	__get_cpuid(1, &a, &b, &c, &d);
	f->clflush = (d >> 19) & 1;
	f->sse2 = (d >> 26) & 1;
	int osxsave = (c >> 27) & 1;
	uint64_t xcr0 = osxsave ? xgetbv0() : 0;
	int ymm_ok = (xcr0 & 0x6) == 0x6;
	int zmm_ok = (xcr0 & 0xe6) == 0xe6;
	f->avx = ((c >> 28) & 1) && ymm_ok;

	if (max >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		f->avx2 = ((b >> 5) & 1) && ymm_ok;
		f->erms = (b >> 9) & 1;
		f->avx512f = ((b >> 16) & 1) && zmm_ok;
		f->avx512bw = ((b >> 30) & 1) && zmm_ok;
		f->clflushopt = (b >> 23) & 1;
		f->clwb = (b >> 24) & 1;
		f->movdir64b = (c >> 28) & 1;
		f->fsrm = (d >> 4) & 1;
	}
}
#else
static void
detect(struct cpu_features *f)
{
	(void)f;
}
#endif

/* a static archive must link the init that fills in what this file reads */
static void (*const Keep_init)(void) __attribute__((used)) = lib_init;

static struct cpu_features features;
static enum cpu_flush_kind flush_kind;

void
cpu_init(void)
{
	detect(&features);
	flush_kind = CPU_FLUSH_NONE;
	if (features.clflush)
		flush_kind = CPU_FLUSH_CLFLUSH;
	if (features.clflushopt && !env_is("PMEM_NO_CLFLUSHOPT", "1"))
		flush_kind = CPU_FLUSH_CLFLUSHOPT;
	if (features.clwb && !env_is("PMEM_NO_CLWB", "1"))
		flush_kind = CPU_FLUSH_CLWB;
}

const struct cpu_features *
cpu_features(void)
{
	return &features;
}

enum cpu_flush_kind
cpu_flush_kind(void)
{
	return flush_kind;
}

const char *
cpu_flush_kind_name(enum cpu_flush_kind k)
{
	switch (k) {
	case CPU_FLUSH_CLWB: return "clwb";
	case CPU_FLUSH_CLFLUSHOPT: return "clflushopt";
	case CPU_FLUSH_CLFLUSH: return "clflush";
	default: return "none";
	}
}
