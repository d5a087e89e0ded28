/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * crash.c -- crash consistency of durable async writes under SIGKILL.
 *
 * Each iteration forks a child that maps a fresh file and writes numbered
 * 4 KiB records (header: magic, sequence number, checksum of the payload)
 * with pmem2_memcpy_async, 8 in flight, each to its own page, and reports
 * every completed future's sequence number through a pipe. The parent kills
 * it with SIGKILL at a random moment, drains the pipe, reopens the file and
 * checks that every record reported complete is intact.
 *
 * Two targets: PAGE granularity on a disk-backed file in /var/tmp, and
 * CACHE_LINE (forced) on /dev/shm. On PAGE, the parent also asks the kernel
 * (cachestat, Linux 6.5+) at the moment each report arrives whether the
 * record's page is still dirty or under writeback: it must be neither,
 * because the future completes only after the data reached the file.
 * A process kill never loses the page cache: see doc/reliability.md for
 * what this can and cannot prove.
 *
 * Environment: PMEM2_CRASH_SECONDS (default 6, 2 with PMEM2_TEST_QUICK).
 */
#define PMEM2_USE_MINIASYNC 1
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include "helpers.h"

#include <libminiasync.h>

#define REC 4096u
#define NREC 1024u
#define FSIZE ((size_t)REC * NREC)
#define INFLIGHT 8
#define MAGIC 0x70a3c2a5d1e5b00fULL

struct rec_hdr {
	uint64_t magic;
	uint64_t seq;
	uint64_t sum;
	uint64_t pad;
};

static uint64_t
payload_sum(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static void
make_record(unsigned char *buf, uint64_t seq)
{
	struct rec_hdr h = { MAGIC, seq, 0, 0 };
	uint64_t s = seq * 0x9E3779B97F4A7C15ULL + 1;
	for (size_t i = sizeof(h); i < REC; i++)
		buf[i] = (unsigned char)(test_rand(&s) >> 13);
	h.sum = payload_sum(buf + sizeof(h), REC - sizeof(h));
	memcpy(buf, &h, sizeof(h));
}

/* ---- the child ---- */
static void __attribute__((noreturn))
child(const char *path, int gran, int mover, int wfd)
{
	struct test_map m;
	(void)path;
	const char *dir = test_gran_dir(gran);
	(void)dir;
	memset(&m, 0, sizeof(m));
	/* map the file the parent created */
	strcpy(m.path, path);
	m.fd = open(path, O_RDWR);
	if (m.fd < 0)
		_exit(10);
	if (pmem2_source_from_fd(&m.src, m.fd) || pmem2_config_new(&m.cfg) ||
			pmem2_config_set_required_store_granularity(m.cfg,
				PMEM2_GRANULARITY_PAGE))
		_exit(11);
	struct data_mover_threads *dmt = NULL;
	if (mover == 1) {
		dmt = data_mover_threads_new(1, 64, FUTURE_NOTIFIER_WAKER);
		if (!dmt)
			_exit(12);
		pmem2_config_set_vdm(m.cfg, data_mover_threads_get_vdm(dmt));
	}
	if (pmem2_map_new(&m.map, m.cfg, m.src))
		_exit(13);
	if ((int)pmem2_map_get_store_granularity(m.map) != gran)
		_exit(14);
	unsigned char *base = pmem2_map_get_address(m.map);

	struct vdm_operation_future fut[INFLIGHT];
	unsigned char *bufs = malloc((size_t)REC * INFLIGHT);
	uint64_t seqs[INFLIGHT];
	int busy[INFLIGHT] = { 0 };
	uint64_t next = 0;
	if (!bufs)
		_exit(15);
	for (;;) {
		for (int i = 0; i < INFLIGHT; i++) {
			if (!busy[i] && next < NREC) {
				seqs[i] = next++;
				make_record(bufs + (size_t)i * REC, seqs[i]);
				fut[i] = pmem2_memcpy_async(m.map,
					base + seqs[i] * REC,
					bufs + (size_t)i * REC, REC, 0);
				busy[i] = 1;
			}
			if (busy[i] && future_poll(FUTURE_AS_RUNNABLE(&fut[i]),
					NULL) == FUTURE_STATE_COMPLETE) {
				if (FUTURE_OUTPUT(&fut[i])->result != VDM_SUCCESS)
					_exit(16);
				if (write(wfd, &seqs[i], sizeof(seqs[i])) !=
						sizeof(seqs[i]))
					_exit(17);
				busy[i] = 0;
			}
		}
		if (next == NREC) {
			int any = 0;
			for (int i = 0; i < INFLIGHT; i++)
				any |= busy[i];
			if (!any)
				pause();	/* all done: wait for the kill */
		}
	}
}

/* ---- the parent ---- */
static int have_cachestat = 1;
static unsigned long n_cachestat_checked;

static void
check_clean(int fd, uint64_t seq)
{
	struct test_cstat cs;
	if (!have_cachestat)
		return;
	int ret = test_cachestat(fd, seq * REC, REC, &cs);
	if (ret != 0) {
		if (ret == -ENOSYS || ret == -EOPNOTSUPP) {
			fprintf(stderr, "crash: cachestat() unavailable (%s): "
				"PAGE writes checked for integrity only\n",
				strerror(-ret));
			have_cachestat = 0;
			return;
		}
		FAIL("cachestat: %s", strerror(-ret));
	}
	if (cs.nr_dirty || cs.nr_writeback)
		FAIL("record %llu reported durable but its page is %s",
			(unsigned long long)seq,
			cs.nr_dirty ? "dirty" : "under writeback");
	n_cachestat_checked++;
}

static unsigned long kills, records_verified, reported_total;
static char cur_path[512];	/* removed at exit, even after a FAIL */

static void
remove_cur(void)
{
	if (cur_path[0])
		unlink(cur_path);
}

static void
iteration(int gran, int mover, uint64_t *rng)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/pmem2-crash-%s-%d", test_gran_dir(gran),
		test_gran_name(gran), (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)FSIZE) != 0)
		FAIL("%s: %s", path, strerror(errno));
	strcpy(cur_path, path);
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child(path, gran, mover, p[1]);
	}
	close(p[1]);

	static unsigned char reported[NREC];
	memset(reported, 0, sizeof(reported));
	double deadline = test_now() + (double)(test_rand(rng) % 40000) * 1e-6;
	uint64_t seq;
	int killed = 0;
	for (;;) {
		if (!killed && test_now() >= deadline) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		struct pollfd pf = { p[0], POLLIN, 0 };
		/* a child inside fdatasync dies only when the I/O is done */
		int r = poll(&pf, 1, killed ? 60000 : 1);
		if (r == 0 && killed)
			FAIL("pipe not closed 60 s after SIGKILL");
		if (r <= 0)
			continue;
		ssize_t n = read(p[0], &seq, sizeof(seq));
		if (n == 0)
			break;	/* the child is gone */
		CHECK(n == (ssize_t)sizeof(seq));
		CHECK(seq < NREC && !reported[seq]);
		reported[seq] = 1;
		reported_total++;
		if (gran == PMEM2_GRANULARITY_PAGE && !killed)
			check_clean(fd, seq);
	}
	close(p[0]);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
		static const char *why[] = { [10] = "open", [11] = "source/config",
			[12] = "threads mover", [13] = "map_new",
			[14] = "granularity", [15] = "malloc",
			[16] = "a future's result was not VDM_SUCCESS",
			[17] = "pipe write" };
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		FAIL("%s mover %d: child ended with status %#x (%s), not by "
			"SIGKILL", test_gran_name(gran), mover, st,
			code >= 10 && code <= 17 ? why[code] : "?");
	}
	kills++;
	close(fd);

	/* reopen and verify */
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	unsigned char buf[REC];
	for (uint64_t s = 0; s < NREC; s++) {
		if (!reported[s])
			continue;
		CHECK(pread(fd, buf, REC, (off_t)(s * REC)) == REC);
		struct rec_hdr h;
		memcpy(&h, buf, sizeof(h));
		if (h.magic != MAGIC || h.seq != s ||
				h.sum != payload_sum(buf + sizeof(h),
					REC - sizeof(h)))
			FAIL("%s mover %d: record %llu reported complete but "
				"not intact after SIGKILL (magic %#llx seq %llu)",
				test_gran_name(gran), mover,
				(unsigned long long)s,
				(unsigned long long)h.magic,
				(unsigned long long)h.seq);
		records_verified++;
	}
	close(fd);
	unlink(path);
	cur_path[0] = '\0';
}

/* The probe can see dirt: a page written and not synced shows as dirty. */
static void
cachestat_selftest(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/pmem2-crash-probe-%d",
		test_disk_dir(), (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	unsigned char page[REC];
	memset(page, 7, sizeof(page));
	CHECK(pwrite(fd, page, REC, 0) == REC);
	struct test_cstat cs;
	int ret = test_cachestat(fd, 0, REC, &cs);
	if (ret != 0) {
		fprintf(stderr, "crash: cachestat() unavailable (%s)\n",
			strerror(-ret));
		have_cachestat = 0;
	} else if (cs.nr_dirty == 0 && cs.nr_writeback == 0) {
		fprintf(stderr, "crash: cachestat() shows no dirt after a "
			"write (write-through filesystem?): PAGE probe off\n");
		have_cachestat = 0;
	} else {
		CHECK(fdatasync(fd) == 0);
		CHECK_EQ(test_cachestat(fd, 0, REC, &cs), 0);
		CHECK(cs.nr_dirty == 0 && cs.nr_writeback == 0);
	}
	close(fd);
	unlink(path);
	cur_path[0] = '\0';
}

int
main(void)
{
	atexit(remove_cur);
	cachestat_selftest();
	const char *e = getenv("PMEM2_CRASH_SECONDS");
	double secs = e && *e ? atof(e) : (test_quick() ? 2 : 6);
	uint64_t rng = test_seed();
	int nmovers = 2;
	double end = test_now() + secs;
	unsigned long it = 0;
	while (test_now() < end || it < 4) {
		int gran = (it & 1) ? PMEM2_GRANULARITY_CACHE_LINE :
			PMEM2_GRANULARITY_PAGE;
		int mover = (int)((it >> 1) % (unsigned)nmovers);
		iteration(gran, mover, &rng);
		it++;
	}
	printf("crash: %lu kills survived, %lu completions reported, %lu "
		"records verified intact, %lu PAGE reports checked clean by "
		"cachestat\n", kills, reported_total, records_verified,
		n_cachestat_checked);
	return 0;
}
