/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * durability.c -- the durability backends of BYTE and CACHE_LINE maps:
 * what follows a mover's write before the future completes (PAGE maps:
 * page.c). Both finish in the step that starts them and keep nothing
 * per map; see struct pmem2_durability in async_impl.h for the hooks.
 */
#define PMEM2_USE_MINIASYNC 1
#include "libpmem2.h"
#include "memops.h"
#include "async_impl.h"

/* BYTE: the stores are durable once they are ordered. */
static enum future_state
byte_start(struct wop *w, void *dest, size_t len, struct future_notifier *n)
{
	(void)w;
	(void)dest;
	(void)len;
	(void)n;
	pmem2_cpu_fence();
	return FUTURE_STATE_COMPLETE;
}

/* CACHE_LINE: write the lines back, then fence. */
static enum future_state
cache_line_start(struct wop *w, void *dest, size_t len,
	struct future_notifier *n)
{
	(void)n;
	/*
	 * A mover that took VDM_F_MEM_DURABLE has written the lines back and
	 * fenced on the cores that stored them before it reported completion;
	 * a fence here would order only this thread's stores, so it adds
	 * nothing.
	 */
	if (w->skip_flush)
		return FUTURE_STATE_COMPLETE;
	pmem2_cpu_flush(dest, len);
	pmem2_cpu_fence();
	return FUTURE_STATE_COMPLETE;
}

/* Never called: start completes. */
static enum future_state
done_poll(struct wop *w, const struct vdm_operation *op,
	struct future_notifier *n)
{
	(void)w;
	(void)op;
	(void)n;
	return FUTURE_STATE_COMPLETE;
}

/*
 * Neither needs anything per map or before a write: the map's state is
 * all they use, and they finish in the step that starts them (INLINE).
 */
const struct pmem2_durability pmem2_dur_byte = {
	.flags = PMEM2_DUR_INLINE,
	.start = byte_start,
	.poll = done_poll,
};

const struct pmem2_durability pmem2_dur_cache_line = {
	.flags = PMEM2_DUR_INLINE | PMEM2_DUR_MOVER_PERSISTS,
	.start = cache_line_start,
	.poll = done_poll,
};
