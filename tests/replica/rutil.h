/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rutil.h -- helpers of the replica tests: key files, served files and a
 * pmem2-replicad child on 127.0.0.1 with a free port.
 */
#ifndef PMEM2REP_RUTIL_H
#define PMEM2REP_RUTIL_H 1

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fabric.h>

#include "test.h"
#include "helpers.h"

static inline uint64_t
rutil_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Skips (77) unless a libfabric provider offers FI_EP_MSG with RMA here. */
static inline void
rutil_need_fabric(void)
{
	struct fi_info *hints = fi_allocinfo(), *info = NULL;
	CHECK(hints != NULL);
	hints->ep_attr->type = FI_EP_MSG;
	hints->caps = FI_MSG | FI_RMA;
	hints->domain_attr->mr_mode = FI_MR_VIRT_ADDR | FI_MR_PROV_KEY |
		FI_MR_ALLOCATED | FI_MR_ENDPOINT;
	const char *prov = getenv("PMEM2REP_PROVIDER");
	if (prov && *prov)
		hints->fabric_attr->prov_name = strdup(prov);
	int r = fi_getinfo(FI_VERSION(1, 10), "127.0.0.1", "0", FI_SOURCE,
		hints, &info);
	fi_freeinfo(hints);
	if (r)
		SKIP("no libfabric provider with FI_EP_MSG + FI_RMA on "
			"127.0.0.1 (%s): libfabric's tcp provider is unusable "
			"here", fi_strerror(-r));
	fi_freeinfo(info);
}

/* Writes a key file of 32 random bytes (or `fill` bytes) with `mode`. */
static inline void
rutil_key(const char *path, mode_t mode, int fill)
{
	unsigned char k[32];
	if (fill >= 0) {
		memset(k, fill, sizeof(k));
	} else {
		int r = open("/dev/urandom", O_RDONLY);
		CHECK(r >= 0);
		CHECK(read(r, k, sizeof(k)) == (ssize_t)sizeof(k));
		close(r);
	}
	unlink(path);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, k, sizeof(k)) == (ssize_t)sizeof(k));
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

/* A file of `size` bytes, each byte `fill`. */
static inline void
rutil_file(const char *path, size_t size, int fill)
{
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHECK(fd >= 0);
	char *buf = test_alloc(1 << 20);
	memset(buf, fill, 1 << 20);
	for (size_t o = 0; o < size; o += 1 << 20) {
		size_t n = size - o < (1u << 20) ? size - o : (1u << 20);
		CHECK(pwrite(fd, buf, n, (off_t)o) == (ssize_t)n);
	}
	free(buf);
	close(fd);
}

/* Reads the whole file into a new buffer (from outside the daemon). */
static inline unsigned char *
rutil_read(const char *path, size_t size)
{
	unsigned char *buf = test_alloc(size);
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	size_t got = 0;
	while (got < size) {
		ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
		CHECK(r > 0);
		got += (size_t)r;
	}
	close(fd);
	return buf;
}

struct rutil_daemon {
	pid_t pid;
	char target[256];
};

/* The daemon started last: a failing test must not leave it behind. */
static pid_t rutil_live_pid;

static inline void
rutil_reap(void)
{
	if (rutil_live_pid > 0) {
		kill(rutil_live_pid, SIGKILL);
		waitpid(rutil_live_pid, NULL, 0);
	}
}

/*
 * Starts `daemon` serving `file` with `key`; waits for its "listening on"
 * line. Returns 0, or the daemon's exit status (> 0) when it exited
 * without listening.
 */
static inline int
rutil_daemon_start(struct rutil_daemon *d, const char *daemon,
	const char *key, const char *file)
{
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* a test that dies (even by _exit) takes its daemon along */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(daemon, daemon, "--listen", "127.0.0.1:0", "--key-file",
			key, file, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[256];
	size_t n = 0;
	uint64_t deadline = rutil_ms() + 30000;
	while (n < sizeof(line) - 1 && rutil_ms() < deadline) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		if (poll(&pf, 1, 100) <= 0)
			continue;
		ssize_t r = read(p[0], line + n, 1);
		if (r <= 0)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(p[0]);
	const char *pre = "pmem2-replicad: listening on ";
	if (strncmp(line, pre, strlen(pre)) != 0) {
		int st;
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, &st, 0) == pid);
		if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
			return WEXITSTATUS(st);
		FAIL("pmem2-replicad printed \"%s\" instead of listening",
			line);
	}
	snprintf(d->target, sizeof(d->target), "%s", line + strlen(pre));
	d->pid = pid;
	static int registered;
	if (!registered++)
		atexit(rutil_reap);
	rutil_live_pid = pid;
	return 0;
}

/* SIGTERM: the daemon must exit 0 (it was still running: it served on). */
static inline void
rutil_daemon_stop(struct rutil_daemon *d)
{
	int st;
	CHECK(kill(d->pid, 0) == 0);
	CHECK(kill(d->pid, SIGTERM) == 0);
	CHECK(waitpid(d->pid, &st, 0) == d->pid);
	rutil_live_pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		FAIL("pmem2-replicad did not exit cleanly (status %#x)", st);
}

static inline void
rutil_daemon_kill(struct rutil_daemon *d)
{
	int st;
	CHECK(kill(d->pid, SIGKILL) == 0);
	CHECK(waitpid(d->pid, &st, 0) == d->pid);
	rutil_live_pid = 0;
}
#endif
