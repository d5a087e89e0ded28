/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_mcsafe_sigbus.c -- the SIGBUS-guarded copy that device DAX mcsafe I/O
 * uses (internal, so this links the static library). No poisoned memory
 * here: a file truncated under its mapping raises the same SIGBUS. Checks
 * that the fault becomes PMEM2_E_IO_FAIL, that the caller's own SIGBUS
 * handler is back afterwards, and that threads can do it concurrently.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include "helpers.h"
#include "mcsafe.h"

static size_t Pg;

static void *
plain_copy(void *d, const void *s, size_t n, unsigned flags)
{
	(void)flags;
	return memcpy(d, s, n);
}

static volatile sig_atomic_t Mine;
static void my_handler(int s) { (void)s; Mine++; }

struct job {
	char *gone;	/* pages past EOF: any access faults */
	char *ok;
	int iters;
};

static void *
worker(void *arg)
{
	struct job *j = arg;
	char buf[256];
	for (int i = 0; i < j->iters; i++) {
		CHECK_PMEM2_ERR(pmem2_mcsafe_copy(buf, j->gone + (i % 64), 100,
			plain_copy), PMEM2_E_IO_FAIL);
		CHECK_PMEM2_OK(pmem2_mcsafe_copy(buf, j->ok, 100, plain_copy));
		CHECK_EQ(buf[99], 'k');
	}
	return NULL;
}

int
main(void)
{
	Pg = (size_t)sysconf(_SC_PAGESIZE);
	char *path = test_path(test_dir(), "sigbus");
	int fd = test_file(path, 4 * Pg, O_RDWR);
	char *a = mmap(NULL, 4 * Pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(a != MAP_FAILED);
	memset(a, 'k', 4 * Pg);
	CHECK_EQ(ftruncate(fd, (off_t)Pg), 0);	/* pages 1..3 are gone */

	struct sigaction sa, cur;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = my_handler;
	sigemptyset(&sa.sa_mask);
	CHECK_EQ(sigaction(SIGBUS, &sa, NULL), 0);

	char buf[64];
	CHECK_PMEM2_ERR(pmem2_mcsafe_copy(buf, a + 2 * Pg, sizeof(buf),
		plain_copy), PMEM2_E_IO_FAIL);
	CHECK(strstr(pmem2_errormsg(), "SIGBUS") != NULL);
	CHECK_PMEM2_ERR(pmem2_mcsafe_copy(a + 3 * Pg, buf, sizeof(buf),
		plain_copy), PMEM2_E_IO_FAIL);
	CHECK_PMEM2_OK(pmem2_mcsafe_copy(buf, a + 10, sizeof(buf),
		plain_copy));
	CHECK_EQ(buf[0], 'k');
	CHECK_EQ(Mine, 0);	/* our handler saw none of those */

	/* our handler is installed again */
	CHECK_EQ(sigaction(SIGBUS, NULL, &cur), 0);
	CHECK(cur.sa_handler == my_handler);
	raise(SIGBUS);
	CHECK_EQ(Mine, 1);

	/* several threads at once, sharing the process-wide handler */
	struct job j = { a + 2 * Pg, a + 100, test_quick() ? 50 : 500 };
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker, &j), 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(sigaction(SIGBUS, NULL, &cur), 0);
	CHECK(cur.sa_handler == my_handler);

	munmap(a, 4 * Pg);
	test_file_remove(path, fd);
	printf("ok\n");
	return 0;
}
