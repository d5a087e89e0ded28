/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cpu_profile.c -- the tuning profiles of the memory functions and their
 * choice at load.
 *
 * Why two profiles. Making a copy durable on a CACHE_LINE map costs either
 * ordinary stores plus a write-back instruction per line, or non-temporal
 * stores; both then need a fence. On Intel Xeons a CLWB of a line just
 * written is cheap, so small copies keep ordinary stores (the data stays
 * in the cache for the reader that usually follows). On AMD Zen a CLWB or
 * CLFLUSHOPT costs several times more than streaming the same bytes
 * through the write-combining buffers (measured on Zen 5 from 8 bytes to
 * 8 KiB; the figures say the same of Zen 4): there non-temporal
 * stores win at every size, down to a single 8-byte store. For PAGE maps, where msync makes
 * the data durable, a copy that stays in the cache is what msync and the
 * next reader want; glibc's own copy already switches to streaming stores
 * beyond the last-level cache, so on AMD it is left to decide.
 */
#define _GNU_SOURCE
#include "cpu_profile.h"
#include "env.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static const struct cpu_profile Intel = {
	.name = "intel",
	.movnt_threshold = 256,
	.small_nt = 0,
	.movnt_threshold_noflush = (size_t)2 << 20,
	.movnt_threshold_page = (size_t)2 << 20,
};

static const struct cpu_profile Amd = {
	.name = "amd",
	.movnt_threshold = 0,
	.small_nt = 1,
	.movnt_threshold_noflush = (size_t)2 << 20,
	.movnt_threshold_page = SIZE_MAX,
};

void
cpu_ident_get(struct cpu_ident *id)
{
	memset(id, 0, sizeof(*id));
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	if (!__get_cpuid(0, &a, &b, &c, &d))
		return;
	memcpy(id->vendor, &b, 4);
	memcpy(id->vendor + 4, &d, 4);
	memcpy(id->vendor + 8, &c, 4);
	if (__get_cpuid(1, &a, &b, &c, &d)) {
		unsigned fam = (a >> 8) & 0xf, mod = (a >> 4) & 0xf;
		if (fam == 0xf)
			fam += (a >> 20) & 0xff;
		if (fam == 0x6 || fam >= 0xf)
			mod |= ((a >> 16) & 0xf) << 4;
		id->family = fam;
		id->model = mod;
	}
	if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
		unsigned *w = (unsigned *)(void *)id->brand;
		for (unsigned i = 0; i < 3; i++)
			__get_cpuid(0x80000002 + i, &w[4 * i], &w[4 * i + 1],
				&w[4 * i + 2], &w[4 * i + 3]);
		id->brand[48] = '\0';
		/* some CPUs pad the string with leading blanks */
		size_t lead = strspn(id->brand, " ");
		memmove(id->brand, id->brand + lead, sizeof(id->brand) - lead);
		size_t n = strlen(id->brand);
		while (n > 0 && id->brand[n - 1] == ' ')
			id->brand[--n] = '\0';
	}
#endif
}

const struct cpu_profile *
cpu_profile_choose(const char **from)
{
	const char *v = env_get("PMEM2_CPU_PROFILE");
	if (from)
		*from = "PMEM2_CPU_PROFILE";
	if (v != NULL && strcmp(v, "intel") == 0)
		return &Intel;
	if (v != NULL && strcmp(v, "amd") == 0)
		return &Amd;

	if (from)
		*from = "cpuid";
	struct cpu_ident id;
	cpu_ident_get(&id);
	/* Hygon's Dhyana is a Zen core */
	if (strcmp(id.vendor, "AuthenticAMD") == 0 ||
			strcmp(id.vendor, "HygonGenuine") == 0)
		return &Amd;
	/* Intel, and anything else: the tuning the library had before */
	return &Intel;
}
