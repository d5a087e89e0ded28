/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_replica.c -- the "replica" suite: libpmem2rep against
 * pmem2-replicad on 127.0.0.1 (libfabric's tcp provider here).
 *   - one 64 MiB write to a /dev/shm replica vs a raw TCP connection
 *     moving 64 MiB plus a one-byte acknowledgement (GB/s);
 *   - 4 KiB writes with 32 in flight vs one at a time, replica on a
 *     disk-backed file ($PMEM2_TEST_DISK_DIR, else /var/tmp) (ops/s);
 *   - 4 KiB writes with 32 in flight to a /dev/shm replica vs a raw TCP
 *     stream of 4 KiB requests each answered by 16 bytes, 32 in flight.
 * Figure and reference runs alternate; medians of several runs.
 * Built with the daemon only where libfabric is (BENCH_HAVE_REPLICA).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include "bench.h"

#ifndef BENCH_HAVE_REPLICA
void bench_suite_replica(void);

void
bench_suite_replica(void)
{
	fprintf(stderr, "replica: skipped, built without libfabric\n");
}
#else

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpmem2rep.h>

void bench_suite_replica(void);

#define BIG ((size_t)64 << 20)
#define SMALL 4096
#define DEPTH 32

struct daemon {
	pid_t pid;
	char target[320];
	char file[256];
};

static char keyp[256];

static int
daemon_start(struct daemon *d, const char *dir, size_t size)
{
	snprintf(d->file, sizeof(d->file), "%s/pa_bench_replica_%d.dat", dir,
		(int)getpid());
	int fd = open(d->file, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0 || posix_fallocate(fd, 0, (off_t)size) != 0) {
		perror(d->file);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	int p[2];
	if (pipe(p))
		return -1;
	d->pid = fork();
	if (d->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);	/* the daemon's log would mix with the table */
		execl(BENCH_REPLICAD, BENCH_REPLICAD, "--listen", "127.0.0.1:0",
			"--key-file", keyp, d->file, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[300];
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		if (poll(&pf, 1, 30000) <= 0 || read(p[0], line + n, 1) != 1)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(p[0]);
	const char *pre = "pmem2-replicad: listening on ";
	if (strncmp(line, pre, strlen(pre)) != 0) {
		fprintf(stderr, "replica: the daemon did not start\n");
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		unlink(d->file);
		return -1;
	}
	snprintf(d->target, sizeof(d->target), "%s", line + strlen(pre));
	return 0;
}

static void
daemon_stop(struct daemon *d)
{
	kill(d->pid, SIGTERM);
	waitpid(d->pid, NULL, 0);
	unlink(d->file);
}

/* ---- the libpmem2rep side ---- */

static double
rep_big(struct pmem2rep *rep, const char *src)
{
	double t0 = bench_now();
	struct vdm_operation_future f = pmem2rep_write_async(rep, 0, src, BIG,
		0);
	FUTURE_BUSY_POLL(&f);
	double t = bench_now() - t0;
	return f.output.result == VDM_SUCCESS ? BIG / t / 1e9 : 0;
}

/* n writes of 4 KiB, depth in flight; ops/s (0 on any failure). */
static double
rep_small(struct pmem2rep *rep, const char *src, int n, int depth)
{
	struct vdm_operation_future f[DEPTH];
	int live[DEPTH] = { 0 };
	int issued = 0, done = 0, ok = 1;
	size_t slots = pmem2rep_size(rep) / SMALL;
	double t0 = bench_now();
	while (done < n) {
		for (int i = 0; i < depth; i++) {
			if (!live[i] && issued < n) {
				f[i] = pmem2rep_write_async(rep,
					(size_t)issued % slots * SMALL,
					src + (size_t)issued % 64 * SMALL, SMALL,
					0);
				live[i] = 1;
				issued++;
			}
			if (live[i] && future_poll(FUTURE_AS_RUNNABLE(&f[i]),
					NULL) == FUTURE_STATE_COMPLETE) {
				ok &= f[i].output.result == VDM_SUCCESS;
				live[i] = 0;
				done++;
			}
		}
	}
	double t = bench_now() - t0;
	return ok ? n / t : 0;
}

/* ---- raw TCP references ---- */

struct raw {
	int lfd, cfd, sfd;
	pthread_t t;
	int mode;	/* 0: bulk + ack, 1: request/answer */
	char *buf;
};

static int
full_read(int fd, char *b, size_t n)
{
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
full_write(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t r = write(fd, b, n);
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *
raw_server(void *arg)
{
	struct raw *r = arg;
	char ans[16] = { 0 };
	for (;;) {
		if (r->mode == 0) {
			if (full_read(r->sfd, r->buf, BIG) ||
					full_write(r->sfd, ans, 1))
				break;
		} else {
			if (full_read(r->sfd, r->buf, 16 + SMALL) ||
					full_write(r->sfd, ans, 16))
				break;
		}
	}
	return NULL;
}

static int
raw_open(struct raw *r, int mode)
{
	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->buf = malloc(BIG);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	int one = 1;
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!r->buf || r->lfd < 0 || bind(r->lfd, (void *)&a, sizeof(a)) ||
			listen(r->lfd, 1) ||
			getsockname(r->lfd, (void *)&a, &al))
		return -1;
	r->cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(r->cfd, (void *)&a, sizeof(a)))
		return -1;
	r->sfd = accept(r->lfd, NULL, NULL);
	if (r->sfd < 0)
		return -1;
	setsockopt(r->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(r->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return pthread_create(&r->t, NULL, raw_server, r) ? -1 : 0;
}

static void
raw_close(struct raw *r)
{
	shutdown(r->cfd, SHUT_RDWR);
	pthread_join(r->t, NULL);
	close(r->cfd);
	close(r->sfd);
	close(r->lfd);
	free(r->buf);
}

static double
raw_big(struct raw *r, const char *src)
{
	char ack;
	double t0 = bench_now();
	if (full_write(r->cfd, src, BIG) || full_read(r->cfd, &ack, 1))
		return 0;
	return BIG / (bench_now() - t0) / 1e9;
}

static double
raw_small(struct raw *r, const char *src, int n)
{
	char req[16 + SMALL], ans[16];
	memcpy(req + 16, src, SMALL);
	double t0 = bench_now();
	int sent = 0, got = 0;
	while (sent < DEPTH && sent < n) {
		if (full_write(r->cfd, req, sizeof(req)))
			return 0;
		sent++;
	}
	while (got < n) {
		if (full_read(r->cfd, ans, sizeof(ans)))
			return 0;
		got++;
		if (sent < n) {
			if (full_write(r->cfd, req, sizeof(req)))
				return 0;
			sent++;
		}
	}
	return n / (bench_now() - t0);
}

static struct pmem2rep *
connect_to(struct daemon *d)
{
	struct pmem2rep *rep = NULL;
	if (pmem2rep_connect(&rep, d->target, keyp)) {
		fprintf(stderr, "replica: %s\n", pmem2rep_errormsg());
		return NULL;
	}
	return rep;
}

void
bench_suite_replica(void)
{
	int runs = bench_quick() ? 3 : 7;
	int nsmall = bench_quick() ? 2000 : 20000;
	int nserial = bench_quick() ? 100 : 400;
	const char *disk = getenv("PMEM2_TEST_DISK_DIR");
	if (!disk || !*disk)
		disk = "/var/tmp";

	signal(SIGPIPE, SIG_IGN);
	snprintf(keyp, sizeof(keyp), "/dev/shm/pa_bench_replica_%d.key",
		(int)getpid());
	int kfd = open(keyp, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	char k[32];
	for (int i = 0; i < 32; i++)
		k[i] = (char)(rand() ^ i);
	if (kfd < 0 || write(kfd, k, sizeof(k)) != (ssize_t)sizeof(k)) {
		perror(keyp);
		return;
	}
	close(kfd);
	char *src = aligned_alloc(4096, BIG);
	if (!src)
		return;
	memset(src, 0x5c, BIG);

	struct daemon shm, dsk;
	if (daemon_start(&shm, "/dev/shm", BIG) == 0) {
		struct pmem2rep *rep = connect_to(&shm);
		struct raw raw;
		if (rep && raw_open(&raw, 0) == 0) {
			double v[16], w[16];
			rep_big(rep, src);	/* warm up both */
			raw_big(&raw, src);
			for (int i = 0; i < runs; i++) {
				v[i] = rep_big(rep, src);
				w[i] = raw_big(&raw, src);
			}
			raw_close(&raw);
			bench_row("replica", "one 64 MiB write, /dev/shm replica",
				bench_median(v, runs), "GB/s",
				"raw TCP 64 MiB + ack", bench_median(w, runs), 1);
		}
		if (rep && raw_open(&raw, 1) == 0) {
			double v[16], w[16];
			rep_small(rep, src, nsmall / 4, DEPTH);
			raw_small(&raw, src, nsmall / 4);
			for (int i = 0; i < runs; i++) {
				v[i] = rep_small(rep, src, nsmall, DEPTH);
				w[i] = raw_small(&raw, src, nsmall);
			}
			raw_close(&raw);
			bench_row("replica",
				"4 KiB writes, 32 in flight, /dev/shm replica",
				bench_median(v, runs), "ops/s",
				"raw TCP 4 KiB request/answer, 32 in flight",
				bench_median(w, runs), 1);
		}
		pmem2rep_disconnect(&rep);
		daemon_stop(&shm);
	}
	if (daemon_start(&dsk, disk, (size_t)16 << 20) == 0) {
		struct pmem2rep *rep = connect_to(&dsk);
		if (rep) {
			double v[16], w[16];
			for (int i = 0; i < runs; i++) {
				v[i] = rep_small(rep, src, nsmall / 4, DEPTH);
				w[i] = rep_small(rep, src, nserial, 1);
			}
			char name[300];
			snprintf(name, sizeof(name),
				"4 KiB writes, 32 in flight, replica on %s",
				disk);
			bench_row("replica", name, bench_median(v, runs),
				"ops/s", "one at a time", bench_median(w, runs),
				1);
		}
		pmem2rep_disconnect(&rep);
		daemon_stop(&dsk);
	}
	unlink(keyp);
	free(src);
}
#endif
