/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * consumer_miniasync.c -- a libminiasync-only program outside the tree, built
 * the way upstream miniasync's users build (MINIASYNC_INCLUDE_DIRS and
 * MINIASYNC_LIBRARIES, no imported target): copies 1 MiB through the
 * synchronous mover and checks the bytes. Exit 0 on success.
 */
#include <libminiasync.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN (1 << 20)

int
main(void)
{
	struct data_mover_sync *dms = data_mover_sync_new();
	struct runtime *rt = runtime_new();
	char *src = malloc(LEN);
	char *dst = calloc(1, LEN);
	if (!dms || !rt || !src || !dst) {
		fprintf(stderr, "consumer_miniasync: setup failed\n");
		return 1;
	}
	for (int i = 0; i < LEN; i++)
		src[i] = (char)(i * 13 + 5);
	struct vdm_operation_future fut = vdm_memcpy(
		data_mover_sync_get_vdm(dms), dst, src, LEN, 0);
	runtime_wait(rt, FUTURE_AS_RUNNABLE(&fut));
	int ok = FUTURE_OUTPUT(&fut)->result == VDM_SUCCESS &&
		memcmp(dst, src, LEN) == 0;
	runtime_delete(rt);
	data_mover_sync_delete(dms);
	free(src);
	free(dst);
	printf("consumer_miniasync: %s\n", ok ? "1 MiB copied, bytes match" :
		"MISMATCH");
	return ok ? 0 : 1;
}
