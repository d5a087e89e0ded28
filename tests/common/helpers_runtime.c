/* SPDX-License-Identifier: BSD-3-Clause */
/* helpers_runtime.c -- one libminiasync runtime for the whole process. */
#include <libminiasync.h>

#include "helpers.h"

static struct runtime *Rt;
static pthread_once_t Rt_once = PTHREAD_ONCE_INIT;

static void
rt_make(void)
{
	Rt = runtime_new();
	if (Rt == NULL)
		FAIL("runtime_new failed");
}

struct runtime *
test_runtime(void)
{
	pthread_once(&Rt_once, rt_make);
	return Rt;
}

enum vdm_operation_result
test_wait_op(struct vdm_operation_future *f)
{
	runtime_wait(test_runtime(), FUTURE_AS_RUNNABLE(f));
	return FUTURE_OUTPUT(f)->result;
}

void
test_wait_logged(struct runtime *rt, struct future **futs, size_t n)
{
	test_log_n = 0;
	runtime_wait_multiple(rt, futs, n);
}
