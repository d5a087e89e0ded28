/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * user_mover.h -- a virtual data mover written the way a third party would
 * write one: against the public vdm interface of <libminiasync/vdm.h> only,
 * copying with libc inside op_start and declaring no capabilities.
 *
 * Not a program of its own: bench/async/suite_page.c measures it as "a
 * user's mover", and tests/common/helpers_mover.c builds its configurable
 * test mover on its pieces, so that both stand in for the same outside code
 * (and neither may lean on the library's internals).
 */
#ifndef USER_MOVER_H
#define USER_MOVER_H 1

#include <stddef.h>
#include <stdint.h>
#include <libminiasync/vdm.h>

/* The whole mover: each operation done in op_start, complete at once. */
struct vdm *user_mover(void);

/* Does what op asks for with libc (a flush: nothing, no capability). */
void user_mover_write(const struct vdm_operation *op);

/* Fills out as a successful end of op (its type and destination). */
void user_mover_output(const struct vdm_operation *op,
	struct vdm_operation_output *out);

/* The bytes op writes (dest, len) and the flags it was given. */
void user_mover_range(const struct vdm_operation *op, void **dest,
	size_t *len, uint64_t *flags);

#endif /* USER_MOVER_H */
