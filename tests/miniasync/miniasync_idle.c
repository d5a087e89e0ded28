/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_idle.c -- an idle threads mover burns no CPU: its workers spin for
 * work only for a short, bounded while after the last operation, then sleep.
 *
 * After a burst of operations and a pause well past the spin window, every
 * worker must be asleep (state S in /proc/self/task/TID/stat) and stay
 * asleep: the CPU time each one is charged (/proc/self/task/TID/schedstat)
 * must not grow while the process does nothing. Then an operation still
 * completes, so the sleepers are woken when work comes.
 *
 * argv[1]: the number of workers (default 2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <libminiasync.h>
#include "helpers.h"

#define MAXW 16

struct task {
	int tid;
	char state;
	unsigned long long cpu_ns;
};

#define MAXT 64
static int before[MAXT], nbefore;	/* threads there before the mover */

static int
known(int tid)
{
	for (int i = 0; i < nbefore; i++)
		if (before[i] == tid)
			return 1;
	return 0;
}

/*
 * The threads that came with the mover (not the main one, nor a
 * sanitizer's); returns how many. all: record every thread in before[].
 */
static int
workers(struct task *t, int max, int all)
{
	DIR *d = opendir("/proc/self/task");
	if (d == NULL)
		SKIP("no /proc/self/task");
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		if (all) {
			CHECK(nbefore < MAXT);
			before[nbefore++] = tid;
			continue;
		}
		if (known(tid))
			continue;
		CHECK(n < max);
		char path[96], buf[512];
		t[n].tid = tid;

		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		FILE *f = fopen(path, "r");
		CHECK(f != NULL);
		CHECK(fgets(buf, sizeof(buf), f) != NULL);
		fclose(f);
		/* the state follows the ")" that ends the name */
		char *p = strrchr(buf, ')');
		CHECK(p != NULL && p[1] == ' ');
		t[n].state = p[2];

		snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat",
			tid);
		f = fopen(path, "r");
		if (f == NULL)
			SKIP("no %s (kernel without schedstat)", path);
		CHECK(fscanf(f, "%llu", &t[n].cpu_ns) == 1);
		fclose(f);
		n++;
	}
	closedir(d);
	return n;
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
burst(struct vdm *vdm, int n)
{
	static unsigned char a[512], b[512];
	for (int i = 0; i < n; i++) {
		a[0] = (unsigned char)i;
		struct vdm_operation_future f = vdm_memcpy(vdm, b, a,
			sizeof(a), 0);
		FUTURE_BUSY_POLL(&f);
		CHECK_EQ(f.output.result, VDM_SUCCESS);
		CHECK_EQ(b[0], (unsigned char)i);
	}
}

int
main(int argc, char *argv[])
{
	size_t nw = argc > 1 ? (size_t)atoi(argv[1]) : 2;
	CHECK(nw > 0 && nw <= MAXW);
	workers(NULL, 0, 1);
	/* every operation crosses to the workers */
	setenv("MINIASYNC_THREADS_INLINE_MAX", "0", 1);
	struct data_mover_threads *dmt = data_mover_threads_new(nw, 64,
		FUTURE_NOTIFIER_WAKER);
	CHECK(dmt != NULL);
	struct vdm *vdm = data_mover_threads_get_vdm(dmt);

	/* valgrind runs the threads one at a time, far slower */
	long settle = test_quick() ? 1000 : 100, watch = test_quick() ? 500 : 200;
	struct task t0[MAXW], t1[MAXW];

	for (int round = 0; round < 3; round++) {
		burst(vdm, 2000);
		pause_ms(settle);	/* far past the spin window */
		int n = workers(t0, MAXW, 0);
		/* a sanitizer may start a thread of its own with ours */
		CHECK((size_t)n >= nw);
		pause_ms(watch);
		CHECK_EQ(workers(t1, MAXW, 0), n);
		for (int i = 0; i < n; i++) {
			CHECK_EQ(t1[i].tid, t0[i].tid);
			unsigned long long used = t1[i].cpu_ns - t0[i].cpu_ns;
			printf("round %d: worker %d state %c, %llu ns of CPU "
				"in %ld ms idle\n", round, t1[i].tid,
				t1[i].state, used, watch);
			if (t1[i].state != 'S')
				FAIL("worker %d is in state %c while idle, "
					"want S", t1[i].tid, t1[i].state);
			/* a spinning worker would use all of the watch */
			if (used > 2000000ull)
				FAIL("worker %d used %llu ns of CPU in %ld ms "
					"of idleness", t1[i].tid, used, watch);
		}
	}
	/* the sleepers still take work */
	burst(vdm, 10);
	data_mover_threads_delete(dmt);
	return 0;
}
