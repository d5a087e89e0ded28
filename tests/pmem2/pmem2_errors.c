/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_errors.c -- pmem2_errormsg is per thread, pmem2_perror's format and
 * pmem2_err_to_errno's translation.
 */
#include <pthread.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <libpmem2.h>
#include "test.h"

static void *
other_thread(void *arg)
{
	(void)arg;
	/* a fresh thread starts with an empty message */
	CHECK_EQ(pmem2_errormsg()[0], '\0');
	struct pmem2_config *cfg;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_ERR(pmem2_config_set_sharing(cfg, 7),
		PMEM2_E_INVALID_SHARING_VALUE);
	pmem2_config_delete(&cfg);
	return NULL;
}

int
main(void)
{
	CHECK_EQ(pmem2_err_to_errno(PMEM2_E_NOSUPP), ENOTSUP);
	CHECK_EQ(pmem2_err_to_errno(PMEM2_E_UNKNOWN), EINVAL);
	CHECK_EQ(pmem2_err_to_errno(PMEM2_E_IO_FAIL), EINVAL);
	CHECK_EQ(pmem2_err_to_errno(PMEM2_E_MAP_EXISTS), EINVAL);
	CHECK_EQ(pmem2_err_to_errno(-ENOMEM), ENOMEM);
	CHECK_EQ(pmem2_err_to_errno(-EBADF), EBADF);
	CHECK_EQ(pmem2_err_to_errno(0), 0);

	struct pmem2_config *cfg;
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_ERR(pmem2_config_set_offset(cfg, (size_t)INT64_MAX + 1),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	CHECK(strcmp(pmem2_errormsg(),
		"offset is greater than INT64_MAX")
		== 0);

	/* the message of this thread survives another thread's error */
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, other_thread, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK(strcmp(pmem2_errormsg(),
		"offset is greater than INT64_MAX")
		== 0);
	pmem2_config_delete(&cfg);
	CHECK(cfg == NULL);

	/* pmem2_perror: "<prefix>: <message>\n" on stderr */
	char path[] = "/tmp/pmem2_perror_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	fflush(stderr);
	int saved = dup(2);
	CHECK(dup2(fd, 2) == 2);
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_ERR(pmem2_config_set_protection(cfg, 1),
		PMEM2_E_INVALID_PROT_FLAG);
	char expect[9000];
	snprintf(expect, sizeof(expect), "test %d: %s\n", 7, pmem2_errormsg());
	pmem2_perror("test %d", 7);
	/*
	 * PMDK's way: the caller names the function, the message holds the
	 * reason alone, so the name appears exactly once.
	 */
	CHECK_PMEM2_ERR(pmem2_config_set_offset(cfg, (size_t)INT64_MAX + 1),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	pmem2_perror("pmem2_config_set_offset");
	strcat(expect, "pmem2_config_set_offset: "
		"offset is greater than INT64_MAX\n");
	pmem2_config_delete(&cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char got[9000] = {0};
	CHECK(pread(fd, got, sizeof(got) - 1, 0) > 0);
	CHECK(strcmp(got, expect) == 0);
	close(fd);

	printf("ok\n");
	return 0;
}
