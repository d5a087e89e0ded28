// SPDX-License-Identifier: BSD-3-Clause
/*
 * replica_faults.c -- processes dying mid-stream.
 *   daemon_kill: pmem2-replicad gets SIGKILL with writes in flight; every
 *     future completes (with an error unless its answer had come) within
 *     the documented bound (PMEM2REP_TIMEOUT_MS, here 5 s); after a
 *     restart every write reported durable is in the file.
 *   daemon_kill_small: the same with 4 KiB writes, whose persist requests
 *     and answers travel several to a message (PERSISTV, DONEV): the kill
 *     lands mid-batch.
 *   multi_kill: four connections write 4 KiB blocks at once, so their
 *     syncs are shared (group commit across connections), when the daemon
 *     gets SIGKILL: every future completes, and after a restart every
 *     write reported durable, by any connection, is in the file.
 *   daemon_hang: the daemon is stopped (SIGSTOP) with writes in flight and
 *     the connection stays open: no future reports success, all fail once
 *     the connection showed no progress for PMEM2REP_TIMEOUT_MS.
 *   client_kill: clients die with writes in flight while another client
 *     keeps writing; the daemon serves on.
 *   enospc: a sparse FILE on a filesystem without room for it (a small
 *     tmpfs in a private mount namespace; skipped without the privilege):
 *     the daemon refuses to serve it, where it used to die of SIGBUS at
 *     the first write into a hole; a sparse FILE that fits is served.
 *   sync_error: a sync fails (msync_fail.c preloaded into the daemon):
 *     its write fails, and so does every later write of any connection,
 *     as the kernel reports a write-back error only once.
 * Usage: replica_faults PMEM2-REPLICAD daemon_kill|daemon_kill_small|
 *	multi_kill|daemon_hang|client_kill|enospc|sync_error MSYNC_FAIL.so
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <pthread.h>
#include <stdatomic.h>
#include <libpmem2rep.h>

#include "msync_fail.h"
#include "rutil.h"

#define SLOT ((size_t)64 << 10)
#define NSLOT 512
#define SIZE (SLOT * NSLOT)
#define DEPTH 32
#define BOUND_MS 5000

static char keyp[256], datp[256];

static void
cleanup(void)
{
	unlink(keyp);
	unlink(datp);
}

static struct pmem2rep *
connect_ok(const char *target)
{
	struct pmem2rep *rep = NULL;
	int r = pmem2rep_connect(&rep, target, keyp);
	if (r)
		FAIL("connect %s: %d %s", target, r, pmem2rep_errormsg());
	return rep;
}

/* writes of `slot` bytes, nslot of them, the daemon killed after `at` */
static void
daemon_kill(const char *daemon, size_t slot, int nslot, int at)
{
	struct rutil_daemon d;
	CHECK_EQ(rutil_daemon_start(&d, daemon, keyp, datp), 0);
	struct pmem2rep *rep = connect_ok(d.target);

	unsigned char *src = test_alloc(SIZE);
	test_pattern(src, SIZE, 77);
	struct vdm_operation_future f[DEPTH];
	int slot_of[DEPTH];
	int *ok = calloc((size_t)nslot, sizeof(*ok));
	CHECK(ok != NULL);
	CHECK((size_t)nslot * slot <= SIZE);
	int next = 0, live = 0, nok = 0, nfail = 0, killed = 0;
	uint64_t kill_at = 0, last_done = 0;
	for (int i = 0; i < DEPTH; i++)
		slot_of[i] = -1;

	while (next < nslot || live) {
		for (int i = 0; i < DEPTH; i++) {
			if (slot_of[i] < 0 && next < nslot) {
				slot_of[i] = next;
				f[i] = pmem2rep_write_async(rep,
					(size_t)next * slot,
					src + (size_t)next * slot, slot, 0);
				next++;
				live++;
			}
			if (slot_of[i] < 0)
				continue;
			if (future_poll(FUTURE_AS_RUNNABLE(&f[i]), NULL) !=
					FUTURE_STATE_COMPLETE)
				continue;
			if (f[i].output.result == VDM_SUCCESS) {
				ok[slot_of[i]] = 1;
				nok++;
			} else {
				CHECK_EQ(f[i].output.result, VDM_ERROR_IO);
				CHECK(pmem2rep_errormsg()[0] != '\0');
				nfail++;
			}
			if (killed)
				last_done = rutil_ms();
			slot_of[i] = -1;
			live--;
		}
		if (!killed && nok >= at) {
			rutil_daemon_kill(&d);
			killed = 1;
			kill_at = rutil_ms();
		}
		if (killed && rutil_ms() - kill_at > 3 * BOUND_MS)
			FAIL("%d futures still running %d ms after the kill",
				live, 3 * BOUND_MS);
	}
	CHECK(killed);
	CHECK(nfail >= DEPTH);	/* at least everything started after it */
	if (last_done - kill_at > BOUND_MS + 2000)
		FAIL("the last future completed %llu ms after the kill",
			(unsigned long long)(last_done - kill_at));
	fprintf(stderr, "%d durable, %d failed, all done %llu ms after the "
		"kill\n", nok, nfail, (unsigned long long)(last_done - kill_at));
	/* new writes on the dead connection fail at once */
	struct vdm_operation_future g = pmem2rep_write_async(rep, 0, src, 16,
		0);
	FUTURE_BUSY_POLL(&g);
	CHECK_EQ(g.output.result, VDM_ERROR_IO);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);

	/* restart: everything reported durable is there */
	CHECK_EQ(rutil_daemon_start(&d, daemon, keyp, datp), 0);
	rep = connect_ok(d.target);
	CHECK_EQ(pmem2rep_size(rep), SIZE);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	unsigned char *got = rutil_read(datp, SIZE);
	for (int s = 0; s < nslot; s++)
		if (ok[s])
			CHECK_MEM(got + (size_t)s * slot, src + (size_t)s * slot,
				slot);
	rutil_daemon_stop(&d);
	free(got);
	free(src);
	free(ok);
}

#define MT 4
#define MT_SLOTS 1024
#define MT_DEPTH 16

struct mt_arg {
	struct pmem2rep *rep;	/* connected before any thread starts */
	int id;
	const unsigned char *src;
	int *ok;		/* per 4 KiB slot of the whole file */
	atomic_int *nok;
	int nfail;
};

static void *
mt_writer(void *arg)
{
	struct mt_arg *a = arg;
	struct pmem2rep *rep = a->rep;
	struct vdm_operation_future f[MT_DEPTH];
	int slot_of[MT_DEPTH];
	int first = a->id * MT_SLOTS, next = first, live = 0;
	for (int i = 0; i < MT_DEPTH; i++)
		slot_of[i] = -1;
	while (next < first + MT_SLOTS || live) {
		for (int i = 0; i < MT_DEPTH; i++) {
			if (slot_of[i] < 0 && next < first + MT_SLOTS) {
				slot_of[i] = next;
				f[i] = pmem2rep_write_async(rep,
					(size_t)next * 4096,
					a->src + (size_t)next * 4096, 4096, 0);
				next++;
				live++;
			}
			if (slot_of[i] < 0 || future_poll(
					FUTURE_AS_RUNNABLE(&f[i]), NULL) !=
					FUTURE_STATE_COMPLETE)
				continue;
			if (f[i].output.result == VDM_SUCCESS) {
				a->ok[slot_of[i]] = 1;
				atomic_fetch_add(a->nok, 1);
			} else {
				if (f[i].output.result != VDM_ERROR_IO)
					FAIL("slot %d: result %d: %s",
						slot_of[i],
						(int)f[i].output.result,
						pmem2rep_errormsg());
				a->nfail++;
			}
			slot_of[i] = -1;
			live--;
		}
	}
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	return NULL;
}

static void
multi_kill(const char *daemon)
{
	struct rutil_daemon d;
	CHECK_EQ(rutil_daemon_start(&d, daemon, keyp, datp), 0);
	size_t total = (size_t)MT * MT_SLOTS * 4096;
	CHECK(total <= SIZE);
	unsigned char *src = malloc(total);
	int *ok = calloc((size_t)MT * MT_SLOTS, sizeof(*ok));
	CHECK(src != NULL && ok != NULL);
	test_pattern(src, total, 31);
	atomic_int nok = 0;
	struct mt_arg a[MT];
	pthread_t t[MT];
	for (int i = 0; i < MT; i++)
		a[i] = (struct mt_arg){ connect_ok(d.target), i, src, ok,
			&nok, 0 };
	for (int i = 0; i < MT; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, mt_writer, &a[i]), 0);
	uint64_t t0 = rutil_ms();
	while (atomic_load(&nok) < 400 && rutil_ms() - t0 < 60000)
		usleep(1000);
	CHECK(atomic_load(&nok) >= 400);
	rutil_daemon_kill(&d);
	int nfail = 0;
	for (int i = 0; i < MT; i++) {
		CHECK_EQ(pthread_join(t[i], NULL), 0);
		nfail += a[i].nfail;
	}
	CHECK(nfail > 0);
	fprintf(stderr, "%d durable, %d failed\n", atomic_load(&nok), nfail);

	CHECK_EQ(rutil_daemon_start(&d, daemon, keyp, datp), 0);
	unsigned char *got = rutil_read(datp, SIZE);
	for (int s = 0; s < MT * MT_SLOTS; s++)
		if (ok[s])
			CHECK_MEM(got + (size_t)s * 4096, src + (size_t)s * 4096,
				4096);
	rutil_daemon_stop(&d);
	free(got);
	free(ok);
	free(src);
}

/* kill() returns before the threads stop: wait until every one has. */
static void
wait_stopped(pid_t pid)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	uint64_t t0 = rutil_ms();
	for (;;) {
		DIR *d = opendir(dir);
		CHECK(d != NULL);
		int running = 0;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char path[384], buf[512];
			snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[n] = '\0';
			const char *rp = strrchr(buf, ')');
			if (rp && rp[1] == ' ' && rp[2] != 'T' && rp[2] != 't')
				running = 1;
		}
		closedir(d);
		if (!running)
			return;
		if (rutil_ms() - t0 > 10000)
			FAIL("pmem2-replicad did not stop");
		usleep(1000);
	}
}

static void
daemon_hang(const char *daemon)
{
	struct rutil_daemon d;
	CHECK_EQ(rutil_daemon_start(&d, daemon, keyp, datp), 0);
	struct pmem2rep *rep = connect_ok(d.target);
	unsigned char *src = test_alloc(SLOT);
	test_pattern(src, SLOT, 5);
	CHECK(kill(d.pid, SIGSTOP) == 0);
	wait_stopped(d.pid);
	struct vdm_operation_future f[DEPTH];
	for (int i = 0; i < DEPTH; i++)
		f[i] = pmem2rep_write_async(rep, (size_t)i * SLOT, src, SLOT, 0);
	uint64_t t0 = rutil_ms();
	for (int i = 0; i < DEPTH; i++) {
		while (future_poll(FUTURE_AS_RUNNABLE(&f[i]), NULL) !=
				FUTURE_STATE_COMPLETE)
			if (rutil_ms() - t0 > 3 * BOUND_MS)
				FAIL("future %d still running after %d ms", i,
					3 * BOUND_MS);
		CHECK_EQ(f[i].output.result, VDM_ERROR_IO);
	}
	uint64_t took = rutil_ms() - t0;
	fprintf(stderr, "all failed after %llu ms: %s\n",
		(unsigned long long)took, pmem2rep_errormsg());
	CHECK(strstr(pmem2rep_errormsg(), "no answer") != NULL);
	CHECK(took >= BOUND_MS - 100 && took <= BOUND_MS + 5000);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	CHECK(kill(d.pid, SIGCONT) == 0);
	rutil_daemon_stop(&d);
	free(src);
}

/* A client that writes forever, DEPTH in flight, until it is killed. */
static void
stream_forever(const char *target, unsigned seed)
{
	struct pmem2rep *rep = connect_ok(target);
	unsigned char *src = test_alloc(SLOT);
	test_pattern(src, SLOT, seed);
	struct vdm_operation_future f[DEPTH];
	for (unsigned n = 0;; n++) {
		for (int i = 0; i < DEPTH; i++)
			f[i] = pmem2rep_write_async(rep,
				(size_t)((n * DEPTH + (unsigned)i) % (NSLOT / 2))
				* SLOT, src, SLOT, 0);
		for (int i = 0; i < DEPTH; i++)
			FUTURE_BUSY_POLL(&f[i]);
	}
}

static const char *g_target;
static atomic_int g_stop;

static void *
survivor(void *arg)
{
	(void)arg;
	struct pmem2rep *rep = connect_ok(g_target);
	unsigned char *src = test_alloc(SLOT);
	unsigned n = 0;
	while (!atomic_load(&g_stop)) {
		test_pattern(src, SLOT, 1000 + n);
		struct vdm_operation_future f = pmem2rep_write_async(rep,
			(size_t)(NSLOT / 2 + n % (NSLOT / 2)) * SLOT, src, SLOT,
			0);
		FUTURE_BUSY_POLL(&f);
		if (f.output.result != VDM_SUCCESS)
			FAIL("the surviving client failed: %s",
				pmem2rep_errormsg());
		n++;
	}
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	/* the last pattern is in the file */
	unsigned char *got = rutil_read(datp, SIZE);
	n--;
	CHECK_MEM(got + (size_t)(NSLOT / 2 + n % (NSLOT / 2)) * SLOT, src,
		SLOT);
	free(got);
	free(src);
	return NULL;
}

static void
client_kill(const char *daemon)
{
	struct rutil_daemon d;
	CHECK_EQ(rutil_daemon_start(&d, daemon, keyp, datp), 0);
	g_target = d.target;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, survivor, NULL) == 0);
	for (int round = 0; round < 3; round++) {
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			stream_forever(d.target, (unsigned)round);
			_exit(0);
		}
		struct timespec ts = { 0, 300000000 };
		nanosleep(&ts, NULL);
		int st;
		CHECK(kill(pid, SIGKILL) == 0);
		CHECK(waitpid(pid, &st, 0) == pid);
		CHECK(WIFSIGNALED(st));
	}
	atomic_store(&g_stop, 1);
	CHECK(pthread_join(t, NULL) == 0);

	/* a new client after the kills */
	struct pmem2rep *rep = connect_ok(d.target);
	unsigned char buf[4096];
	test_pattern(buf, sizeof(buf), 4242);
	struct vdm_operation_future f = pmem2rep_write_async(rep, SIZE - 4096,
		buf, 4096, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	unsigned char *got = rutil_read(datp, SIZE);
	CHECK_MEM(got + SIZE - 4096, buf, 4096);
	free(got);
	rutil_daemon_stop(&d);
}

static char mnt[256], sparsep[300];

static void
enospc_cleanup(void)
{
	unlink(sparsep);
	umount(mnt);
	rmdir(mnt);
}

static void
enospc(const char *daemon)
{
	snprintf(mnt, sizeof(mnt), "%s/rep_faults_%d.mnt", test_dir(),
		(int)getpid());
	snprintf(sparsep, sizeof(sparsep), "%s/sparse", mnt);
	if (unshare(CLONE_NEWNS) != 0 ||
			mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		SKIP("no private mount namespace (%s): cannot make a full "
			"filesystem here", strerror(errno));
	CHECK(mkdir(mnt, 0700) == 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
		rmdir(mnt);
		SKIP("cannot mount a small tmpfs: %s", strerror(errno));
	}
	atexit(enospc_cleanup);

	/* 8 MiB of holes on 1 MiB of room: refused at start */
	int fd = open(sparsep, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 8 << 20) == 0);
	close(fd);
	struct rutil_daemon d;
	CHECK_EQ(rutil_daemon_start(&d, daemon, keyp, sparsep), 1);

	/* 512 KiB of holes fit: served, every byte writable */
	fd = open(sparsep, O_RDWR | O_TRUNC);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 512 << 10) == 0);
	close(fd);
	CHECK_EQ(rutil_daemon_start(&d, daemon, keyp, sparsep), 0);
	struct pmem2rep *rep = connect_ok(d.target);
	unsigned char *buf = test_alloc(512 << 10);
	test_pattern(buf, 512 << 10, 7);
	struct vdm_operation_future f = pmem2rep_write_async(rep, 0, buf,
		512 << 10, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	rutil_daemon_stop(&d);
	unsigned char *got = rutil_read(sparsep, 512 << 10);
	CHECK_MEM(got, buf, 512 << 10);
	free(got);
	free(buf);
}

/* One 4 KiB write at `slot`'s start; returns its result. */
static enum vdm_operation_result
write_one(struct pmem2rep *rep, int slot, const unsigned char *buf)
{
	struct vdm_operation_future f = pmem2rep_write_async(rep,
		(size_t)slot * SLOT, buf, 4096, 0);
	FUTURE_BUSY_POLL(&f);
	return f.output.result;
}

/*
 * A failed sync (msync_fail.c preloaded into the daemon: the msync over
 * the marked page fails once, then the kernel would call the lost pages
 * clean): the write it covered fails, and so does every later one, of any
 * connection, since a later msync's success vouches for nothing.
 */
static void
sync_error(const char *daemon, const char *preload)
{
	if (access(preload, R_OK) != 0)
		FAIL("no %s", preload);
	setenv("LD_PRELOAD", preload, 1);
	/* gcc's ASan wants its runtime first among the preloads */
	char asan[512];
	const char *old = getenv("ASAN_OPTIONS");
	snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0",
		old ? old : "", old && *old ? ":" : "");
	char *saved = old ? strdup(old) : NULL;
	setenv("ASAN_OPTIONS", asan, 1);
	struct rutil_daemon d;
	int r = rutil_daemon_start(&d, daemon, keyp, datp);
	unsetenv("LD_PRELOAD");
	if (saved) {
		setenv("ASAN_OPTIONS", saved, 1);
		free(saved);
	} else {
		unsetenv("ASAN_OPTIONS");
	}
	CHECK_EQ(r, 0);
	struct pmem2rep *a = connect_ok(d.target);
	struct pmem2rep *b = connect_ok(d.target);
	unsigned char good[4096], bad[4096];
	test_pattern(good, sizeof(good), 9);
	memset(bad, 0x5a, sizeof(bad));
	memcpy(bad, MSYNC_FAIL_MARK, sizeof(MSYNC_FAIL_MARK));

	CHECK_EQ(write_one(a, 0, good), VDM_SUCCESS);
	CHECK_EQ(write_one(b, 1, good), VDM_SUCCESS);
	/* the failing sync: its waiter gets the error */
	CHECK_EQ(write_one(a, 2, bad), VDM_ERROR_IO);
	CHECK(strstr(pmem2rep_errormsg(), "Input/output error") != NULL);
	/* later syncs succeed in the kernel's eyes: no success here */
	CHECK_EQ(write_one(b, 3, good), VDM_ERROR_IO);
	CHECK_EQ(write_one(a, 4, good), VDM_ERROR_IO);
	struct pmem2rep *c = connect_ok(d.target);
	CHECK_EQ(write_one(c, 5, good), VDM_ERROR_IO);
	CHECK_EQ(pmem2rep_disconnect(&a), 0);
	CHECK_EQ(pmem2rep_disconnect(&b), 0);
	CHECK_EQ(pmem2rep_disconnect(&c), 0);
	rutil_daemon_stop(&d);	/* it served on */
}

int
main(int argc, char *argv[])
{
	if (argc != 3 && !(argc == 4 && strcmp(argv[2], "sync_error") == 0))
		FAIL("usage: replica_faults PMEM2-REPLICAD daemon_kill|"
			"daemon_kill_small|multi_kill|daemon_hang|client_kill|"
			"enospc|sync_error MSYNC_FAIL.so");
	rutil_need_fabric();
	setenv("PMEM2REP_TIMEOUT_MS", "5000", 1);
	signal(SIGPIPE, SIG_IGN);
	snprintf(keyp, sizeof(keyp), "%s/rep_faults_%d.key", test_dir(),
		(int)getpid());
	snprintf(datp, sizeof(datp), "%s/rep_faults_%d.dat", test_dir(),
		(int)getpid());
	atexit(cleanup);
	rutil_key(keyp, 0600, -1);
	rutil_file(datp, SIZE, 0);
	if (strcmp(argv[2], "daemon_kill") == 0)
		daemon_kill(argv[1], SLOT, NSLOT, 100);
	else if (strcmp(argv[2], "daemon_kill_small") == 0)
		daemon_kill(argv[1], 4096, 4096, 1500);
	else if (strcmp(argv[2], "multi_kill") == 0)
		multi_kill(argv[1]);
	else if (strcmp(argv[2], "daemon_hang") == 0)
		daemon_hang(argv[1]);
	else if (strcmp(argv[2], "client_kill") == 0)
		client_kill(argv[1]);
	else if (strcmp(argv[2], "enospc") == 0)
		enospc(argv[1]);
	else if (strcmp(argv[2], "sync_error") == 0)
		sync_error(argv[1], argv[3]);
	else
		FAIL("unknown mode %s", argv[2]);
	return 0;
}
