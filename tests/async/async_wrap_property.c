/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_wrap_property.c -- future_has_property() on a future of a map whose
 * config names a mover: libpmem2 wraps the mover's operation, and when it
 * asks the mover about the property, the mover must be handed a future of
 * its own (data.vdm is the mover, data.data NULL or a state the mover made),
 * never libpmem2's wrapping future.
 *
 * Usage: async_wrap_property page|cache_line
 */
#include "helpers.h"

#define MAGIC 0x6d6f7665u

struct op_state {
	unsigned magic;
};

static struct vdm Mover;
static int Asked, Bad;

static void *
m_new(struct vdm *vdm, const enum vdm_operation_type type)
{
	(void)vdm;
	(void)type;
	struct op_state *s = malloc(sizeof(*s));
	if (s)
		s->magic = MAGIC;
	return s;
}

static int
m_start(void *data, const struct vdm_operation *op, struct future_notifier *n)
{
	(void)data;
	if (n)
		n->notifier_used = FUTURE_NOTIFIER_NONE;
	if (op->type == VDM_OPERATION_MEMCPY)
		memcpy(op->data.memcpy.dest, op->data.memcpy.src,
			op->data.memcpy.n);
	return 0;
}

static enum future_state
m_check(void *data, const struct vdm_operation *op)
{
	(void)data;
	(void)op;
	return FUTURE_STATE_COMPLETE;
}

static void
m_delete(void *data, const struct vdm_operation *op,
	struct vdm_operation_output *out)
{
	out->type = op->type;
	out->result = VDM_SUCCESS;
	out->output.memcpy.dest = op->data.memcpy.dest;
	free(data);
}

/* The mover reads its own state through the future, as movers do. */
static int
m_has_property(void *future, enum future_property prop)
{
	struct vdm_operation_future *f = future;
	Asked++;
	if (f->data.vdm != &Mover)
		Bad++;
	else if (f->data.data != NULL &&
			((struct op_state *)f->data.data)->magic != MAGIC)
		Bad++;
	return prop == FUTURE_PROPERTY_ASYNC;
}

int
main(int argc, char *argv[])
{
	int g = argc == 2 ? test_gran_parse(argv[1]) : -1;
	if (g < 0)
		FAIL("usage: %s page|cache_line", argv[0]);
	Mover = (struct vdm){ m_new, m_delete, m_start, m_check, 0,
		m_has_property };

	struct test_map m;
	test_map_open(&m, g, 1 << 16, &Mover);
	char src[4096];
	test_pattern(src, sizeof(src), 7);
	struct vdm_operation_future f = pmem2_memcpy_async(m.map, m.addr, src,
		sizeof(src), 0);
	/* not polled yet: the mover's operation does not exist */
	CHECK_EQ(future_has_property(&f, FUTURE_PROPERTY_ASYNC), 1);
	CHECK(Asked >= 1);
	CHECK_EQ(Bad, 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	CHECK_MEM(m.addr, src, sizeof(src));
	CHECK_EQ(Bad, 0);
	test_map_close(&m);
	printf("%s: the mover saw only futures of its own: OK\n", argv[1]);
	return 0;
}
