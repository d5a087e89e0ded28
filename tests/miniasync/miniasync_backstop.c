/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * miniasync_backstop.c -- the runtime's backstop holds whatever
 * MINIASYNC_RUNTIME_BACKSTOP_MS says: a value that is not a plain
 * non-negative number of milliseconds in range (garbage, a sign, an
 * overflow) keeps the default 100 ms, it must not turn the backstop off.
 *
 * The future here says it will call its waker and never does; it is done
 * when polled 50 ms or more after its first poll, long after the
 * runtime's spin. With a backstop the runtime polls it again after one
 * sleep; without one the wait hangs, and an alarm fails the test.
 */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <libminiasync.h>
#include "helpers.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct lazy_data {
	uint64_t first_ns;	/* the first poll */
};
struct lazy_output {
	int ok;
};
FUTURE(lazy_future, struct lazy_data, struct lazy_output);

static enum future_state
lazy_task(struct future_context *ctx, struct future_notifier *n)
{
	struct lazy_data *d = future_context_get_data(ctx);
	if (n != NULL)
		n->notifier_used = FUTURE_NOTIFIER_WAKER;
	/* the waker is never called: only the backstop polls again */
	uint64_t t = now_ns();
	if (d->first_ns == 0)
		d->first_ns = t;
	if (t - d->first_ns < 50000000ull)
		return FUTURE_STATE_RUNNING;
	struct lazy_output *o = future_context_get_output(ctx);
	o->ok = 1;
	return FUTURE_STATE_COMPLETE;
}

static void
on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "runtime_wait hung: the backstop is off\n";
	ssize_t r = write(2, m, sizeof(m) - 1);
	(void)r;
	_exit(1);
}

int
main(void)
{
	const char *bs = getenv("MINIASYNC_RUNTIME_BACKSTOP_MS");
	fprintf(stderr, "MINIASYNC_RUNTIME_BACKSTOP_MS=%s\n",
		bs ? bs : "(unset)");
	if (bs != NULL && bs[0] != '\0' && strspn(bs, "0") == strlen(bs)) {
		fprintf(stderr, "SKIP: the backstop is really off here\n");
		return 77;
	}
	signal(SIGALRM, on_alarm);
	struct runtime *r = runtime_new();
	CHECK(r != NULL);
	for (int i = 0; i < 3; i++) {
		struct lazy_future f;
		f.data.first_ns = 0;
		f.output.ok = 0;
		FUTURE_INIT(&f, lazy_task);
		/* a sleep of 100 ms, a few times over under load */
		alarm(10);
		runtime_wait(r, FUTURE_AS_RUNNABLE(&f));
		alarm(0);
		CHECK(f.output.ok == 1);
	}
	runtime_delete(r);
	return 0;
}
