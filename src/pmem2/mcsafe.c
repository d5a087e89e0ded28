/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mcsafe.c -- pmem2_source_pread_mcsafe / pmem2_source_pwrite_mcsafe:
 * copies that report an uncorrectable media error as PMEM2_E_IO_FAIL
 * instead of killing the process. Regular files go through pread/pwrite
 * (the kernel turns poison into EIO). Device DAX has no read/write, so the
 * copy runs on a temporary map with a SIGBUS handler that jumps back out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "libpmem2.h"
#include "errors.h"
#include "map.h"
#include "memops.h"
#include "pmem2_utils.h"
#include "source.h"
#include "mcsafe.h"

static int
check_range(struct pmem2_source *src, size_t size, size_t offset)
{
	if (src->type != PMEM2_SOURCE_FD) {
		ERR("mcsafe reads and writes need a file descriptor source");
		return PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED;
	}
	size_t fsize;
	int ret = pmem2_source_size(src, &fsize);
	if (ret)
		return ret;
	if (offset > fsize || size > fsize - offset) {
		ERR("range %zu + %zu is beyond the source size %zu", offset,
			size, fsize);
		return PMEM2_E_LENGTH_OUT_OF_RANGE;
	}
	return 0;
}

/* pread/pwrite until done; EIO (poison) becomes IO_FAIL. */
static int
file_io(int fd, void *buf, size_t size, size_t offset, int write)
{
	char *b = buf;
	while (size) {
		ssize_t n = write ? pwrite(fd, b, size, (off_t)offset) :
			pread(fd, b, size, (off_t)offset);
		if (n < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			ERR_ERRNO(e, "%s(fd %d, %zu bytes at %zu)",
				write ? "pwrite" : "pread", fd, size, offset);
			if (e == EIO)
				return PMEM2_E_IO_FAIL;
			return e ? -e : -EINVAL;
		}
		if (n == 0)
			break;	/* end of file: nothing more to transfer */
		b += n;
		size -= (size_t)n;
		offset += (size_t)n;
	}
	return 0;
}

/*
 * SIGBUS handling, shared by all threads: the handler is installed while at
 * least one device DAX copy runs. A thread in such a copy jumps back to it;
 * any other SIGBUS goes to whatever handled it before.
 */
static pthread_mutex_t Sigbus_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned Sigbus_users;
static struct sigaction Sigbus_old;
static __thread sigjmp_buf *Sigbus_jmp;

static void
sigbus_handler(int sig, siginfo_t *info, void *uctx)
{
	sigjmp_buf *jb = Sigbus_jmp;
	if (jb)
		siglongjmp(*jb, 1);

	/* not ours: behave as the previous disposition would */
	if (Sigbus_old.sa_flags & SA_SIGINFO) {
		if (Sigbus_old.sa_sigaction) {
			Sigbus_old.sa_sigaction(sig, info, uctx);
			return;
		}
	} else if (Sigbus_old.sa_handler != SIG_DFL &&
			Sigbus_old.sa_handler != SIG_IGN) {
		Sigbus_old.sa_handler(sig);
		return;
	}
	/* default action: restore it and let the fault happen again */
	signal(sig, SIG_DFL);
}

static int
sigbus_get(void)
{
	int ret = 0;
	pthread_mutex_lock(&Sigbus_lock);
	if (Sigbus_users == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sigbus_handler;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, &Sigbus_old) != 0) {
			int e = errno;
			ERR_ERRNO(e, "sigaction(SIGBUS)");
			ret = e ? -e : -EINVAL;
		}
	}
	if (ret == 0)
		Sigbus_users++;
	pthread_mutex_unlock(&Sigbus_lock);
	return ret;
}

static int
sigbus_put(void)
{
	int ret = 0;
	pthread_mutex_lock(&Sigbus_lock);
	if (--Sigbus_users == 0) {
		if (sigaction(SIGBUS, &Sigbus_old, NULL) != 0) {
			int e = errno;
			ERR_ERRNO(e, "sigaction(SIGBUS) restore");
			ret = e ? -e : -EINVAL;
		}
	}
	pthread_mutex_unlock(&Sigbus_lock);
	return ret;
}

/*
 * Runs copy(dst, src, n, 0) so that a SIGBUS raised by it (poisoned
 * memory, or pages that no longer exist) returns PMEM2_E_IO_FAIL.
 */
int
pmem2_mcsafe_copy(void *dst, const void *src, size_t n, pmem2_memcpy_fn copy)
{
	int ret = sigbus_get();
	if (ret)
		return ret;

	sigjmp_buf jb;
	if (sigsetjmp(jb, 1) == 0) {
		Sigbus_jmp = &jb;
		copy(dst, src, n, 0);
		Sigbus_jmp = NULL;
	} else {
		Sigbus_jmp = NULL;
		ERR("a media error (SIGBUS) hit the copy of %zu bytes from %p to %p",
			n, src, dst);
		ret = PMEM2_E_IO_FAIL;
	}

	int r = sigbus_put();
	return ret ? ret : r;
}

static int
devdax_io(struct pmem2_source *src, void *buf, size_t size, size_t offset,
	int write)
{
	if (size == 0)
		return 0;

	size_t align;
	int ret = pmem2_source_alignment(src, &align);
	if (ret)
		return ret;
	size_t map_off = PMEM2_ALIGN_DOWN(offset, align);
	size_t map_len = PMEM2_ALIGN_UP(offset + size, align) - map_off;

	struct pmem2_config *cfg;
	ret = pmem2_config_new(&cfg);
	if (ret)
		return ret;
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_offset(cfg, map_off);
	pmem2_config_set_length(cfg, map_len);
	struct pmem2_map *map;
	ret = pmem2_map_new(&map, cfg, src);
	pmem2_config_delete(&cfg);
	if (ret)
		return ret;

	char *p = (char *)pmem2_map_get_address(map) + (offset - map_off);
	pmem2_memcpy_fn copy = pmem2_get_memcpy_fn(map);
	if (write)
		ret = pmem2_mcsafe_copy(p, buf, size, copy);
	else
		ret = pmem2_mcsafe_copy(buf, p, size, copy);
	if (ret == PMEM2_E_IO_FAIL)
		ERR("a media error (SIGBUS) hit the %s of %zu bytes at offset %zu",
			write ? "write" : "read", size, offset);

	pmem2_map_delete(&map);
	return ret;
}

int
pmem2_source_pread_mcsafe(struct pmem2_source *src, void *buf, size_t size,
	size_t offset)
{
	int ret = check_range(src, size, offset);
	if (ret)
		return ret;
	if (src->value.ftype == PMEM2_FTYPE_DEVDAX)
		return devdax_io(src, buf, size, offset, 0);
	return file_io(src->value.fd, buf, size, offset, 0);
}

int
pmem2_source_pwrite_mcsafe(struct pmem2_source *src, void *buf, size_t size,
	size_t offset)
{
	int ret = check_range(src, size, offset);
	if (ret)
		return ret;
	if (src->value.ftype == PMEM2_FTYPE_DEVDAX)
		return devdax_io(src, buf, size, offset, 1);
	return file_io(src->value.fd, buf, size, offset, 1);
}
