/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcheck.c -- the persistence checker's recorder: implements the hooks of
 * src/common/check_hooks.h for a library copy built with
 * -DPERSIST_CHECK. See pcheck.h for the model.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcheck.h"

#define LINE 64
#define PAGE_SZ 4096

struct line {
	uint64_t dirty;		/* stored, not written back */
	uint64_t pend;		/* written back / NT-stored, not fenced */
	uint64_t touched;	/* reported stored since the reset */
};

/* A byte range (relative to base) waiting for its thread's fence. */
struct pend_ent {
	size_t from, to;
};

struct pend_list {
	uint64_t gen;
	size_t n, cap;
	struct pend_ent *v;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct line *lines;
static size_t nlines;
static uintptr_t base;		/* region start rounded down to a line */
static uintptr_t rstart, rend;	/* the region itself */
static enum pcheck_model model;
static int enabled;
static uint64_t gen = 1;	/* bumped on reset: stale pending lists */
static struct pcheck_counts cnt;

static pthread_key_t list_key;
static pthread_once_t list_once = PTHREAD_ONCE_INIT;

static void
list_free(void *p)
{
	struct pend_list *l = p;
	if (l) {
		free(l->v);
		free(l);
	}
}

static void
list_key_init(void)
{
	if (pthread_key_create(&list_key, list_free) != 0)
		abort();
}

/* This thread's pending list, emptied if it belongs to an older reset. */
static struct pend_list *
my_list(void)
{
	pthread_once(&list_once, list_key_init);
	struct pend_list *l = pthread_getspecific(list_key);
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			abort();
		pthread_setspecific(list_key, l);
	}
	if (l->gen != gen) {
		l->gen = gen;
		l->n = 0;
	}
	return l;
}

static void
list_add(size_t from, size_t to)
{
	struct pend_list *l = my_list();
	/* merge with the last entry when adjacent or overlapping */
	if (l->n && l->v[l->n - 1].to >= from && l->v[l->n - 1].from <= to) {
		struct pend_ent *e = &l->v[l->n - 1];
		if (from < e->from)
			e->from = from;
		if (to > e->to)
			e->to = to;
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct pend_ent *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			abort();
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].from = from;
	l->v[l->n].to = to;
	l->n++;
}

void
pcheck_reset(enum pcheck_model m, const void *region, size_t len)
{
	pthread_mutex_lock(&lock);
	free(lines);
	lines = NULL;
	nlines = 0;
	rstart = (uintptr_t)region;
	rend = rstart + len;
	base = rstart & ~(uintptr_t)(LINE - 1);
	if (len) {
		nlines = (rend - base + LINE - 1) / LINE;
		lines = calloc(nlines, sizeof(*lines));
		if (!lines) {
			fprintf(stderr, "pcheck: out of memory for %zu lines\n", nlines);
			abort();
		}
	}
	model = m;
	enabled = len != 0;
	gen++;
	memset(&cnt, 0, sizeof(cnt));
	pthread_mutex_unlock(&lock);
}

void
pcheck_disable(void)
{
	pthread_mutex_lock(&lock);
	enabled = 0;
	pthread_mutex_unlock(&lock);
}

void
pcheck_counts(struct pcheck_counts *c)
{
	pthread_mutex_lock(&lock);
	*c = cnt;
	pthread_mutex_unlock(&lock);
}

/* Bits [a, b) of a line, 0 <= a < b <= 64. */
static inline uint64_t
mask_of(size_t a, size_t b)
{
	uint64_t hi = b == 64 ? ~0ULL : ((1ULL << b) - 1);
	uint64_t lo = (1ULL << a) - 1;
	return hi & ~lo;
}

/*
 * Clips [addr, addr+len) to the region; returns 0 and the byte range
 * relative to base, or -1 when nothing of it is inside.
 */
static int
clip(const void *addr, size_t len, size_t *from, size_t *to)
{
	uintptr_t a = (uintptr_t)addr, b = a + len;
	if (!enabled || len == 0 || b <= rstart || a >= rend) {
		if (len)
			cnt.outside++;
		return -1;
	}
	if (a < rstart)
		a = rstart;
	if (b > rend)
		b = rend;
	*from = a - base;
	*to = b - base;
	return 0;
}

enum op { OP_STORE, OP_NT, OP_FLUSH, OP_FENCE_CLEAR, OP_SYNC };

/* Applies op to every byte of [from, to) (relative to base). */
static void
apply(enum op op, size_t from, size_t to)
{
	for (size_t li = from / LINE; li * LINE < to && li < nlines; li++) {
		size_t a = li * LINE < from ? from - li * LINE : 0;
		size_t b = (li + 1) * LINE > to ? to - li * LINE : LINE;
		uint64_t m = mask_of(a, b);
		struct line *l = &lines[li];
		switch (op) {
		case OP_STORE:
			l->touched |= m;
			l->pend &= ~m;
			if (model == PCHECK_BYTE)
				l->dirty &= ~m;	/* the cache is persistent */
			else
				l->dirty |= m;
			break;
		case OP_NT:
			l->touched |= m;
			if (model == PCHECK_PAGE) {
				l->dirty |= m;
				l->pend &= ~m;
			} else {
				l->dirty &= ~m;
				l->pend |= m;
			}
			break;
		case OP_FLUSH:
			/* a write-back covers the whole line */
			l->pend |= l->dirty;
			l->dirty = 0;
			break;
		case OP_FENCE_CLEAR:
			l->pend &= ~m;
			break;
		case OP_SYNC:
			l->dirty &= ~m;
			l->pend &= ~m;
			break;
		}
	}
}

void
persist_note_store(const void *addr, size_t len)
{
	size_t f, t;
	pthread_mutex_lock(&lock);
	cnt.store++;
	if (clip(addr, len, &f, &t) == 0)
		apply(OP_STORE, f, t);
	pthread_mutex_unlock(&lock);
}

void
persist_note_nt_store(const void *addr, size_t len)
{
	size_t f, t;
	pthread_mutex_lock(&lock);
	cnt.nt_store++;
	if (clip(addr, len, &f, &t) == 0) {
		apply(OP_NT, f, t);
		if (model != PCHECK_PAGE)
			list_add(f, t);
	}
	pthread_mutex_unlock(&lock);
}

void
persist_note_flush(const void *addr, size_t len)
{
	size_t f, t;
	pthread_mutex_lock(&lock);
	cnt.flush++;
	if (clip(addr, len, &f, &t) == 0 && model == PCHECK_CACHE_LINE) {
		f &= ~(size_t)(LINE - 1);
		t = (t + LINE - 1) & ~(size_t)(LINE - 1);
		apply(OP_FLUSH, f, t);
		list_add(f, t);
	}
	pthread_mutex_unlock(&lock);
}

void
persist_note_fence(void)
{
	pthread_mutex_lock(&lock);
	cnt.fence++;
	if (enabled && model != PCHECK_PAGE) {
		struct pend_list *l = my_list();
		for (size_t i = 0; i < l->n; i++)
			apply(OP_FENCE_CLEAR, l->v[i].from, l->v[i].to);
		l->n = 0;
	}
	pthread_mutex_unlock(&lock);
}

void
persist_note_sync(const void *addr, size_t len)
{
	pthread_mutex_lock(&lock);
	cnt.sync++;
	if (enabled && model == PCHECK_PAGE && len) {
		/* msync/fdatasync work on whole pages */
		uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(PAGE_SZ - 1);
		uintptr_t b = ((uintptr_t)addr + len + PAGE_SZ - 1) &
			~(uintptr_t)(PAGE_SZ - 1);
		size_t f, t;
		if (clip((const void *)a, b - a, &f, &t) == 0)
			apply(OP_SYNC, f, t);
	}
	pthread_mutex_unlock(&lock);
}

static const char *
bad_state(const struct line *l, uint64_t bit, int what)
{
	if (what == 0) {
		if (l->dirty & bit)
			return "dirty: stored, never written back";
		if (l->pend & bit)
			return model == PCHECK_BYTE ?
				"non-temporal store not fenced" :
				"written back or NT-stored, never fenced";
	} else if (what == 1) {
		if (!(l->touched & bit))
			return "never reported stored (missing store hook?)";
	} else if (l->touched & bit) {
		return "reported stored";
	}
	return NULL;
}

/* what: 0 durable, 1 touched, 2 untouched. */
static int
scan(const void *addr, size_t len, struct pcheck_fail *f, int what)
{
	uintptr_t a = (uintptr_t)addr;
	int ret = 0;
	pthread_mutex_lock(&lock);
	if (len && (a < rstart || a + len > rend || !lines)) {
		fprintf(stderr, "pcheck: range %p+%zu outside the region\n",
			addr, len);
		abort();
	}
	size_t from = a - base, to = from + len;
	for (size_t li = from / LINE; len && li * LINE < to; li++) {
		size_t x = li * LINE < from ? from - li * LINE : 0;
		size_t y = (li + 1) * LINE > to ? to - li * LINE : LINE;
		uint64_t m = mask_of(x, y);
		const struct line *l = &lines[li];
		uint64_t badm = what == 0 ? (l->dirty | l->pend) & m :
			what == 1 ? ~l->touched & m : l->touched & m;
		if (!badm)
			continue;
		unsigned b = (unsigned)__builtin_ctzll(badm);
		if (f) {
			f->offset = li * LINE + b - from;
			f->state = bad_state(l, 1ULL << b, what);
		}
		ret = -1;
		break;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

int
pcheck_durable(const void *addr, size_t len, struct pcheck_fail *f)
{
	return scan(addr, len, f, 0);
}

int
pcheck_touched(const void *addr, size_t len, struct pcheck_fail *f)
{
	return scan(addr, len, f, 1);
}

int
pcheck_untouched(const void *addr, size_t len, struct pcheck_fail *f)
{
	return scan(addr, len, f, 2);
}
