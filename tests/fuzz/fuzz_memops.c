/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_memops.c -- the memory functions against a reference.
 *
 * Three maps of a /dev/shm file, forced to CACHE_LINE, BYTE and PAGE
 * granularity. Each input is a list of operations: memcpy (from DRAM),
 * memmove (inside the map, overlapping either way), memset, or persist of
 * user stores, with random destination, source, length, fill byte and any
 * combination of the six flags. After each one the whole map must equal a
 * shadow copy updated with plain memmove/memset (so nothing outside the
 * destination changed), and, through the persistence checker this fuzzer
 * links (the -DPERSIST_CHECK build), every written byte must have
 * been reported stored, nothing outside it, and it must be durable once
 * the flags' contract is completed (drain after NODRAIN, persist after
 * NOFLUSH, nothing otherwise). The async operations (memcpy, memmove,
 * memset on the map's default mover) are checked the same way: durable
 * when the future completes unless NOFLUSH was passed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PMEM2_USE_MINIASYNC 1
#include <libpmem2.h>
#include "fuzz_input.h"
#include "pcheck.h"

#define MAPSZ (64u << 10)
#define SRCSZ (64u << 10)

struct fmap {
	int fd;
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	unsigned char *addr;
	unsigned char *shadow;
	int gran;
	pmem2_memmove_fn mv;
	pmem2_memcpy_fn cp;
	pmem2_memset_fn st;
	pmem2_persist_fn pe;
	pmem2_drain_fn dr;
};

static struct fmap maps[3];
static unsigned char *dram;
static int ready;

static void
open_map(struct fmap *m, const char *force)
{
	char path[256];
	const char *dir = getenv("PMEM2_TEST_DIR");
	snprintf(path, sizeof(path), "%s/pmem2-fuzz-memops-%s-%d",
		dir && *dir ? dir : "/dev/shm", force, (int)getpid());
	m->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (m->fd < 0 || ftruncate(m->fd, MAPSZ) != 0)
		abort();
	unlink(path);
	setenv("PMEM2_FORCE_GRANULARITY", force, 1);
	if (pmem2_source_from_fd(&m->src, m->fd) ||
			pmem2_config_new(&m->cfg) ||
			pmem2_config_set_required_store_granularity(m->cfg,
				PMEM2_GRANULARITY_PAGE) ||
			pmem2_map_new(&m->map, m->cfg, m->src)) {
		fprintf(stderr, "map (%s): %s\n", force, pmem2_errormsg());
		abort();
	}
	unsetenv("PMEM2_FORCE_GRANULARITY");
	m->addr = pmem2_map_get_address(m->map);
	m->gran = (int)pmem2_map_get_store_granularity(m->map);
	m->shadow = calloc(1, MAPSZ);
	if (!m->shadow)
		abort();
	memset(m->addr, 0, MAPSZ);
	m->mv = pmem2_get_memmove_fn(m->map);
	m->cp = pmem2_get_memcpy_fn(m->map);
	m->st = pmem2_get_memset_fn(m->map);
	m->pe = pmem2_get_persist_fn(m->map);
	m->dr = pmem2_get_drain_fn(m->map);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ready)
		return 0;
	open_map(&maps[0], "cache_line");
	open_map(&maps[1], "byte");
	open_map(&maps[2], "page");
	dram = malloc(SRCSZ);
	if (!dram)
		abort();
	for (size_t i = 0; i < SRCSZ; i++)
		dram[i] = (unsigned char)(i * 131 + (i >> 8));
	ready = 1;
	return 0;
}

static size_t
pick_len(struct fz *f)
{
	switch (fz_u8(f) % 4) {
	case 0: return fz_u8(f);
	case 1: return fz_u16(f) % 4200;
	case 2: return fz_u16(f) % (MAPSZ / 4);
	default: return fz_u32(f) % (MAPSZ / 2);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	LLVMFuzzerInitialize(NULL, NULL);

	for (int steps = 0; fz_more(&f) && steps < 32; steps++) {
		struct fmap *m = &maps[fz_u8(&f) % 3];
		int op = fz_u8(&f) % 7;
		unsigned flags = fz_u8(&f) & PMEM2_F_MEM_VALID_FLAGS;
		size_t len = pick_len(&f);
		size_t doff = fz_u32(&f) % (MAPSZ - len + 1);
		size_t soff = fz_u32(&f) % (MAPSZ - len + 1);
		int c = fz_u8(&f);
		unsigned char *dst = m->addr + doff;
		void *ret = dst;
		unsigned async_flags = 0;	/* an async op's flags */
		struct pcheck_fail pf;

		pcheck_reset((enum pcheck_model)m->gran, m->addr, MAPSZ);
		switch (op) {
		case 0: {
			size_t s = soff % (SRCSZ - len + 1);
			memcpy(m->shadow + doff, dram + s, len);
			ret = m->cp(dst, dram + s, len, flags);
			break;
		}
		case 1:
			memmove(m->shadow + doff, m->shadow + soff, len);
			ret = m->mv(dst, m->addr + soff, len, flags);
			break;
		case 2:
			memset(m->shadow + doff, c, len);
			ret = m->st(dst, c, len, flags);
			break;
		case 4:
		case 5:
		case 6: {
			/* the async versions, on the map's default mover */
			struct vdm_operation_future fu;
			size_t s = soff % (SRCSZ - len + 1);
			if (op == 4) {
				memcpy(m->shadow + doff, dram + s, len);
				fu = pmem2_memcpy_async(m->map, dst, dram + s, len,
					flags);
			} else if (op == 5) {
				memmove(m->shadow + doff, m->shadow + soff, len);
				fu = pmem2_memmove_async(m->map, dst,
					m->addr + soff, len, flags);
			} else {
				memset(m->shadow + doff, c, len);
				fu = pmem2_memset_async(m->map, dst, c, len, flags);
			}
			FUTURE_BUSY_POLL(&fu);
			FZ_CHECK(FUTURE_OUTPUT(&fu)->result == VDM_SUCCESS,
				"async op %d: result %d", op,
				(int)FUTURE_OUTPUT(&fu)->result);
			/* durable at completion unless NOFLUSH, whatever else */
			async_flags = flags;
			flags &= PMEM2_F_MEM_NOFLUSH;
			op = op == 5 ? 1 : 0;	/* same checks as the sync ones */
			break;
		}
		default:
			/* user stores, then persist */
			memset(m->shadow + doff, c, len);
			memset(dst, c, len);
			persist_note_store(dst, len);
			m->pe(dst, len);
			flags = 0;
			break;
		}
		FZ_CHECK(ret == dst, "returned %p, not dest %p", ret,
			(void *)dst);
		if (memcmp(m->addr, m->shadow, MAPSZ) != 0) {
			size_t i = 0;
			while (m->addr[i] == m->shadow[i])
				i++;
			FZ_CHECK(0, "op %d gran %d flags %#x dst+%zu src+%zu len "
				"%zu: map differs from the reference at %zu",
				op, m->gran, flags, doff, soff, len, i);
		}
		/* the hooks cover exactly the destination (memmove of a range
		 * onto itself may skip the copy) */
		if (len && !(op == 1 && doff == soff))
			FZ_CHECK(pcheck_touched(dst, len, &pf) == 0,
				"op %d len %zu flags %#x: byte %zu %s", op, len,
				flags, pf.offset, pf.state);
		FZ_CHECK(pcheck_untouched(m->addr, doff, &pf) == 0 &&
			pcheck_untouched(dst + len, MAPSZ - doff - len, &pf) == 0,
			"op %d: a store was reported outside the destination",
			op);
		if (flags & PMEM2_F_MEM_NOFLUSH)
			m->pe(dst, len);
		else if (flags & PMEM2_F_MEM_NODRAIN)
			m->dr();
		FZ_CHECK(pcheck_durable(dst, len, &pf) == 0,
			"op %d gran %d flags %#x (async flags %#x) dst+%zu len %zu: "
			"byte %zu is %s", op, m->gran, flags, async_flags, doff, len,
			pf.offset, pf.state);
	}
	pcheck_disable();
	return 0;
}
