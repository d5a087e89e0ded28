/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_truncate.c -- the mcsafe functions on a file truncated under a live
 * map. For regular files libpmem2 copies with pread/pwrite, so the kernel
 * reports problems as errors, and no SIGBUS can reach the caller: reads and
 * writes past the new end give PMEM2_E_LENGTH_OUT_OF_RANGE; a user buffer
 * that lies in the map's now-unbacked pages gives -EFAULT (never a signal);
 * ranges still inside the file work. (The SIGBUS-to-PMEM2_E_IO_FAIL path
 * exists only for device DAX, which this machine does not have.)
 */
#include <setjmp.h>
#include <signal.h>
#include "rutil.h"

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
	struct rt_map m;
	const size_t size = 1 << 20, half = size / 2;
	rt_map_open(&m, test_dir(), "truncate", size, NULL, NULL);
	unsigned char *a = m.addr;
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
	rt_map_close(&m);
	printf("fault_truncate: %d checks, no SIGBUS escaped\n", results);
	return 0;
}
