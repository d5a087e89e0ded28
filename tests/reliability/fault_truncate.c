/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_truncate.c -- a file truncated under a live map.
 *
 * The mcsafe functions: for regular files libpmem2 copies with
 * pread/pwrite, so the kernel reports problems as errors, and no SIGBUS can
 * reach the caller: reads and writes past the new end give
 * PMEM2_E_LENGTH_OUT_OF_RANGE; a user buffer that lies in the map's
 * now-unbacked pages gives -EFAULT (never a signal); ranges still inside
 * the file work. (The SIGBUS-to-PMEM2_E_IO_FAIL path exists only for
 * device DAX, which this machine does not have.)
 *
 * The asynchronous functions: a destination past the new end takes SIGBUS,
 * like a store and like the map's memcpy function, whatever the mover; the
 * default mover's writes through the file must not grow the file again
 * (with a hole) and report success. Each mover runs in a child process,
 * which must die of SIGBUS and leave the file at its truncated size.
 */
#define PMEM2_USE_MINIASYNC 1
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include <libminiasync.h>
#include "helpers.h"

enum mover { M_DEFAULT, M_DEFAULT_STORES, M_SYNC, M_THREADS, M_NMOVERS };
static const char *const Mover_names[] = {
	"default mover (writes through the file)",
	"default mover (stores, PMEM2_ASYNC_NO_PWRITE=1)",
	"sync mover", "threads mover",
};

static struct vdm *Vdm;

static void
set_vdm(struct pmem2_config *cfg, void *arg)
{
	(void)arg;
	CHECK_EQ(pmem2_config_set_vdm(cfg, Vdm), 0);
}

/* In a child: map, truncate, one durable write past the new end. */
static void
async_past_end(enum mover mv, int op, const char *dir)
{
	const size_t size = 1 << 20, half = size / 2;
	/* the default action, even under a sanitizer that catches SIGBUS */
	signal(SIGBUS, SIG_DFL);
	if (mv == M_DEFAULT_STORES)
		setenv("PMEM2_ASYNC_NO_PWRITE", "1", 1);
	if (mv == M_SYNC)
		Vdm = data_mover_sync_get_vdm(data_mover_sync_new());
	if (mv == M_THREADS)
		Vdm = data_mover_threads_get_vdm(data_mover_threads_default());
	struct test_map m;
	test_map_open_in(&m, dir, "trunc-async", size, NULL, set_vdm, NULL);
	CHECK(m.gran == PMEM2_GRANULARITY_PAGE);
	static char src[8192];
	memset(src, 0x6b, sizeof(src));
	/* a write first: libpmem2's descriptor is open, the size seen */
	struct vdm_operation_future f0 = pmem2_memcpy_async(m.map, m.addr,
		src, sizeof(src), 0);
	FUTURE_BUSY_POLL(&f0);
	CHECK_EQ((int)FUTURE_OUTPUT(&f0)->result, (int)VDM_SUCCESS);
	CHECK(ftruncate(m.fd, (off_t)half) == 0);
	char *dest = (char *)m.addr + half + 8192;
	struct vdm_operation_future f = op == 0 ?
		pmem2_memcpy_async(m.map, dest, src, sizeof(src), 0) :
		pmem2_memset_async(m.map, dest, 0x6b, sizeof(src), 0);
	FUTURE_BUSY_POLL(&f);
	/* not reached when the store faults */
	printf("result %d\n", FUTURE_OUTPUT(&f)->result);
	exit(3);
}

static int
check_async(const char *dir)
{
	int n = 0;
	for (int mv = 0; mv < M_NMOVERS; mv++) {
		for (int op = 0; op < 2; op++) {
			char path[512];
			fflush(NULL);
			pid_t pid = fork();
			CHECK(pid >= 0);
			if (pid == 0)
				async_past_end((enum mover)mv, op, dir);
			int st;
			CHECK(waitpid(pid, &st, 0) == pid);
			snprintf(path, sizeof(path), "%s/pmem2-test-trunc-async-%d",
				dir, (int)pid);
			struct stat sb;
			int have = stat(path, &sb) == 0;
			unlink(path);
			if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGBUS)
				FAIL("%s, %s past the end of a truncated file: "
					"%s %d, expected SIGBUS", Mover_names[mv],
					op ? "memset" : "memcpy",
					WIFSIGNALED(st) ? "signal" : "exit code",
					WIFSIGNALED(st) ? WTERMSIG(st) :
					WEXITSTATUS(st));
			CHECK(have);
			if (sb.st_size != (1 << 19))
				FAIL("%s: the file grew back to %lld bytes",
					Mover_names[mv], (long long)sb.st_size);
			n++;
		}
	}
	return n;
}

static sigjmp_buf jb;
static volatile sig_atomic_t got_sigbus;

static void
on_sigbus(int sig)
{
	(void)sig;
	got_sigbus = 1;
	siglongjmp(jb, 1);
}

int
main(void)
{
	struct test_map m;
	const size_t size = 1 << 20, half = size / 2;
	test_map_open_in(&m, test_dir(), "truncate", size, NULL, NULL, NULL);
	unsigned char *a = (unsigned char *)m.addr;
	memset(a, 0x3c, size);
	pmem2_get_persist_fn(m.map)(a, size);

	CHECK(ftruncate(m.fd, (off_t)half) == 0);	/* under the live map */

	/* the map's second half now faults: prove it (SIGBUS is caught) */
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	CHECK(sigaction(SIGBUS, &sa, &old) == 0);
	if (sigsetjmp(jb, 1) == 0)
		(void)*(volatile unsigned char *)(a + half + 10);
	CHECK(got_sigbus);
	got_sigbus = 0;

	unsigned char buf[8192];
	volatile int results = 0;
	/* beyond the new end of file */
	CHECK_PMEM2_ERR(pmem2_source_pread_mcsafe(m.src, buf, 4096, half),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	CHECK_PMEM2_ERR(pmem2_source_pwrite_mcsafe(m.src, buf, 4096,
		half - 100), PMEM2_E_LENGTH_OUT_OF_RANGE);
	results += 2;
	/* inside: works and sees the map's data */
	CHECK_PMEM2_OK(pmem2_source_pread_mcsafe(m.src, buf, 4096, half - 4096));
	for (size_t i = 0; i < 4096; i++)
		CHECK(buf[i] == 0x3c);
	memset(buf, 0x77, 4096);
	CHECK_PMEM2_OK(pmem2_source_pwrite_mcsafe(m.src, buf, 4096, 0));
	CHECK(a[0] == 0x77 && a[4095] == 0x77);
	results += 2;
	/* a user buffer in the unbacked part of the map: an error, no signal */
	if (sigsetjmp(jb, 1) == 0) {
		int r = pmem2_source_pwrite_mcsafe(m.src, a + half + 4096, 4096,
			0);
		if (r != -EFAULT && r != PMEM2_E_IO_FAIL)
			FAIL("pwrite_mcsafe from an unbacked buffer: %d (%s)",
				r, pmem2_errormsg());
		r = pmem2_source_pread_mcsafe(m.src, a + half + 4096, 4096, 0);
		if (r != -EFAULT && r != PMEM2_E_IO_FAIL)
			FAIL("pread_mcsafe into an unbacked buffer: %d (%s)",
				r, pmem2_errormsg());
		results += 2;
	}
	if (got_sigbus)
		FAIL("an mcsafe function let SIGBUS through");
	CHECK(sigaction(SIGBUS, &old, NULL) == 0);

	/* the map can still be deleted */
	test_map_close(&m);
	printf("fault_truncate: %d checks, no SIGBUS escaped\n", results);

	int n = check_async(test_dir());
	n += check_async(test_disk_dir());
	printf("fault_truncate: %d asynchronous writes past the end took "
		"SIGBUS and left the file alone\n", n);
	return 0;
}
