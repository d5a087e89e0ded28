/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2cp -- durable copies through a pmem2 mapping of the destination.
 *
 * The destination (a regular file, created or grown to fit, or a device DAX)
 * is mapped with libpmem2 and written by pmem2_memcpy_async() futures, several
 * in flight, through the chosen mover. Every future that completes has made
 * its bytes persistent for the map's granularity; the file's size is made
 * durable with fsync() at the end. Exit status 0 means the copy is durable.
 *
 * A regular DST is replaced atomically: the data goes to a temporary file in
 * DST's directory (O_TMPFILE, else a unique name), which is made durable,
 * renamed over DST, and the directory synced. A failure or a signal removes
 * the temporary and leaves DST as it was. --in-place writes DST itself.
 *
 * Source input is read() into one buffer per in-flight copy, never mapped:
 * a source that shrinks or fails under us is then a read error, not SIGBUS.
 * A regular source's size is known up front and DST is allocated at once;
 * a stream's DST is mapped and grown a window at a time.
 */
#define _GNU_SOURCE
#define PMEM2_USE_MINIASYNC 1
#include <libminiasync.h>
#include <libpmem2.h>
#ifdef PMEM2CP_HAVE_REPLICA
#include <libpmem2rep.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Exit codes (documented in pmem2cp(1)). */
enum {
	EX_OK = 0,
	EX_FAIL = 1,	/* I/O or copy error after the copy started */
	EX_USAGE = 2,	/* bad option or argument */
	EX_SRC = 3,	/* SRC missing or unreadable */
	EX_DST = 4,	/* DST cannot be opened, created or mapped */
	EX_NOSPACE = 5,	/* DST cannot hold SRC */
	EX_GRAN = 6,	/* the required granularity is not available */
	EX_VERIFY = 7,	/* --verify found a difference */
};

#define DEFAULT_CHUNK ((size_t)4 << 20)
#define DEFAULT_DEPTH 8
#define MAX_DEPTH 4096
#define STREAM_WINDOW ((size_t)256 << 20)	/* largest DST growth step (streams) */
#define DEMO_SIZE ((size_t)256 << 20)

/*
 * Streams grow DST a window at a time: the first window holds a few chunks,
 * each next one doubles, up to STREAM_WINDOW (PMEM2CP_STREAM_WINDOW, in
 * bytes, lets tests make windows small).
 */
static size_t
stream_window_max(size_t align)
{
	size_t w = STREAM_WINDOW;
	const char *e = getenv("PMEM2CP_STREAM_WINDOW");
	if (e && *e)
		w = strtoull(e, NULL, 0);
	if (w < align)
		w = align;
	return w / align * align;
}

enum mover_kind { MOVER_DEFAULT, MOVER_SYNC, MOVER_THREADS };

struct options {
	enum mover_kind mover;
	size_t nthreads;	/* 0: data_mover_threads_default() */
	size_t depth;
	size_t chunk;
	enum pmem2_granularity gran;
	int verify;
	int quiet;
	int in_place;
	/* --replica HOST:PORT (repeatable) with --key-file: libpmem2rep */
#define MAX_REPLICAS 8
	const char *replicas[MAX_REPLICAS];
	size_t nreplicas;
	const char *key_file;
};

static const char *prog = "pmem2cp";

/* standard input was closed when we started (see guard_std_fds()) */
static int stdin_closed;

/*
 * A closed descriptor 0, 1 or 2 would be the next file we open -- DST,
 * with --in-place -- and the summary or an error would be written into it.
 * /dev/null takes their place; a closed standard input is remembered, so
 * that "-" is still refused rather than read as an empty stream.
 */
static int
guard_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n != fd) {
			if (n >= 0)
				close(n);
			return -1;
		}
		if (fd == 0)
			stdin_closed = 1;
	}
	return 0;
}

static void
errmsg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: pmem2cp [OPTION]... SRC DST\n"
"       pmem2cp --demo [OPTION]...\n"
"Copy SRC (a file, or - for standard input) into DST through a pmem2 mapping\n"
"of DST, with several asynchronous copies in flight. DST is a regular file\n"
"(created or grown to fit) or a device DAX. Exit status 0: the copy is durable.\n"
"\n"
"  --mover M          default | sync | threads[:N]   (default: default)\n"
"  --depth N          copies in flight, 1..%d        (default: %d)\n"
"  --chunk SIZE       bytes per copy, k/M/G suffixes  (default: 4M)\n"
"  --granularity G    required store granularity: page | cache_line | byte\n"
"                     (default: page)\n"
"  --verify           read DST back and compare it with SRC (before DST is\n"
"                     replaced)\n"
"  --in-place         write into DST itself instead of replacing it with a\n"
"                     complete copy (a failure or an interruption then\n"
"                     leaves DST damaged)\n"
"  --replica HOST:PORT  make the copy durable at the same offset of the file\n"
"                     pmem2-replicad serves there too (repeatable; needs\n"
"                     --key-file KEY); see libpmem2rep(7)\n"
"  -q, --quiet        no progress bar, no summary\n"
"  --demo             copy a generated 256 MiB file in a new directory under\n"
"                     ${TMPDIR:-/tmp}, verify, print the summary, remove all\n"
"  -h, --help         this help\n"
"\n"
"Exit status: 0 durable copy, 1 I/O or copy error, 2 bad usage, 3 SRC error,\n"
"4 DST error, 5 not enough space, 6 granularity not available, 7 verify failed.\n"
"On any failure, and when interrupted, an existing DST is left as it was\n"
"(unless --in-place).\n",
		MAX_DEPTH, DEFAULT_DEPTH);
}

/* "4096", "64k", "4M", "1G", "2MiB": bytes; 0 on a malformed value. */
static size_t
parse_size(const char *s)
{
	char *end;
	errno = 0;
	if (*s == '-' || *s == '\0')
		return 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	unsigned shift = 0;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return 0;
	}
	if (shift && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end != '\0')
		return 0;
	if (shift && v > (ULLONG_MAX >> shift))
		return 0;
	v <<= shift;
	if (v > SIZE_MAX)
		return 0;
	return (size_t)v;
}

static const char *
gran_name(enum pmem2_granularity g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE: return "byte";
	case PMEM2_GRANULARITY_CACHE_LINE: return "cache_line";
	case PMEM2_GRANULARITY_PAGE: return "page";
	}
	return "?";
}

static void
human(char *buf, size_t n, double bytes)
{
	static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int i = 0;
	while (bytes >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", bytes, u[i]);
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- progress bar (stderr, only on a terminal) ---- */

struct progress {
	int on;
	double start, last;
	size_t total;	/* 0: unknown (a stream) */
	size_t done;
};

static void
progress_draw(struct progress *p, int force)
{
	if (!p->on)
		return;
	double t = now();
	if (!force && t - p->last < 0.1)
		return;
	p->last = t;
	double el = t - p->start;
	double rate = el > 0 ? (double)p->done / el : 0;
	char d[32], tot[32];
	human(d, sizeof(d), (double)p->done);
	if (p->total) {
		human(tot, sizeof(tot), (double)p->total);
		int width = 24;
		int fill = (int)((double)width * (double)p->done / (double)p->total);
		char bar[32];
		for (int i = 0; i < width; i++)
			bar[i] = i < fill ? '#' : '-';
		bar[width] = '\0';
		if (p->done == 0 || rate <= 0) {
			fprintf(stderr, "\r[%s] %s / %s  -.-- GB/s  -:-- left\033[K",
				bar, d, tot);
			return;
		}
		double left = (double)(p->total - p->done) / rate;
		fprintf(stderr, "\r[%s] %s / %s  %.2f GB/s  %d:%02d left\033[K",
			bar, d, tot, rate / 1e9, (int)left / 60, (int)left % 60);
	} else {
		fprintf(stderr, "\r%s  %.2f GB/s\033[K", d, rate / 1e9);
	}
}

/* Clears the bar (once) so that what follows starts on a clean line. */
static void
progress_end(struct progress *p)
{
	if (p->on)
		fprintf(stderr, "\r\033[K");
	p->on = 0;
}

/* ---- movers ---- */

struct mover {
	enum mover_kind kind;
	struct data_mover_sync *dms;
	struct data_mover_threads *dmt;
	struct vdm *vdm;	/* NULL: the map's default mover */
	char name[32];
};

static int
mover_open(struct mover *m, const struct options *o)
{
	memset(m, 0, sizeof(*m));
	m->kind = o->mover;
	switch (o->mover) {
	case MOVER_DEFAULT:
		snprintf(m->name, sizeof(m->name), "default");
		return 0;
	case MOVER_SYNC:
		m->dms = data_mover_sync_new();
		if (!m->dms)
			break;
		m->vdm = data_mover_sync_get_vdm(m->dms);
		snprintf(m->name, sizeof(m->name), "sync");
		return 0;
	case MOVER_THREADS:
		if (o->nthreads) {
			/* a ring slot per copy in flight, rounded to a power of 2 */
			size_t ring = 64;
			while (ring < o->depth)
				ring <<= 1;
			m->dmt = data_mover_threads_new(o->nthreads, ring,
				FUTURE_NOTIFIER_WAKER);
			snprintf(m->name, sizeof(m->name), "threads:%zu",
				o->nthreads);
		} else {
			m->dmt = data_mover_threads_default();
			snprintf(m->name, sizeof(m->name), "threads");
		}
		if (!m->dmt)
			break;
		m->vdm = data_mover_threads_get_vdm(m->dmt);
		return 0;
	}
	errmsg("cannot start the %s mover: %s",
		o->mover == MOVER_SYNC ? "sync" : "threads", strerror(errno ? errno : ENOMEM));
	return -1;
}

static void
mover_close(struct mover *m)
{
	if (m->dmt)
		data_mover_threads_delete(m->dmt);
	if (m->dms)
		data_mover_sync_delete(m->dms);
	m->dmt = NULL;
	m->dms = NULL;
}

/* ---- the copy ---- */

/*
 * FNV-1a over 8-byte words, then the tail: cheap enough for --verify. The
 * stream is cut into words by its position, not by the update calls, so
 * feeding it in pieces of any size gives the hash of the whole.
 */
struct hash {
	uint64_t h;
	unsigned char part[8];	/* a word begun but not complete */
	size_t npart;
};

static void
hash_init(struct hash *s)
{
	s->h = 0xcbf29ce484222325ULL;
	s->npart = 0;
}

static uint64_t
hash_word(uint64_t h, const unsigned char *c)
{
	uint64_t w;
	memcpy(&w, c, 8);
	h = (h ^ w) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static void
hash_update(struct hash *s, const void *p, size_t n)
{
	const unsigned char *c = p;
	if (s->npart) {
		size_t k = 8 - s->npart < n ? 8 - s->npart : n;
		memcpy(s->part + s->npart, c, k);
		s->npart += k;
		c += k;
		n -= k;
		if (s->npart < 8)
			return;
		s->h = hash_word(s->h, s->part);
		s->npart = 0;
	}
	for (; n >= 8; c += 8, n -= 8)
		s->h = hash_word(s->h, c);
	memcpy(s->part, c, n);
	s->npart = n;
}

static uint64_t
hash_final(const struct hash *s)
{
	uint64_t h = s->h;
	for (size_t i = 0; i < s->npart; i++)
		h = (h ^ s->part[i]) * 0x100000001b3ULL;
	return h;
}

struct slot {
	struct vdm_operation_future fut;
	/* the same bytes at the same DST offset on each replica */
	struct vdm_operation_future rfut[MAX_REPLICAS];
	char *buf;	/* SRC is read into it, the copy starts from it */
	size_t len;
};

struct copy {
	const struct options *o;
	const char *src_path, *dst_path;

	/* source, always read() from its current offset */
	int sfd;
	int stream;		/* size unknown: DST grows window by window */
	off_t sstart;		/* regular file: where reading began */
	size_t ssize;		/* regular file: bytes to copy */
	struct hash shash;	/* stream + --verify: hash of what was read */
	int eof;
	int have_carry;		/* a byte read ahead at a window boundary */
	char carry;

	/* destination */
	int dfd;
	int created;		/* --in-place: DST did not exist before */
	off_t old_size;		/* --in-place: an existing DST's size, else -1 */
	int devdax;
	int dirfd;		/* DST's directory, synced after the rename */
	const char *target;	/* the path written: DST, or where it links */
	char tmpname[NAME_MAX + 1];	/* a named temporary, in dirfd */
	size_t dsize;		/* device DAX: its size */
	size_t align;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	char *waddr;		/* the mapped window */
	size_t woff, wlen;
	enum pmem2_granularity eff_gran;

	struct mover mv;
	struct runtime *rt;
	struct slot *slots;
#ifdef PMEM2CP_HAVE_REPLICA
	struct pmem2rep *rep[MAX_REPLICAS];
#endif
	size_t nbatch[2];	/* futures in flight per batch */
	size_t off;		/* bytes issued so far */
	size_t total;		/* bytes known complete */
	struct progress prog;
};

static size_t
round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/* Fills buf with up to len bytes from the stream; sets eof. */
static ssize_t
read_full(struct copy *c, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(c->sfd, buf + got, len - got);
		if (r == 0) {
			c->eof = 1;
			break;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Waits for every future of batch b; checks their results. */
static int
wait_batch(struct copy *c, int b)
{
	size_t n = c->nbatch[b];
	if (n == 0)
		return 0;
	size_t first = b == 0 ? 0 : (c->o->depth + 1) / 2;
	size_t nr = c->o->nreplicas;
	struct future *futs[MAX_DEPTH * (1 + MAX_REPLICAS)];
	for (size_t i = 0; i < n; i++) {
		futs[i * (1 + nr)] = FUTURE_AS_RUNNABLE(&c->slots[first + i].fut);
		for (size_t k = 0; k < nr; k++)
			futs[i * (1 + nr) + 1 + k] =
				FUTURE_AS_RUNNABLE(&c->slots[first + i].rfut[k]);
	}
	runtime_wait_multiple(c->rt, futs, n * (1 + nr));
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		struct slot *s = &c->slots[first + i];
#ifdef PMEM2CP_HAVE_REPLICA
		for (size_t k = 0; k < nr && ret == 0; k++) {
			if (FUTURE_OUTPUT(&s->rfut[k])->result == VDM_SUCCESS)
				continue;
			errmsg("copy to replica %s failed (not durable there): %s",
				c->o->replicas[k], pmem2rep_errormsg());
			ret = -1;
		}
#endif
		enum vdm_operation_result r = FUTURE_OUTPUT(&s->fut)->result;
		if (r != VDM_SUCCESS && ret == 0) {
			/*
			 * libpmem2 says why (with the errno's text) in the
			 * thread that polled the failed future: this one.
			 */
			const char *why = pmem2_errormsg();
			errmsg("copy into '%s' failed (data not durable): %s%s%s",
				c->dst_path,
				r == VDM_ERROR_OUT_OF_MEMORY ? "out of memory" :
				r == VDM_ERROR_IO ? "I/O error" :
				"the mover reported an error",
				r == VDM_ERROR_IO && why && *why ? ": " : "",
				r == VDM_ERROR_IO && why ? why : "");
			ret = -1;
		}
		c->total += s->len;
	}
	c->nbatch[b] = 0;
	c->prog.done = c->total;
	progress_draw(&c->prog, 0);
	return ret;
}

static int
wait_all(struct copy *c)
{
	int r0 = wait_batch(c, 0);
	int r1 = wait_batch(c, 1);
	return r0 || r1 ? -1 : 0;
}

static void
unmap_window(struct copy *c)
{
	if (c->map) {
		int r = pmem2_map_delete(&c->map);
		if (r)
			errmsg("unmapping '%s': %s", c->dst_path, pmem2_errormsg());
		c->map = NULL;
		c->waddr = NULL;
	}
}

/*
 * Allocates and maps DST's window [off, off + len). For a stream, a window
 * that does not fit is halved until it does (the data may still fit): only
 * when not even one page can be had is the space exhausted. A regular SRC's
 * one window is its exact size, not rounded up to a page: a file that fits
 * under a size limit is not refused. Returns an exit code.
 */
static int
map_window(struct copy *c, size_t off, size_t len)
{
	if (!c->devdax) {
		int e;
		while ((e = posix_fallocate(c->dfd, (off_t)off, (off_t)len)) != 0) {
			int nospace = e == ENOSPC || e == EFBIG || e == EDQUOT;
			if (nospace && c->stream && len > c->align) {
				len = round_up(len / 2, c->align);
				continue;
			}
			if (nospace && c->stream) {
				errmsg("not enough space for '%s': full after %zu bytes: %s",
					c->dst_path, off, strerror(e));
				return EX_NOSPACE;
			}
			if (nospace) {
				errmsg("not enough space for '%s': %zu bytes needed: %s",
					c->dst_path, c->ssize, strerror(e));
				return EX_NOSPACE;
			}
			errmsg("cannot allocate space for '%s': %s", c->dst_path,
				strerror(e));
			return EX_DST;
		}
	} else if (off + len > c->dsize) {
		errmsg("not enough space on '%s': %zu bytes needed, the device holds %zu",
			c->dst_path, off + len, c->dsize);
		return EX_NOSPACE;
	}

	struct pmem2_source *src;
	int r = pmem2_source_from_fd(&src, c->dfd);
	if (r) {
		errmsg("cannot map '%s': %s", c->dst_path, pmem2_errormsg());
		return EX_DST;
	}
	pmem2_config_set_offset(c->cfg, off);
	/* an unaligned len is a regular SRC's exact size: map to the end */
	pmem2_config_set_length(c->cfg, len % c->align ? 0 : len);
	r = pmem2_map_new(&c->map, c->cfg, src);
	pmem2_source_delete(&src);
	if (r == PMEM2_E_GRANULARITY_NOT_SUPPORTED) {
		errmsg("granularity %s not available for '%s': %s",
			gran_name(c->o->gran), c->dst_path, pmem2_errormsg());
		return EX_GRAN;
	}
	if (r) {
		errmsg("cannot map '%s': %s", c->dst_path, pmem2_errormsg());
		return EX_DST;
	}
	c->waddr = pmem2_map_get_address(c->map);
	c->woff = off;
	c->wlen = len;
	c->eff_gran = pmem2_map_get_store_granularity(c->map);
	return EX_OK;
}

/*
 * Issues the next chunk into slot s, if there is one. Returns 1 when a future
 * was started, 0 when there is nothing left (or the window is full), -1 on a
 * read error.
 */
static int
issue(struct copy *c, struct slot *s)
{
	size_t wend = c->woff + c->wlen;
	if (c->off >= wend)
		return 0;
	size_t n = c->o->chunk;
	if (n > wend - c->off)
		n = wend - c->off;
	const char *from;
	if (c->stream) {
		if (c->eof && !c->have_carry)
			return 0;
		size_t pre = 0;
		if (c->have_carry) {
			s->buf[0] = c->carry;
			c->have_carry = 0;
			pre = 1;
		}
		ssize_t r = c->eof ? 0 : read_full(c, s->buf + pre, n - pre);
		if (r < 0) {
			errmsg("reading '%s': %s", c->src_path, strerror(errno));
			return -1;
		}
		n = (size_t)r + pre;
		if (n == 0)
			return 0;
		if (c->o->verify)
			hash_update(&c->shash, s->buf, n);
	} else {
		if (c->off >= c->ssize)
			return 0;
		if (n > c->ssize - c->off)
			n = c->ssize - c->off;
		ssize_t r = read_full(c, s->buf, n);
		if (r < 0) {
			errmsg("reading '%s': %s", c->src_path, strerror(errno));
			return -1;
		}
		if ((size_t)r < n) {
			errmsg("reading '%s': it shrank during the copy (%zu of "
				"%zu bytes read)", c->src_path,
				c->off + (size_t)r, c->ssize);
			return -1;
		}
	}
	from = s->buf;
	/*
	 * Fault the destination range in with one call: far cheaper than a
	 * page fault per 4 KiB page inside the copy (half the run time on a VM).
	 * Kernels before 5.14 ignore these.
	 */
	char *to = c->waddr + (c->off - c->woff);
	madvise((void *)((uintptr_t)to & ~(uintptr_t)4095),
		n + ((uintptr_t)to & 4095), MADV_POPULATE_WRITE);
	s->len = n;
	s->fut = pmem2_memcpy_async(c->map, to, from, n, 0);
	/* the first poll starts the operation; the wait finishes it */
	future_poll(FUTURE_AS_RUNNABLE(&s->fut), NULL);
#ifdef PMEM2CP_HAVE_REPLICA
	for (size_t k = 0; k < c->o->nreplicas; k++) {
		s->rfut[k] = pmem2rep_write_async(c->rep[k], c->off, from, n, 0);
		future_poll(FUTURE_AS_RUNNABLE(&s->rfut[k]), NULL);
	}
#endif
	c->off += n;
	return 1;
}

static int
copy_loop(struct copy *c)
{
	size_t bsize[2] = {(c->o->depth + 1) / 2, c->o->depth / 2};
	size_t bfirst[2] = {0, bsize[0]};
	int cur = 0;
	for (;;) {
		/* fill batch cur while batch !cur is in flight */
		int more = 1;
		for (size_t i = 0; i < bsize[cur]; i++) {
			int r = issue(c, &c->slots[bfirst[cur] + i]);
			if (r < 0) {
				wait_all(c);
				return EX_FAIL;
			}
			if (r == 0) {
				more = 0;
				break;
			}
			c->nbatch[cur]++;
		}
		if (wait_batch(c, !cur)) {
			wait_all(c);
			return EX_FAIL;
		}
		if (!more || bsize[cur] == 0) {
			int done = c->stream ? c->eof : c->off >= c->ssize;
			if (done || c->off >= c->woff + c->wlen) {
				if (wait_all(c))
					return EX_FAIL;
				if (done)
					return EX_OK;
				/*
				 * stream: the window is full. Read one byte
				 * ahead so that a stream ending exactly here
				 * asks for no more space.
				 */
				ssize_t r = read_full(c, &c->carry, 1);
				if (r < 0) {
					errmsg("reading '%s': %s", c->src_path,
						strerror(errno));
					return EX_FAIL;
				}
				if (r == 0)
					return EX_OK;
				c->have_carry = 1;
				size_t next = c->woff + c->wlen;
				size_t len = c->wlen * 2;
				if (len > stream_window_max(c->align))
					len = stream_window_max(c->align);
				if (c->devdax) {
					if (next >= c->dsize) {
						errmsg("not enough space on '%s': "
							"the input is larger than "
							"the device (%zu bytes)",
							c->dst_path, c->dsize);
						return EX_NOSPACE;
					}
					if (len > c->dsize - next)
						len = c->dsize - next;
				}
				unmap_window(c);
				int e = map_window(c, next, len);
				if (e)
					return e;
			}
		}
		cur = !cur;
	}
}

/* Fills buf with len bytes of fd from off; returns the count (short: EOF). */
static ssize_t
pread_full(int fd, char *buf, size_t len, off_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, off + (off_t)got);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * Compares what was written (c->dfd, before it replaces DST) with SRC, read
 * again with pread(), or with the hash of the stream.
 */
static int
verify(struct copy *c)
{
	if (c->total == 0)
		return EX_OK;
	size_t mlen = c->devdax ? round_up(c->total, c->align) : c->total;
	const char *d = mmap(NULL, mlen, PROT_READ, MAP_SHARED, c->dfd, 0);
	if (d == MAP_FAILED) {
		errmsg("verify: cannot map '%s': %s", c->dst_path, strerror(errno));
		return EX_VERIFY;
	}
	madvise((void *)d, mlen, MADV_SEQUENTIAL);
	int ret = EX_OK;
	if (c->stream) {
		struct hash h;
		hash_init(&h);
		hash_update(&h, d, c->total);
		if (hash_final(&h) != hash_final(&c->shash)) {
			errmsg("verify: '%s' does not hold what was read from '%s'",
				c->dst_path, c->src_path);
			ret = EX_VERIFY;
		}
	} else {
		const size_t step = (size_t)1 << 20;
		char *buf = malloc(step);
		if (!buf) {
			errmsg("verify: out of memory");
			munmap((void *)d, mlen);
			return EX_VERIFY;
		}
		for (size_t o = 0; o < c->total; o += step) {
			size_t n = c->total - o < step ? c->total - o : step;
			ssize_t r = pread_full(c->sfd, buf, n, c->sstart + (off_t)o);
			if (r < 0 || (size_t)r < n) {
				errmsg("verify: reading '%s' again: %s", c->src_path,
					r < 0 ? strerror(errno) : "it shrank");
				ret = EX_VERIFY;
				break;
			}
			if (memcmp(d + o, buf, n) != 0) {
				size_t i = 0;
				while (d[o + i] == buf[i])
					i++;
				errmsg("verify: '%s' differs from '%s' at byte %zu",
					c->dst_path, c->src_path, o + i);
				ret = EX_VERIFY;
				break;
			}
		}
		free(buf);
	}
	munmap((void *)d, mlen);
	return ret;
}

static int
is_devdax(const struct stat *st)
{
	if (!S_ISCHR(st->st_mode))
		return 0;
	char path[PATH_MAX], real[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/subsystem",
		major(st->st_rdev), minor(st->st_rdev));
	if (!realpath(path, real))
		return 0;
	const char *b = strrchr(real, '/');
	return b && strcmp(b + 1, "dax") == 0;
}

/* ---- leaving DST as it was: temporaries, signals ---- */

/*
 * The file a catchable signal must remove: a named temporary (or, with
 * --in-place, a DST this run created). Armed only while it exists and is
 * ours. It is named relative to the directory we opened, never by its
 * path: DST's directory may have been renamed meanwhile, and another file
 * put at the old path. unlinkat() is async-signal-safe.
 */
static int cleanup_dirfd = -1;
static char cleanup_name[NAME_MAX + 1];
static volatile sig_atomic_t cleanup_armed;

static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

static void
on_fatal_signal(int sig)
{
	if (cleanup_armed)
		unlinkat(cleanup_dirfd, cleanup_name, 0);
	/* SA_RESETHAND restored the default: dies with sig once we return */
	raise(sig);
}

static void
catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++)
		sigaddset(&sa.sa_mask, fatal_signals[i]);
	for (size_t i = 0; i < NFATAL; i++) {
		struct sigaction old;
		/* a signal ignored by whoever started us stays ignored */
		if (sigaction(fatal_signals[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

static void
block_signals(int block, sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < NFATAL; i++)
		sigaddset(&set, fatal_signals[i]);
	if (block)
		pthread_sigmask(SIG_BLOCK, &set, old);
	else
		pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void
arm_cleanup(int dirfd, const char *name)
{
	cleanup_armed = 0;
	cleanup_dirfd = dirfd;
	snprintf(cleanup_name, sizeof(cleanup_name), "%s", name);
	cleanup_armed = 1;
}

static void
disarm_cleanup(void)
{
	cleanup_armed = 0;
}

/* A name for a temporary next to DST: ".<DST's name>.pmem2cp-XXXXXX". */
static void
temp_name(char *buf, size_t n, const char *base, unsigned attempt)
{
	static uint64_t x;
	if (x == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
			(uint64_t)ts.tv_sec;
	}
	x = x * 6364136223846793005ULL + 1442695040888963407ULL + attempt;
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char suf[7];
	uint64_t y = x >> 16;
	for (int i = 0; i < 6; i++, y /= 36)
		suf[i] = al[y % 36];
	suf[6] = '\0';
	/* keep the name under NAME_MAX whatever DST's is */
	snprintf(buf, n, ".%.*s.pmem2cp-%s", NAME_MAX - 20, base, suf);
}

/*
 * Creates the file the copy goes to, in DST's directory: unnamed
 * (O_TMPFILE) where the file system can, else under a fresh name.
 * PMEM2CP_NO_TMPFILE=1 (tests) skips O_TMPFILE.
 */
static int
create_temp(struct copy *c, const char *base, mode_t mode)
{
	const char *no = getenv("PMEM2CP_NO_TMPFILE");
	if (!no || strcmp(no, "1") != 0) {
		int fd = openat(c->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
			mode);
		if (fd >= 0)
			return fd;
		/* anything but "not supported here" is a real refusal */
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -1;
	}
	for (unsigned i = 0; i < 100; i++) {
		temp_name(c->tmpname, sizeof(c->tmpname), base, i);
		sigset_t old;
		block_signals(1, &old);
		int fd = openat(c->dirfd, c->tmpname,
			O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0)
			arm_cleanup(c->dirfd, c->tmpname);
		block_signals(0, &old);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			break;
	}
	c->tmpname[0] = '\0';
	return -1;
}

static void
remove_temp(struct copy *c)
{
	if (c->tmpname[0]) {
		disarm_cleanup();
		unlinkat(c->dirfd, c->tmpname, 0);
		c->tmpname[0] = '\0';
	}
}

/*
 * Puts the finished temporary in DST's place: gives an unnamed one a name,
 * renames it over DST and syncs the directory. Catchable signals wait until
 * this is over, so that they find either the old DST or the new one.
 */
static int
commit_temp(struct copy *c, const char *dir, const char *base)
{
	sigset_t old;
	block_signals(1, &old);
	int ret = EX_FAIL;
	if (!c->tmpname[0]) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", c->dfd);
		int r = -1;
		for (unsigned i = 0; i < 100; i++) {
			temp_name(c->tmpname, sizeof(c->tmpname), base, i);
			/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not */
			r = linkat(c->dfd, "", c->dirfd, c->tmpname, AT_EMPTY_PATH);
			if (r < 0 && errno != EEXIST)
				r = linkat(AT_FDCWD, proc, c->dirfd, c->tmpname,
					AT_SYMLINK_FOLLOW);
			if (r == 0 || errno != EEXIST)
				break;
		}
		if (r < 0) {
			errmsg("cannot link the copy into '%s': %s", dir,
				strerror(errno));
			c->tmpname[0] = '\0';
			goto out;
		}
		arm_cleanup(c->dirfd, c->tmpname);
	}
	if (renameat(c->dirfd, c->tmpname, c->dirfd, base) < 0) {
		errmsg("cannot replace '%s': %s", c->dst_path, strerror(errno));
		remove_temp(c);
		goto out;
	}
	disarm_cleanup();
	c->tmpname[0] = '\0';
	if (fsync(c->dirfd) < 0) {
		errmsg("'%s' is replaced, but syncing its directory '%s' failed "
			"(the new name may not be durable): %s", c->dst_path, dir,
			strerror(errno));
		goto out;
	}
	ret = EX_OK;
out:
	block_signals(0, &old);
	return ret;
}

/*
 * Opens SRC and finds what to read: a regular file from its current offset
 * (where a shell left standard input) to its end; anything else to EOF.
 */
static int
open_source(struct copy *c, struct stat *sst)
{
	const char *src_path = c->src_path;
	if (strcmp(src_path, "-") == 0) {
		c->sfd = STDIN_FILENO;
		c->src_path = "standard input";
	} else {
		c->sfd = open(src_path, O_RDONLY | O_CLOEXEC);
		if (c->sfd < 0) {
			errmsg("cannot open '%s': %s", src_path, strerror(errno));
			return EX_SRC;
		}
	}
	if (c->sfd == STDIN_FILENO && stdin_closed) {
		errmsg("cannot stat '%s': %s", c->src_path, strerror(EBADF));
		return EX_SRC;
	}
	if (fstat(c->sfd, sst) < 0) {
		errmsg("cannot stat '%s': %s", c->src_path, strerror(errno));
		return EX_SRC;
	}
	if (S_ISDIR(sst->st_mode)) {
		errmsg("'%s' is a directory", src_path);
		return EX_SRC;
	}
	/* a regular file claiming size 0 (such as /proc files) is read too */
	c->stream = !S_ISREG(sst->st_mode) || sst->st_size == 0;
	if (!c->stream) {
		off_t pos = lseek(c->sfd, 0, SEEK_CUR);
		if (pos < 0) {
			errmsg("cannot find the position in '%s': %s",
				c->src_path, strerror(errno));
			return EX_SRC;
		}
		c->sstart = pos;
		c->ssize = pos < sst->st_size ? (size_t)(sst->st_size - pos) : 0;
		posix_fadvise(c->sfd, pos, 0, POSIX_FADV_SEQUENTIAL);
	}
	return EX_OK;
}

/*
 * Finds the file DST names (following a symbolic link, as cp does) and
 * opens what the copy goes to: a temporary next to it, or, with --in-place
 * or a device DAX, DST itself. dir and base receive the target's directory
 * and name.
 */
static int
open_dest(struct copy *c, const struct stat *sst, char *dir, char *base)
{
	const char *dst_path = c->dst_path;
	static char resolved[PATH_MAX];
	struct stat st;
	c->target = dst_path;
	int existed = 0;
	size_t plen = strlen(dst_path);
	if (plen == 0 || plen >= PATH_MAX) {
		errmsg("cannot open '%s' for writing: %s", dst_path,
			strerror(plen ? ENAMETOOLONG : ENOENT));
		return EX_DST;
	}
	if (lstat(dst_path, &st) == 0) {
		existed = 1;
		if (S_ISLNK(st.st_mode)) {
			if (stat(dst_path, &st) < 0 || !realpath(dst_path, resolved)) {
				errmsg("cannot follow the symbolic link '%s': %s",
					dst_path, strerror(errno));
				return EX_DST;
			}
			c->target = resolved;
		}
	} else if (errno != ENOENT) {
		errmsg("cannot open '%s' for writing: %s", dst_path, strerror(errno));
		return EX_DST;
	}
	if (existed && st.st_dev == sst->st_dev && st.st_ino == sst->st_ino) {
		errmsg("'%s' and '%s' are the same file", c->src_path, dst_path);
		return EX_DST;
	}
	/* "name/" names a directory, never a file to create */
	if ((existed && S_ISDIR(st.st_mode)) || dst_path[plen - 1] == '/') {
		errmsg("cannot write '%s': Is a directory", dst_path);
		return EX_DST;
	}
	if (existed && S_ISCHR(st.st_mode)) {
		if (!is_devdax(&st)) {
			errmsg("'%s' is a character device but not a device DAX",
				dst_path);
			return EX_DST;
		}
		c->devdax = 1;
	} else if (existed && !S_ISREG(st.st_mode)) {
		errmsg("'%s' is neither a regular file nor a device DAX", dst_path);
		return EX_DST;
	}

	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", c->target);
	snprintf(dir, PATH_MAX, "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", c->target);
	snprintf(base, NAME_MAX + 1, "%s", basename(tmp));

	if (c->devdax) {
		/* nothing to replace: the device is written where it is */
		c->dfd = open(c->target, O_RDWR | O_CLOEXEC);
		if (c->dfd < 0) {
			errmsg("cannot open '%s' for writing: %s", dst_path,
				strerror(errno));
			return EX_DST;
		}
		return EX_OK;
	}

	/*
	 * The directory is synced after DST's name changes (a rename, or a
	 * file --in-place creates): when it cannot be opened, say so now,
	 * before anything is written, rather than skip the step.
	 */
	if (!existed || !c->o->in_place) {
		c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->dirfd < 0) {
			int e = errno;
			if (e == ENOENT || e == ENOTDIR)
				errmsg("cannot open '%s' for writing: %s", dst_path,
					strerror(e));
			else
				errmsg("cannot open the directory '%s', needed to "
					"make '%s' durable: %s", dir, dst_path,
					strerror(e));
			return EX_DST;
		}
	}

	if (c->o->in_place) {
		/*
		 * A DST that did not exist is created (in the directory we
		 * opened, so that a signal's cleanup finds it there); one that
		 * existed is only opened, and one that vanished since is an
		 * error rather than a new file in a directory we cannot sync.
		 */
		errno = EEXIST;
		if (c->dirfd >= 0) {
			sigset_t old;
			block_signals(1, &old);
			c->dfd = openat(c->dirfd, base,
				O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			int e = errno;
			if (c->dfd >= 0) {
				c->created = 1;
				arm_cleanup(c->dirfd, base);
			}
			block_signals(0, &old);
			errno = e;
		}
		if (c->dfd < 0 && errno == EEXIST)
			c->dfd = open(c->target, O_RDWR | O_CLOEXEC);
		if (c->dfd < 0) {
			errmsg("cannot open '%s' for writing: %s", dst_path,
				strerror(errno));
			return EX_DST;
		}
		struct stat dst;
		if (fstat(c->dfd, &dst) < 0 || !S_ISREG(dst.st_mode)) {
			errmsg("'%s' is no longer a regular file", dst_path);
			return EX_DST;
		}
		if (!c->created)
			c->old_size = dst.st_size;
		return EX_OK;
	}

	/* a DST we may not write stays protected, as with cp */
	if (existed && faccessat(AT_FDCWD, c->target, W_OK, AT_EACCESS) < 0) {
		errmsg("cannot open '%s' for writing: %s", dst_path, strerror(errno));
		return EX_DST;
	}
	/*
	 * In a sticky directory (/tmp) only DST's or the directory's owner
	 * may rename over DST: say so now, not after copying everything.
	 * (root, with CAP_FOWNER, may; without it the rename still says.)
	 */
	struct stat dst_dir;
	if (existed && geteuid() != 0 && fstat(c->dirfd, &dst_dir) == 0 &&
	    (dst_dir.st_mode & S_ISVTX) && st.st_uid != geteuid() &&
	    dst_dir.st_uid != geteuid()) {
		errmsg("cannot replace '%s': it belongs to another user in the "
			"sticky directory '%s' (--in-place writes into DST "
			"instead): %s", dst_path, dir, strerror(EPERM));
		return EX_DST;
	}
	c->dfd = create_temp(c, base, existed ? 0600 : 0644);
	if (c->dfd < 0 && existed) {
		/* DST itself is writable: the directory is what refuses */
		errmsg("cannot replace '%s': cannot create a file in its "
			"directory '%s' (--in-place writes into DST instead): %s",
			dst_path, dir, strerror(errno));
		return EX_DST;
	}
	if (c->dfd < 0) {
		errmsg("cannot open '%s' for writing: %s", dst_path, strerror(errno));
		return EX_DST;
	}
	if (existed) {
		/* the new DST keeps the old one's owner (when we may) and mode */
		if ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
		    fchown(c->dfd, st.st_uid, st.st_gid) < 0 && errno != EPERM) {
			errmsg("cannot give the copy the owner of '%s': %s",
				dst_path, strerror(errno));
			return EX_DST;
		}
		if (fchmod(c->dfd, st.st_mode & 07777) < 0) {
			errmsg("cannot give the copy the mode of '%s': %s",
				dst_path, strerror(errno));
			return EX_DST;
		}
	}
	return EX_OK;
}

static int
run_copy(const struct options *o, const char *src_path, const char *dst_path)
{
	struct copy c;
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.src_path = src_path;
	c.dst_path = dst_path;
	c.sfd = c.dfd = c.dirfd = -1;
	c.old_size = -1;
	hash_init(&c.shash);
	int ret = EX_FAIL;
	char dir[PATH_MAX], base[NAME_MAX + 1];

	/* SRC first: a missing SRC must not create DST */
	struct stat sst;
	ret = open_source(&c, &sst);
	if (ret)
		goto out;
	ret = open_dest(&c, &sst, dir, base);
	if (ret)
		goto out;
	ret = EX_FAIL;

	struct pmem2_source *psrc;
	if (pmem2_source_from_fd(&psrc, c.dfd)) {
		errmsg("cannot use '%s': %s", dst_path, pmem2_errormsg());
		ret = EX_DST;
		goto out;
	}
	int r = pmem2_source_alignment(psrc, &c.align);
	if (!r && c.devdax)
		r = pmem2_source_size(psrc, &c.dsize);
	pmem2_source_delete(&psrc);
	if (r) {
		errmsg("cannot use '%s': %s", dst_path, pmem2_errormsg());
		ret = EX_DST;
		goto out;
	}

	if (pmem2_config_new(&c.cfg) ||
	    pmem2_config_set_required_store_granularity(c.cfg, o->gran)) {
		errmsg("%s", pmem2_errormsg());
		goto out;
	}
	if (mover_open(&c.mv, o))
		goto out;
	if (c.mv.vdm)
		pmem2_config_set_vdm(c.cfg, c.mv.vdm);
#ifdef PMEM2CP_HAVE_REPLICA
	for (size_t k = 0; k < o->nreplicas; k++) {
		if (pmem2rep_connect(&c.rep[k], o->replicas[k], o->key_file)) {
			errmsg("replica %s: %s", o->replicas[k],
				pmem2rep_errormsg());
			goto out;
		}
		if (!c.stream && pmem2rep_size(c.rep[k]) < c.ssize) {
			errmsg("replica %s serves %zu bytes, fewer than the %zu "
				"of '%s'", o->replicas[k], pmem2rep_size(c.rep[k]),
				c.ssize, c.src_path);
			ret = EX_NOSPACE;
			goto out;
		}
	}
#endif
	c.rt = runtime_new();
	c.slots = calloc(o->depth, sizeof(*c.slots));
	if (!c.rt || !c.slots) {
		errmsg("out of memory");
		goto out;
	}
	/* a small file needs no more than its size per buffer */
	size_t bufsize = o->chunk;
	if (!c.stream && c.ssize < bufsize)
		bufsize = c.ssize;
	if (o->depth * bufsize > ((size_t)4 << 30)) {
		errmsg("--depth %zu x --chunk %zu is more than 4G of buffers "
			"for reading '%s'", o->depth, o->chunk, c.src_path);
		ret = EX_USAGE;
		goto out;
	}
	for (size_t i = 0; bufsize && i < o->depth; i++) {
		c.slots[i].buf = aligned_alloc(4096, round_up(bufsize, 4096));
		if (!c.slots[i].buf) {
			errmsg("out of memory for %zu buffers of %zu bytes",
				o->depth, bufsize);
			goto out;
		}
	}

	c.prog.on = !o->quiet && isatty(STDERR_FILENO);
	c.prog.total = c.stream ? 0 : c.ssize;
	double t0 = now();
	c.prog.start = c.prog.last = t0;
	progress_draw(&c.prog, 1);

	int have_data = c.ssize > 0;
	if (c.stream) {
		/* an empty stream maps nothing and allocates nothing */
		ssize_t r = read_full(&c, &c.carry, 1);
		if (r < 0) {
			errmsg("reading '%s': %s", c.src_path, strerror(errno));
			goto out;
		}
		c.have_carry = r == 1;
		have_data = c.have_carry;
	}
	if (have_data) {
		size_t first = c.stream ? round_up(o->chunk * 2, c.align) :
			c.devdax ? round_up(c.ssize, c.align) : c.ssize;
		if (c.stream && first > stream_window_max(c.align))
			first = stream_window_max(c.align);
		if (c.stream && c.devdax && first > c.dsize)
			first = c.dsize;
		ret = map_window(&c, 0, first);
		if (ret)
			goto out;
		ret = copy_loop(&c);
		unmap_window(&c);
		if (ret)
			goto out;
	}
	progress_draw(&c.prog, 1);	/* the full bar, however fast it went */
	progress_end(&c.prog);
	ret = EX_FAIL;

	/* the exact size, then the file's metadata, durable */
	if (!c.devdax) {
		if (ftruncate(c.dfd, (off_t)c.total) < 0) {
			errmsg("cannot set the size of '%s': %s", dst_path,
				strerror(errno));
			goto out;
		}
		if (fsync(c.dfd) < 0) {
			errmsg("cannot sync '%s': %s", dst_path, strerror(errno));
			goto out;
		}
	}
	double secs = now() - t0;

	/* checked before DST is replaced: a bad copy never takes its place */
	if (o->verify) {
		ret = verify(&c);
		if (ret)
			goto out;
	}
	if (!c.devdax && !o->in_place) {
		ret = commit_temp(&c, dir, base);
		if (ret)
			goto out;
	} else if (c.created) {
		if (fsync(c.dirfd) < 0) {
			errmsg("syncing the directory '%s' of '%s' failed "
				"(its name may not be durable): %s", dir,
				dst_path, strerror(errno));
			goto out;
		}
		disarm_cleanup();
		c.created = 0;	/* complete: keep it */
	}

	if (!o->quiet) {
		char h[32], ch[32];
		human(h, sizeof(h), (double)c.total);
		human(ch, sizeof(ch), (double)o->chunk);
		printf("pmem2cp: %zu bytes (%s) in %.3f s, %.2f GB/s, "
			"granularity %s, mover %s, depth %zu, chunk %s%s\n",
			c.total, h, secs,
			secs > 0 ? (double)c.total / secs / 1e9 : 0.0,
			c.total ? gran_name(c.eff_gran) : gran_name(o->gran),
			c.mv.name, o->depth, ch,
			o->verify ? ", verified" : "");
		fflush(stdout);
	}
	ret = EX_OK;

out:
	progress_end(&c.prog);
	unmap_window(&c);
	if (c.slots) {
		for (size_t i = 0; i < o->depth; i++)
			free(c.slots[i].buf);
		free(c.slots);
	}
	if (c.rt)
		runtime_delete(c.rt);
#ifdef PMEM2CP_HAVE_REPLICA
	for (size_t k = 0; k < o->nreplicas; k++)
		pmem2rep_disconnect(&c.rep[k]);
#endif
	mover_close(&c.mv);
	if (c.cfg)
		pmem2_config_delete(&c.cfg);
	if (c.sfd > STDIN_FILENO)
		close(c.sfd);
	/* the temporary goes; DST is as it was (an unnamed one goes by itself) */
	remove_temp(&c);
	/* --in-place: never leave a DST we created half-written */
	/*
	 * --in-place into an existing DST: posix_fallocate() may have grown it
	 * (ext4 keeps what a failed call allocated, up to a full file system).
	 * Give back what was allocated and not written: a copy refused for
	 * lack of space before it wrote anything leaves DST as it was.
	 */
	if (ret != EX_OK && c.old_size >= 0 && c.dfd >= 0) {
		off_t keep = (off_t)c.off > c.old_size ? (off_t)c.off : c.old_size;
		struct stat now_st;
		if (fstat(c.dfd, &now_st) == 0 && now_st.st_size > keep &&
		    ftruncate(c.dfd, keep) < 0)
			errmsg("cannot cut '%s' back to %jd bytes: %s", dst_path,
				(intmax_t)keep, strerror(errno));
	}
	if (ret != EX_OK && c.created) {
		disarm_cleanup();
		unlinkat(c.dirfd, base, 0);
	}
	if (c.dfd >= 0)
		close(c.dfd);
	if (c.dirfd >= 0)
		close(c.dirfd);
	return ret;
}

/* ---- --demo ---- */

static int
demo(struct options *o)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	/*
	 * A fresh directory of our own: names in a shared TMPDIR could be
	 * planted (a symbolic link to a victim) before we get to them.
	 */
	char top[PATH_MAX], src[PATH_MAX + 8], dst[PATH_MAX + 8];
	if ((size_t)snprintf(top, sizeof(top), "%s/pmem2cp-demo.XXXXXX", dir) >=
	    sizeof(top) - 16 || !mkdtemp(top)) {
		errmsg("--demo: cannot create a directory in '%s': %s", dir,
			strerror(errno ? errno : ENAMETOOLONG));
		return EX_SRC;
	}
	snprintf(src, sizeof(src), "%s/src", top);
	snprintf(dst, sizeof(dst), "%s/dst", top);

	int fd = open(src, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		0600);
	if (fd < 0) {
		errmsg("--demo: cannot create '%s': %s", src, strerror(errno));
		rmdir(top);
		return EX_SRC;
	}
	const size_t blk = (size_t)1 << 20;
	uint64_t *buf = malloc(blk);
	if (!buf) {
		close(fd);
		unlink(src);
		rmdir(top);
		errmsg("out of memory");
		return EX_FAIL;
	}
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL);
	int ret = EX_OK;
	for (size_t done = 0; done < DEMO_SIZE && ret == EX_OK; done += blk) {
		for (size_t i = 0; i < blk / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		if (write(fd, buf, blk) != (ssize_t)blk) {
			errmsg("--demo: writing '%s': %s", src,
				errno ? strerror(errno) : "short write");
			ret = EX_FAIL;
		}
	}
	free(buf);
	close(fd);
	if (ret == EX_OK) {
		if (!o->quiet)
			printf("pmem2cp --demo: durable copy of a generated %zu MiB "
				"file, %s -> %s\n", DEMO_SIZE >> 20, src, dst);
		fflush(stdout);
		o->verify = 1;
		ret = run_copy(o, src, dst);
	}
	unlink(src);
	unlink(dst);
	if (rmdir(top) < 0 && ret == EX_OK) {
		errmsg("--demo: cannot remove '%s': %s", top, strerror(errno));
		ret = EX_FAIL;
	}
	if (ret == EX_OK && !o->quiet)
		printf("pmem2cp --demo: verified, both files removed\n");
	return ret;
}

int
main(int argc, char *argv[])
{
	struct options o = {
		.mover = MOVER_DEFAULT,
		.depth = DEFAULT_DEPTH,
		.chunk = DEFAULT_CHUNK,
		.gran = PMEM2_GRANULARITY_PAGE,
	};
	int do_demo = 0;
	enum { OPT_MOVER = 256, OPT_DEPTH, OPT_CHUNK, OPT_GRAN, OPT_VERIFY, OPT_DEMO,
		OPT_IN_PLACE, OPT_REPLICA, OPT_KEY_FILE };
	static const struct option longopts[] = {
		{"mover", required_argument, NULL, OPT_MOVER},
		{"depth", required_argument, NULL, OPT_DEPTH},
		{"chunk", required_argument, NULL, OPT_CHUNK},
		{"granularity", required_argument, NULL, OPT_GRAN},
		{"verify", no_argument, NULL, OPT_VERIFY},
		{"demo", no_argument, NULL, OPT_DEMO},
		{"in-place", no_argument, NULL, OPT_IN_PLACE},
		{"replica", required_argument, NULL, OPT_REPLICA},
		{"key-file", required_argument, NULL, OPT_KEY_FILE},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	if (guard_std_fds() < 0) {
		errmsg("cannot open /dev/null for a closed standard descriptor: %s",
			strerror(errno));
		return EX_FAIL;
	}
	/* a short DST must never be "done": fail the write instead of dying */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* an interrupted copy removes its temporary before it dies */
	catch_signals();

	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_MOVER:
			if (strcmp(optarg, "default") == 0) {
				o.mover = MOVER_DEFAULT;
			} else if (strcmp(optarg, "sync") == 0) {
				o.mover = MOVER_SYNC;
			} else if (strcmp(optarg, "threads") == 0) {
				o.mover = MOVER_THREADS;
				o.nthreads = 0;
			} else if (strncmp(optarg, "threads:", 8) == 0) {
				char *end;
				errno = 0;
				unsigned long n = strtoul(optarg + 8, &end, 10);
				if (errno || *end || end == optarg + 8 || n == 0 ||
				    n > 1024 || optarg[8] == '-') {
					errmsg("bad thread count in '--mover %s' "
						"(expected threads:N, N from 1 to 1024)",
						optarg);
					return EX_USAGE;
				}
				o.mover = MOVER_THREADS;
				o.nthreads = n;
			} else {
				errmsg("unknown mover '%s' (expected default, sync "
					"or threads[:N])", optarg);
				return EX_USAGE;
			}
			break;
		case OPT_DEPTH: {
			char *end;
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || n == 0 ||
			    n > MAX_DEPTH || optarg[0] == '-') {
				errmsg("bad --depth '%s' (expected 1 to %d)", optarg,
					MAX_DEPTH);
				return EX_USAGE;
			}
			o.depth = n;
			break;
		}
		case OPT_CHUNK:
			o.chunk = parse_size(optarg);
			if (o.chunk == 0 || o.chunk > ((size_t)1 << 30)) {
				errmsg("bad --chunk '%s' (expected a size from 1 to 1G, "
					"k/M/G suffixes)", optarg);
				return EX_USAGE;
			}
			break;
		case OPT_GRAN:
			if (strcmp(optarg, "page") == 0)
				o.gran = PMEM2_GRANULARITY_PAGE;
			else if (strcmp(optarg, "cache_line") == 0 ||
				 strcmp(optarg, "cacheline") == 0)
				o.gran = PMEM2_GRANULARITY_CACHE_LINE;
			else if (strcmp(optarg, "byte") == 0)
				o.gran = PMEM2_GRANULARITY_BYTE;
			else {
				errmsg("unknown granularity '%s' (expected page, "
					"cache_line or byte)", optarg);
				return EX_USAGE;
			}
			break;
		case OPT_VERIFY:
			o.verify = 1;
			break;
		case OPT_DEMO:
			do_demo = 1;
			break;
		case OPT_IN_PLACE:
			o.in_place = 1;
			break;
		case OPT_REPLICA:
#ifndef PMEM2CP_HAVE_REPLICA
			errmsg("--replica: pmem2cp was built without libpmem2rep "
				"(libfabric)");
			return EX_USAGE;
#endif
			if (o.nreplicas == MAX_REPLICAS) {
				errmsg("at most %d --replica options", MAX_REPLICAS);
				return EX_USAGE;
			}
			o.replicas[o.nreplicas++] = optarg;
			break;
		case OPT_KEY_FILE:
			o.key_file = optarg;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case ':':
			errmsg("option '%s' needs an argument", argv[optind - 1]);
			fprintf(stderr, "Try 'pmem2cp --help'.\n");
			return EX_USAGE;
		default:
			if (optopt)
				errmsg("unknown option '-%c'", optopt);
			else
				errmsg("unknown option '%s'", argv[optind - 1]);
			fprintf(stderr, "Try 'pmem2cp --help'.\n");
			return EX_USAGE;
		}
	}
	if (o.nreplicas && !o.key_file) {
		errmsg("--replica needs --key-file");
		return EX_USAGE;
	}
	if (do_demo) {
		if (optind != argc) {
			errmsg("--demo takes no SRC or DST");
			return EX_USAGE;
		}
		return demo(&o);
	}
	if (argc - optind != 2) {
		errmsg(argc - optind < 2 ? "missing SRC or DST" :
			"too many arguments (expected SRC DST)");
		fprintf(stderr, "Try 'pmem2cp --help'.\n");
		return EX_USAGE;
	}
	return run_copy(&o, argv[optind], argv[optind + 1]);
}
