/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * file.c -- the mapped files behind PAGE maps, and the descriptors the
 * syncer and the file writes use, shared by every map of one file.
 *
 * A map holds no descriptor: pmem2_map_new only notes which file it maps
 * (device and inode) and how to reach it again (the application's
 * descriptor number and the file's path at map time). Maps of one file
 * share one struct pmem2_file. The first asynchronous operation that needs
 * a descriptor opens the file anew, through the first of these that still
 * leads to the same device and inode:
 *   - /proc/self/fd/N, N the application's descriptor at map time (it may
 *     have been closed, or now name another file: the inode check says);
 *   - the path the file had at map time;
 *   - /proc/self/map_files/ of the map's pages (needs privileges).
 * When none does (too many open files, a renamed file, no /proc), the maps
 * of the file fall back to stores through the mapping and msync of the
 * pages, which is durable too, only slower.
 *
 * Opened anew, never dup'ed: the kernel reports a write-back error once per
 * open file, so a dup would share that report with the application. The
 * descriptors are a bounded cache: past the cap, the least recently used
 * one nobody is using is closed, and reopened when needed again. The
 * write-back error a file's syncs saw stays with the file (and its maps)
 * across such a reopen.
 *
 * Whether a cached descriptor still is ours: the application may close it
 * behind our back (close_range, a buggy close) and the number may name
 * another file by the next use, which must never be written or synced. We
 * only ever use our descriptors with positional I/O (pwrite, fdatasync,
 * io_uring), so their file position is ours to use as a mark: at open it
 * is set to a random offset (struct pmem2_file's pos_mark), and one
 * lseek(fd, 0, SEEK_CUR) tells whether the number still names that open
 * file, without asking the filesystem anything. A stat of the inode would
 * say whether it is the same file, but it costs far more than the call:
 * a stat that asks for the change time makes the kernel (multigrain
 * timestamps) give the next write a fine-grained time, i.e. update and
 * dirty the inode on every write that follows a check. The mark is also
 * stricter than the inode: a descriptor of the same file the application
 * opened (maybe with O_APPEND, which would send a pwrite to the end of the
 * file) does not pass for ours.
 *
 * The application could change the mark only through a number it should
 * not use (ours, found by scanning its descriptors): the check then fails,
 * we forget the number (it is the application's now: never closed) and
 * open the file again. Only a descriptor seeked to our random offset by
 * design could pass for ours. A fork child shares the positions with the
 * parent, but it closes its copies before using any (file_fork_child), and
 * neither process moves a position after the open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "map.h"
#include "errors.h"
#include "async_impl.h"

#define NBUCKETS 1024u
#define FD_CAP_MAX 64u
#define FD_CAP_MIN 4u
/* out of descriptors: operations meanwhile use the fallback, untried */
#define RETRY_NS 100000000LL

static pthread_mutex_t Files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pmem2_file *Buckets[NBUCKETS];
/* files with an open descriptor, most recently used first */
static struct pmem2_file *Lru_head, *Lru_tail;
static unsigned Nopen;
static unsigned Fd_cap;

static unsigned
bucket(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev;
	return (unsigned)(h >> 32) % NBUCKETS;
}

/* A few descriptors, never more than a sixteenth of the process's limit. */
static unsigned
fd_cap(void)
{
	if (Fd_cap == 0) {
		struct rlimit rl;
		unsigned cap = FD_CAP_MAX;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
				rl.rlim_cur != RLIM_INFINITY &&
				rl.rlim_cur / 16 < cap)
			cap = (unsigned)(rl.rlim_cur / 16);
		Fd_cap = cap < FD_CAP_MIN ? FD_CAP_MIN : cap;
	}
	return Fd_cap;
}

struct pmem2_file *
pmem2_file_ref(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		ERR_ERRNO(e, "cannot stat the mapped file");
		return NULL;
	}
	pthread_mutex_lock(&Files_lock);
	unsigned b = bucket(st.st_dev, st.st_ino);
	struct pmem2_file *f;
	for (f = Buckets[b]; f != NULL; f = f->hnext)
		if (f->dev == st.st_dev && f->ino == st.st_ino)
			break;
	if (f == NULL) {
		f = calloc(1, sizeof(*f));
		if (f == NULL) {
			pthread_mutex_unlock(&Files_lock);
			ERR_ERRNO(ENOMEM, "cannot allocate the mapped file's state");
			return NULL;
		}
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		f->fd = -1;
		/* the path is only a way back to the file: none is fine */
		char link[64], path[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, path, sizeof(path) - 1);
		if (n > 0 && path[0] == '/') {
			path[n] = '\0';
			f->path = strdup(path);
			if (f->path == NULL) {
				free(f);
				pthread_mutex_unlock(&Files_lock);
				ERR_ERRNO(ENOMEM, "cannot allocate the mapped file's state");
				return NULL;
			}
		}
		f->hnext = Buckets[b];
		Buckets[b] = f;
	}
	f->refs++;
	pthread_mutex_unlock(&Files_lock);
	return f;
}

static void
lru_unlink(struct pmem2_file *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		Lru_head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		Lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void
lru_push(struct pmem2_file *f)
{
	f->lru_prev = NULL;
	f->lru_next = Lru_head;
	if (Lru_head)
		Lru_head->lru_prev = f;
	else
		Lru_tail = f;
	Lru_head = f;
}

static int fd_ours(const struct pmem2_file *f, int fd);
static int is_file(const struct pmem2_file *f, int fd);

/*
 * Closes f's descriptor. With Files_lock held; nobody may be using it.
 * A number that no longer names f (the application closed it behind our
 * back, and reused it) is the application's now: it is only forgotten.
 */
static void
fd_close(struct pmem2_file *f)
{
	lru_unlink(f);
	if (fd_ours(f, f->fd))
		close(f->fd);
	f->fd = -1;
	f->fd_rdwr = 0;
	Nopen--;
}

/* Closes the least recently used descriptor nobody uses; 0: none. */
static int
evict_one(void)
{
	for (struct pmem2_file *f = Lru_tail; f != NULL; f = f->lru_prev) {
		if (f->pins == 0) {
			fd_close(f);
			return 1;
		}
	}
	return 0;
}

void
pmem2_file_unref(struct pmem2_file *f)
{
	pthread_mutex_lock(&Files_lock);
	if (--f->refs != 0) {
		pthread_mutex_unlock(&Files_lock);
		return;
	}
	struct pmem2_file **pp = &Buckets[bucket(f->dev, f->ino)];
	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	if (f->fd >= 0)
		fd_close(f);
	pthread_mutex_unlock(&Files_lock);
	free(f->path);
	free(f);
}

/*
 * The fields want of fd's file, and nothing more: a stat that asks for the
 * change time would make the next write update the inode (see the top of
 * the file). Kernels before statx (4.11) predate multigrain timestamps, so
 * fstat() fills the same fields there. 0, or -1 (a field missing too).
 */
static int
fd_stat(int fd, unsigned want, struct statx *sx)
{
	if (statx(fd, "", AT_EMPTY_PATH, want, sx) == 0)
		return (sx->stx_mask & want) == want ? 0 : -1;
	struct stat st;
	if (errno != ENOSYS || fstat(fd, &st) != 0)
		return -1;
	sx->stx_mode = (uint16_t)st.st_mode;
	sx->stx_ino = (uint64_t)st.st_ino;
	sx->stx_size = (uint64_t)st.st_size;
	sx->stx_dev_major = major(st.st_dev);
	sx->stx_dev_minor = minor(st.st_dev);
	return 0;
}

/*
 * Whether fd is a descriptor of f's file (the check of a descriptor
 * without a mark, which runs on every use).
 */
static int
is_file(const struct pmem2_file *f, int fd)
{
	struct statx sx;
	return fd_stat(fd, STATX_TYPE | STATX_INO, &sx) == 0 &&
		makedev(sx.stx_dev_major, sx.stx_dev_minor) == f->dev &&
		sx.stx_ino == (uint64_t)f->ino && S_ISREG(sx.stx_mode);
}

/*
 * Marks a descriptor just opened (see the top of the file): its position
 * goes to a random offset in [8, 16) GiB, past most files' ends but within
 * the largest offset of common filesystems (ext4 without extents and with
 * 1 KiB blocks: 16 GiB), else in [1, 2) GiB (FAT: 4 GiB). The offset is
 * random, not a constant, so that no descriptor of the application's is at
 * it by chance. -1: no mark could be set (a filesystem that refuses both
 * seeks); the inode is checked instead.
 */
static long long
fd_mark(int fd)
{
	static const long long range[2][2] = {
		{ 1LL << 33, (1LL << 33) - 1 },
		{ 1LL << 30, (1LL << 30) - 1 },
	};
	uint64_t r;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = ((uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull) ^
			((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_sec ^
			(uint64_t)(uintptr_t)&r;
	}
	for (int k = 0; k < 2; k++) {
		long long want = range[k][0] +
			(long long)(r & (uint64_t)range[k][1]);
		if ((long long)(off_t)want != want)
			continue;	/* a 32-bit off_t */
		if (lseek(fd, (off_t)want, SEEK_SET) == (off_t)want)
			return want;
	}
	return -1;
}

/*
 * Whether fd is the descriptor we opened for f (fd == f->fd): the mark,
 * or the inode where there is no mark. No lock needed: the caller holds a
 * pin, so f->fd and its mark stay (a caller whose number f forgot meanwhile
 * may read a newer mark: it fails the check, which is safe).
 */
static int
fd_ours(const struct pmem2_file *f, int fd)
{
	long long mark = __atomic_load_n(&f->pos_mark, __ATOMIC_RELAXED);
	if (mark >= 0)
		return lseek(fd, 0, SEEK_CUR) == (off_t)mark;
	return is_file(f, fd);
}

/*
 * Opens path and keeps it only when it is f's file. Whatever is there now
 * may be anything (the application's old descriptor number and the old
 * path are reused freely): it is looked at through O_PATH first, which
 * opens no device and no FIFO, and then opened non-blocking, without
 * becoming a controlling terminal, in case it was swapped in between. A
 * blocking open of a FIFO would hang here with the file table locked.
 */
static int
open_check(const struct pmem2_file *f, const char *path, int flags)
{
	int pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -1;
	int same = is_file(f, pfd);
	close(pfd);
	if (!same) {
		errno = ESTALE;
		return -1;
	}
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (!is_file(f, fd)) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

/* The map_files entry of the VMA that holds addr (it may be merged). */
static int
open_map_files(const struct pmem2_file *f, const void *addr, int flags)
{
	char path[96];
	FILE *m = fopen("/proc/self/maps", "re");
	if (m == NULL)
		return -1;
	uintptr_t a = (uintptr_t)addr;
	unsigned long lo, hi;
	int fd = -1;
	char line[512];
	while (fgets(line, sizeof(line), m) != NULL) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (a < lo || a >= hi)
			continue;
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
			lo, hi);
		fd = open_check(f, path, flags);
		break;
	}
	fclose(m);
	return fd;
}

/* Tries every way to f through the map; -1 when none works. */
static int
open_file(const struct pmem2_file *f, const struct pmem2_file_way *way,
	int flags)
{
	int fd = -1;
	if (way->src_fd >= 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", way->src_fd);
		fd = open_check(f, path, flags);
	}
	if (fd < 0 && f->path != NULL)
		fd = open_check(f, f->path, flags);
	if (fd < 0 && way->addr != NULL)
		fd = open_map_files(f, way->addr, flags);
	return fd;
}

static long long
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int
pmem2_file_pin(struct pmem2_file *f, struct pmem2_file_way *way,
	int want_write, int *rdwr)
{
	pthread_mutex_lock(&Files_lock);
	if (f->fd < 0 && !way->dead &&
			(f->retry_ns == 0 || mono_ns() >= f->retry_ns)) {
		f->retry_ns = 0;
		unsigned cap = fd_cap();
		while (Nopen >= cap && evict_one())
			;
		if (Nopen < cap) {
			int fd = -1;
			/* read-write only for writes through the file */
			if (want_write)
				fd = open_file(f, way, O_RDWR);
			if (fd < 0)
				fd = open_file(f, way, O_RDONLY);
			if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
					evict_one()) {
				fd = open_file(f, way, O_RDONLY);
			}
			if (fd >= 0) {
				__atomic_store_n(&f->pos_mark, fd_mark(fd),
					__ATOMIC_RELAXED);
				f->fd = fd;
				f->fd_rdwr = want_write &&
					(fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
				Nopen++;
				lru_push(f);
			} else if (errno != EMFILE && errno != ENFILE) {
				/* no way of this map leads there: don't retry */
				way->dead = 1;
			} else {
				f->retry_ns = mono_ns() + RETRY_NS;
			}
		}
	}
	int fd = f->fd;
	if (fd >= 0) {
		f->pins++;
		if (Lru_head != f) {
			lru_unlink(f);
			lru_push(f);
		}
		if (rdwr)
			*rdwr = f->fd_rdwr;
	}
	pthread_mutex_unlock(&Files_lock);
	return fd;
}

int
pmem2_file_check(struct pmem2_file *f, int fd, unsigned long long *size)
{
	struct statx sx;
	if (fd_ours(f, fd)) {
		if (size == NULL)
			return 1;
		if (fd_stat(fd, STATX_SIZE, &sx) != 0)
			return 0;
		*size = sx.stx_size;
		return 1;
	}
	/* not f's any more: forget the number, never close it (see fd_close) */
	pthread_mutex_lock(&Files_lock);
	if (f->fd == fd) {
		lru_unlink(f);
		f->fd = -1;
		f->fd_rdwr = 0;
		Nopen--;
	}
	pthread_mutex_unlock(&Files_lock);
	return 0;
}

void
pmem2_file_unpin(struct pmem2_file *f)
{
	pthread_mutex_lock(&Files_lock);
	f->pins--;
	pthread_mutex_unlock(&Files_lock);
}

/* fork(): the child's copy of the table must be consistent. */
void
pmem2_file_fork_prepare(void)
{
	pthread_mutex_lock(&Files_lock);
}

void
pmem2_file_fork_parent(void)
{
	pthread_mutex_unlock(&Files_lock);
}

/*
 * The child's descriptors are copies of the parent's, the same open files:
 * the kernel's one report of a write-back error would go to whichever
 * process synced first, and the other would see success. The child closes
 * its copies (the parent's stay open) and opens the files anew when it
 * next needs them, through the same checked ways. Only the forking thread
 * is in the child, and it holds no pin: the parent's pins are not the
 * child's. A file's recorded error (f->err) stays.
 */
void
pmem2_file_fork_child(void)
{
	for (unsigned b = 0; b < NBUCKETS; b++)
		for (struct pmem2_file *f = Buckets[b]; f; f = f->hnext)
			f->pins = 0;
	while (Lru_head != NULL)
		fd_close(Lru_head);
	pthread_mutex_unlock(&Files_lock);
}
