/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_fork.c -- fork() after asynchronous use of PAGE maps: the child's
 * operations must complete (its syncer starts a new worker), durably and
 * with the right bytes, and so must a future the parent had started and
 * the child finishes. Before, the child's first wait hung forever: the
 * syncer thread was not in the child, but its state said it ran. A child
 * that hangs is killed by an alarm, and the test fails.
 *
 * Movers: the map's default one; libminiasync's threads mover when the
 * child makes a new one; and the parent's threads mover for a copy small
 * enough that it runs in the polling thread (the mover's own workers are
 * not in the child; see pmem2_async(7)).
 *
 * And a child's pmem2_map_delete with a copy in flight that a mover thread
 * of the parent runs (a mover that finishes only when the parent says so):
 * the delete must not wait for it, the thread is not in the child. Before,
 * it waited forever.
 *
 * And fork() while other threads create and delete maps: the child's own
 * map_new and map_delete must not wait for the map registry's lock held by
 * a thread it does not have (before, about one child in 300 to 1000 hung).
 *
 * And the child's syncer must not use the parent's descriptors of a file:
 * they are the parent's open files, and the kernel reports a write-back
 * error once per open file, so whichever process synced first would take
 * the report and the other would see success. kcmp(2) says whether the
 * child's descriptor of the file, after a durable write, is one of the
 * parent's open files. Before, it was.
 *
 * Usage: async_fork
 */
#include <signal.h>
#include <pthread.h>
#include <time.h>
#include <dirent.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>
#include <libminiasync.h>
#include "helpers.h"

#define LEN ((size_t)1 << 20)
#define OP (64u << 10)

/* ThreadSanitizer does not support new threads in a threaded parent's child */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static void
check_file(const char *path, size_t off, const void *want, size_t len)
{
	test_check_file(path, off, want, len);
	/* durable: no dirty page left (when the kernel can tell) */
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	(void)test_check_no_dirty_page(fd, off, len);
	close(fd);
}

/* What the child does, under an alarm. */
static void
child(struct test_map *m, struct vdm_operation_future *started, char *src,
	int small_only)
{
	alarm(30);	/* a hang kills the child: the test fails */

	if (small_only) {
		/*
		 * The parent's threads mover has no workers here, but copies
		 * small operations in the polling thread: those must complete,
		 * durably, through the child's syncer.
		 */
		struct vdm_operation_future f = pmem2_memcpy_async(m->map,
			m->addr + 3 * OP, src + 3 * OP, 200, 0);
		CHECK_EQ(test_wait_op(&f), VDM_SUCCESS);
		check_file(m->path, 3 * OP, src + 3 * OP, 200);
		exit(0);
	}

	/* the future the parent started: the child's syncer finishes it */
	CHECK_EQ(test_wait_op(started), VDM_SUCCESS);

	/* new operations of the same map */
	for (unsigned i = 2; i < 6; i++) {
		struct vdm_operation_future f = pmem2_memcpy_async(m->map,
			m->addr + i * OP, src + i * OP, OP, 0);
		CHECK_EQ(test_wait_op(&f), VDM_SUCCESS);
		check_file(m->path, i * OP, src + i * OP, OP);
	}

	/* a new map with a threads mover made in the child */
	struct data_mover_threads *dmt = data_mover_threads_default();
	CHECK(dmt);
	struct test_map t;
	test_map_open(&t, PMEM2_GRANULARITY_PAGE, LEN,
		data_mover_threads_get_vdm(dmt));
	struct vdm_operation_future f = pmem2_memcpy_async(t.map, t.addr, src,
		LEN, 0);
	CHECK_EQ(test_wait_op(&f), VDM_SUCCESS);
	check_file(t.path, 0, src, LEN);
	test_map_close(&t);
	data_mover_threads_delete(dmt);

	CHECK_PMEM2_OK(pmem2_map_delete(&m->map));
	exit(0);
}

static void
run(struct vdm *vdm, const char *name, int small_only)
{
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, LEN, vdm);
	char *src = malloc(LEN);
	CHECK(src);
	test_pattern(src, LEN, 11);

	/* the syncer runs in the parent */
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, m.addr, src,
		OP, 0);
	CHECK_EQ(test_wait_op(&f), VDM_SUCCESS);
	/* one more, polled until it waits for the syncer, then the fork */
	struct vdm_operation_future started = pmem2_memcpy_async(m.map,
		m.addr + OP, src + OP, OP, 0);
	future_poll(FUTURE_AS_RUNNABLE(&started), NULL);

	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		child(&m, &started, src, small_only);

	/* the parent goes on as before */
	CHECK_EQ(test_wait_op(&started), VDM_SUCCESS);
	struct vdm_operation_future g = pmem2_memset_async(m.map,
		m.addr + 8 * OP, 0x42, OP, 0);
	CHECK_EQ(test_wait_op(&g), VDM_SUCCESS);

	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		FAIL("%s: the child died of signal %d%s", name,
			WTERMSIG(status), WTERMSIG(status) == SIGALRM ?
			" (it hung)" : "");
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		FAIL("%s: the child failed (%d)", name, WEXITSTATUS(status));

	check_file(m.path, 0, src, 2 * OP);
	if (!small_only)
		check_file(m.path, 2 * OP, src + 2 * OP, 4 * OP);
	else
		check_file(m.path, 3 * OP, src + 3 * OP, 200);
	test_map_close(&m);
	free(src);
	printf("async_fork %s: the child's operations completed\n", name);
}

/* ---- a mover whose operations finish when the parent's thread says so ---- */

static int Gate;	/* set by the parent's "worker": the copies are done */

static void
run_delete_in_child(void)
{
	/* static: the child drops its operation, which must stay reachable */
	static struct test_mover gate;
	test_mover_init(&gate, NULL);
	gate.gate = &Gate;	/* the "worker" copies when the parent says */
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, LEN, &gate.base);
	char *src = malloc(OP);
	CHECK(src);
	test_pattern(src, OP, 5);
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, m.addr, src,
		OP, 0);
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL),
		FUTURE_STATE_RUNNING);

	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		/* the copy belongs to a thread the child does not have */
		CHECK_PMEM2_OK(pmem2_map_delete(&m.map));
		CHECK(m.map == NULL);
		exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		FAIL("delete in the child: the child died of signal %d%s",
			WTERMSIG(status), WTERMSIG(status) == SIGALRM ?
			" (it hung)" : "");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* the parent's copy finishes, and its delete still waits for it */
	__atomic_store_n(&Gate, 1, __ATOMIC_RELEASE);
	CHECK_EQ(test_wait_op(&f), VDM_SUCCESS);
	check_file(m.path, 0, src, OP);
	test_map_close(&m);
	free(src);
	printf("async_fork: the child's delete did not wait for the parent's "
		"mover\n");
}

/* ---- fork while other threads create and delete maps ---- */

static int Churn_fd;
static int Churn_stop;

/* One map of Churn_fd made and deleted; 0, or which step failed. */
static int
churn_one(void)
{
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	if (pmem2_source_from_fd(&src, Churn_fd) != 0)
		return 1;
	if (pmem2_config_new(&cfg) != 0)
		return 2;
	(void)pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	int ret = pmem2_map_new(&map, cfg, src) != 0 ? 3 : 0;
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	if (ret == 0 && pmem2_map_delete(&map) != 0)
		ret = 4;
	return ret;
}

static void *
churn(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&Churn_stop, __ATOMIC_RELAXED))
		CHECK_EQ(churn_one(), 0);
	return NULL;
}

static void
run_fork_while_mapping(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/pmem2_async_fork_%d", test_dir(),
		(int)getpid());
	Churn_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(Churn_fd >= 0);
	CHECK(ftruncate(Churn_fd, 1 << 16) == 0);
	/* set before the threads: setenv is not thread-safe */
	setenv("PMEM2_FORCE_GRANULARITY", "cache_line", 1);

	enum { NT = 2 };
	pthread_t t[NT];
	for (int i = 0; i < NT; i++)
		CHECK(pthread_create(&t[i], NULL, churn, NULL) == 0);
	int forks = test_quick() ? 500 : 2000;
	/* sanitizers make a fork slow: a time limit keeps the test short */
	time_t t0 = time(NULL);
	for (int i = 0; i < forks; i++) {
		if (time(NULL) - t0 > 10) {
			forks = i;
			break;
		}
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			alarm(20);
			_exit(churn_one());
		}
		int status;
		CHECK(waitpid(pid, &status, 0) == pid);
		if (WIFSIGNALED(status))
			FAIL("fork %d while mapping: the child died of signal "
				"%d%s", i, WTERMSIG(status),
				WTERMSIG(status) == SIGALRM ? " (it hung)" : "");
		if (WEXITSTATUS(status) != 0)
			FAIL("fork %d while mapping: the child's step %d failed",
				i, WEXITSTATUS(status));
	}
	__atomic_store_n(&Churn_stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NT; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	unsetenv("PMEM2_FORCE_GRANULARITY");
	close(Churn_fd);
	unlink(path);
	printf("async_fork: %d children mapped while other threads did\n",
		forks);
}

/* ---- the child's syncer opens the file anew ---- */

#define MAXFD 16

/* This process's descriptors of st's file other than skip; how many. */
static int
fds_of(const struct stat *st, int skip, int *fds)
{
	DIR *d = opendir("/proc/self/fd");
	CHECK(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		struct stat s2;
		if (fd == skip || fd == dirfd(d) || fstat(fd, &s2) != 0)
			continue;
		if (s2.st_dev == st->st_dev && s2.st_ino == st->st_ino &&
				n < MAXFD)
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

static void
run_own_descriptions(void)
{
	struct test_map m;
	test_map_open(&m, PMEM2_GRANULARITY_PAGE, LEN, NULL);
	struct stat st;
	CHECK(stat(m.path, &st) == 0);
	char *src = malloc(LEN);
	CHECK(src);
	test_pattern(src, LEN, 23);

	/* a durable write: the parent's syncer opens the file */
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, m.addr, src,
		OP, 0);
	CHECK_EQ(test_wait_op(&f), VDM_SUCCESS);
	int pfds[MAXFD];
	int np = fds_of(&st, m.fd, pfds);
	if (np == 0)
		FAIL("the parent's syncer holds no descriptor of the file");

	int c2p[2], p2c[2];
	CHECK(pipe(c2p) == 0 && pipe(p2c) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		close(c2p[0]);
		close(p2c[1]);
		struct vdm_operation_future g = pmem2_memcpy_async(m.map,
			m.addr + OP, src + OP, OP, 0);
		CHECK_EQ(test_wait_op(&g), VDM_SUCCESS);
		check_file(m.path, OP, src + OP, OP);
		int cfds[MAXFD + 1];
		cfds[0] = fds_of(&st, m.fd, cfds + 1);
		CHECK(write(c2p[1], cfds, sizeof(cfds)) == (ssize_t)sizeof(cfds));
		/* alive until the parent has compared */
		char c;
		CHECK(read(p2c[0], &c, 1) == 1);
		_exit(0);
	}
	close(c2p[1]);
	close(p2c[0]);
	int cfds[MAXFD + 1];
	CHECK(read(c2p[0], cfds, sizeof(cfds)) == (ssize_t)sizeof(cfds));
	int unsupported = 0, shared = -1;
	for (int i = 1; i <= cfds[0] && !unsupported; i++) {
		for (int j = 0; j < np; j++) {
			long r = syscall(SYS_kcmp, (long)getpid(), (long)pid,
				(long)KCMP_FILE, (long)pfds[j], (long)cfds[i]);
			if (r < 0 && (errno == ENOSYS || errno == EPERM)) {
				unsupported = errno;
				break;
			}
			CHECK(r >= 0);
			if (r == 0)
				shared = cfds[i];
		}
	}
	CHECK(write(p2c[1], "x", 1) == 1);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(c2p[0]);
	close(p2c[1]);
	if (unsupported)
		SKIP("kcmp(2) is not available here: %s", strerror(unsupported));
	if (cfds[0] == 0)
		FAIL("the child's syncer holds no descriptor of the file");
	if (shared >= 0)
		FAIL("the child's descriptor %d of the file is the parent's "
			"open file", shared);
	check_file(m.path, 0, src, 2 * OP);
	test_map_close(&m);
	free(src);
	printf("async_fork: the child's syncer opened the file anew\n");
}

int
main(void)
{
#ifdef UNDER_TSAN
	SKIP("ThreadSanitizer cannot follow threads started in the child of a "
		"threaded process (gcc's dies, clang's needs die_after_fork=0)");
#endif
	CHECK(test_runtime());
	run(NULL, "default mover", 0);
	/* the parent's threads mover, with an operation it runs inline */
	struct data_mover_threads *dmt = data_mover_threads_default();
	CHECK(dmt);
	run(data_mover_threads_get_vdm(dmt), "threads mover, small copy", 1);
	data_mover_threads_delete(dmt);
	run_delete_in_child();
	run_own_descriptions();
	run_fork_while_mapping();
	return 0;
}
