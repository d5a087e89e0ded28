/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * basic_copy.c -- the smallest useful libminiasync program: start two
 * copies on the worker-thread mover, do something else meanwhile, then
 * wait for both with the runtime.
 *
 *   cc basic_copy.c $(pkg-config --cflags --libs libminiasync)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libminiasync.h>

int
main(void)
{
	size_t len = 8u << 20;
	char *src = malloc(len), *dst1 = malloc(len), *dst2 = malloc(len);
	if (!src || !dst1 || !dst2) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < len; i++)
		src[i] = (char)(i * 7);

	struct runtime *rt = runtime_new();
	struct data_mover_threads *dmt = data_mover_threads_default();
	if (!rt || !dmt) {
		fprintf(stderr, "cannot create the runtime or the mover\n");
		return 1;
	}
	struct vdm *vdm = data_mover_threads_get_vdm(dmt);

	/* Creating a future does no work yet... */
	struct vdm_operation_future a = vdm_memcpy(vdm, dst1, src, len, 0);
	struct vdm_operation_future b = vdm_memcpy(vdm, dst2, src, len / 2, 0);

	/* ...the first poll hands it to the workers... */
	future_poll(FUTURE_AS_RUNNABLE(&a), NULL);
	future_poll(FUTURE_AS_RUNNABLE(&b), NULL);
	printf("copies started, doing other work meanwhile\n");

	/* ...and the runtime sleeps until both are done. */
	struct future *all[] = { FUTURE_AS_RUNNABLE(&a), FUTURE_AS_RUNNABLE(&b) };
	runtime_wait_multiple(rt, all, 2);

	int ok = FUTURE_OUTPUT(&a)->result == VDM_SUCCESS &&
		FUTURE_OUTPUT(&b)->result == VDM_SUCCESS &&
		FUTURE_OUTPUT(&a)->output.memcpy.dest == dst1 &&
		memcmp(dst1, src, len) == 0 && memcmp(dst2, src, len / 2) == 0;
	printf("copies %s\n", ok ? "match" : "DIFFER");

	data_mover_threads_delete(dmt);
	runtime_delete(rt);
	free(src);
	free(dst1);
	free(dst2);
	return ok ? 0 : 1;
}
