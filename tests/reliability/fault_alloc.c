/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_alloc.c -- the --wrap'ed allocation functions behind fault_alloc.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fault_alloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a,
	void *(*fn)(void *), void *arg);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static enum fa_what armed;
static unsigned long fail_at, seen;
static int fired;
static unsigned long total;

/* An open-addressing set of live pointers (no allocation of its own). */
#define SET_BITS 20
#define SET_SIZE (1u << SET_BITS)
static uintptr_t set[SET_SIZE];
static long live;
#define TOMB ((uintptr_t)1)

static size_t
slot_of(uintptr_t p)
{
	return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ULL >> (64 - SET_BITS));
}

static void
set_add(void *ptr)
{
	if (!ptr)
		return;
	uintptr_t p = (uintptr_t)ptr;
	pthread_mutex_lock(&lock);
	for (size_t i = slot_of(p), k = 0; k < SET_SIZE; k++,
			i = (i + 1) & (SET_SIZE - 1)) {
		if (set[i] == 0 || set[i] == TOMB) {
			set[i] = p;
			live++;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}

static void
set_del(void *ptr)
{
	if (!ptr)
		return;
	uintptr_t p = (uintptr_t)ptr;
	pthread_mutex_lock(&lock);
	for (size_t i = slot_of(p), k = 0; k < SET_SIZE; k++,
			i = (i + 1) & (SET_SIZE - 1)) {
		if (set[i] == 0)
			break;	/* not ours (allocated inside libc) */
		if (set[i] == p) {
			set[i] = TOMB;
			live--;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}

/* Non-zero when this call must fail. */
static int
inject(enum fa_what what)
{
	int ret = 0;
	pthread_mutex_lock(&lock);
	if (armed == what) {
		seen++;
		if (seen == fail_at) {
			fired = 1;
			total++;
			ret = 1;
		}
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

void
fa_arm(enum fa_what what, unsigned long n)
{
	pthread_mutex_lock(&lock);
	armed = what;
	fail_at = n;
	seen = 0;
	fired = 0;
	pthread_mutex_unlock(&lock);
}

unsigned long
fa_disarm(void)
{
	pthread_mutex_lock(&lock);
	unsigned long s = seen;
	armed = 0;
	pthread_mutex_unlock(&lock);
	return s;
}

int
fa_fired(void)
{
	pthread_mutex_lock(&lock);
	int f = fired;
	pthread_mutex_unlock(&lock);
	return f;
}

long
fa_live(void)
{
	pthread_mutex_lock(&lock);
	long l = live;
	pthread_mutex_unlock(&lock);
	return l;
}

unsigned long
fa_total_injected(void)
{
	pthread_mutex_lock(&lock);
	unsigned long t = total;
	pthread_mutex_unlock(&lock);
	return t;
}

/* An armed allocation failure for this call: errno set, the caller fails. */
static int
refused(void)
{
	if (!inject(FA_ALLOC))
		return 0;
	errno = ENOMEM;
	return 1;
}

/* p, recorded as live (NULL is not). */
static void *
added(void *p)
{
	set_add(p);
	return p;
}

void *
__wrap_malloc(size_t n)
{
	return refused() ? NULL : added(__real_malloc(n));
}

void *
__wrap_calloc(size_t n, size_t s)
{
	return refused() ? NULL : added(__real_calloc(n, s));
}

void *
__wrap_realloc(void *old, size_t n)
{
	if (refused())
		return NULL;	/* old stays valid */
	void *p = __real_realloc(old, n);
	if (p || n == 0)
		set_del(old);
	set_add(p);
	return p;
}

void
__wrap_free(void *p)
{
	set_del(p);
	__real_free(p);
}

int
__wrap_posix_memalign(void **pp, size_t a, size_t n)
{
	if (inject(FA_ALLOC))
		return ENOMEM;
	int r = __real_posix_memalign(pp, a, n);
	if (r == 0)
		set_add(*pp);
	return r;
}

void *
__wrap_aligned_alloc(size_t a, size_t n)
{
	return refused() ? NULL : added(__real_aligned_alloc(a, n));
}

char *
__wrap_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = __wrap_malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

int
__wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
	void *(*fn)(void *), void *arg)
{
	if (inject(FA_THREAD))
		return EAGAIN;
	return __real_pthread_create(t, a, fn, arg);
}
