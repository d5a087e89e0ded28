/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_alloc.h -- allocation (and thread-creation) failure injection for
 * programs linked with the static libraries and
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,
 *   --wrap=posix_memalign,--wrap=aligned_alloc,--wrap=strdup,
 *   --wrap=pthread_create
 * (see tests/reliability/CMakeLists.txt). Every allocation goes through a
 * counter; when armed with N, the N-th call from then on fails (NULL, or
 * ENOMEM/EAGAIN). Live blocks are counted, so a test can tell whether an
 * operation that failed released what it had allocated.
 *
 * Only calls made from the linked objects are wrapped: allocations libc
 * makes internally (fopen, asprintf, pthread stacks) are not injected.
 */
#ifndef PMEM2_FAULT_ALLOC_H
#define PMEM2_FAULT_ALLOC_H 1

#include <stddef.h>

enum fa_what {
	FA_ALLOC = 1,		/* malloc & co. */
	FA_THREAD = 2,		/* pthread_create */
};

/* The n-th (1-based) call of kind `what` from now fails; n = 0: none. */
void fa_arm(enum fa_what what, unsigned long n);
/* Stops injecting; returns how many calls of the armed kind were seen. */
unsigned long fa_disarm(void);
/* Whether the armed failure was injected. */
int fa_fired(void);
/* Blocks allocated through the wrappers and not freed yet. */
long fa_live(void);
/* Total failures injected since the start. */
unsigned long fa_total_injected(void);

#endif /* PMEM2_FAULT_ALLOC_H */
