/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_map_hostile.c -- pmem2_map_new and reservations used badly: address
 * space exhausted (RLIMIT_AS) half-way, odd file sizes, offsets at the end
 * of the file, huge lengths, from_existing over reservation maps, delete
 * and shrink orders. After every refused call nothing may have changed:
 * the process's mappings, its descriptors and the reservation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "helpers.h"

static size_t Pg;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
static const int Sanitized = 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
static const int Sanitized = 1;
#else
static const int Sanitized = 0;
#endif
#else
static const int Sanitized = 0;
#endif

#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

/*
 * /proc/self/maps reduced to what a leak would show: adjacent ranges of
 * equal permissions and name merged (a mended reservation range is a VMA
 * of its own), private anonymous read-write ranges left out (malloc's).
 */
static char Maps[2][1 << 16];

static void
snap_maps(int which)
{
	static char raw[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY);
	CHECK(fd >= 0);
	size_t n = 0;
	ssize_t r;
	while ((r = read(fd, raw + n, sizeof(raw) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	CHECK(n < sizeof(raw) - 1);
	raw[n] = '\0';

	char *out = Maps[which];
	size_t left = sizeof(Maps[0]);
	unsigned long ps = 0, pe = 0;
	char pperm[8] = "", pname[256] = "";
	char *save = NULL;
	for (char *l = strtok_r(raw, "\n", &save); ; l = strtok_r(NULL, "\n",
			&save)) {
		unsigned long s = 0, e = 0;
		char perm[8] = "", name[256] = "";
		if (l != NULL) {
			CHECK(sscanf(l, "%lx-%lx %7s %*s %*s %*s %255s", &s, &e,
				perm, name) >= 3);
			if (strcmp(perm, "rw-p") == 0 && (name[0] == '\0' ||
					strcmp(name, "[heap]") == 0))
				continue;
			if (s == pe && strcmp(perm, pperm) == 0 &&
					strcmp(name, pname) == 0) {
				pe = e;
				continue;
			}
		}
		if (pe != 0) {
			int k = snprintf(out, left, "%lx-%lx %s %s\n", ps, pe,
				pperm, pname);
			CHECK(k > 0 && (size_t)k < left);
			out += k;
			left -= (size_t)k;
		}
		if (l == NULL)
			break;
		ps = s;
		pe = e;
		strcpy(pperm, perm);
		strcpy(pname, name);
	}
}

static int
nfds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void
check_unchanged(const char *what, int fds_before)
{
	if (Sanitized) {
		/* the sanitizers' allocators map and unmap as they please */
		CHECK_EQ(nfds(), fds_before);
		return;
	}
	snap_maps(1);
	if (strcmp(Maps[0], Maps[1]) != 0) {
		fprintf(stderr, "before:\n%s\nafter:\n%s\n", Maps[0], Maps[1]);
		FAIL("%s changed the process's mappings", what);
	}
	CHECK_EQ(nfds(), fds_before);
}

/*
 * No address space left for the map's window or a reservation: -ENOMEM,
 * and nothing left behind. Maps into an existing reservation need no new
 * address space and still work.
 */
static void
test_no_address_space(const char *dir)
{
	if (Sanitized) {
		printf("address-space limit skipped under a sanitizer\n");
		return;
	}
	char *path = test_path(dir, "as");
	int fd = test_file(path, 64 * Pg, O_RDWR);
	struct pmem2_source *src, *anon;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	CHECK_PMEM2_OK(pmem2_source_from_anon(&anon, 64 << 20));
	struct pmem2_vm_reservation *rsv;
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&rsv, NULL, 64 * Pg));
	void *raddr = pmem2_vm_reservation_get_address(rsv);

	struct pmem2_config *cfg_w = test_config_at(0, 0, NULL, 0);
	struct pmem2_config *cfg_r = test_config_at(0, 16 * Pg, rsv, 8 * Pg);
	struct pmem2_map *m;
	/* warm up what the first calls allocate (error buffers, registry) */
	CHECK_PMEM2_OK(pmem2_map_new(&m, cfg_w, src));
	CHECK_PMEM2_OK(pmem2_map_delete(&m));
	CHECK_PMEM2_OK(pmem2_map_new(&m, cfg_r, src));
	CHECK_PMEM2_OK(pmem2_map_delete(&m));

	struct rlimit old;
	CHECK(getrlimit(RLIMIT_AS, &old) == 0);
	/* the current size plus 1 MiB: less than any 2 MiB-aligned window */
	long vm_kb = test_vm_kb();
	struct rlimit lim = old;
	lim.rlim_cur = (rlim_t)vm_kb * 1024 + (1 << 20);
	if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur)
		lim.rlim_cur = old.rlim_cur;
	int fds = nfds();
	snap_maps(0);
	CHECK(setrlimit(RLIMIT_AS, &lim) == 0);

	m = (void *)1;
	CHECK_PMEM2_ERR(pmem2_map_new(&m, cfg_w, src), -ENOMEM);
	CHECK(m == NULL);
	CHECK(pmem2_errormsg()[0] != '\0');
	CHECK_PMEM2_ERR(pmem2_map_new(&m, cfg_w, anon), -ENOMEM);
	struct pmem2_vm_reservation *r2 = (void *)1;
	CHECK_PMEM2_ERR(pmem2_vm_reservation_new(&r2, NULL, 64 * Pg),
		-ENOMEM);
	CHECK(r2 == NULL);
	/* extend by more than the limit leaves: the size stays */
	int ret = pmem2_vm_reservation_extend(rsv, 1024 * Pg);
	if (ret != -ENOMEM && ret != PMEM2_E_MAPPING_EXISTS)
		FAIL("extend without address space: %d (%s)", ret,
			pmem2_errormsg());
	CHECK_EQ(pmem2_vm_reservation_get_size(rsv), 64 * Pg);
	CHECK(pmem2_vm_reservation_get_address(rsv) == raddr);
	check_unchanged("refused maps and reservations", fds);

	/* into the reservation: no new address space needed */
	CHECK_PMEM2_OK(pmem2_map_new(&m, cfg_r, src));
	CHECK((char *)pmem2_map_get_address(m) == (char *)raddr + 8 * Pg);
	memset(pmem2_map_get_address(m), 0x5a, 16 * Pg);
	CHECK_PMEM2_OK(pmem2_map_delete(&m));
	CHECK(test_faults((char *)raddr + 8 * Pg, 0));
	check_unchanged("a map into the reservation and its delete", fds);

	CHECK(setrlimit(RLIMIT_AS, &old) == 0);
	char b;
	CHECK(pread(fd, &b, 1, 15 * (off_t)Pg) == 1);
	CHECK_EQ(b, 0x5a);

	pmem2_config_delete(&cfg_w);
	pmem2_config_delete(&cfg_r);
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
	pmem2_source_delete(&src);
	pmem2_source_delete(&anon);
	test_file_remove(path, fd);
}

/* Files of sizes that are no multiple of a page; offsets at the end. */
static void
test_odd_sizes(const char *dir)
{
	size_t sizes[] = { 1, Pg - 1, Pg + 1, 3 * Pg + 17 };
	struct pmem2_vm_reservation *rsv;
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&rsv, NULL, 8 * Pg));
	char *raddr = pmem2_vm_reservation_get_address(rsv);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t sz = sizes[i];
		char *path;
		int fd;
		struct pmem2_source *src = test_file_source(dir, "odd", sz,
			&path, &fd);
		int fds = nfds();
		snap_maps(0);

		/* whole file, in a window and in the reservation's end */
		struct pmem2_config *cfg = test_config_at(0, 0, NULL, 0);
		struct pmem2_map *m;
		CHECK_PMEM2_OK(pmem2_map_new(&m, cfg, src));
		CHECK_EQ(pmem2_map_get_size(m), sz);
		((char *)pmem2_map_get_address(m))[sz - 1] = 'z';
		CHECK_PMEM2_OK(pmem2_map_delete(&m));
		pmem2_config_delete(&cfg);

		size_t rounded = ALIGN_UP(sz, Pg);
		cfg = test_config_at(0, 0, rsv, 8 * Pg - rounded);
		CHECK_PMEM2_OK(pmem2_map_new(&m, cfg, src));
		CHECK((char *)pmem2_map_get_address(m) ==
			raddr + 8 * Pg - rounded);
		CHECK_EQ(((char *)pmem2_map_get_address(m))[sz - 1], 'z');
		/* one page further does not fit */
		struct pmem2_map *m2 = (void *)1;
		pmem2_config_delete(&cfg);
		cfg = test_config_at(0, 0, rsv, 8 * Pg - rounded + Pg);
		CHECK_PMEM2_ERR(pmem2_map_new(&m2, cfg, src),
			PMEM2_E_LENGTH_OUT_OF_RANGE);
		CHECK(m2 == NULL);
		CHECK_PMEM2_OK(pmem2_map_delete(&m));
		pmem2_config_delete(&cfg);

		/* offset at and past the end, explicit lengths beyond it */
		if (sz >= Pg) {
			size_t eof_off = sz / Pg * Pg;
			cfg = test_config_at(eof_off, 0, NULL, 0);
			if (eof_off == sz) {
				CHECK_PMEM2_ERR(pmem2_map_new(&m, cfg, src),
					PMEM2_E_MAP_RANGE);
			} else {
				CHECK_PMEM2_OK(pmem2_map_new(&m, cfg, src));
				CHECK_EQ(pmem2_map_get_size(m), sz - eof_off);
				CHECK_PMEM2_OK(pmem2_map_delete(&m));
			}
			pmem2_config_delete(&cfg);
		}
		cfg = test_config_at(ALIGN_UP(sz, Pg), 0, NULL, 0);
		CHECK_PMEM2_ERR(pmem2_map_new(&m, cfg, src),
			PMEM2_E_MAP_RANGE);
		pmem2_config_delete(&cfg);
		cfg = test_config_at(0, ALIGN_UP(sz + 1, Pg), NULL, 0);
		CHECK_PMEM2_ERR(pmem2_map_new(&m, cfg, src),
			PMEM2_E_MAP_RANGE);
		pmem2_config_delete(&cfg);
		/* offset + length wraps around */
		cfg = test_config_at(Pg, SIZE_MAX - Pg + 1, NULL, 0);
		CHECK_PMEM2_ERR(pmem2_map_new(&m, cfg, src),
			PMEM2_E_MAP_RANGE);
		pmem2_config_delete(&cfg);
		cfg = test_config_at(Pg, SIZE_MAX - Pg + 1, rsv, 0);
		CHECK_PMEM2_ERR(pmem2_map_new(&m, cfg, src),
			PMEM2_E_MAP_RANGE);
		pmem2_config_delete(&cfg);
		CHECK(m == NULL);
		check_unchanged("odd-size maps", fds);
		CHECK(test_faults(raddr, 0));
		CHECK(test_faults(raddr + 7 * Pg, 0));

		pmem2_source_delete(&src);
		test_file_remove(path, fd);
	}
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
}

/* Anonymous sources of huge sizes: refused cleanly, never mapped. */
static void
test_huge(void)
{
	size_t sizes[] = { SIZE_MAX - Pg + 1, SIZE_MAX / 2 / Pg * Pg,
		(size_t)1 << 47, ((size_t)1 << 47) - Pg };
	int fds = nfds();
	snap_maps(0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct pmem2_source *anon;
		CHECK_PMEM2_OK(pmem2_source_from_anon(&anon, sizes[i]));
		struct pmem2_config *cfg = test_config_at(0, 0, NULL, 0);
		struct pmem2_map *m = (void *)1;
		int ret = pmem2_map_new(&m, cfg, anon);
		if (ret != -ENOMEM && ret != PMEM2_E_MAP_RANGE)
			FAIL("anon of %zu: %d (%s)", sizes[i], ret,
				pmem2_errormsg());
		CHECK(m == NULL);
		CHECK(pmem2_errormsg()[0] != '\0');
		pmem2_config_delete(&cfg);
		pmem2_source_delete(&anon);

		struct pmem2_vm_reservation *rsv = (void *)1;
		ret = pmem2_vm_reservation_new(&rsv, NULL, sizes[i]);
		if (ret == 0) {
			/* 128 TiB can fit on 5-level paging */
			CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
			continue;
		}
		CHECK(rsv == NULL);
		if (ret != -ENOMEM)
			FAIL("reservation of %zu: %d (%s)", sizes[i], ret,
				pmem2_errormsg());
	}
	check_unchanged("huge maps", fds);
}

/*
 * Reservation life cycle with maps: from_existing over a reservation map
 * is refused; shrink cannot take a map's pages; shrinking the front moves
 * the offsets; delete needs it empty; extending keeps the maps.
 */
static void
test_reservation_orders(const char *dir)
{
	char *path;
	int fd;
	struct pmem2_source *src = test_file_source(dir, "ord", 4 * Pg,
		&path, &fd);
	struct pmem2_vm_reservation *rsv;
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&rsv, NULL, 16 * Pg));
	char *raddr = pmem2_vm_reservation_get_address(rsv);

	struct pmem2_map *a, *b, *x;
	struct pmem2_config *cfg = test_config_at(0, 2 * Pg, rsv, 4 * Pg);
	CHECK_PMEM2_OK(pmem2_map_new(&a, cfg, src));
	pmem2_config_delete(&cfg);
	cfg = test_config_at(2 * Pg, 2 * Pg, rsv, 10 * Pg);
	CHECK_PMEM2_OK(pmem2_map_new(&b, cfg, src));
	pmem2_config_delete(&cfg);

	/* overlapping maps: every partial overlap is refused */
	for (size_t roff = 2 * Pg; roff <= 11 * Pg; roff += Pg) {
		cfg = test_config_at(0, 3 * Pg, rsv, roff);
		x = (void *)1;
		int ret = pmem2_map_new(&x, cfg, src);
		pmem2_config_delete(&cfg);
		int overlaps = (roff + 3 * Pg > 4 * Pg && roff < 6 * Pg) ||
			(roff + 3 * Pg > 10 * Pg && roff < 12 * Pg);
		if (overlaps) {
			CHECK_EQ(ret, PMEM2_E_MAPPING_EXISTS);
			CHECK(x == NULL);
		} else {
			CHECK_PMEM2_OK(ret);
			CHECK_PMEM2_OK(pmem2_map_delete(&x));
		}
	}
	/* a and b survived all that, contents and placement */
	CHECK(pmem2_map_get_address(a) == raddr + 4 * Pg);
	memset(raddr + 4 * Pg, 'a', 2 * Pg);
	memset(raddr + 10 * Pg, 'b', 2 * Pg);
	char buf[2];
	CHECK(pread(fd, buf, 1, 0) == 1 && buf[0] == 'a');
	CHECK(pread(fd, buf, 1, 3 * (off_t)Pg) == 1 && buf[0] == 'b');

	/* from_existing over the maps or the empty reservation */
	CHECK_PMEM2_ERR(pmem2_map_from_existing(&x, src, raddr + 5 * Pg, Pg,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	CHECK_PMEM2_ERR(pmem2_map_from_existing(&x, src, raddr, 16 * Pg,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);

	/* shrink: not into a map; the front moves the offsets */
	CHECK_PMEM2_ERR(pmem2_vm_reservation_shrink(rsv, 0, 5 * Pg),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	CHECK_PMEM2_ERR(pmem2_vm_reservation_shrink(rsv, 11 * Pg, 5 * Pg),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	CHECK_PMEM2_OK(pmem2_vm_reservation_shrink(rsv, 0, 2 * Pg));
	CHECK_PMEM2_OK(pmem2_vm_reservation_shrink(rsv, 12 * Pg, 2 * Pg));
	CHECK(pmem2_vm_reservation_get_address(rsv) == raddr + 2 * Pg);
	CHECK_EQ(pmem2_vm_reservation_get_size(rsv), 12 * Pg);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find(rsv, 2 * Pg, Pg, &x));
	CHECK(x == a);
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find(rsv, 8 * Pg, Pg, &x));
	CHECK(x == b);
	/* offset 2 pages in the shrunk one is where a is */
	cfg = test_config_at(0, Pg, rsv, 2 * Pg);
	CHECK_PMEM2_ERR(pmem2_map_new(&x, cfg, src), PMEM2_E_MAPPING_EXISTS);
	pmem2_config_delete(&cfg);
	/* the last page, 11 in the shrunk numbering, is free */
	cfg = test_config_at(0, Pg, rsv, 11 * Pg);
	CHECK_PMEM2_OK(pmem2_map_new(&x, cfg, src));
	CHECK(pmem2_map_get_address(x) == raddr + 13 * Pg);
	CHECK_EQ(*(char *)pmem2_map_get_address(x), 'a');
	pmem2_config_delete(&cfg);

	/* extend while maps exist, then map into the new part */
	int ext = pmem2_vm_reservation_extend(rsv, 4 * Pg);
	if (ext == 0) {
		struct pmem2_map *y;
		cfg = test_config_at(0, 4 * Pg, rsv, 12 * Pg);
		CHECK_PMEM2_OK(pmem2_map_new(&y, cfg, src));
		pmem2_config_delete(&cfg);
		CHECK(pmem2_map_get_address(y) == raddr + 14 * Pg);
		CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_last(rsv, &x));
		CHECK(x == y);
		CHECK_PMEM2_ERR(pmem2_vm_reservation_shrink(rsv, 12 * Pg,
			4 * Pg), PMEM2_E_VM_RESERVATION_NOT_EMPTY);
		CHECK_PMEM2_OK(pmem2_map_delete(&y));
	} else {
		CHECK_EQ(ext, PMEM2_E_MAPPING_EXISTS);
	}
	CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_last(rsv, &x));

	/* delete order: not while maps remain */
	CHECK_PMEM2_ERR(pmem2_vm_reservation_delete(&rsv),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	CHECK(rsv != NULL);
	CHECK_PMEM2_OK(pmem2_map_delete(&x));
	CHECK_PMEM2_OK(pmem2_map_delete(&b));
	CHECK_PMEM2_ERR(pmem2_vm_reservation_delete(&rsv),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	CHECK_PMEM2_OK(pmem2_map_delete(&a));
	CHECK(test_faults(raddr + 4 * Pg, 0));
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
	CHECK(rsv == NULL);

	pmem2_source_delete(&src);
	test_file_remove(path, fd);
}

/*
 * No descriptor left (RLIMIT_NOFILE): a PAGE map needs one of its own for
 * its asynchronous syncs, so map_new fails at its last step and must undo
 * the others: the reservation range empty and inaccessible again, nothing
 * registered (the same range maps fine afterwards), no mapping left.
 */
static void
test_no_descriptors(const char *dir)
{
	char *path;
	int fd;
	struct pmem2_source *src = test_file_source(dir, "nofd", 4 * Pg,
		&path, &fd);
	struct pmem2_vm_reservation *rsv;
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&rsv, NULL, 8 * Pg));
	char *raddr = pmem2_vm_reservation_get_address(rsv);
	struct pmem2_config *cfg_r = test_config_at(0, 0, rsv, 2 * Pg);
	struct pmem2_config *cfg_w = test_config_at(0, 0, NULL, 0);
	struct pmem2_map *m;
	CHECK_PMEM2_OK(pmem2_map_new(&m, cfg_r, src));
	CHECK_PMEM2_OK(pmem2_map_delete(&m));

	int lowest = dup(0);
	CHECK(lowest >= 0);
	close(lowest);
	int fds = nfds();
	snap_maps(0);
	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	lim = old;
	lim.rlim_cur = (rlim_t)lowest;
	CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
	int ret_r = pmem2_map_new(&m, cfg_r, src);
	struct pmem2_map *mr = m;
	int ret_w = pmem2_map_new(&m, cfg_w, src);
	struct pmem2_map *mw = m;
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	if (ret_r == 0) {
		/* the library did without a descriptor of its own */
		CHECK_PMEM2_OK(ret_w);
		CHECK_PMEM2_OK(pmem2_map_delete(&mr));
		CHECK_PMEM2_OK(pmem2_map_delete(&mw));
		printf("map_new needs no new descriptor\n");
	} else {
		CHECK_EQ(ret_r, -EMFILE);
		CHECK_EQ(ret_w, -EMFILE);
		CHECK(mr == NULL && mw == NULL);
		CHECK(pmem2_errormsg()[0] != '\0');
	}
	check_unchanged("maps refused for want of a descriptor", fds);
	CHECK(test_faults(raddr + 2 * Pg, 0));
	CHECK_PMEM2_ERR(pmem2_vm_reservation_map_find_first(rsv, &m),
		PMEM2_E_MAPPING_NOT_FOUND);
	/* nothing registered: the range maps again, as does from_existing */
	CHECK_PMEM2_OK(pmem2_map_new(&m, cfg_r, src));
	CHECK((char *)pmem2_map_get_address(m) == raddr + 2 * Pg);
	CHECK_PMEM2_OK(pmem2_map_delete(&m));
	CHECK_PMEM2_OK(pmem2_map_from_existing(&m, src, raddr + 2 * Pg,
		4 * Pg, PMEM2_GRANULARITY_PAGE));
	CHECK_PMEM2_OK(pmem2_map_delete(&m));

	pmem2_config_delete(&cfg_r);
	pmem2_config_delete(&cfg_w);
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
	pmem2_source_delete(&src);
	test_file_remove(path, fd);
}

/*
 * Random maps and deletes in one reservation against a model of who owns
 * each page: every map_new's verdict, and map_find, find_first/last and
 * find_prev/next after every step, must agree with the model.
 */
#define MODEL_PAGES 64
static void
test_reservation_model(void)
{
	struct pmem2_source *anon;
	CHECK_PMEM2_OK(pmem2_source_from_anon(&anon, 8 * Pg));
	struct pmem2_vm_reservation *rsv;
	CHECK_PMEM2_OK(pmem2_vm_reservation_new(&rsv, NULL,
		MODEL_PAGES * Pg));
	char *raddr = pmem2_vm_reservation_get_address(rsv);
	struct pmem2_map *owner[MODEL_PAGES] = { NULL };
	unsigned seed = 12345;
	int iters = test_quick() ? 400 : 4000;
	for (int it = 0; it < iters; it++) {
		size_t off = (size_t)rand_r(&seed) % MODEL_PAGES;
		if (rand_r(&seed) % 5 < 3) {
			size_t len = 1 + (size_t)rand_r(&seed) % 8;
			int want = 0;
			if (off + len > MODEL_PAGES)
				want = PMEM2_E_LENGTH_OUT_OF_RANGE;
			else
				for (size_t p = off; p < off + len; p++)
					if (owner[p])
						want = PMEM2_E_MAPPING_EXISTS;
			struct pmem2_config *cfg = test_config_at(0, len * Pg,
				rsv, off * Pg);
			struct pmem2_map *m;
			int ret = pmem2_map_new(&m, cfg, anon);
			pmem2_config_delete(&cfg);
			if (ret != want)
				FAIL("step %d: map of %zu pages at %zu: %d, "
					"want %d (%s)", it, len, off, ret, want,
					pmem2_errormsg());
			if (ret == 0) {
				CHECK((char *)pmem2_map_get_address(m) ==
					raddr + off * Pg);
				for (size_t p = off; p < off + len; p++) {
					owner[p] = m;
					raddr[p * Pg] = (char)it;
				}
			}
		} else if (owner[off]) {
			struct pmem2_map *m = owner[off];
			size_t first = (size_t)((char *)
				pmem2_map_get_address(m) - raddr) / Pg;
			size_t len = pmem2_map_get_size(m) / Pg;
			CHECK_PMEM2_OK(pmem2_map_delete(&m));
			for (size_t p = first; p < first + len; p++)
				owner[p] = NULL;
			CHECK(test_faults(raddr + first * Pg, 0));
		}

		/* the reservation's view against the model */
		struct pmem2_map *f, *lo = NULL, *hi = NULL;
		for (size_t p = 0; p < MODEL_PAGES; p++) {
			if (owner[p] && !lo)
				lo = owner[p];
			if (owner[p])
				hi = owner[p];
			int ret = pmem2_vm_reservation_map_find(rsv, p * Pg,
				Pg, &f);
			if (owner[p]) {
				CHECK_PMEM2_OK(ret);
				CHECK(f == owner[p]);
			} else {
				CHECK_EQ(ret, PMEM2_E_MAPPING_NOT_FOUND);
			}
		}
		if (!lo) {
			CHECK_PMEM2_ERR(pmem2_vm_reservation_map_find_first(rsv,
				&f), PMEM2_E_MAPPING_NOT_FOUND);
			continue;
		}
		CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_first(rsv, &f));
		CHECK(f == lo);
		CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_last(rsv, &f));
		CHECK(f == hi);
		struct pmem2_map *prev = NULL;
		for (size_t p = 0; p < MODEL_PAGES; p++) {
			struct pmem2_map *m = owner[p];
			if (!m || m == prev)
				continue;
			if (prev) {
				CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_next(
					rsv, prev, &f));
				CHECK(f == m);
				CHECK_PMEM2_OK(pmem2_vm_reservation_map_find_prev(
					rsv, m, &f));
				CHECK(f == prev);
			} else {
				CHECK_PMEM2_ERR(pmem2_vm_reservation_map_find_prev(
					rsv, m, &f), PMEM2_E_MAPPING_NOT_FOUND);
			}
			prev = m;
		}
		CHECK_PMEM2_ERR(pmem2_vm_reservation_map_find_next(rsv, prev,
			&f), PMEM2_E_MAPPING_NOT_FOUND);
	}
	for (size_t p = 0; p < MODEL_PAGES; p++) {
		if (!owner[p])
			continue;
		struct pmem2_map *m = owner[p];
		size_t len = pmem2_map_get_size(m) / Pg;
		CHECK_PMEM2_OK(pmem2_map_delete(&m));
		for (size_t q = p; q < p + len; q++)
			owner[q] = NULL;
	}
	CHECK_PMEM2_OK(pmem2_vm_reservation_delete(&rsv));
	pmem2_source_delete(&anon);
}

int
main(void)
{
	Pg = (size_t)sysconf(_SC_PAGESIZE);
	const char *dir = test_dir();
	test_odd_sizes(dir);
	test_huge();
	test_reservation_orders(dir);
	test_reservation_model();
	test_no_address_space(dir);
	test_no_descriptors(dir);
	printf("map_hostile: OK\n");
	return 0;
}
