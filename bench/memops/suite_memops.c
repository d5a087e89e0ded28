/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_memops.c -- the memory functions on a /dev/shm file mapped with
 * CACHE_LINE (and PAGE) granularity forced, side by side in one run with:
 *   - Debian's PMDK libpmem2 (bench_memops_pmdk --serve: the same kernel
 *     source built against it, driven over a pipe),
 *   - glibc memcpy/memset followed by the map's persist_fn (PAGE: msync),
 *   - the floor: a bare non-temporal streaming copy of the same size to
 *     the same map, then a fence (the least work that makes a copy durable
 *     on a CACHE_LINE map; at 2 MiB and up, the streaming-copy limit).
 * For each case the contestants take turns, one timed run each, round
 * after round; each figure is the median of its runs. A noisy moment on a
 * shared machine thus slows every contestant of a case alike.
 * Rows: "<op> <gran> <size> f<flags> vs <reference>".
 */
#include <signal.h>
#include <sys/wait.h>

#include "memops_kernel.h"

#ifndef BENCH_MEMOPS_PMDK
#define BENCH_MEMOPS_PMDK ""
#endif

#define SUITE "memops"
#define DEB "PMDK 1.12.1 (Debian)"

/* bench_memops_pmdk --serve, one request and one answer at a time */
struct pmdk_server {
	pid_t pid;
	FILE *to, *from;
};

static int
server_start(struct pmdk_server *s)
{
	s->pid = -1;
	if (BENCH_MEMOPS_PMDK[0] == '\0')
		return -1;
	int down[2], up[2];
	if (pipe(down) != 0)
		return -1;
	if (pipe(up) != 0) {
		close(down[0]);
		close(down[1]);
		return -1;
	}
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0) {
		dup2(down[0], 0);
		dup2(up[1], 1);
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		execl(BENCH_MEMOPS_PMDK, BENCH_MEMOPS_PMDK, "--serve",
			bench_quick() ? "--quick" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	close(down[0]);
	close(up[1]);
	if (s->pid < 0) {
		close(down[1]);
		close(up[0]);
		return -1;
	}
	s->to = fdopen(down[1], "w");
	s->from = fdopen(up[0], "r");
	if (!s->to || !s->from)
		return -1;
	return 0;
}

/* GB/s of one timed run of case i in Debian's build; <= 0: none */
static double
server_run(struct pmdk_server *s, int i)
{
	double g;
	if (s->pid <= 0 || fprintf(s->to, "%d\n", i) < 0 || fflush(s->to) ||
			fscanf(s->from, "%lf", &g) != 1) {
		if (s->pid > 0)
			fprintf(stderr, "memops: %s stopped answering; no "
				"Debian figures from here on\n",
				BENCH_MEMOPS_PMDK);
		s->pid = 0;
		return 0;
	}
	return g;
}

static void
server_stop(struct pmdk_server *s)
{
	if (s->to)
		fclose(s->to);	/* end of input: it exits */
	if (s->from)
		fclose(s->from);
	if (s->pid > 0)
		waitpid(s->pid, NULL, 0);
}

void bench_suite_memops(void);

void
bench_suite_memops(void)
{
	struct mk_case c[64];
	int n = mk_cases(c, 64);
	struct pmdk_server srv = { 0 };
	signal(SIGPIPE, SIG_IGN);	/* a dead server: EPIPE, not death */
	if (server_start(&srv))
		fprintf(stderr, "memops: no Debian libpmem2 build to compare "
			"with\n");

	struct mk_map cl, pg;
	if (mk_open(&cl, "CACHE_LINE") || mk_open(&pg, "PAGE")) {
		fprintf(stderr, "memops: cannot map the benchmark files\n");
		server_stop(&srv);
		return;
	}
	for (int i = 0; i < n; i++) {
		int page = strcmp(c[i].gran, "PAGE") == 0;
		struct mk_map *m = page ? &pg : &cl;
		int set = c[i].op == MK_MEMSET;
		size_t sz = c[i].size;
		enum mk_op ref = page ? MK_LIBC_MEMCPY_MSYNC :
			set ? MK_LIBC_MEMSET : MK_LIBC_MEMCPY;
		int with_ref = c[i].flags == 0;
		int with_floor = !page && c[i].flags == 0 && sz % 256 == 0 &&
			(!set || sz >= ((size_t)2 << 20));

		double vo[16], vd[16], vr[16], vf[16];
		int runs = mk_runs();
		mk_warm(m, c[i].op, sz, c[i].flags);
		if (with_ref)
			mk_warm(m, ref, sz, 0);
		if (with_floor)
			mk_warm(m, MK_STREAM, sz, 0);
		for (int r = 0; r < runs; r++) {
			vo[r] = mk_run(m, c[i].op, sz, c[i].flags);
			vd[r] = server_run(&srv, i);
			if (with_ref)
				vr[r] = mk_run(m, ref, sz, 0);
			if (with_floor)
				vf[r] = mk_run(m, MK_STREAM, sz, 0);
		}
		double ours = bench_median(vo, runs);
		double deb = srv.pid > 0 ? bench_median(vd, runs) : 0;

		char szs[32], name[128], row[160];
		snprintf(name, sizeof(name), "%s %s %s f%#x",
			set ? "memset" : "memcpy", page ? "PAGE" : "CL",
			mk_size_str(sz, szs, sizeof(szs)), c[i].flags);
		snprintf(row, sizeof(row), "%s vs Debian", name);
		bench_row(SUITE, row, ours, "GB/s", deb > 0 ? DEB : NULL,
			deb, 1);
		if (with_ref) {
			snprintf(row, sizeof(row), "%s vs glibc", name);
			bench_row(SUITE, row, ours, "GB/s",
				page ? "glibc memcpy+msync" :
				set ? "glibc memset+persist" :
				"glibc memcpy+persist", bench_median(vr, runs), 1);
		}
		if (with_floor) {
			snprintf(row, sizeof(row), "%s vs limit", name);
			bench_row(SUITE, row, ours, "GB/s",
				"NT stream copy+fence", bench_median(vf, runs), 1);
		}
	}
	mk_close(&cl);
	mk_close(&pg);
	server_stop(&srv);
}
