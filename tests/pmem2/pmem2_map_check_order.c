/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_map_check_order.c -- which error pmem2_map_new reports when several
 * things are wrong at once. The table lists every check a test can provoke
 * on an ordinary machine, in upstream's order; every combination of faults
 * is tried, and the first fault in the table must win. So any two checks
 * done in the other order fail the test, for the pair alone.
 *
 * Not provoked here: the source's own alignment errors, a PMEM2_PRIVATE
 * device DAX and a reservation address that breaks the source's alignment
 * all need a device DAX (alignment larger than a page).
 */
#define _GNU_SOURCE
#include <stdint.h>

#include "helpers.h"

static size_t Pg;

enum fault {
	F_GRAN_UNSET,	/* no required granularity in the config */
	F_BAD_FD,	/* the source's descriptor was closed */
	F_OFFSET,	/* offset not a multiple of the source alignment */
	F_EMPTY,	/* a file of size 0 */
	F_LENGTH,	/* length not a multiple of the source alignment */
	F_RANGE,	/* offset + length beyond the file */
	F_RSV_OFFSET,	/* reservation offset not a multiple of a page */
	F_RSV_RANGE,	/* the map does not fit in the reservation */
	F_RSV_TAKEN,	/* the reservation range holds another map */
	F_NO_ACCESS,	/* PROT_WRITE of a read-only descriptor (mmap) */
	F_GRAN,		/* CACHE_LINE required, PAGE available */
	NFAULTS
};

#define RSV_FAULTS ((1u << F_RSV_OFFSET) | (1u << F_RSV_RANGE) | \
	(1u << F_RSV_TAKEN))

static const struct {
	const char *name;
	int code;
	const char *msg;	/* NULL, or a part of the message to tell apart */
} Faults[NFAULTS] = {
	[F_GRAN_UNSET] = { "granularity unset", PMEM2_E_GRANULARITY_NOT_SET,
		NULL },
	[F_BAD_FD] = { "closed fd", PMEM2_E_INVALID_FILE_HANDLE, NULL },
	[F_OFFSET] = { "unaligned offset", PMEM2_E_OFFSET_UNALIGNED,
		"of the source alignment" },
	[F_EMPTY] = { "empty source", PMEM2_E_SOURCE_EMPTY, NULL },
	[F_LENGTH] = { "unaligned length", PMEM2_E_LENGTH_UNALIGNED, NULL },
	[F_RANGE] = { "beyond the source", PMEM2_E_MAP_RANGE, NULL },
	[F_RSV_OFFSET] = { "unaligned reservation offset",
		PMEM2_E_OFFSET_UNALIGNED, "of the page size" },
	[F_RSV_RANGE] = { "beyond the reservation",
		PMEM2_E_LENGTH_OUT_OF_RANGE, NULL },
	[F_RSV_TAKEN] = { "reservation range taken",
		PMEM2_E_MAPPING_EXISTS, NULL },
	[F_NO_ACCESS] = { "read-only descriptor", PMEM2_E_NO_ACCESS, NULL },
	[F_GRAN] = { "granularity unavailable",
		PMEM2_E_GRANULARITY_NOT_SUPPORTED, NULL },
};

static char *Full, *Empty;	/* 16 pages and 0 bytes */
static struct pmem2_vm_reservation *Rsv;	/* 8 pages, [4, 8) taken */

static void
describe(unsigned set, char *buf, size_t size)
{
	buf[0] = '\0';
	for (int f = 0; f < NFAULTS; f++)
		if (set & (1u << f))
			snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",
				buf[0] ? " + " : "", Faults[f].name);
}

/* pmem2_map_new with the faults in set; rsv: through the reservation. */
static void
try_set(unsigned set, int rsv)
{
#define HAS(f) ((set & (1u << (f))) != 0)
	int fd = open(HAS(F_EMPTY) ? Empty : Full,
		HAS(F_NO_ACCESS) ? O_RDONLY : O_RDWR);
	CHECK(fd >= 0);
	struct pmem2_source *src;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	if (HAS(F_BAD_FD))
		close(fd);

	struct pmem2_config *cfg;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	if (!HAS(F_GRAN_UNSET))
		CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
			HAS(F_GRAN) ? PMEM2_GRANULARITY_CACHE_LINE :
			PMEM2_GRANULARITY_PAGE));
	CHECK_PMEM2_OK(pmem2_config_set_offset(cfg, Pg + HAS(F_OFFSET)));
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg,
		(HAS(F_RANGE) ? 16 : 4) * Pg + HAS(F_LENGTH)));
	if (rsv) {
		/* [0, 4) is free; [2, 6) overlaps the taken [4, 8) */
		size_t roff = (HAS(F_RSV_TAKEN) ? 2 * Pg : 0) +
			(HAS(F_RSV_RANGE) ? 6 * Pg : 0) + HAS(F_RSV_OFFSET);
		CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, Rsv, roff));
	}
#undef HAS

	char what[512];
	describe(set, what, sizeof(what));
	struct pmem2_map *map = (void *)1;
	int ret = pmem2_map_new(&map, cfg, src);
	if (set == 0) {
		if (ret)
			FAIL("no fault (%s): %d: %s", rsv ? "reservation" :
				"window", ret, pmem2_errormsg());
		CHECK_PMEM2_OK(pmem2_map_delete(&map));
	} else {
		int first = __builtin_ctz(set);
		if (ret != Faults[first].code)
			FAIL("%s%s: returned %d, expected %d (%s): %s", what,
				rsv ? " (reservation)" : "", ret,
				Faults[first].code, Faults[first].name,
				pmem2_errormsg());
		if (pmem2_errormsg()[0] == '\0')
			FAIL("%s: empty message", what);
		if (Faults[first].msg &&
				!strstr(pmem2_errormsg(), Faults[first].msg))
			FAIL("%s: message \"%s\" is not about %s", what,
				pmem2_errormsg(), Faults[first].name);
		CHECK(map == NULL);
	}
	if (rsv) {	/* a failure leaves the reservation as it was */
		struct pmem2_map *found;
		CHECK_EQ(pmem2_vm_reservation_map_find(Rsv, 0, 4 * Pg, &found),
			PMEM2_E_MAPPING_NOT_FOUND);
	}

	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	if (!(set & (1u << F_BAD_FD)))
		close(fd);
}

/* The permissions /proc/self/maps shows for the page at addr ("" if none). */
static void
perms_at(const void *addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	CHECK(f != NULL);
	char line[512];
	perms[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char p[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 &&
				(uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
}

/*
 * The last step: the registry refuses a range a map_from_existing covers.
 * The mapping is undone (PROT_NONE again) and the reservation left empty
 * there, so the same map_new works once the other map is gone.
 */
static void
registration_fails(struct pmem2_source *src)
{
	char *base = pmem2_vm_reservation_get_address(Rsv);
	struct pmem2_map *existing, *map = (void *)1, *found;
	CHECK_PMEM2_OK(pmem2_map_from_existing(&existing, src, base + Pg, Pg,
		PMEM2_GRANULARITY_PAGE));
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	CHECK_PMEM2_OK(pmem2_config_set_length(cfg, 4 * Pg));
	CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(cfg, Rsv, 0));
	CHECK_PMEM2_ERR(pmem2_map_new(&map, cfg, src), PMEM2_E_MAP_EXISTS);
	CHECK(map == NULL);
	CHECK_EQ(pmem2_vm_reservation_map_find(Rsv, 0, 4 * Pg, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	char perms[5];
	perms_at(base, perms);
	if (strcmp(perms, "---p") != 0)
		FAIL("the reservation's first page is \"%s\" after the failed map_new, expected \"---p\"",
			perms);

	CHECK_PMEM2_OK(pmem2_map_delete(&existing));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	perms_at(base, perms);
	CHECK(strcmp(perms, "rw-s") == 0);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	pmem2_config_delete(&cfg);
}

int
main(void)
{
	Pg = (size_t)sysconf(_SC_PAGESIZE);
	/* PAGE whatever the test directory is, so F_GRAN is a fault */
	setenv("PMEM2_FORCE_GRANULARITY", "PAGE", 1);
	const char *dir = test_dir();
	Full = test_path(dir, "order_full");
	Empty = test_path(dir, "order_empty");
	close(test_file(Full, 16 * Pg, O_RDWR));
	close(test_file(Empty, 0, O_RDWR));

	int bfd = open(Full, O_RDWR);
	CHECK(bfd >= 0);
	struct pmem2_source *bsrc;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&bsrc, bfd));
	struct pmem2_config *bcfg = test_config(PMEM2_GRANULARITY_PAGE);
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&Rsv, NULL, 8 * Pg));
	CHECK_PMEM2_OK(pmem2_config_set_length(bcfg, 4 * Pg));
	CHECK_PMEM2_OK(pmem2_config_set_vm_reservation(bcfg, Rsv, 4 * Pg));
	struct pmem2_map *blocker;
	CHECK_PMEM2_OK(pmem2_map_new(&blocker, bcfg, bsrc));

	unsigned tried = 0;
	for (unsigned set = 0; set < (1u << NFAULTS); set++, tried++)
		try_set(set, 1);
	for (unsigned set = 0; set < (1u << NFAULTS); set++) {
		if (set & RSV_FAULTS)
			continue;
		try_set(set, 0);
		tried++;
	}
	registration_fails(bsrc);

	CHECK_PMEM2_OK(pmem2_map_delete(&blocker));
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&Rsv));
	pmem2_config_delete(&bcfg);
	pmem2_source_delete(&bsrc);
	close(bfd);
	unlink(Full);
	unlink(Empty);
	free(Full);
	free(Empty);
	printf("ok: %u combinations of %d faults\n", tried, NFAULTS);
	return 0;
}
