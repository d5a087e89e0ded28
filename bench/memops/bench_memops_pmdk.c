/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_memops_pmdk.c -- memops_kernel.h built against Debian's PMDK
 * libpmem2.
 *
 * --serve: reads case indices from stdin, one per line, and answers each
 * with the GB/s of one timed run of that case (warming the case up the
 * first time). suite_memops drives it so that its runs alternate with ours
 * and a noisy moment slows both alike; the two never run at once.
 * Without --serve it prints "<index> <median GB/s>" for every case.
 */
#include "memops_kernel.h"

struct peer {
	struct mk_case *c;
	int n;
	struct mk_map *maps[2];	/* CACHE_LINE, PAGE */
	unsigned char warm[64];
};

/* one timed run of case i (warmed up the first time) */
static double
serve_run(int i, void *arg)
{
	struct peer *p = arg;
	if (i < 0 || i >= p->n)
		return 0;
	struct mk_case *c = &p->c[i];
	struct mk_map *m = p->maps[strcmp(c->gran, "PAGE") == 0];
	if (!p->warm[i]) {
		mk_warm(m, c->op, c->size, c->flags);
		p->warm[i] = 1;
	}
	return mk_run(m, c->op, c->size, c->flags);
}

int
main(int argc, char *argv[])
{
	int serve = bench_args(argc, argv);
	struct mk_case c[64];
	int n = mk_cases(c, 64);
	struct mk_map cl, pg;
	if (mk_open(&cl, "CACHE_LINE") || mk_open(&pg, "PAGE"))
		return 1;
	struct peer p = { c, n, { &cl, &pg }, { 0 } };
	if (serve)
		bench_peer_serve(serve_run, &p);
	for (int i = 0; !serve && i < n; i++) {
		struct mk_map *m = strcmp(c[i].gran, "PAGE") == 0 ? &pg : &cl;
		double v[16];
		mk_warm(m, c[i].op, c[i].size, c[i].flags);
		for (int r = 0; r < mk_runs(); r++)
			v[r] = mk_run(m, c[i].op, c[i].size, c[i].flags);
		printf("%d %.4f\n", i, bench_median(v, mk_runs()));
	}
	mk_unlink(&cl);	/* standalone: ours; as a peer: already removed */
	mk_unlink(&pg);
	mk_close(&cl);
	mk_close(&pg);
	return 0;
}
