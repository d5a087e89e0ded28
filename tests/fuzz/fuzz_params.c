/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_params.c -- the config/source/map/reservation parameter space.
 *
 * The input is a program: each step picks a call (config setters, map_new
 * on a read-write, read-only or anonymous source, map_delete, reservations
 * and their find/extend/shrink, map_from_existing, source queries, mcsafe
 * I/O, deep flush, truncating the file) and its arguments. Every return code
 * must be 0 or one that call documents; a successful map must be usable
 * and consistent with what was asked. At the end everything is released
 * (LeakSanitizer checks nothing leaked).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libpmem2.h>
#include "fuzz_input.h"

#define NMAPS 4
#define NRSV 2
#define NEXIST 2
#define FILE_MAX (8u << 20)

static int fd_rw = -1, fd_ro = -1;
static size_t page;
static char path[256];
static unsigned char *exist_area;	/* for map_from_existing */
#define EXIST_SIZE (1u << 20)

/* Documented results per call (each list ends with 1, never a result). */
#define END 1
static const int ok_only[] = { 0, END };
static const int set_gran[] = { 0, PMEM2_E_GRANULARITY_NOT_SUPPORTED, END };
static const int set_off[] = { 0, PMEM2_E_OFFSET_OUT_OF_RANGE, END };
static const int set_share[] = { 0, PMEM2_E_INVALID_SHARING_VALUE, END };
static const int set_prot[] = { 0, PMEM2_E_INVALID_PROT_FLAG, END };
static const int map_new_codes[] = { 0, PMEM2_E_GRANULARITY_NOT_SET,
	PMEM2_E_OFFSET_UNALIGNED, PMEM2_E_SRC_DEVDAX_PRIVATE,
	PMEM2_E_SOURCE_EMPTY, PMEM2_E_LENGTH_UNALIGNED, PMEM2_E_MAP_RANGE,
	PMEM2_E_LENGTH_OUT_OF_RANGE, PMEM2_E_ADDRESS_UNALIGNED,
	PMEM2_E_MAPPING_EXISTS, PMEM2_E_NO_ACCESS, PMEM2_E_NOSUPP,
	PMEM2_E_GRANULARITY_NOT_SUPPORTED, -ENOMEM, -EAGAIN, -EPERM, END };
static const int rsv_new_codes[] = { 0, PMEM2_E_ADDRESS_UNALIGNED,
	PMEM2_E_LENGTH_UNALIGNED, PMEM2_E_MAPPING_EXISTS, -ENOMEM, -EAGAIN,
	END };
static const int rsv_del_codes[] = { 0, PMEM2_E_VM_RESERVATION_NOT_EMPTY,
	END };
static const int rsv_ext_codes[] = { 0, PMEM2_E_LENGTH_UNALIGNED,
	PMEM2_E_MAPPING_EXISTS, -ENOMEM, -EAGAIN, END };
static const int rsv_shr_codes[] = { 0, PMEM2_E_OFFSET_UNALIGNED,
	PMEM2_E_LENGTH_UNALIGNED, PMEM2_E_OFFSET_OUT_OF_RANGE,
	PMEM2_E_LENGTH_OUT_OF_RANGE, PMEM2_E_NOSUPP,
	PMEM2_E_VM_RESERVATION_NOT_EMPTY, -ENOMEM, END };
static const int find_codes[] = { 0, PMEM2_E_MAPPING_NOT_FOUND, END };
static const int exist_codes[] = { 0, PMEM2_E_MAP_EXISTS, -ENOMEM, END };
static const int mcsafe_codes[] = { 0, PMEM2_E_LENGTH_OUT_OF_RANGE,
	PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED, PMEM2_E_IO_FAIL, END };
static const int deep_codes[] = { 0, PMEM2_E_DEEP_FLUSH_RANGE,
	PMEM2_E_NOSUPP, END };
static const int src_size_codes[] = { 0, END };
static const int getfd_codes[] = { 0, PMEM2_E_FILE_DESCRIPTOR_NOT_SET, END };

static void
expect(const char *call, int r, const int *allowed)
{
	for (const int *a = allowed; *a != END; a++)
		if (r == *a)
			return;
	fprintf(stderr, "%s returned %d (%s), not a documented result\n",
		call, r, pmem2_errormsg());
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	page = (size_t)sysconf(_SC_PAGESIZE);
	const char *dir = getenv("PMEM2_TEST_DIR");
	snprintf(path, sizeof(path), "%s/pmem2-fuzz-params-%d",
		dir && *dir ? dir : "/dev/shm", (int)getpid());
	fd_rw = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	fd_ro = open(path, O_RDONLY);
	if (fd_rw < 0 || fd_ro < 0) {
		perror(path);
		abort();
	}
	unlink(path);	/* the descriptors keep it */
	exist_area = mmap(NULL, EXIST_SIZE, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (exist_area == MAP_FAILED)
		abort();
	return 0;
}

struct state {
	struct pmem2_config *cfg;
	struct pmem2_source *src_rw, *src_ro, *src_anon;
	struct pmem2_map *maps[NMAPS];
	int map_writable[NMAPS];
	struct pmem2_map *exist[NEXIST];
	struct pmem2_vm_reservation *rsv[NRSV];
	struct pmem2_vm_reservation *cfg_rsv;	/* what the config holds */
	size_t file_size;
	/* what the config was last set to, for consistency checks */
	int gran_set;
	int gran;
	size_t length;
	unsigned prot;
	int sharing;
};

static struct pmem2_source *
pick_src(struct state *s, struct fz *f)
{
	switch (fz_u8(f) % 3) {
	case 0: return s->src_rw;
	case 1: return s->src_ro;
	default: return s->src_anon;
	}
}

static void
do_map_new(struct state *s, struct fz *f)
{
	int slot = fz_u8(f) % NMAPS;
	if (s->maps[slot])
		return;
	struct pmem2_source *src = pick_src(s, f);
	struct pmem2_map *m = (struct pmem2_map *)0x1;
	int r = pmem2_map_new(&m, s->cfg, src);
	expect("pmem2_map_new", r, map_new_codes);
	if (r != 0) {
		FZ_CHECK(m == NULL, "map_new failed (%d) but *map not NULL", r);
		return;
	}
	FZ_CHECK(m != NULL, "map_new succeeded with a NULL map");
	s->maps[slot] = m;
	size_t sz = pmem2_map_get_size(m);
	unsigned char *a = pmem2_map_get_address(m);
	FZ_CHECK(a != NULL && sz > 0, "empty map");
	FZ_CHECK(s->length == 0 || sz == s->length,
		"size %zu, length asked %zu", sz, s->length);
	enum pmem2_granularity g = pmem2_map_get_store_granularity(m);
	FZ_CHECK(s->gran_set && (int)g <= s->gran,
		"granularity %d, required %d", (int)g, s->gran);
	s->map_writable[slot] = (s->prot & PMEM2_PROT_WRITE) &&
		(s->prot & PMEM2_PROT_READ) && src != s->src_ro;
	/* the first and last byte are usable; the file is not truncated
	 * below a live map's range before this point */
	if (s->map_writable[slot]) {
		pmem2_memset_fn ms = pmem2_get_memset_fn(m);
		ms(a, 0x5a, 1, 0);
		ms(a + sz - 1, 0xa5, 1, 0);
		FZ_CHECK((sz == 1 || a[0] == 0x5a) && a[sz - 1] == 0xa5,
			"map of %zu bytes not writable", sz);
		pmem2_get_persist_fn(m)(a, sz > 4096 ? 4096 : sz);
	}
}

static void
do_map_delete(struct state *s, struct fz *f)
{
	int slot = fz_u8(f) % NMAPS;
	if (!s->maps[slot])
		return;
	int r = pmem2_map_delete(&s->maps[slot]);
	expect("pmem2_map_delete", r, ok_only);
	FZ_CHECK(s->maps[slot] == NULL, "delete left the pointer");
}

static void
do_rsv(struct state *s, struct fz *f)
{
	int slot = fz_u8(f) % NRSV;
	uint8_t op = fz_u8(f) % 8;
	struct pmem2_vm_reservation *rv = s->rsv[slot];
	struct pmem2_map *found = NULL;
	int r;

	if (!rv) {
		void *addr = NULL;
		if (op == 1) {
			/* a hint inside exist_area: occupied */
			addr = exist_area + (fz_u8(f) % 4) * page +
				(fz_u8(f) & 1);
		}
		size_t sz = fz_size(f, page);
		if (sz > (1ULL << 32))
			sz = (sz & 0xff) * page;
		struct pmem2_vm_reservation *nr =
			(struct pmem2_vm_reservation *)0x1;
		r = pmem2_vm_reservation_new(&nr, addr, sz);
		/* an empty reservation: -EINVAL (upstream leaves it undefined) */
		if (sz == 0 && r == -EINVAL)
			r = PMEM2_E_LENGTH_UNALIGNED;
		expect("pmem2_vm_reservation_new", r, rsv_new_codes);
		if (r == 0) {
			FZ_CHECK(pmem2_vm_reservation_get_size(nr) == sz,
				"reservation size");
			FZ_CHECK(pmem2_vm_reservation_get_address(nr) != NULL,
				"reservation address");
			s->rsv[slot] = nr;
		} else {
			FZ_CHECK(nr == NULL, "failed reservation_new left *rsv");
		}
		return;
	}
	switch (op) {
	case 0:
		if (s->cfg_rsv == rv) {
			/* never leave the config pointing at freed memory */
			pmem2_config_set_vm_reservation(s->cfg, NULL, 0);
			s->cfg_rsv = NULL;
		}
		r = pmem2_vm_reservation_delete(&s->rsv[slot]);
		expect("pmem2_vm_reservation_delete", r, rsv_del_codes);
		FZ_CHECK((r == 0) == (s->rsv[slot] == NULL), "delete pointer");
		break;
	case 1: {
		size_t sz = fz_size(f, page);
		if (sz > (1ULL << 32))
			sz = (sz & 0xff) * page;
		size_t before = pmem2_vm_reservation_get_size(rv);
		r = pmem2_vm_reservation_extend(rv, sz);
		if (sz == 0 && r == -EINVAL) {
			expect("pmem2_vm_reservation_extend(0)", 0, rsv_ext_codes);
			break;
		}
		expect("pmem2_vm_reservation_extend", r, rsv_ext_codes);
		FZ_CHECK(pmem2_vm_reservation_get_size(rv) ==
			(r == 0 ? before + sz : before), "extend size");
		break;
	}
	case 2: {
		size_t off = fz_size(f, page), sz = fz_size(f, page);
		size_t before = pmem2_vm_reservation_get_size(rv);
		r = pmem2_vm_reservation_shrink(rv, off, sz);
		expect("pmem2_vm_reservation_shrink", r, rsv_shr_codes);
		FZ_CHECK(pmem2_vm_reservation_get_size(rv) ==
			(r == 0 ? before - sz : before), "shrink size");
		break;
	}
	case 3: {
		size_t off = fz_size(f, page), len = fz_size(f, page);
		r = pmem2_vm_reservation_map_find(rv, off, len, &found);
		expect("pmem2_vm_reservation_map_find", r, find_codes);
		FZ_CHECK((r == 0) == (found != NULL), "find pointer");
		break;
	}
	case 4:
		r = pmem2_vm_reservation_map_find_first(rv, &found);
		expect("map_find_first", r, find_codes);
		if (r == 0) {
			struct pmem2_map *prev = NULL;
			r = pmem2_vm_reservation_map_find_prev(rv, found, &prev);
			expect("map_find_prev", r, find_codes);
			FZ_CHECK(r != 0, "a map before the first one");
		}
		break;
	case 5:
		r = pmem2_vm_reservation_map_find_last(rv, &found);
		expect("map_find_last", r, find_codes);
		if (r == 0) {
			struct pmem2_map *next = NULL;
			r = pmem2_vm_reservation_map_find_next(rv, found, &next);
			expect("map_find_next", r, find_codes);
			FZ_CHECK(r != 0, "a map after the last one");
		}
		break;
	default: {
		/* put the config's reservation here */
		size_t off = fz_size(f, page);
		if (fz_u8(f) & 1) {
			rv = NULL;
			off = 0;
		}
		r = pmem2_config_set_vm_reservation(s->cfg, rv, off);
		expect("pmem2_config_set_vm_reservation", r, ok_only);
		s->cfg_rsv = rv;
		break;
	}
	}
}

static void
do_exist(struct state *s, struct fz *f)
{
	int slot = fz_u8(f) % NEXIST;
	if (s->exist[slot]) {
		int r = pmem2_map_delete(&s->exist[slot]);
		expect("pmem2_map_delete(existing)", r, ok_only);
		return;
	}
	size_t off = (fz_u16(f) % (EXIST_SIZE / 64)) * 64;
	size_t len = 1 + fz_u32(f) % (EXIST_SIZE - off);
	int g = fz_u8(f) % 3;
	struct pmem2_source *src = pick_src(s, f);
	int r = pmem2_map_from_existing(&s->exist[slot], src,
		exist_area + off, len, (enum pmem2_granularity)g);
	expect("pmem2_map_from_existing", r, exist_codes);
	if (r == 0) {
		FZ_CHECK(pmem2_map_get_address(s->exist[slot]) ==
			exist_area + off, "existing address");
		FZ_CHECK(pmem2_map_get_size(s->exist[slot]) == len,
			"existing size");
		pmem2_memset_fn ms = pmem2_get_memset_fn(s->exist[slot]);
		ms(exist_area + off, 1, len > 256 ? 256 : len, 0);
	}
}

static void
do_source(struct state *s, struct fz *f)
{
	struct pmem2_source *src = pick_src(s, f);
	size_t sz = 7, al = 7;
	int fd = -2, r;
	switch (fz_u8(f) % 5) {
	case 0:
		r = pmem2_source_size(src, &sz);
		expect("pmem2_source_size", r, src_size_codes);
		if (src != s->src_anon)
			FZ_CHECK(sz == s->file_size, "size %zu vs file %zu",
				sz, s->file_size);
		break;
	case 1:
		r = pmem2_source_alignment(src, &al);
		expect("pmem2_source_alignment", r, ok_only);
		FZ_CHECK(al == page, "alignment %zu", al);
		break;
	case 2:
		r = pmem2_source_get_fd(src, &fd);
		expect("pmem2_source_get_fd", r, getfd_codes);
		FZ_CHECK(r != 0 || fd == fd_rw || fd == fd_ro, "fd");
		break;
	case 3:
	case 4: {
		static unsigned char buf[1u << 16];
		size_t len = fz_size(f, page);
		size_t off = fz_size(f, page);
		if (len > sizeof(buf))
			len = len % sizeof(buf);
		if (fz_u8(f) & 1) {
			r = pmem2_source_pread_mcsafe(src, buf, len, off);
			expect("pmem2_source_pread_mcsafe", r, mcsafe_codes);
		} else {
			r = pmem2_source_pwrite_mcsafe(src, buf, len, off);
			/* the read-only descriptor refuses writes: -EBADF */
			if (src == s->src_ro && r == -EBADF)
				r = 0;
			expect("pmem2_source_pwrite_mcsafe", r, mcsafe_codes);
			if (r == 0 && src == s->src_rw && len &&
					off + len > s->file_size)
				FZ_CHECK(0, "write beyond the end accepted");
		}
		break;
	}
	}
}

static void
do_misc(struct state *s, struct fz *f)
{
	int slot = fz_u8(f) % NMAPS;
	struct pmem2_map *m = s->maps[slot];
	if (!m)
		return;
	unsigned char *a = pmem2_map_get_address(m);
	size_t sz = pmem2_map_get_size(m);
	size_t off = fz_size(f, page), len = fz_size(f, page);
	switch (fz_u8(f) % 3) {
	case 0: {
		int r = pmem2_deep_flush(m, a + (off % (sz + 64)), len);
		expect("pmem2_deep_flush", r, deep_codes);
		if (off % (sz + 64) + len > sz)
			FZ_CHECK(r == PMEM2_E_DEEP_FLUSH_RANGE,
				"deep_flush outside the map gave %d", r);
		break;
	}
	case 1:
		/* persist of any sub-range of a live map */
		off %= sz;
		len %= (sz - off) + 1;
		pmem2_get_persist_fn(m)(a + off, len);
		break;
	case 2:
		if (s->map_writable[slot]) {
			off %= sz;
			len %= (sz - off) + 1;
			if (len > (1u << 20))
				len = 1u << 20;
			pmem2_get_memset_fn(m)(a + off, (int)off, len,
				fz_u8(f) & PMEM2_F_MEM_VALID_FLAGS);
			pmem2_get_drain_fn(m)();
		}
		break;
	}
}

/* The file may shrink only while no map covers it (no SIGBUS). */
static void
do_truncate(struct state *s, struct fz *f)
{
	size_t sz = fz_size(f, page) % (FILE_MAX + 1);
	for (int i = 0; i < NMAPS; i++)
		if (s->maps[i] && sz < s->file_size)
			return;
	if (ftruncate(fd_rw, (off_t)sz) == 0)
		s->file_size = sz;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct state s;
	int r;
	memset(&s, 0, sizeof(s));
	if (fd_rw < 0)
		LLVMFuzzerInitialize(NULL, NULL);

	s.file_size = (size_t)(fz_u8(&f) % 16) * 256 * 1024;
	if (ftruncate(fd_rw, (off_t)s.file_size) != 0)
		abort();
	r = pmem2_config_new(&s.cfg);
	expect("pmem2_config_new", r, ok_only);
	r = pmem2_source_from_fd(&s.src_rw, fd_rw);
	expect("pmem2_source_from_fd(rw)", r, ok_only);
	r = pmem2_source_from_fd(&s.src_ro, fd_ro);
	expect("pmem2_source_from_fd(ro)", r, ok_only);
	size_t anon = fz_size(&f, page);
	if (anon > (64u << 20))
		anon = (anon & 0xfff) * 64;
	r = pmem2_source_from_anon(&s.src_anon, anon);
	expect("pmem2_source_from_anon", r, ok_only);
	s.prot = PMEM2_PROT_READ | PMEM2_PROT_WRITE;

	/* invalid descriptors */
	if (fz_u8(&f) == 0xee) {
		struct pmem2_source *bad = NULL;
		static const int codes[] = { PMEM2_E_INVALID_FILE_HANDLE,
			PMEM2_E_INVALID_FILE_TYPE, -EBADF, END };
		r = pmem2_source_from_fd(&bad, -1);
		expect("pmem2_source_from_fd(-1)", r, codes);
		FZ_CHECK(bad == NULL, "bad source left");
	}

	for (unsigned steps = 0; fz_more(&f) && steps < 64; steps++) {
		uint8_t op = fz_u8(&f) % 12;
		switch (op) {
		case 0: {
			int g = (int)(fz_u8(&f) % 5) - 1;
			r = pmem2_config_set_required_store_granularity(s.cfg,
				(enum pmem2_granularity)g);
			expect("set_required_store_granularity", r, set_gran);
			if (r == 0) {
				s.gran_set = 1;
				s.gran = g;
			}
			FZ_CHECK((r == 0) == (g >= 0 && g <= 2),
				"granularity %d gave %d", g, r);
			break;
		}
		case 1: {
			size_t off = fz_size(&f, page);
			r = pmem2_config_set_offset(s.cfg, off);
			expect("set_offset", r, set_off);
			FZ_CHECK((r == 0) == (off <= (size_t)INT64_MAX),
				"offset %zu gave %d", off, r);
			break;
		}
		case 2:
			s.length = fz_size(&f, page);
			r = pmem2_config_set_length(s.cfg, s.length);
			expect("set_length", r, ok_only);
			break;
		case 3: {
			int v = (int)(fz_u8(&f) % 4) - 1;
			r = pmem2_config_set_sharing(s.cfg,
				(enum pmem2_sharing_type)v);
			expect("set_sharing", r, set_share);
			if (r == 0)
				s.sharing = v;
			break;
		}
		case 4: {
			static const unsigned prots[] = { PMEM2_PROT_NONE,
				PMEM2_PROT_READ, PMEM2_PROT_WRITE,
				PMEM2_PROT_READ | PMEM2_PROT_WRITE,
				PMEM2_PROT_EXEC | PMEM2_PROT_READ, 1, 1u << 28,
				PMEM2_PROT_READ | 4 };
			unsigned p = prots[fz_u8(&f) % 8];
			r = pmem2_config_set_protection(s.cfg, p);
			expect("set_protection", r, set_prot);
			if (r == 0)
				s.prot = p;
			break;
		}
		case 5:
		case 6:
			do_map_new(&s, &f);
			break;
		case 7:
			do_map_delete(&s, &f);
			break;
		case 8:
			do_rsv(&s, &f);
			break;
		case 9:
			do_exist(&s, &f);
			break;
		case 10:
			if (fz_u8(&f) & 1)
				do_source(&s, &f);
			else
				do_truncate(&s, &f);
			break;
		default:
			do_misc(&s, &f);
			break;
		}
	}

	/* release everything: maps first, then reservations */
	for (int i = 0; i < NMAPS; i++)
		if (s.maps[i])
			expect("final map_delete",
				pmem2_map_delete(&s.maps[i]), ok_only);
	for (int i = 0; i < NEXIST; i++)
		if (s.exist[i])
			expect("final map_delete(existing)",
				pmem2_map_delete(&s.exist[i]), ok_only);
	for (int i = 0; i < NRSV; i++)
		if (s.rsv[i])
			expect("final reservation_delete",
				pmem2_vm_reservation_delete(&s.rsv[i]), ok_only);
	pmem2_config_delete(&s.cfg);
	pmem2_source_delete(&s.src_rw);
	pmem2_source_delete(&s.src_ro);
	pmem2_source_delete(&s.src_anon);
	return 0;
}
