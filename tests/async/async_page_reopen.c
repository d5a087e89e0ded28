/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_page_reopen.c -- the first asynchronous write to a PAGE map after
 * the application closed its descriptor and moved the file away: the
 * descriptor number now names another object, and another object sits at
 * the file's old path. libpmem2 reopens the file by those ways (and
 * /proc/self/map_files); it must never write into, or block on, whatever
 * is there now, and the bytes must end up durable in the mapped file.
 *
 *   regular: a regular file at the old path and behind the old number;
 *   fifo:    a FIFO with no writer at both (an open() of it for reading
 *            blocks until a writer comes: the write must not hang);
 *   closed:  the application closes libpmem2's own descriptor of the file
 *            and the number goes to another file;
 *   sync first: the first descriptor is opened for a write-back; the map's
 *            copies that follow must still be written through the file;
 *   same file: the application closes libpmem2's descriptor and the number
 *            goes to its own O_APPEND descriptor of the same file: a pwrite
 *            through that one would land at the end of the file;
 *   seeked:  the application moves the position of libpmem2's descriptor
 *            (the mark libpmem2 checks it by): the descriptor is given up,
 *            never closed, and the writes still land in the file.
 */
#include <signal.h>
#include <sys/stat.h>
#include "helpers.h"

enum { SIZE = 1 << 16, LEN = 3 * 4096 };

static void
on_alarm(int sig)
{
	(void)sig;
	static const char msg[] =
		"FAIL: the asynchronous write hangs (opened a FIFO?)\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	_exit(1);
}

/* Every byte of path is 0: nothing was written there. */
static void
check_zero(const char *path, size_t size)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	static char buf[SIZE];
	CHECK_EQ(pread(fd, buf, size, 0), (ssize_t)size);
	for (size_t k = 0; k < size; k++)
		if (buf[k] != 0)
			FAIL("%s: byte %zu written (%d)", path, k, buf[k]);
	close(fd);
}

static void
run(int fifo)
{
	const char *dir = test_gran_dir(PMEM2_GRANULARITY_PAGE);
	char *path = test_path(dir, "reopen");
	char *moved = test_path(dir, "reopen-moved");
	char *other = test_path(dir, "reopen-other");

	int fd = test_file(path, SIZE, O_RDWR);
	struct pmem2_source *src;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	struct pmem2_config *cfg = test_config(PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *map;
	/*
	 * FIFO: stores, no writes through the file, so that every descriptor
	 * libpmem2 tries is a read-only one (an open of a FIFO for reading
	 * and writing would not block)
	 */
	if (fifo)
		setenv("PMEM2_ASYNC_NO_PWRITE", "1", 1);
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	unsetenv("PMEM2_ASYNC_NO_PWRITE");
	CHECK_EQ((int)pmem2_map_get_store_granularity(map),
		PMEM2_GRANULARITY_PAGE);
	char *addr = pmem2_map_get_address(map);
	CHECK_PMEM2_OK(pmem2_config_delete(&cfg));
	CHECK_PMEM2_OK(pmem2_source_delete(&src));

	/* the file moves away; decoys take its path and its number */
	close(fd);
	CHECK_EQ(rename(path, moved), 0);
	int decoy;
	if (fifo) {
		CHECK_EQ(mkfifo(path, 0600), 0);
		CHECK_EQ(mkfifo(other, 0600), 0);
		decoy = open(other, O_RDONLY | O_NONBLOCK);
	} else {
		close(test_file(path, SIZE, O_RDWR));
		decoy = test_file(other, SIZE, O_RDWR);
	}
	CHECK(decoy >= 0);
	if (decoy != fd) {
		CHECK_EQ(dup2(decoy, fd), fd);
		close(decoy);
	}

	static char want[LEN];
	test_pattern(want, LEN, fifo ? 7 : 3);
	alarm(20);
	/*
	 * The first descriptor the syncer asks for (a write-back only needs
	 * it for reading), then the writes through the file.
	 */
	memcpy(addr + 4096, want, LEN);
	struct vdm_operation_future f = pmem2_persist_async(map,
		addr + 4096, LEN);
	FUTURE_BUSY_POLL(&f);
	if (f.output.result != VDM_SUCCESS)
		FAIL("result %d: %s", (int)f.output.result, pmem2_errormsg());
	f = pmem2_memcpy_async(map, addr + 4096, want, LEN, 0);
	FUTURE_BUSY_POLL(&f);
	if (f.output.result != VDM_SUCCESS)
		FAIL("result %d: %s", (int)f.output.result, pmem2_errormsg());
	f = pmem2_memset_async(map, addr + 8 * 4096, 0x5a, 100, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ((int)f.output.result, (int)VDM_SUCCESS);
	alarm(0);

	/* durable in the mapped file, through whatever way */
	test_check_file(moved, 4096, want, LEN);
	char fill[100];
	memset(fill, 0x5a, sizeof(fill));
	test_check_file(moved, 8 * 4096, fill, sizeof(fill));
	int mfd = open(moved, O_RDONLY);
	CHECK(mfd >= 0);
	(void)test_check_no_dirty_page(mfd, 0, SIZE);
	close(mfd);
	/* and nowhere else */
	if (!fifo) {
		check_zero(path, SIZE);
		check_zero(other, SIZE);
	}

	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	close(fd);
	unlink(path);
	unlink(moved);
	unlink(other);
	free(path);
	free(moved);
	free(other);
}

/* The descriptor other than skip that names the file at path; -1: none. */
static int
fd_of(const char *path, int skip)
{
	struct stat want, st;
	CHECK_EQ(stat(path, &want), 0);
	for (int fd = 0; fd < 4096; fd++) {
		if (fd == skip || fstat(fd, &st) != 0)
			continue;
		if (st.st_dev == want.st_dev && st.st_ino == want.st_ino)
			return fd;
	}
	return -1;
}

/*
 * The application closes libpmem2's own descriptor of the file (a daemon
 * closing every descriptor, say) and its number goes to another file: the
 * writes must not land there, nor the syncs, and the map's delete must not
 * close the application's descriptor.
 */
static void
run_closed(void)
{
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, SIZE, NULL);
	static char want[LEN];
	test_pattern(want, LEN, 11);
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, m.addr,
		want, LEN, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ((int)f.output.result, (int)VDM_SUCCESS);

	int ours = fd_of(m.path, -1);
	if (ours < 0)
		SKIP("libpmem2 holds no descriptor of the file");
	char *other = test_path(test_gran_dir(PMEM2_GRANULARITY_PAGE),
		"reopen-closed");
	int decoy = test_file(other, SIZE, O_RDWR);
	CHECK_EQ(dup2(decoy, ours), ours);	/* closes libpmem2's */
	close(decoy);

	test_pattern(want, LEN, 12);
	f = pmem2_memcpy_async(m.map, m.addr + 4096, want, LEN, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ((int)f.output.result, (int)VDM_SUCCESS);
	f = pmem2_memset_async(m.map, m.addr + 8 * 4096, 0x33, 4096, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ((int)f.output.result, (int)VDM_SUCCESS);

	check_zero(other, SIZE);
	test_check_file(m.path, 4096, want, LEN);
	char fill[4096];
	memset(fill, 0x33, sizeof(fill));
	test_check_file(m.path, 8 * 4096, fill, sizeof(fill));
	int mfd = open(m.path, O_RDONLY);
	CHECK(mfd >= 0);
	(void)test_check_no_dirty_page(mfd, 0, SIZE);
	close(mfd);

	test_map_close(&m);
	/* the number is the application's: still open, still the decoy */
	struct stat a, b;
	CHECK_EQ(fstat(ours, &a), 0);
	CHECK_EQ(stat(other, &b), 0);
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(ours);
	unlink(other);
	free(other);
}

/* The access mode of descriptor fd, from /proc/self/fdinfo. */
static int
fd_accmode(int fd)
{
	char p[64], line[128];
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(p, "r");
	CHECK(f != NULL);
	int mode = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long flags;
		if (sscanf(line, "flags: %lo", &flags) == 1)
			mode = (int)(flags & O_ACCMODE);
	}
	fclose(f);
	CHECK(mode >= 0);
	return mode;
}

/*
 * A write-back comes first (stores, then pmem2_persist_async): the
 * descriptor the syncer opens then must serve the writes through the file
 * that follow, i.e. be read-write on a writable map. Before, it was opened
 * read-only and every later copy of the map was stores.
 */
static void
run_sync_first(void)
{
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, SIZE, NULL);
	static char want[LEN];
	test_pattern(want, LEN, 21);
	memcpy(m.addr, want, LEN);
	struct vdm_operation_future f = pmem2_persist_async(m.map, m.addr,
		LEN);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ((int)f.output.result, (int)VDM_SUCCESS);
	f = pmem2_memcpy_async(m.map, m.addr + LEN, want, LEN, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ((int)f.output.result, (int)VDM_SUCCESS);
	test_check_file(m.path, LEN, want, LEN);

	int ours = fd_of(m.path, -1);
	if (ours < 0)
		SKIP("libpmem2 holds no descriptor of the file");
	if (fd_accmode(ours) != O_RDWR)
		FAIL("libpmem2's descriptor of a writable map is read-only: its copies are stores, not writes through the file");
	test_map_close(&m);
}

/* The size of the file at path. */
static long long
file_size(const char *path)
{
	struct stat st;
	CHECK_EQ(stat(path, &st), 0);
	return (long long)st.st_size;
}

/*
 * Writes a pattern (seed) to [off, +LEN) of the map and checks it is in
 * the file, durable, and the file's size has not changed.
 */
static void
write_check(struct test_map *m, size_t off, int seed)
{
	static char want[LEN];
	test_pattern(want, LEN, seed);
	struct vdm_operation_future f = pmem2_memcpy_async(m->map,
		(char *)m->addr + off, want, LEN, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ((int)f.output.result, (int)VDM_SUCCESS);
	test_check_file(m->path, off, want, LEN);
	if (file_size(m->path) != SIZE)
		FAIL("the file is %lld bytes, not %d: a write went to its end",
			file_size(m->path), SIZE);
	int mfd = open(m->path, O_RDONLY);
	CHECK(mfd >= 0);
	(void)test_check_no_dirty_page(mfd, 0, SIZE);
	close(mfd);
}

/*
 * The application tampers with libpmem2's own descriptor of the map's
 * file between durable writes (it can only find the number by scanning
 * its descriptors): the writes after it must still land in the file, at
 * their offsets, and what the application made of the number must outlive
 * the map's delete.
 */
struct tamper {
	int seed;		/* the writes' patterns: seed, +1, +2 */
	size_t third;		/* the third write's offset (second: 4096) */
	void (*tamper)(const char *path, int ours);
	void (*after)(int ours);	/* checks once the map is deleted */
};

static void
run_tampered(const struct tamper *t)
{
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, SIZE, NULL);
	write_check(&m, 0, t->seed);
	int ours = fd_of(m.path, m.fd);
	if (ours < 0)
		SKIP("libpmem2 holds no descriptor of the file");
	t->tamper(m.path, ours);

	write_check(&m, 4096, t->seed + 1);
	write_check(&m, t->third, t->seed + 2);

	test_map_close(&m);
	t->after(ours);
	close(ours);
}

/*
 * libpmem2's descriptor closed, and the number reused by the application
 * for the same file, opened with O_APPEND: the file is the map's, but the
 * open file is not libpmem2's. A pwrite through it would go to the end of
 * the file, and the map's delete would close the application's descriptor.
 */
static void
same_file(const char *path, int ours)
{
	int app = open(path, O_WRONLY | O_APPEND);
	CHECK(app >= 0);
	CHECK_EQ(dup2(app, ours), ours);	/* closes libpmem2's */
	close(app);
}

/* the number is the application's: still open, still O_APPEND */
static void
same_file_after(int ours)
{
	int fl = fcntl(ours, F_GETFL);
	if (fl < 0)
		FAIL("the map's delete closed the application's descriptor");
	CHECK(fl & O_APPEND);
}

/*
 * The application moves the position of libpmem2's descriptor: libpmem2
 * no longer knows it for its own. It must give it up (the number stays
 * open, the application's now, see pmem2_async(7) BUGS) and write through
 * a new one.
 */
static void
seeked(const char *path, int ours)
{
	(void)path;
	CHECK_EQ(lseek(ours, 100, SEEK_SET), 100);
}

/* not closed, not moved back */
static void
seeked_after(int ours)
{
	CHECK_EQ(lseek(ours, 0, SEEK_CUR), 100);
}

static const struct tamper Same_file = { 31, 2 * 4096, same_file,
	same_file_after };
static const struct tamper Seeked = { 41, 3 * 4096, seeked, seeked_after };

int
main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	CHECK_EQ(sigaction(SIGALRM, &sa, NULL), 0);

	run(0);
	printf("regular files at the old path and number: untouched, OK\n");
	run(1);
	printf("FIFOs at the old path and number: no hang, OK\n");
	run_closed();
	printf("libpmem2's own descriptor closed and reused: untouched, OK\n");
	run_sync_first();
	printf("a write-back first: the descriptor is read-write, OK\n");
	run_tampered(&Same_file);
	printf("libpmem2's descriptor replaced by an O_APPEND one of the same "
		"file: not used, not closed, OK\n");
	run_tampered(&Seeked);
	printf("libpmem2's descriptor moved by the application: given up, OK\n");
	return 0;
}
