/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redo.c -- atomic multi-word updates with a redo log. Ten accounts hold
 * money; a transfer changes two of them. The new values go to the log
 * first, the log is made durable, a commit flag is set and persisted, and
 * only then are the accounts written. Whoever opens the file next replays
 * a committed log, so the total never changes, whatever moment a crash
 * picks.
 *
 *   usage: redo FILE init | transfer N | crash | check
 *   ("crash" commits a transfer and exits before applying it.)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ex_common.h"

#define NACCOUNTS 10
#define MAX_ENTRIES 8
#define INITIAL 1000

struct redo_entry {
	uint64_t offset;	/* of the word in the pool */
	uint64_t value;
};

struct pool {
	uint64_t accounts[NACCOUNTS];
	struct {
		uint64_t committed;	/* nonzero: entries must be applied */
		uint64_t n;
		struct redo_entry e[MAX_ENTRIES];
	} redo;
};

static struct pool *P;
static pmem2_persist_fn Persist;
static pmem2_memcpy_fn Memcpy;
static pmem2_memset_fn Memset;
static pmem2_drain_fn Drain;
static pmem2_flush_fn Flush;

static void
redo_apply(void)
{
	for (uint64_t i = 0; i < P->redo.n; i++) {
		uint64_t *w = (uint64_t *)((char *)P + P->redo.e[i].offset);
		*w = P->redo.e[i].value;
		Flush(w, sizeof(*w));
	}
	Drain();
	P->redo.committed = 0;
	Persist(&P->redo.committed, sizeof(P->redo.committed));
}

/* Logs (word, value) pairs, commits; applies unless crash_after_commit. */
static void
redo_run(const struct redo_entry *e, uint64_t n, int crash_after_commit)
{
	Memcpy(P->redo.e, e, n * sizeof(*e), PMEM2_F_MEM_NODRAIN);
	Memcpy(&P->redo.n, &n, sizeof(n), PMEM2_F_MEM_NODRAIN);
	Drain();
	P->redo.committed = 1;
	Persist(&P->redo.committed, sizeof(P->redo.committed));
	if (crash_after_commit)
		return;
	redo_apply();
}

static void
transfer(unsigned from, unsigned to, uint64_t amount, int crash)
{
	struct redo_entry e[2] = {
		{ offsetof(struct pool, accounts[from]),
			P->accounts[from] - amount },
		{ offsetof(struct pool, accounts[to]), P->accounts[to] + amount },
	};
	redo_run(e, 2, crash);
}

static uint64_t
total(void)
{
	uint64_t t = 0;
	for (int i = 0; i < NACCOUNTS; i++)
		t += P->accounts[i];
	return t;
}

int
main(int argc, char *argv[])
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s FILE init|transfer N|crash|check\n",
			argv[0]);
		return 1;
	}
	struct ex_map m;
	if (ex_map_file(&m, argv[1], 4096, PMEM2_GRANULARITY_PAGE))
		return 1;
	P = (struct pool *)m.addr;
	Persist = pmem2_get_persist_fn(m.map);
	Memcpy = pmem2_get_memcpy_fn(m.map);
	Memset = pmem2_get_memset_fn(m.map);
	Drain = pmem2_get_drain_fn(m.map);
	Flush = pmem2_get_flush_fn(m.map);

	/* recovery: a committed log is replayed before anything else */
	if (P->redo.committed) {
		printf("replaying a committed redo log of %llu entries\n",
			(unsigned long long)P->redo.n);
		redo_apply();
	}

	int ret = 0;
	if (strcmp(argv[2], "init") == 0) {
		Memset(P, 0, sizeof(*P), PMEM2_F_MEM_NODRAIN);
		for (int i = 0; i < NACCOUNTS; i++)
			P->accounts[i] = INITIAL;
		Persist(P, sizeof(*P));
	} else if (strcmp(argv[2], "transfer") == 0) {
		int n = argc > 3 ? atoi(argv[3]) : 100;
		unsigned seed = 1;
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			unsigned from = (seed >> 8) % NACCOUNTS;
			unsigned to = (seed >> 16) % NACCOUNTS;
			uint64_t amount = P->accounts[from] / 3;
			if (from != to)
				transfer(from, to, amount, 0);
		}
	} else if (strcmp(argv[2], "crash") == 0) {
		transfer(0, 1, P->accounts[0] / 2, 1);
		printf("committed a transfer and 'crashed' before applying it\n");
	} else if (strcmp(argv[2], "check") == 0) {
		for (int i = 0; i < NACCOUNTS; i++)
			printf("%llu ", (unsigned long long)P->accounts[i]);
		printf("\n");
	} else {
		fprintf(stderr, "unknown command %s\n", argv[2]);
		ret = 1;
	}
	if (!P->redo.committed && total() != NACCOUNTS * INITIAL) {
		fprintf(stderr, "total %llu, expected %d\n",
			(unsigned long long)total(), NACCOUNTS * INITIAL);
		ret = 1;
	} else if (!P->redo.committed) {
		printf("total %llu: consistent\n", (unsigned long long)total());
	}
	ex_unmap(&m);
	return ret;
}
