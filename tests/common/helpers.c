/* SPDX-License-Identifier: BSD-3-Clause */
/* helpers.c -- the part of the test helpers that needs no library. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

int
test_quick(void)
{
	const char *q = getenv("PMEM2_TEST_QUICK");
	return q && *q && strcmp(q, "0") != 0;
}

uint64_t
test_seed(void)
{
	const char *s = getenv("PMEM2_TEST_SEED");
	if (s && *s)
		return strtoull(s, NULL, 0);
	return 0x5eed0000ULL ^ (uint64_t)getpid();
}

uint64_t
test_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

void
test_pattern(void *buf, size_t len, unsigned seed)
{
	unsigned char *p = buf;
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

void *
test_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		FAIL("out of memory (%zu)", n);
	return p;
}

const char *
test_gran_name(int g)
{
	switch (g) {
	case PMEM2_GRANULARITY_PAGE:
		return "page";
	case PMEM2_GRANULARITY_CACHE_LINE:
		return "cache_line";
	case PMEM2_GRANULARITY_BYTE:
		return "byte";
	}
	return "?";
}

int
test_gran_parse(const char *s)
{
	if (!s)
		return -1;
	if (strcmp(s, "page") == 0)
		return PMEM2_GRANULARITY_PAGE;
	if (strcmp(s, "cache_line") == 0)
		return PMEM2_GRANULARITY_CACHE_LINE;
	if (strcmp(s, "byte") == 0)
		return PMEM2_GRANULARITY_BYTE;
	return -1;
}

enum pmem2_granularity
test_gran_arg(int argc, char *argv[], int dflt)
{
	int g = argc > 1 ? test_gran_parse(argv[1]) : dflt;
	if (g < 0 || argc > 2)
		FAIL("usage: %s page|cache_line|byte", argv[0]);
	return (enum pmem2_granularity)g;
}

const char *
test_gran_dir(int g)
{
	if (g == PMEM2_GRANULARITY_PAGE) {
		unsetenv("PMEM2_FORCE_GRANULARITY");
		return test_disk_dir();
	}
	setenv("PMEM2_FORCE_GRANULARITY", test_gran_name(g), 1);
	return test_dir();
}

void
test_check_file(const char *path, size_t off, const void *want, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		FAIL("open %s: %s", path, strerror(errno));
	char *got = test_alloc(len);
	CHECK_EQ(pread(fd, got, len, (off_t)off), (long long)len);
	CHECK_MEM_FAST(got, want, len);
	free(got);
	close(fd);
}

static void
sleeper_wake(void *data)
{
	struct test_sleeper *s = data;
	pthread_mutex_lock(&s->lock);
	s->wakes++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
}

struct future_waker
test_sleeper_waker(struct test_sleeper *s)
{
	struct future_waker w = { s, sleeper_wake };
	return w;
}

unsigned long
test_sleeper_wakes(struct test_sleeper *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned long n = s->wakes;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void
test_sleeper_wait(struct test_sleeper *s, unsigned long seen, int timeout_s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_s;
	pthread_mutex_lock(&s->lock);
	while (s->wakes == seen) {
		if (pthread_cond_timedwait(&s->cv, &s->lock, &ts) != 0)
			FAIL("no wake-up within %d s", timeout_s);
	}
	pthread_mutex_unlock(&s->lock);
}

/* the kernel's struct cachestat_range */
struct cstat_range {
	uint64_t off;
	uint64_t len;
};

int
test_cachestat(int fd, uint64_t off, uint64_t len, struct test_cstat *cs)
{
	struct cstat_range r = { off, len };
	/* 451 on every architecture; libc may not name it yet */
	if (syscall(451, fd, &r, cs, 0) != 0)
		return -errno;
	return 0;
}

int
test_check_no_dirty_page(int fd, uint64_t off, uint64_t len)
{
	uint64_t pg = 4096;
	uint64_t start = off & ~(pg - 1);
	uint64_t end = (off + len + pg - 1) & ~(pg - 1);
	struct test_cstat cs;
	int ret = test_cachestat(fd, start, end - start, &cs);
	if (ret == -ENOSYS)
		return ret;
	CHECK_EQ(ret, 0);
	if (cs.nr_dirty != 0)
		FAIL("%llu dirty page(s) in [%llu, %llu) after COMPLETE",
			(unsigned long long)cs.nr_dirty,
			(unsigned long long)start, (unsigned long long)end);
	return 0;
}

/* Entries of a /proc directory, without "." and "..". */
static int
count_entries(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		SKIP("cannot read %s: %s", path, strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int
test_count_fds(void)
{
	return count_entries("/proc/self/fd") - 1;	/* the DIR's own */
}

int
test_count_threads(void)
{
	return count_entries("/proc/self/task");
}

static sigjmp_buf Fault_jmp;

static void
fault_jump(int sig)
{
	(void)sig;
	siglongjmp(Fault_jmp, 1);
}

int
test_faults(volatile char *p, int write)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fault_jump;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGSEGV, &sa, &old) == 0);
	int faulted = 0;
	if (sigsetjmp(Fault_jmp, 1) == 0) {
		if (write)
			*p = 1;
		else
			(void)*p;
	} else {
		faulted = 1;
	}
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

int
test_stopped(struct test_stop *s)
{
	pthread_mutex_lock(&s->lock);
	int v = s->stop;
	pthread_mutex_unlock(&s->lock);
	return v;
}

void
test_threads_run(int n, void *(*worker)(void *), void *(*companion)(void *),
	struct test_stop *stop)
{
	pthread_t c;
	pthread_t *w = test_alloc((size_t)n * sizeof(*w));
	if (companion)
		CHECK_EQ(pthread_create(&c, NULL, companion, stop), 0);
	for (int i = 0; i < n; i++)
		CHECK_EQ(pthread_create(&w[i], NULL, worker,
			(void *)(intptr_t)i), 0);
	for (int i = 0; i < n; i++)
		CHECK_EQ(pthread_join(w[i], NULL), 0);
	free(w);
	if (!companion)
		return;
	pthread_mutex_lock(&stop->lock);
	stop->stop = 1;
	pthread_mutex_unlock(&stop->lock);
	CHECK_EQ(pthread_join(c, NULL), 0);
}

long
test_vm_kb(void)
{
	long kb = -1;
	FILE *st = fopen("/proc/self/status", "r");
	if (st == NULL)
		SKIP("cannot read /proc/self/status: %s", strerror(errno));
	char line[256];
	while (fgets(line, sizeof(line), st))
		if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
			break;
	fclose(st);
	CHECK(kb > 0);
	return kb;
}

/* The highest descriptor open, + 1 (the DIR's own not counted). */
static int
fd_ceiling(void)
{
	int hi = -1;
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		SKIP("cannot read /proc/self/fd: %s", strerror(errno));
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && atoi(e->d_name) > hi &&
				atoi(e->d_name) != dirfd(d))
			hi = atoi(e->d_name);
	closedir(d);
	return hi + 1;
}

void
test_fds_take(struct test_fds *f)
{
	CHECK(getrlimit(RLIMIT_NOFILE, &f->rl0) == 0);
	struct rlimit rl = f->rl0;
	rl.rlim_cur = (rlim_t)fd_ceiling() + 1;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	f->n = 0;
	for (;;) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0) {
			CHECK_EQ(errno, EMFILE);
			break;
		}
		CHECK(f->n < (int)(sizeof(f->fill) / sizeof(f->fill[0])));
		f->fill[f->n++] = fd;
	}
}

void
test_fds_back(struct test_fds *f)
{
	while (f->n > 0)
		CHECK_EQ(close(f->fill[--f->n]), 0);
	CHECK(setrlimit(RLIMIT_NOFILE, &f->rl0) == 0);
}

double
test_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

unsigned char *
test_guarded(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	CHECK(len % pg == 0);
	unsigned char *m = mmap(NULL, len + 2 * pg, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		SKIP("mmap: %s", strerror(errno));
	CHECK(mprotect(m, pg, PROT_NONE) == 0);
	CHECK(mprotect(m + pg + len, pg, PROT_NONE) == 0);
	return m + pg;
}
