/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log.c -- an append-only log in a file. Each append copies the record with
 * the map's memcpy function without draining, drains once, and only then
 * publishes the new end with one 8-byte store that it persists: a crash at
 * any point leaves either the old log or the new one, never a torn record.
 *
 *   usage: log FILE rewind | append STR... | dump | demo
 */
#include <stdint.h>
#include <string.h>

#include "ex_common.h"

#define LOG_SIZE (1 << 20)
#define LOG_MAGIC 0x32474f4c4d454d50ULL	/* "PMEMLOG2" */

struct log_hdr {
	uint64_t magic;
	uint64_t end;		/* bytes of records after the header */
};

struct rec {
	uint32_t len;		/* of the text that follows, no NUL */
	char text[];
};

struct log {
	struct ex_map m;
	struct log_hdr *hdr;
	char *data;
	size_t cap;
	pmem2_persist_fn persist;
	pmem2_memcpy_fn memcpy_fn;
	pmem2_drain_fn drain;
};

static void
log_publish(struct log *l, uint64_t end)
{
	__atomic_store_n(&l->hdr->end, end, __ATOMIC_RELEASE);
	l->persist(&l->hdr->end, sizeof(l->hdr->end));
}

static int
log_open(struct log *l, const char *path)
{
	if (ex_map_file(&l->m, path, LOG_SIZE, PMEM2_GRANULARITY_PAGE))
		return -1;
	l->hdr = (struct log_hdr *)l->m.addr;
	l->data = l->m.addr + sizeof(struct log_hdr);
	l->cap = l->m.size - sizeof(struct log_hdr);
	l->persist = pmem2_get_persist_fn(l->m.map);
	l->memcpy_fn = pmem2_get_memcpy_fn(l->m.map);
	l->drain = pmem2_get_drain_fn(l->m.map);
	if (l->hdr->magic != LOG_MAGIC || l->hdr->end > l->cap) {
		l->hdr->end = 0;
		l->persist(&l->hdr->end, sizeof(l->hdr->end));
		l->hdr->magic = LOG_MAGIC;
		l->persist(&l->hdr->magic, sizeof(l->hdr->magic));
	}
	return 0;
}

/* Appends several records at once: one drain, one publish. */
static int
log_appendv(struct log *l, int n, char *const strs[])
{
	uint64_t end = l->hdr->end;
	for (int i = 0; i < n; i++) {
		uint32_t len = (uint32_t)strlen(strs[i]);
		size_t need = (sizeof(struct rec) + len + 7) & ~(size_t)7;
		if (need > l->cap - end) {
			fprintf(stderr, "log full\n");
			return -1;
		}
		struct rec *r = (struct rec *)(l->data + end);
		l->memcpy_fn(&r->len, &len, sizeof(len), PMEM2_F_MEM_NODRAIN);
		l->memcpy_fn(r->text, strs[i], len, PMEM2_F_MEM_NODRAIN);
		end += need;
	}
	l->drain();		/* records durable before they become visible */
	log_publish(l, end);
	return 0;
}

static void
log_rewind(struct log *l)
{
	log_publish(l, 0);
}

/* Calls fn for every record; returns the count. */
static int
log_walk(struct log *l, void (*fn)(const struct rec *, void *), void *arg)
{
	uint64_t end = __atomic_load_n(&l->hdr->end, __ATOMIC_ACQUIRE);
	int n = 0;
	for (uint64_t off = 0; off < end; n++) {
		const struct rec *r = (const struct rec *)(l->data + off);
		if (fn)
			fn(r, arg);
		off += (sizeof(struct rec) + r->len + 7) & ~(uint64_t)7;
	}
	return n;
}

static void
print_rec(const struct rec *r, void *arg)
{
	(void)arg;
	printf("%.*s\n", (int)r->len, r->text);
}

static void
concat_rec(const struct rec *r, void *arg)
{
	strncat(arg, r->text, r->len);
	strcat(arg, "|");
}

int
main(int argc, char *argv[])
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s FILE rewind|append STR...|dump|demo\n",
			argv[0]);
		return 1;
	}
	struct log l;
	if (log_open(&l, argv[1]))
		return 1;
	int ret = 0;
	if (strcmp(argv[2], "rewind") == 0) {
		log_rewind(&l);
	} else if (strcmp(argv[2], "append") == 0) {
		ret = log_appendv(&l, argc - 3, argv + 3) ? 1 : 0;
	} else if (strcmp(argv[2], "dump") == 0) {
		log_walk(&l, print_rec, NULL);
	} else if (strcmp(argv[2], "demo") == 0) {
		char *first[] = { "PMEM2" };
		char *more[] = { "log", "records", "survive", "crashes" };
		log_rewind(&l);
		ret |= log_appendv(&l, 1, first);
		ret |= log_appendv(&l, 4, more);
		char all[256] = "";
		int n = log_walk(&l, concat_rec, all);
		printf("%d records: %s\n", n, all);
		if (n != 5 || strcmp(all, "PMEM2|log|records|survive|crashes|"))
			ret = 1;
		log_rewind(&l);
		if (log_walk(&l, NULL, NULL) != 0)
			ret = 1;
	} else {
		fprintf(stderr, "unknown command %s\n", argv[2]);
		ret = 1;
	}
	ex_unmap(&l.m);
	return ret ? 1 : 0;
}
