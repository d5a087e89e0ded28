/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_page_hostile.c -- a PAGE map's writes through the file and its
 * syncs while the application changes things under the library's cached
 * descriptor, at the worst moments. The moments are made exact by wrapping
 * fdatasync() and pwritev()/pwritev2() of the static library
 * (-Wl,--wrap): the hook acts inside the library's own call.
 *
 *   fsize      RLIMIT_FSIZE lowered after the map was made: a write past
 *              the new limit is stored through the mapping (a pwrite there
 *              raises SIGXFSZ, which kills the process by default).
 *   fsizemid   the same, lowered between two pwritev calls of a memset.
 *   syncswap   the application puts a descriptor of another file at our
 *              number just before our fdatasync (PMEM2_ASYNC_NO_URING=1):
 *              the future must not report the map's bytes durable after a
 *              sync of the other file; cachestat shows no dirty page.
 *   syncclose  the same, but the number is closed: the sync's EBADF is
 *              no failure of the file's, which is synced on a descriptor
 *              opened anew (no VDM_ERROR_IO).
 *   writeswap  the same between two pwritev calls of one memset: the rest
 *              must reach the map's file, never the other one.
 *   writeswap_in the same inside the pwritev2 call, before it runs: the
 *              bytes go to the other file (the limit pmem2_async(7) states;
 *              not checked), and the map's file must get them too.
 *   writetrunc the map's file truncated between two pwritev calls of one
 *              memset: the file must not grow again (the stores past the
 *              new end take SIGBUS, like the map's memcpy).
 *   ringswap   the application takes every descriptor the library holds
 *              (close_range) and puts its own io_uring, with a NOP waiting
 *              in it, at each number: the syncer must neither submit the
 *              application's NOP nor hang waiting on that ring; the writes
 *              complete durable, and the library leaves no descriptor.
 *   setfl      the application sets O_APPEND on the library's descriptor
 *              (fcntl F_SETFL, which leaves the position, our mark, as it
 *              was): a pwrite there would go to the end of the file.
 *              With HOSTILE_NO_NOAPPEND set, pwritev2 refuses RWF_NOAPPEND
 *              as kernels before 6.9 do.
 * In every other mode the other file stays byte for byte what it was.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>
#include "helpers.h"

#define PG 4096u
#define MSIZE (1u << 20)

int __real_fdatasync(int fd);
ssize_t __real_pwritev(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __real_pwritev2(int fd, const struct iovec *iov, int n, off_t off,
	int flags);

enum hook {
	HOOK_NONE, HOOK_SWAP, HOOK_TRUNC, HOOK_CLOSE, HOOK_FSIZE, HOOK_SWAP_IN
};

static enum hook Sync_hook, Write_hook;
static int Hook_fd = -1;	/* our number, as found in /proc/self/fd */
static int Other_fd = -1;	/* what the hook puts there */
static int Trunc_fd = -1;	/* the application's descriptor of the file */
static int Fired;

int
__wrap_fdatasync(int fd)
{
	if (Sync_hook != HOOK_NONE && fd == Hook_fd) {
		if (Sync_hook == HOOK_SWAP)
			CHECK_EQ(dup2(Other_fd, fd), fd);
		else
			CHECK_EQ(close(fd), 0);
		Sync_hook = HOOK_NONE;
		Fired++;
	}
	return __real_fdatasync(fd);
}

static void
after_write(int fd)
{
	if (Write_hook != HOOK_NONE && fd == Hook_fd) {
		if (Write_hook == HOOK_SWAP) {
			CHECK_EQ(dup2(Other_fd, fd), fd);
		} else if (Write_hook == HOOK_TRUNC) {
			CHECK_EQ(ftruncate(Trunc_fd, 256 * 1024), 0);
		} else {
			struct rlimit rl;
			CHECK_EQ(getrlimit(RLIMIT_FSIZE, &rl), 0);
			rl.rlim_cur = 64 * 1024;
			CHECK_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
		}
		Write_hook = HOOK_NONE;
		Fired++;
	}
}

ssize_t
__wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	ssize_t r = __real_pwritev(fd, iov, n, off);
	after_write(fd);
	return r;
}

ssize_t
__wrap_pwritev2(int fd, const struct iovec *iov, int n, off_t off, int fl)
{
	/* a kernel before 6.9, which has no RWF_NOAPPEND */
	if ((fl & RWF_NOAPPEND) && getenv("HOSTILE_NO_NOAPPEND") != NULL) {
		errno = EOPNOTSUPP;
		return -1;
	}
	/* the number swapped between the library's check and its call */
	if (Write_hook == HOOK_SWAP_IN && fd == Hook_fd) {
		CHECK_EQ(dup2(Other_fd, fd), fd);
		Write_hook = HOOK_NONE;
		Fired++;
	}
	ssize_t r = __real_pwritev2(fd, iov, n, off, fl);
	after_write(fd);
	return r;
}

/* The descriptor of path the library opened: not the application's own. */
static int library_fd(const char *path, int app_fd);

static void
on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "FAIL: the write hangs\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	_exit(1);
}

static int
library_fd(const char *path, int app_fd)
{
	DIR *d = opendir("/proc/self/fd");
	CHECK(d != NULL);
	int found = -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int n = atoi(e->d_name);
		if (e->d_name[0] == '.' || n == app_fd || n == dirfd(d))
			continue;
		char link[64], target[600];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", n);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, path) == 0) {
			CHECK_EQ(found, -1);	/* one per file */
			found = n;
		}
	}
	closedir(d);
	return found;
}

static enum vdm_operation_result
run(struct vdm_operation_future f)
{
	FUTURE_BUSY_POLL(&f);
	return f.output.result;
}

/* The other file: one page of a pattern, checked at the end. */
static unsigned char Other_bytes[16 * PG];
static char *Other_path;

static void
other_open(void)
{
	Other_path = test_path(test_disk_dir(), "hostile-other");
	Other_fd = test_file(Other_path, sizeof(Other_bytes), O_RDWR);
	test_pattern(Other_bytes, sizeof(Other_bytes), 77);
	CHECK_EQ(pwrite(Other_fd, Other_bytes, sizeof(Other_bytes), 0),
		(ssize_t)sizeof(Other_bytes));
}

static void
other_check_and_remove(void)
{
	test_check_file(Other_path, 0, Other_bytes, sizeof(Other_bytes));
	struct stat st;
	CHECK_EQ(stat(Other_path, &st), 0);
	CHECK_EQ(st.st_size, (off_t)sizeof(Other_bytes));
	test_file_remove(Other_path, Other_fd);
}

/* A PAGE map of a fresh file on disk with its first page written. */
static void
map_warm(struct test_map *m, const char *tag)
{
	test_map_open_in(m, test_disk_dir(), tag, MSIZE, NULL, NULL, NULL);
	if (m->gran != PMEM2_GRANULARITY_PAGE)
		SKIP("%s gives %s maps, not PAGE", test_disk_dir(),
			test_gran_name(m->gran));
	unsigned char b[PG];
	test_pattern(b, sizeof(b), 1);
	CHECK_EQ(run(pmem2_memcpy_async(m->map, m->addr, b, sizeof(b), 0)),
		VDM_SUCCESS);
	Hook_fd = library_fd(m->path, m->fd);
	if (Hook_fd < 0)
		SKIP("the library opened no descriptor of the file "
			"(no /proc?)");
}

/*
 * In a fork child, which closed the descriptors it inherited: makes the
 * library open its own (one write), then arms the write hook on it.
 */
static void
child_arm(struct test_map *m, enum hook h)
{
	Hook_fd = -2;
	CHECK_EQ(run(pmem2_memcpy_async(m->map, m->addr + PG, m->addr, PG, 0)),
		VDM_SUCCESS);
	Hook_fd = library_fd(m->path, m->fd);
	CHECK(Hook_fd >= 0);
	Write_hook = h;
}

/* Durable: read back from the file, and no dirty page left (cachestat). */
static void
check_durable(struct test_map *m, size_t off, const void *want, size_t len)
{
	test_check_file(m->path, off, want, len);
	if (test_check_no_dirty_page(m->fd, off, len) == -ENOSYS)
		printf("no cachestat: dirty pages unchecked\n");
}

static void
fsize(int mid)
{
	struct test_map m;
	map_warm(&m, "hostile-fsize");
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0 && mid) {
		/* lowered between two pwritev calls of one memset */
		child_arm(&m, HOOK_FSIZE);
		CHECK_EQ(run(pmem2_memset_async(m.map, m.addr, 0x5a, MSIZE,
			0)), VDM_SUCCESS);
		CHECK_EQ(Fired, 1);
		unsigned char *want = malloc(MSIZE);
		CHECK(want != NULL);
		memset(want, 0x5a, MSIZE);
		check_durable(&m, 0, want, MSIZE);
		_exit(0);
	}
	if (pid == 0) {
		struct rlimit rl;
		CHECK_EQ(getrlimit(RLIMIT_FSIZE, &rl), 0);
		rl.rlim_cur = 64 * 1024;
		CHECK_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
		unsigned char b[4 * PG];
		test_pattern(b, sizeof(b), 2);
		CHECK_EQ(run(pmem2_memcpy_async(m.map, m.addr + 128 * PG, b,
			sizeof(b), 0)), VDM_SUCCESS);
		CHECK_EQ(run(pmem2_memset_async(m.map, m.addr + 200 * PG, 7,
			PG, 0)), VDM_SUCCESS);
		check_durable(&m, 128 * PG, b, sizeof(b));
		memset(b, 7, PG);
		check_durable(&m, 200 * PG, b, PG);
		_exit(0);
	}
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		FAIL("the child died of signal %d (%s) after lowering "
			"RLIMIT_FSIZE", WTERMSIG(st), strsignal(WTERMSIG(st)));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	test_map_close(&m);
}

static void
syncswap(int close_it)
{
	const char *nu = getenv("PMEM2_ASYNC_NO_URING");
	if (nu == NULL || strcmp(nu, "1") != 0)
		SKIP("syncswap needs PMEM2_ASYNC_NO_URING=1 (fdatasync)");
	other_open();
	struct test_map m;
	map_warm(&m, "hostile-syncswap");
	int fds = test_count_fds();

	unsigned char b[PG];
	test_pattern(b, sizeof(b), 3);
	Sync_hook = close_it ? HOOK_CLOSE : HOOK_SWAP;
	enum vdm_operation_result r = run(pmem2_memcpy_async(m.map,
		m.addr + 5 * PG, b, sizeof(b), 0));
	CHECK_EQ(Fired, 1);
	if (close_it) {
		/* nothing failed: no error, the file is synced after all */
		CHECK_EQ(r, VDM_SUCCESS);
		check_durable(&m, 5 * PG, b, sizeof(b));
	} else if (r == VDM_SUCCESS) {
		check_durable(&m, 5 * PG, b, sizeof(b));
	} else {
		CHECK_EQ(r, VDM_ERROR_IO);
	}
	/* later operations work too */
	CHECK_EQ(run(pmem2_memcpy_async(m.map, m.addr + 6 * PG, b, sizeof(b),
		0)), VDM_SUCCESS);
	check_durable(&m, 6 * PG, b, sizeof(b));

	/* our number is the application's now: it closes it, we opened one */
	if (!close_it)
		CHECK_EQ(close(Hook_fd), 0);
	test_map_close(&m);
	/* and the fixture's descriptor */
	CHECK_EQ(test_count_fds(), fds - 1 - 1);
	other_check_and_remove();
}

static void
writeswap(void)
{
	other_open();
	struct test_map m;
	map_warm(&m, "hostile-writeswap");

	Write_hook = HOOK_SWAP;
	CHECK_EQ(run(pmem2_memset_async(m.map, m.addr, 0x5a, MSIZE, 0)),
		VDM_SUCCESS);
	CHECK_EQ(Fired, 1);
	unsigned char *want = malloc(MSIZE);
	CHECK(want != NULL);
	memset(want, 0x5a, MSIZE);
	CHECK_MEM_FAST(m.addr, want, MSIZE);
	check_durable(&m, 0, want, MSIZE);
	free(want);
	CHECK_EQ(close(Hook_fd), 0);
	test_map_close(&m);
	other_check_and_remove();
}

/*
 * The number swapped inside the call: the bytes go to the other file (the
 * known limit, pmem2_async(7)), but the map's file must get them too.
 */
static void
writeswap_in(void)
{
	if (getenv("HOSTILE_NO_NOAPPEND") != NULL)
		SKIP("writeswap_in: pwritev2 is what the hook wraps");
	other_open();
	struct test_map m;
	map_warm(&m, "hostile-writeswap-in");
	unsigned char b[8 * PG];
	test_pattern(b, sizeof(b), 8);
	Write_hook = HOOK_SWAP_IN;
	CHECK_EQ(run(pmem2_memcpy_async(m.map, m.addr + 40 * PG, b,
		sizeof(b), 0)), VDM_SUCCESS);
	CHECK_EQ(Fired, 1);
	CHECK_MEM(m.addr + 40 * PG, b, sizeof(b));
	check_durable(&m, 40 * PG, b, sizeof(b));
	CHECK_EQ(close(Hook_fd), 0);
	test_map_close(&m);
	test_file_remove(Other_path, Other_fd);	/* written: not checked */
}

static void
writetrunc(void)
{
	other_open();
	struct test_map m;
	map_warm(&m, "hostile-writetrunc");
	Trunc_fd = m.fd;
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* the default action, even under a sanitizer that catches it */
		signal(SIGBUS, SIG_DFL);
		child_arm(&m, HOOK_TRUNC);
		(void)run(pmem2_memset_async(m.map, m.addr, 0x5a, MSIZE, 0));
		_exit(Fired == 1 ? 0 : 3);
	}
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	struct stat sb;
	CHECK_EQ(fstat(m.fd, &sb), 0);
	printf("child: %s %d; file size after: %lld\n",
		WIFSIGNALED(st) ? "signal" : "exit",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		(long long)sb.st_size);
	CHECK(!WIFEXITED(st) || WEXITSTATUS(st) != 3);	/* the hook ran */
	if (sb.st_size != 256 * 1024)
		FAIL("the truncated file grew back to %lld bytes",
			(long long)sb.st_size);
	/* like a store of the map's memcpy past the end */
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS);
	/* the map is smaller than its file now: delete it without reading */
	CHECK_PMEM2_OK(pmem2_map_delete(&m.map));
	m.map = NULL;
	test_map_close(&m);
	other_check_and_remove();
}

/*
 * A io_uring of the application's with one NOP published in its submission
 * queue but not submitted (the application's business when to submit it).
 * *head: the ring's submission head, which moves only when the kernel takes
 * the NOP.
 */
static int
app_ring(volatile unsigned **head)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		SKIP("ringswap: io_uring_setup: %s", strerror(errno));
	size_t sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t csz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (csz > sz)
		sz = csz;
	char *sq = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		IORING_OFF_SQ_RING);
	CHECK(sq != MAP_FAILED);
	struct io_uring_sqe *sqes = mmap(NULL,
		p.sq_entries * sizeof(struct io_uring_sqe),
		PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQES);
	CHECK(sqes != MAP_FAILED);
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = IORING_OP_NOP;
	sqes[0].user_data = 42;
	((unsigned *)(sq + p.sq_off.array))[0] = 0;
	__atomic_store_n((unsigned *)(sq + p.sq_off.tail), 1, __ATOMIC_RELEASE);
	*head = (volatile unsigned *)(sq + p.sq_off.head);
	return fd;
}

static void
ringswap(void)
{
	const char *nu = getenv("PMEM2_ASYNC_NO_URING");
	if (nu != NULL && strcmp(nu, "1") == 0)
		SKIP("ringswap: io_uring turned off");
	int fds = test_count_fds();
	struct test_map m;
	map_warm(&m, "hostile-ringswap");

	/* every descriptor the library holds: the application's now */
	int lib[64], nlib = 0;
	for (int n = 3; n < 1024; n++) {
		if (n == m.fd || fcntl(n, F_GETFD) < 0)
			continue;
		/* not the process's from before the map (inherited ones) */
		char link[64], target[600];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", n);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		CHECK(len > 0);
		target[len] = '\0';
		if (strcmp(target, m.path) != 0 &&
				strcmp(target, "anon_inode:[io_uring]") != 0)
			continue;
		CHECK(nlib < 64);
		lib[nlib++] = n;
	}
	CHECK(nlib > 0);
	volatile unsigned *head;
	int app = app_ring(&head);
	for (int k = 0; k < nlib; k++)
		CHECK_EQ(dup2(app, lib[k]), lib[k]);
	CHECK_EQ(close(app), 0);

	signal(SIGALRM, on_alarm);
	alarm(20);
	unsigned char b[PG];
	test_pattern(b, sizeof(b), 4);
	for (size_t pg = 7; pg < 10; pg++) {
		CHECK_EQ(run(pmem2_memcpy_async(m.map, m.addr + pg * PG, b,
			sizeof(b), 0)), VDM_SUCCESS);
		check_durable(&m, pg * PG, b, sizeof(b));
	}
	alarm(0);
	/* the application's NOP is still waiting for it to submit */
	CHECK_EQ(*head, 0u);
	for (int k = 0; k < nlib; k++)
		CHECK_EQ(close(lib[k]), 0);
	test_map_close(&m);
	CHECK_EQ(test_count_fds(), fds);
}

static void
setfl(void)
{
	struct test_map m;
	map_warm(&m, "hostile-setfl");
	int fl = fcntl(Hook_fd, F_GETFL);
	CHECK(fl >= 0);
	CHECK_EQ(fcntl(Hook_fd, F_SETFL, fl | O_APPEND), 0);

	unsigned char b[2 * PG];
	test_pattern(b, sizeof(b), 6);
	CHECK_EQ(run(pmem2_memcpy_async(m.map, m.addr + 20 * PG + 100, b,
		sizeof(b), 0)), VDM_SUCCESS);
	CHECK_EQ(run(pmem2_memset_async(m.map, m.addr + 30 * PG, 0x33, PG,
		0)), VDM_SUCCESS);
	struct stat st;
	CHECK_EQ(fstat(m.fd, &st), 0);
	if (st.st_size != MSIZE)
		FAIL("the file grew from %u to %lld bytes", MSIZE,
			(long long)st.st_size);
	check_durable(&m, 20 * PG + 100, b, sizeof(b));
	CHECK_MEM(m.addr + 20 * PG + 100, b, sizeof(b));
	memset(b, 0x33, PG);
	check_durable(&m, 30 * PG, b, PG);
	test_map_close(&m);
}

int
main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "fsize") == 0)
		fsize(0);
	else if (strcmp(mode, "fsizemid") == 0)
		fsize(1);
	else if (strcmp(mode, "syncswap") == 0)
		syncswap(0);
	else if (strcmp(mode, "syncclose") == 0)
		syncswap(1);
	else if (strcmp(mode, "writeswap") == 0)
		writeswap();
	else if (strcmp(mode, "writeswap_in") == 0)
		writeswap_in();
	else if (strcmp(mode, "writetrunc") == 0)
		writetrunc();
	else if (strcmp(mode, "ringswap") == 0)
		ringswap();
	else if (strcmp(mode, "setfl") == 0)
		setfl();
	else
		FAIL("usage: %s MODE (the modes: top of %s)", argv[0],
			__FILE__);
	printf("PASS\n");
	return 0;
}
