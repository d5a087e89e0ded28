/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_common.c -- the benchmark harness (bench/common): median, rows,
 * ratios, the table layout, CSV and JSON output, and a small streaming copy.
 */
#define _GNU_SOURCE
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "test.h"

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static double
twice(int i, void *arg)
{
	(void)arg;
	return 2.0 * i;
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "--serve") == 0) {
		/* the peer side of the bench_peer check below */
		bench_peer_serve(twice, NULL);
		return 0;
	}

	double v[] = {5, 1, 4, 2, 3};
	CHECK(bench_median(v, 5) == 3);
	double w[] = {4, 1, 3, 2};
	CHECK(bench_median(w, 4) == 2.5);
	CHECK(bench_median(w, 0) == 0);

	double t0 = bench_now();
	usleep(2000);
	CHECK(bench_now() - t0 >= 0.0015);

	unsetenv("PMEM2_BENCH_QUICK");
	CHECK(!bench_quick());
	setenv("PMEM2_BENCH_QUICK", "1", 1);
	CHECK(bench_quick());
	setenv("PMEM2_BENCH_QUICK", "0", 1);
	CHECK(!bench_quick());
	bench_set_quick(1);
	CHECK(bench_quick());

	bench_row("memops", "memcpy 4KiB", 20.0, "GB/s", "limit", 25.0, 1);
	bench_row("movers", "round trip", 0.5, "us", "ping-pong", 1.0, 0);
	bench_row("async", "no ref, \"quoted\"", 7.0, "Mops/s", NULL, 0, 1);
	CHECK_EQ(bench_nrows(), 3);
	CHECK(fabs(bench_get_row(0)->ratio - 0.8) < 1e-9);
	CHECK(fabs(bench_get_row(1)->ratio - 2.0) < 1e-9);
	CHECK(bench_get_row(2)->ratio == 0);
	CHECK(bench_get_row(3) == NULL);

	char tpl[] = "/tmp/pa_bench_test_XXXXXX";
	int fd = mkstemp(tpl);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	bench_print_table(f);
	fclose(f);
	char *t = slurp(tpl);
	CHECK(strstr(t, "suite") && strstr(t, "ratio"));
	CHECK(strstr(t, "0.80x") && strstr(t, "2.00x"));
	/* every data line has the same length up to the ratio column */
	char *l1 = strstr(t, "memops"), *l2 = strstr(t, "movers");
	CHECK(l1 && l2);
	CHECK(strchr(l1, '\n') - l1 == strchr(l2, '\n') - l2);

	CHECK(bench_write_csv(tpl) == 0);
	t = slurp(tpl);
	CHECK(strncmp(t, "suite,name,value,unit,ref_name,ref_value,ratio,higher_is_better\n",
		64) == 0);
	CHECK(strstr(t, "memops,memcpy 4KiB,20,GB/s,limit,25,0.8000,1\n"));
	CHECK(strstr(t, "async,\"no ref, \"\"quoted\"\"\",7,Mops/s,,,,1\n"));

	CHECK(bench_write_json(tpl) == 0);
	t = slurp(tpl);
	CHECK(strstr(t, "\"rows\": ["));
	CHECK(strstr(t, "\"name\": \"no ref, \\\"quoted\\\"\""));
	CHECK(strstr(t, "\"ref_value\": null"));
	CHECK(strstr(t, "\"higher_is_better\": false"));
	unlink(tpl);
	CHECK(bench_write_csv("/nonexistent-dir/x.csv") == -1);

	bench_reset();
	CHECK_EQ(bench_nrows(), 0);

	/* three passes folded: the ratio is the median of the ratios */
	static const double pv[3] = { 10, 30, 20 }, pr[3] = { 20, 20, 40 };
	for (int p = 0; p < 3; p++) {
		bench_row("s", "a", pv[p], "GB/s", "ref", pr[p], 1);
		bench_row("s", "b", 1.0 + p, "us", NULL, 0, 0);
	}
	bench_fold_medians();
	CHECK_EQ(bench_nrows(), 2);
	const struct bench_rowdata *ra = bench_get_row(0);
	const struct bench_rowdata *rb = bench_get_row(1);
	CHECK(strcmp(ra->name, "a") == 0 && strcmp(rb->name, "b") == 0);
	CHECK(ra->value == 20 && ra->ref_value == 20);
	CHECK(fabs(ra->ratio - 0.5) < 1e-9);	/* ratios 0.5, 1.5, 0.5 */
	CHECK(rb->value == 2 && rb->ratio == 0 && rb->ref_value == 0);
	bench_reset();

	/* pinned to one CPU, then back to the CPUs we had */
	cpu_set_t before, during, after;
	CHECK(sched_getaffinity(0, sizeof(before), &before) == 0);
	bench_pin_here();
	CHECK(sched_getaffinity(0, sizeof(during), &during) == 0);
	CHECK_EQ(CPU_COUNT(&during), 1);
	CHECK(CPU_ISSET(sched_getcpu(), &during));
	bench_unpin();
	CHECK(sched_getaffinity(0, sizeof(after), &after) == 0);
	CHECK(CPU_EQUAL(&before, &after));

	/* a peer answers one request at a time; a dead one gives 0 */
	struct bench_peer peer;
	CHECK(bench_peer_start(&peer, argv[0], NULL) == 0);
	CHECK(bench_peer_run(&peer, 3) == 6.0);
	CHECK(bench_peer_run(&peer, 21) == 42.0);
	bench_peer_stop(&peer);
	CHECK(bench_peer_run(&peer, 1) == 0);
	CHECK(bench_peer_start(&peer, "/nonexistent/peer", NULL) == 0);
	CHECK(bench_peer_run(&peer, 1) == 0);	/* exec failed: no answer */
	CHECK(peer.pid == 0);
	bench_peer_stop(&peer);
	CHECK(bench_peer_start(&peer, "", NULL) == -1);

	/* small on purpose: this checks that the copy works, not its speed */
	double gbs = bench_stream_copy_gbs((size_t)8 << 20);
	printf("stream copy (%s), 8 MiB: %.2f GB/s\n",
		bench_stream_copy_variant(), gbs);
	CHECK(gbs > 0.1);
	CHECK(bench_stream_copy_gbs((size_t)8 << 20) == gbs);	/* cached */
	setenv("PMEM2_BENCH_STREAM", "sse2", 1);
	CHECK(bench_stream_copy_gbs((size_t)1 << 20) > 0.0);
	return 0;
}
