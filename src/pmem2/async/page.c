/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * page.c -- PAGE-granularity maps: the durability backend that hands
 * written ranges to the process's syncer (syncer.c), and the default
 * mover's writes through the file.
 *
 * A PAGE map of a file notes at map time which file it is (file.c) and its
 * file offset; it opens nothing and starts nothing. Its durability step is
 * a request to the syncer: the future reports RUNNING with the caller's
 * waker until a write-back that started after the bytes were written has
 * finished. A mover other than the default one announces its request when
 * it starts writing, so that a gathering batch waits for it (group commit).
 * The table at the end (pmem2_dur_page) is all that async.c and wrap.c
 * see of this: map_init/map_quiesce/map_fini per map, begin (the syncer
 * runs) and write (through the file) per operation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>

#define PMEM2_USE_MINIASYNC 1
#include "libpmem2.h"
#include "map.h"
#include "memops.h"
#include "errors.h"
#include "common/check_hooks.h"
#include "common/env.h"
#include "async_impl.h"

/*
 * Writes through the file on PAGE maps.
 *
 * A store through the mapping to a page the last sync cleaned takes a write
 * fault (the kernel write-protects pages when it writes them back), and the
 * next sync must write-protect the page again, which flushes the TLB of
 * every CPU the process runs on. pwrite() puts the same bytes into the same
 * page cache pages without either. The map
 * shows the new bytes at once (one page cache), and the syncer writes them
 * back like any other dirty page. A full filesystem becomes an error result
 * instead of the SIGBUS a store into a hole would raise.
 */

/*
 * Whether a write ending at file offset end stays below RLIMIT_FSIZE. The
 * limit may be lowered at any time after the map was made (setrlimit,
 * prlimit from outside), and a pwrite that reaches it raises SIGXFSZ,
 * which kills the process by default; a store through the mapping does
 * not. So it is asked for on every write, not only at map time.
 */
static int
below_fsize_limit(unsigned long long end)
{
	struct rlimit rl;
	return getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
		(rl.rlim_cur == RLIM_INFINITY || end <= rl.rlim_cur);
}

/*
 * Whether a write through our descriptor may reach file offset end, with
 * size the file's size (pmem2_file_check): inside the file and below
 * RLIMIT_FSIZE. A file truncated under the map: a pwrite past the end
 * would grow the file again, with a hole, where the map has no pages any
 * more; stores take SIGBUS there instead, like any other mover's and like
 * the map's memcpy function. The size is asked for on every write, not
 * cached: a truncation leaves no cheaper sign, and file.c's check asks for
 * nothing that makes the write dearer.
 */
static int
file_range_ok(unsigned long long end, unsigned long long size)
{
	return end <= size && below_fsize_limit(end);
}

/*
 * Whether op is written through the file: a copy or fill (never a flush)
 * of a PAGE map whose file can be written through, on a descriptor of the
 * file (*fd, pinned: give it back with pmem2_file_unpin) at file offset
 * *off. 0: stores through the mapping instead.
 */
static int
file_write_begin(struct pmem2_async *as, const struct vdm_operation *op,
	int *fd, long long *off)
{
	if (!as->pwrite_ok || op_length(op) == 0 ||
			op->type == VDM_OPERATION_FLUSH)
		return 0;
	/* pwrite copies forwards, in pieces: overlap needs memmove */
	if (op->type == VDM_OPERATION_MEMMOVE &&
			ranges_overlap(op->data.memmove.dest,
				op->data.memmove.src, op->data.memmove.n))
		return 0;
	int rdwr = 0;
	int d = pmem2_file_pin(as->file, &as->way, 1, &rdwr);
	if (d < 0)
		return 0;
	if (!rdwr) {
		pmem2_file_unpin(as->file);
		return 0;
	}
	/* the destination is inside the map (op_dest_inside) */
	long long o = (long long)pmem2_async_file_off(as, op_dest(op));
	unsigned long long size;
	if (!pmem2_file_check(as->file, d, &size) ||
			!file_range_ok((unsigned long long)o + op_length(op),
				size)) {
		pmem2_file_unpin(as->file);
		return 0;
	}
	*fd = d;
	*off = o;
	return 1;
}

/* Errors a store through the mapping would turn into SIGBUS. */
static int
file_write_fatal(int err)
{
	return err == EIO || err == ENOSPC || err == EDQUOT;
}

#ifndef RWF_NOAPPEND
#define RWF_NOAPPEND 0x00000020	/* Linux 6.9 */
#endif

/* The kernel takes RWF_NOAPPEND (until a write says it does not). */
static int Noappend_known = 1;

/*
 * One pwritev at off that never goes to the end of the file. O_APPEND can
 * be set on our descriptor by fcntl(F_SETFL) without moving the position
 * file.c knows it by, and a pwrite on an O_APPEND descriptor ignores its
 * offset (Linux): the bytes would land at the end of the file and grow it.
 * RWF_NOAPPEND makes the write ignore the flag; a kernel before 6.9
 * refuses it (EOPNOTSUPP), and then the flags are looked at before each
 * write instead (one more system call): O_APPEND set, stores.
 */
static ssize_t
write_at(int fd, const struct iovec *iov, int n, off_t off)
{
	if (__atomic_load_n(&Noappend_known, __ATOMIC_RELAXED)) {
		ssize_t r = pwritev2(fd, iov, n, off, RWF_NOAPPEND);
		if (r >= 0 || errno != EOPNOTSUPP)
			return r;
		__atomic_store_n(&Noappend_known, 0, __ATOMIC_RELAXED);
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_APPEND)) {
		errno = EINVAL;		/* not fatal: stores */
		return -1;
	}
	return pwritev(fd, iov, n, off);
}

/*
 * Writes op's bytes with pwritev2 (write_at) to fd at file offset off (from
 * file_write_begin). Another error than those of
 * file_write_fatal() (EFAULT from a bad source, say) leaves the rest to the
 * stores the mapping would have taken anyway.
 */
static enum vdm_operation_result
file_write(struct pmem2_async *as, const struct vdm_operation *op,
	int fd, long long off, unsigned pflags)
{
	char *dest = op_dest(op);
	size_t len = op_length(op);
	const char *src = op->type == VDM_OPERATION_MEMCPY ?
		op->data.memcpy.src : op->data.memmove.src;
	size_t done = 0;

	/* memset: one page of the byte, repeated by the iovec */
	enum { FILL = 4096, NIOV = 64 };
	char fill[FILL];
	struct iovec iov[NIOV];
	if (op->type == VDM_OPERATION_MEMSET)
		memset(fill, op->data.memset.c, sizeof(fill));

	while (done < len) {
		size_t left = len - done;
		ssize_t r;
		if (op->type == VDM_OPERATION_MEMSET) {
			int n = 0;
			for (size_t k = 0; n < NIOV && k < left; n++) {
				iov[n].iov_base = fill;
				iov[n].iov_len = left - k < FILL ? left - k : FILL;
				k += iov[n].iov_len;
			}
			r = write_at(fd, iov, n, (off_t)(off + done));
		} else {
			iov[0].iov_base = (void *)(src + done);
			iov[0].iov_len = left < (size_t)INT_MAX ?
				left : (size_t)INT_MAX;
			r = write_at(fd, iov, 1, (off_t)(off + done));
		}
		if (r > 0) {
			/*
			 * Checked after every call (file_write_begin checked
			 * before the first): the application may have put
			 * another file at our number meanwhile (close_range
			 * and an open, dup2), and then this call's bytes may be
			 * in that file, not in ours. They are stored through
			 * the mapping again, with the rest, so that the map's
			 * file gets them (the other file is not ours to mend:
			 * pmem2_async(7), BUGS). Before a further call, the
			 * range too (file_range_ok), as file_write_begin did.
			 */
			size_t next = len - done - (size_t)r;
			unsigned long long size = 0;
			if (!pmem2_file_check(as->file, fd,
					next ? &size : NULL))
				break;
			done += (size_t)r;
			size_t chunk = op->type == VDM_OPERATION_MEMSET ?
				(size_t)FILL * NIOV : (size_t)INT_MAX;
			if (next && !file_range_ok((unsigned long long)off +
					done + (chunk < next ? chunk : next), size))
				break;
			continue;
		}
		int err = r == 0 ? EIO : errno;
		if (err == EINTR)
			continue;
		if (file_write_fatal(err)) {
			persist_note_store(dest, done);
			ERR_ERRNO(err, "writing [%p, +%zu) to the file failed",
				(void *)dest, len);
			return VDM_ERROR_IO;
		}
		break;
	}
	persist_note_store(dest, done);
	if (done < len) {
		unsigned f = pflags | PMEM2_F_MEM_NOFLUSH;
		const struct pmem2_ops *ops = as->ops;
		if (op->type == VDM_OPERATION_MEMSET)
			ops->memset(dest + done, op->data.memset.c, len - done, f);
		else
			ops->memcpy(dest + done, src + done, len - done, f);
	}
	return VDM_SUCCESS;
}

int
pmem2_page_write(struct wop *w, const struct vdm_operation *op)
{
	struct pmem2_async *as = w->as;
	int fd;
	long long off;
	if (!file_write_begin(as, op, &fd, &off))
		return 0;
	w->result = file_write(as, op, fd, off, w->pflags);
	pmem2_file_unpin(as->file);
	return 1;
}

/* ---- the durability backend ---- */

static void
page_prepare(struct wop *w)
{
	pmem2_syncer_announce(&w->req);
}

static enum future_state
page_start(struct wop *w, void *dest, size_t len, struct future_notifier *n)
{
	pmem2_syncer_submit(w->as, &w->req, dest, len, n);
	/*
	 * Not polled in this same step: a poll tells the syncer that the
	 * poller has come back, i.e. has issued its whole batch, and ends
	 * the gathering.
	 */
	return FUTURE_STATE_RUNNING;
}

static enum future_state
page_poll(struct wop *w, const struct vdm_operation *op,
	struct future_notifier *n)
{
	if (!pmem2_syncer_poll(&w->req, n))
		return FUTURE_STATE_RUNNING;
	if (w->req.err) {
		w->result = VDM_ERROR_IO;
		if (w->req.earlier)
			ERR_ERRNO(-w->req.err,
				"[%p, +%zu) is not known to be durable: an earlier write-back of the map failed",
				op_dest(op), op_length(op));
		else
			ERR_ERRNO(-w->req.err,
				"making [%p, +%zu) durable failed",
				op_dest(op), op_length(op));
	}
	return FUTURE_STATE_COMPLETE;
}

static void
page_fini(struct wop *w)
{
	/* announced, but ended before its request: no batch may wait */
	if (w->req.announced)
		pmem2_syncer_withdraw(&w->req);
}

/* ---- per-map set-up ---- */

/*
 * Whether copies of a PAGE map may be written through the file: not when
 * PMEM2_ASYNC_NO_PWRITE=1 asks for stores, not when a file size limit is
 * set (a pwrite past it raises SIGXFSZ, a store does not), and never for
 * a read-only map. The descriptor (file.c) is the file opened anew rather
 * than a dup: a dup shares the application's status flags, and O_APPEND
 * would send every pwrite to the end of the file, O_DIRECT would bypass
 * the pages the mapping shows.
 */
static int
pwrite_allowed(int writable)
{
	struct rlimit rl;
	if (!writable || env_flag("PMEM2_ASYNC_NO_PWRITE"))
		return 0;
	return getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
		rl.rlim_cur == RLIM_INFINITY;
}

/*
 * PAGE maps: what the syncer and the file writes need later. No descriptor
 * is opened and no thread started here (file.c, syncer.c: on first use).
 */
static int
page_map_init(struct pmem2_async *as, const struct pmem2_async_target *t)
{
	/* test-only fault injection, see pmem2_async(7) */
	const char *inj = env_get("PMEM2_ASYNC_TEST_SYNC_ERRNO");
	if (inj != NULL && atoi(inj) > 0) {
		const char *cnt = strchr(inj, ':');
		as->inject_errno = atoi(inj);
		as->inject_left = cnt ? atol(cnt + 1) : -1;
	}
	as->file_base = -1;
	as->way.src_fd = -1;
	as->way.addr = t->addr;
	if (t->fd < 0 || t->file_offset < 0)
		return 0;	/* no file known: msync of the pages */
	as->file = pmem2_file_ref(t->fd);
	if (as->file == NULL)
		return -ENOMEM;
	as->way.src_fd = t->fd;
	as->file_base = t->file_offset;
	as->pwrite_ok = pwrite_allowed(t->writable);
	return 0;
}


static void
page_map_fini(struct pmem2_async *as)
{
	if (as->file != NULL)
		pmem2_file_unref(as->file);
	as->file = NULL;
}

/*
 * Each wrapped future: the syncer must run before the future exists, so
 * that a thread that cannot be started is an error of the call (as a wop
 * that cannot be allocated is), not of the durability step after the
 * bytes were written. Cheap once it runs; in a fork child the first
 * operation starts the child's worker.
 */
static int
page_begin(struct pmem2_async *as)
{
	(void)as;
	return pmem2_syncer_start();
}

const struct pmem2_durability pmem2_dur_page = {
	.flags = 0,
	.map_init = page_map_init,
	.map_quiesce = pmem2_syncer_quiesce,
	.map_fini = page_map_fini,
	.begin = page_begin,
	.write = pmem2_page_write,
	.prepare = page_prepare,
	.start = page_start,
	.poll = page_poll,
	.fini = page_fini,
};
