/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ringbuf.c -- a single-producer, single-consumer ring buffer living in a
 * persistent map. The producer copies an entry into its slot with the
 * map's memcpy function (which persists it), then publishes it by
 * advancing `head` with a release store that it persists too; the consumer
 * reads entries up to `head` and persists `tail` as it frees slots. After a
 * crash, [tail, head) holds exactly the entries produced but not consumed.
 *
 *   usage: ringbuf FILE [ENTRIES [ENTRY_SIZE]]   (default 10000 x 4096)
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "ex_common.h"

#define SLOTS 64

struct ring {
	uint64_t head __attribute__((aligned(64)));	/* next to produce */
	uint64_t tail __attribute__((aligned(64)));	/* next to consume */
	char slots[] __attribute__((aligned(64)));
};

static struct ring *R;
static size_t Entry;
static uint64_t Count;
static pmem2_persist_fn Persist;
static pmem2_memcpy_fn Memcpy;

static void
fill(char *buf, uint64_t seq)
{
	for (size_t i = 0; i < Entry; i += sizeof(seq))
		memcpy(buf + i, &seq, sizeof(seq));
}

static void *
producer(void *arg)
{
	(void)arg;
	char *buf = malloc(Entry);
	for (uint64_t seq = 0; seq < Count; seq++) {
		while (seq - __atomic_load_n(&R->tail, __ATOMIC_ACQUIRE) >= SLOTS)
			;	/* full: wait for the consumer */
		fill(buf, seq);
		Memcpy(R->slots + (seq % SLOTS) * Entry, buf, Entry, 0);
		__atomic_store_n(&R->head, seq + 1, __ATOMIC_RELEASE);
		Persist(&R->head, sizeof(R->head));
	}
	free(buf);
	return NULL;
}

int
main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE [ENTRIES [ENTRY_SIZE]]\n",
			argv[0]);
		return 1;
	}
	Count = argc > 2 ? strtoull(argv[2], NULL, 0) : 10000;
	Entry = argc > 3 ? strtoull(argv[3], NULL, 0) : 4096;
	Entry = (Entry + 7) & ~(size_t)7;
	if (Entry == 0)
		Entry = 8;

	struct ex_map m;
	if (ex_map_file(&m, argv[1], sizeof(struct ring) + SLOTS * Entry,
			PMEM2_GRANULARITY_PAGE))
		return 1;
	R = (struct ring *)m.addr;
	Persist = pmem2_get_persist_fn(m.map);
	Memcpy = pmem2_get_memcpy_fn(m.map);

	/* start empty */
	R->head = R->tail = 0;
	Persist(R, sizeof(*R));

	pthread_t t;
	if (pthread_create(&t, NULL, producer, NULL)) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	int bad = 0;
	for (uint64_t seq = 0; seq < Count; seq++) {
		while (__atomic_load_n(&R->head, __ATOMIC_ACQUIRE) == seq)
			;	/* empty: wait for the producer */
		const char *e = R->slots + (seq % SLOTS) * Entry;
		uint64_t first, last;
		memcpy(&first, e, sizeof(first));
		memcpy(&last, e + Entry - sizeof(last), sizeof(last));
		if (first != seq || last != seq)
			bad = 1;
		__atomic_store_n(&R->tail, seq + 1, __ATOMIC_RELEASE);
		Persist(&R->tail, sizeof(R->tail));
	}
	pthread_join(t, NULL);
	printf("%llu entries of %zu bytes passed through %d slots%s\n",
		(unsigned long long)Count, Entry, SLOTS,
		bad ? ": CORRUPTED" : "");
	ex_unmap(&m);
	return bad;
}
