/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * runtime_ir.c -- runtime_wait_multiple on the "runtime" suite's futures,
 * nothing else, for instruction counts (the machines under KVM have no
 * hardware counters, so: valgrind --tool=callgrind). Run it once against
 * each library and divide the difference of the totals by the polls it
 * prints; compare_runtime.sh does that.
 *
 *   runtime_ir plain|chain|lib N REPS
 *
 * lib: plain futures with the threads mover's property function (taken
 * from a one-thread mover that never gets work).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_futs.h"

int
main(int argc, char *argv[])
{
	if (argc != 4 || (strcmp(argv[1], "plain") != 0 &&
			strcmp(argv[1], "chain") != 0 &&
			strcmp(argv[1], "lib") != 0)) {
		fprintf(stderr, "usage: runtime_ir plain|chain|lib N REPS\n");
		return 2;
	}
	struct set s = { strcmp(argv[1], "chain") == 0, NULL,
		strtoull(argv[2], NULL, 10), NULL, NULL, NULL };
	struct data_mover_threads *dmt = NULL;
	if (strcmp(argv[1], "lib") == 0) {
		dmt = data_mover_threads_new(1, 16, FUTURE_NOTIFIER_WAKER);
		if (dmt == NULL) {
			fprintf(stderr, "runtime_ir: no threads mover\n");
			return 1;
		}
		s.lib_async = data_mover_threads_get_vdm(dmt)->has_property;
	}
	size_t reps = strtoull(argv[3], NULL, 10);
	s.plain = calloc(s.n, sizeof(*s.plain));
	s.two = calloc(s.n, sizeof(*s.two));
	s.ptrs = calloc(s.n, sizeof(*s.ptrs));
	struct runtime *r = runtime_new();
	if (s.n == 0 || !s.plain || !s.two || !s.ptrs || r == NULL) {
		fprintf(stderr, "runtime_ir: no memory\n");
		return 1;
	}
	for (size_t i = 0; i < reps; i++) {
		set_reset(&s);
		runtime_wait_multiple(r, s.ptrs, s.n);
	}
	/* the polls a bare loop makes: what the instructions are divided by */
	printf("%zu\n", reps * s.n * SPIN_POLLS);
	runtime_delete(r);
	if (dmt != NULL)
		data_mover_threads_delete(dmt);
	free(s.plain);
	free(s.two);
	free(s.ptrs);
	return 0;
}
