/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * source.c -- pmem2_source: what gets mapped. A file descriptor (regular
 * file or device DAX) or an anonymous region of a given size.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libpmem2.h"
#include "errors.h"
#include "source.h"
#include "pmem2_utils.h"
#include "ras.h"
#include "common/cpu.h"

/* Set once at load, read-only afterwards (no race for threads to see). */
static size_t Pagesize = 4096;

/*
 * Set by the library's init: a static archive must link it with this file
 * too, for a program that only reserves address space pulls in neither
 * memops.c nor cpu.c (whose reference to it is the usual one).
 */
static void (*const Keep_init)(void) __attribute__((used)) = lib_init;

void
pmem2_pagesize_init(void)
{
	long r = sysconf(_SC_PAGESIZE);
	if (r > 0)
		Pagesize = (size_t)r;
}

size_t
pmem2_pagesize(void)
{
	return Pagesize;
}

/*
 * Classifies what fstat saw. A character device is device DAX when its
 * sysfs node's subsystem link resolves to ".../dax".
 */
int
pmem2_file_type_from_stat(const struct stat *st, enum pmem2_file_type *type)
{
	if (S_ISREG(st->st_mode)) {
		*type = PMEM2_FTYPE_REG;
		return 0;
	}
	if (S_ISDIR(st->st_mode)) {
		*type = PMEM2_FTYPE_DIR;
		return 0;
	}
	if (!S_ISCHR(st->st_mode)) {
		ERR("file type %#o is neither a regular file nor a device DAX",
			(unsigned)(st->st_mode & S_IFMT));
		return PMEM2_E_INVALID_FILE_TYPE;
	}

	char spath[PATH_MAX];
	char npath[PATH_MAX];
	snprintf(spath, sizeof(spath), "/sys/dev/char/%u:%u/subsystem",
		major(st->st_rdev), minor(st->st_rdev));
	if (realpath(spath, npath) == NULL) {
		int e = errno;
		ERR_ERRNO(e, "realpath \"%s\"", spath);
		return e ? -e : -EINVAL;
	}
	const char *base = strrchr(npath, '/');
	base = base ? base + 1 : npath;
	if (strcmp(base, "dax") != 0) {
		ERR("character device %u:%u is not a device DAX (subsystem %s)",
			major(st->st_rdev), minor(st->st_rdev), base);
		return PMEM2_E_INVALID_FILE_TYPE;
	}
	*type = PMEM2_FTYPE_DEVDAX;
	return 0;
}

int
pmem2_source_from_fd(struct pmem2_source **src, int fd)
{
	*src = NULL;

	if (fd < 0) {
		ERR("invalid file descriptor %d", fd);
		return PMEM2_E_INVALID_FILE_HANDLE;
	}

	int flags = fcntl(fd, F_GETFL);
	if (flags == -1) {
		int e = errno;
		ERR_ERRNO(e, "fcntl(%d, F_GETFL)", fd);
		if (e == EBADF)
			return PMEM2_E_INVALID_FILE_HANDLE;
		return e ? -e : -EINVAL;
	}
	if ((flags & O_ACCMODE) == O_WRONLY) {
		ERR("file descriptor %d is open write-only; mapping needs read access",
			fd);
		return PMEM2_E_INVALID_FILE_HANDLE;
	}

	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		ERR_ERRNO(e, "fstat(%d)", fd);
		if (e == EBADF)
			return PMEM2_E_INVALID_FILE_HANDLE;
		return e ? -e : -EINVAL;
	}

	enum pmem2_file_type ftype;
	int ret = pmem2_file_type_from_stat(&st, &ftype);
	if (ret)
		return ret;
	if (ftype == PMEM2_FTYPE_DIR) {
		ERR("file descriptor %d refers to a directory", fd);
		return PMEM2_E_INVALID_FILE_TYPE;
	}

	struct pmem2_source *s = calloc(1, sizeof(*s));
	if (!s) {
		ERR_ERRNO(ENOMEM, "cannot allocate a source");
		return -ENOMEM;
	}
	s->type = PMEM2_SOURCE_FD;
	s->value.fd = fd;
	s->value.ftype = ftype;
	s->value.st_rdev = st.st_rdev;
	s->value.st_dev = st.st_dev;
	*src = s;
	return 0;
}

int
pmem2_source_from_anon(struct pmem2_source **src, size_t size)
{
	*src = NULL;
	struct pmem2_source *s = calloc(1, sizeof(*s));
	if (!s) {
		ERR_ERRNO(ENOMEM, "cannot allocate a source");
		return -ENOMEM;
	}
	s->type = PMEM2_SOURCE_ANON;
	s->value.size = size;
	*src = s;
	return 0;
}

int
pmem2_source_delete(struct pmem2_source **src)
{
	free(*src);
	*src = NULL;
	return 0;
}

int
pmem2_source_get_fd(const struct pmem2_source *src, int *fd)
{
	if (src->type != PMEM2_SOURCE_FD) {
		ERR("the source is not backed by a file descriptor");
		return PMEM2_E_FILE_DESCRIPTOR_NOT_SET;
	}
	*fd = src->value.fd;
	return 0;
}

int
pmem2_source_size(const struct pmem2_source *src, size_t *size)
{
	if (src->type == PMEM2_SOURCE_ANON) {
		*size = src->value.size;
		return 0;
	}

	struct stat st;
	if (fstat(src->value.fd, &st) != 0) {
		int e = errno;
		ERR_ERRNO(e, "fstat(%d)", src->value.fd);
		if (e == EBADF)
			return PMEM2_E_INVALID_FILE_HANDLE;
		return e ? -e : -EINVAL;
	}

	switch (src->value.ftype) {
	case PMEM2_FTYPE_DEVDAX:
		return pmem2_devdax_size(src, size);
	case PMEM2_FTYPE_REG:
		if (st.st_size < 0) {
			ERR("file size %lld is negative", (long long)st.st_size);
			return PMEM2_E_INVALID_FILE_HANDLE;
		}
		*size = (size_t)st.st_size;
		return 0;
	default:
		ERR("source of an unknown file type %d", (int)src->value.ftype);
		return PMEM2_E_INVALID_FILE_TYPE;
	}
}

int
pmem2_source_alignment(const struct pmem2_source *src, size_t *alignment)
{
	size_t a;
	if (src->type == PMEM2_SOURCE_ANON) {
		a = pmem2_pagesize();
	} else {
		switch (src->value.ftype) {
		case PMEM2_FTYPE_DEVDAX: {
			int ret = pmem2_devdax_alignment(src, &a);
			if (ret)
				return ret;
			break;
		}
		case PMEM2_FTYPE_REG:
			a = pmem2_pagesize();
			break;
		default:
			ERR("source of an unknown file type %d",
				(int)src->value.ftype);
			return PMEM2_E_INVALID_FILE_TYPE;
		}
	}
	if (a == 0 || (a & (a - 1)) != 0) {
		ERR("alignment %zu reported for the source is not a power of two",
			a);
		return PMEM2_E_INVALID_ALIGNMENT_VALUE;
	}
	*alignment = a;
	return 0;
}
