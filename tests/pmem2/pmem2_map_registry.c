/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_map_registry.c -- the registry of live maps (internal, so this links
 * the static library) against a model: 20,000 maps added and removed in
 * random order, each step followed by lookups whose answers are compared
 * with the model's, overlapping ranges refused, zero-length maps counted as
 * one byte, double removals refused. The maps are fake (the registry reads
 * only their address and length), so nothing is mapped.
 */
#include <stdint.h>

#include "helpers.h"
#include "map.h"

#define NSLOT 20000
#define STRIDE 0x4000u	/* address space of one slot: 4 pages */
#define BASE ((uintptr_t)1 << 40)

static struct pmem2_map Maps[NSLOT];
static int Live[NSLOT];

static uint64_t Rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	Rng ^= Rng << 13;
	Rng ^= Rng >> 7;
	Rng ^= Rng << 17;
	return Rng;
}

static uintptr_t
slot_start(int i)
{
	return (uintptr_t)Maps[i].addr;
}

static uintptr_t
slot_end(int i)
{
	size_t l = Maps[i].content_length;
	return slot_start(i) + (l ? l : 1);
}

struct seen {
	int n;
	int idx[64];
};

static int
collect(struct pmem2_map *m, void *arg)
{
	struct seen *s = arg;
	CHECK(m >= &Maps[0] && m < &Maps[NSLOT]);
	CHECK(s->n < 64);
	s->idx[s->n++] = (int)(m - Maps);
	return 0;
}

/*
 * foreach over [a, a+len) must name exactly the live slots overlapping it,
 * in address order. len is at most a few slots, so the model looks only at
 * the slots around the range.
 */
static void
check_query(uintptr_t a, size_t len)
{
	struct seen s = { 0 };
	CHECK_EQ(pmem2_registry_foreach((void *)a, len, collect, &s), 0);

	int n = 0;
	if (len > 0) {
		long first = a < BASE ? 0 : (long)((a - BASE) / STRIDE) - 1;
		for (long i = first < 0 ? 0 : first; i < NSLOT; i++) {
			if (slot_start((int)i) >= a + len)
				break;
			if (!Live[i] || slot_end((int)i) <= a)
				continue;
			CHECK(n < s.n);
			CHECK_EQ(s.idx[n], (int)i);
			n++;
		}
	}
	CHECK_EQ(s.n, n);
}

/* A random query near slot i: inside it, around it, across its neighbours. */
static void
query_near(int i)
{
	uintptr_t a = slot_start(i);
	switch (rnd() % 5) {
	case 0:	/* its first byte */
		check_query(a, 1);
		break;
	case 1:	/* its last registered byte, and the one after */
		check_query(slot_end(i) - 1, 2);
		break;
	case 2:	/* from inside the slot before it to inside the one after */
		check_query(a - (rnd() % STRIDE), 1 + rnd() % (3 * STRIDE));
		break;
	case 3:	/* an empty range finds nothing */
		check_query(a, 0);
		break;
	default:	/* the gap after its extent, to the end of the slot */
		check_query(slot_end(i), BASE + (uintptr_t)(i + 1) * STRIDE -
			slot_end(i));
		break;
	}
}

/* A map overlapping live slot i by a byte or more is refused. */
static void
check_overlap_refused(int i)
{
	struct pmem2_map o = { 0 };
	size_t len = slot_end(i) - slot_start(i);
	uint64_t r = rnd();
	o.addr = (char *)slot_start(i) + r % len;
	o.content_length = (size_t)(r >> 32) % (2 * STRIDE);
	CHECK_EQ(pmem2_registry_add(&o), PMEM2_E_MAP_EXISTS);
	/* ending on its first byte */
	o.addr = (char *)slot_start(i) - 16;
	o.content_length = 17;
	CHECK_EQ(pmem2_registry_add(&o), PMEM2_E_MAP_EXISTS);
	/* never registered: not found */
	CHECK_EQ(pmem2_registry_remove(&o), PMEM2_E_MAPPING_NOT_FOUND);
}

static void
shuffle(int *v, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rnd() % (uint64_t)(i + 1));
		int t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

int
main(void)
{
	static int order[NSLOT];

	for (int i = 0; i < NSLOT; i++) {
		Maps[i].addr = (void *)(BASE + (uintptr_t)i * STRIDE);
		switch (rnd() % 4) {
		case 0:	/* an empty map: it counts as one byte */
			Maps[i].content_length = 0;
			break;
		case 1:	/* the whole slot: touches the next slot's start */
			Maps[i].content_length = STRIDE;
			break;
		default:
			Maps[i].content_length = 1 + rnd() % STRIDE;
			break;
		}
		order[i] = i;
	}

	/* the same maps in three orders: descending, random, ascending */
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 0) {
			for (int i = 0; i < NSLOT; i++)
				order[i] = NSLOT - 1 - i;
		} else if (pass == 1) {
			shuffle(order, NSLOT);
		} else {
			for (int i = 0; i < NSLOT; i++)
				order[i] = i;
		}

		for (int k = 0; k < NSLOT; k++) {
			int i = order[k];
			CHECK_EQ(pmem2_registry_add(&Maps[i]), 0);
			Live[i] = 1;
			CHECK_EQ(pmem2_registry_add(&Maps[i]),
				PMEM2_E_MAP_EXISTS);
			check_overlap_refused(i);
			query_near(i);
			query_near(order[rnd() % (uint64_t)(k + 1)]);
		}
		/* windows of 8 slots across the whole space */
		for (int i = 0; i < NSLOT; i += 32)
			check_query(slot_start(i), 8 * STRIDE);

		shuffle(order, NSLOT);
		for (int k = 0; k < NSLOT; k++) {
			int i = order[k];
			CHECK_EQ(pmem2_registry_remove(&Maps[i]), 0);
			Live[i] = 0;
			CHECK_EQ(pmem2_registry_remove(&Maps[i]),
				PMEM2_E_MAPPING_NOT_FOUND);
			query_near(i);
			query_near(order[rnd() % (uint64_t)NSLOT]);
			/* a neighbour that is still live refuses overlaps */
			if (i + 1 < NSLOT && Live[i + 1])
				check_overlap_refused(i + 1);
		}
		check_query(0, SIZE_MAX);	/* wraps: up to the top */
	}

	/* a range wrapping around the address space is refused */
	struct pmem2_map w = { 0 };
	w.addr = (void *)(UINTPTR_MAX - 10);
	w.content_length = 100;
	CHECK_EQ(pmem2_registry_add(&w), PMEM2_E_MAP_RANGE);

	printf("OK\n");
	return 0;
}
