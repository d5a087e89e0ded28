/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_source.c -- sources from file descriptors opened every way, anonymous
 * sources, their size/alignment/fd, and the mcsafe pread/pwrite.
 */
#include "helpers.h"

/* Descriptors pmem2_source_from_fd must refuse, and how. */
enum bad_fd_kind { FD_WRITE_ONLY, FD_NEGATIVE, FD_NOT_OPEN, FD_DIRECTORY };
static const struct {
	enum bad_fd_kind kind;
	const char *name;
	int want;
	const char *msg;	/* in pmem2_errormsg() ("": any, not empty) */
} Bad_fds[] = {
	{ FD_WRITE_ONLY, "write-only", PMEM2_E_INVALID_FILE_HANDLE, "" },
	{ FD_NEGATIVE, "-1", PMEM2_E_INVALID_FILE_HANDLE, "" },
	{ FD_NOT_OPEN, "not open", PMEM2_E_INVALID_FILE_HANDLE,
		"Bad file descriptor" },
	{ FD_DIRECTORY, "a directory", PMEM2_E_INVALID_FILE_TYPE, "" },
};

static int
bad_fd(enum bad_fd_kind k, const char *path)
{
	int fd = -1;
	switch (k) {
	case FD_WRITE_ONLY:
		fd = open(path, O_WRONLY);
		CHECK(fd >= 0);
		break;
	case FD_NEGATIVE:
		fd = -1;
		break;
	case FD_NOT_OPEN:
		fd = 1 << 20;
		break;
	case FD_DIRECTORY:
		fd = open(test_dir(), O_RDONLY | O_DIRECTORY);
		CHECK(fd >= 0);
		break;
	}
	return fd;
}

int
main(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *path = test_path(test_dir(), "source");
	int fd = test_file(path, 3 * pg + 17, O_RDWR);
	struct pmem2_source *src;
	size_t v;
	int gfd;

	/* read-write */
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	CHECK_PMEM2_OK(pmem2_source_size(src, &v));
	CHECK_EQ(v, 3 * pg + 17);
	CHECK_PMEM2_OK(pmem2_source_alignment(src, &v));
	CHECK_EQ(v, pg);
	CHECK_PMEM2_OK(pmem2_source_get_fd(src, &gfd));
	CHECK_EQ(gfd, fd);	/* the caller's fd, not a copy */
	/* size follows the file */
	CHECK_EQ(ftruncate(fd, (off_t)(5 * pg)), 0);
	CHECK_PMEM2_OK(pmem2_source_size(src, &v));
	CHECK_EQ(v, 5 * pg);

	/* mcsafe I/O on a regular file */
	char out[300], in[300];
	for (int i = 0; i < 300; i++)
		out[i] = (char)(i * 7);
	CHECK_PMEM2_OK(pmem2_source_pwrite_mcsafe(src, out, sizeof(out),
		pg - 100));
	memset(in, 0, sizeof(in));
	CHECK_PMEM2_OK(pmem2_source_pread_mcsafe(src, in, sizeof(in),
		pg - 100));
	CHECK_MEM(in, out, sizeof(out));
	CHECK_EQ(pread(fd, in, sizeof(in), (off_t)(pg - 100)), sizeof(in));
	CHECK_MEM(in, out, sizeof(out));
	/* right up to the end, and zero bytes at the end */
	CHECK_PMEM2_OK(pmem2_source_pwrite_mcsafe(src, out, 10, 5 * pg - 10));
	CHECK_PMEM2_OK(pmem2_source_pread_mcsafe(src, in, 0, 5 * pg));
	CHECK_PMEM2_ERR(pmem2_source_pread_mcsafe(src, in, 11, 5 * pg - 10),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	CHECK_PMEM2_ERR(pmem2_source_pread_mcsafe(src, in, 0, 5 * pg + 1),
		PMEM2_E_LENGTH_OUT_OF_RANGE);

	/* the fd closed behind the source's back */
	int dupfd = dup(fd);
	struct pmem2_source *src2;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src2, dupfd));
	close(dupfd);
	CHECK_PMEM2_ERR(pmem2_source_size(src2, &v),
		PMEM2_E_INVALID_FILE_HANDLE);
	pmem2_source_delete(&src2);

	CHECK_PMEM2_OK(pmem2_source_delete(&src));
	CHECK(src == NULL);
	CHECK_PMEM2_OK(pmem2_source_delete(&src));	/* NULL-safe */

	/* read-only is fine, write-only is not */
	int rfd = open(path, O_RDONLY);
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, rfd));
	CHECK_PMEM2_OK(pmem2_source_pread_mcsafe(src, in, 10, 0));
	pmem2_source_delete(&src);
	close(rfd);
	for (size_t i = 0; i < sizeof(Bad_fds) / sizeof(Bad_fds[0]); i++) {
		int fd = bad_fd(Bad_fds[i].kind, path);
		src = NULL;
		int r = pmem2_source_from_fd(&src, fd);
		if (r != Bad_fds[i].want)
			FAIL("%s: %d, expected %d: %s", Bad_fds[i].name, r,
				Bad_fds[i].want, pmem2_errormsg());
		CHECK(src == NULL);
		if (pmem2_errormsg()[0] == '\0')
			FAIL("%s: empty pmem2_errormsg()", Bad_fds[i].name);
		if (strstr(pmem2_errormsg(), Bad_fds[i].msg) == NULL)
			FAIL("%s: message \"%s\" lacks \"%s\"",
				Bad_fds[i].name, pmem2_errormsg(),
				Bad_fds[i].msg);
		if (fd >= 0 && fd != (1 << 20))
			close(fd);
	}

	/* anonymous */
	CHECK_PMEM2_OK(pmem2_source_from_anon(&src, 10 * pg + 1));
	CHECK_PMEM2_OK(pmem2_source_size(src, &v));
	CHECK_EQ(v, 10 * pg + 1);
	CHECK_PMEM2_OK(pmem2_source_alignment(src, &v));
	CHECK_EQ(v, pg);
	CHECK_PMEM2_ERR(pmem2_source_get_fd(src, &gfd),
		PMEM2_E_FILE_DESCRIPTOR_NOT_SET);
	CHECK_PMEM2_ERR(pmem2_source_pread_mcsafe(src, in, 1, 0),
		PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED);
	pmem2_source_delete(&src);

	test_file_remove(path, fd);
	printf("ok\n");
	return 0;
}
