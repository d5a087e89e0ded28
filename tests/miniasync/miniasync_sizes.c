/* SPDX-License-Identifier: BSD-3-Clause */
/* miniasync_sizes.c -- the struct layouts programs built for miniasync 0.2.1 expect. */
#include <stddef.h>

#include <libminiasync.h>
#include "helpers.h"

_Static_assert(sizeof(struct future) == 40, "struct future");
_Static_assert(sizeof(struct future_context) == 24, "struct future_context");
_Static_assert(sizeof(struct future_notifier) == 32, "struct future_notifier");
_Static_assert(sizeof(struct future_chain_entry) == 80, "future_chain_entry");
_Static_assert(sizeof(struct vdm) == 48, "struct vdm");
_Static_assert(sizeof(struct vdm_operation) == 48, "struct vdm_operation");
_Static_assert(offsetof(struct vdm_operation, type) == 40, "operation type");
_Static_assert(sizeof(struct vdm_operation_data) == 64, "vdm_operation_data");
_Static_assert(sizeof(struct vdm_operation_output) == 16, "vdm_operation_output");
_Static_assert(sizeof(struct vdm_operation_future) == 120, "vdm_operation_future");
_Static_assert(offsetof(struct vdm, capabilities) == 32, "vdm capabilities");
_Static_assert(offsetof(struct vdm, has_property) == 40, "vdm has_property");

struct typed_chain {
	FUTURE_CHAIN_ENTRY(struct vdm_operation_future, a);
	FUTURE_CHAIN_ENTRY_LAST(struct vdm_operation_future, b);
};
_Static_assert(offsetof(struct future_chain_entry, future) == 40, "entry future");
_Static_assert(offsetof(struct typed_chain, a.fut) ==
	offsetof(struct future_chain_entry, future), "typed entry matches");
_Static_assert(sizeof(((struct typed_chain *)0)->a) == 40 + 120, "typed entry size");

int
main(void)
{
	/* the typed entry flags pointer carries the LAST bit at run time */
	struct typed_chain c;
	struct data_mover_sync *dms = data_mover_sync_new();
	CHECK(dms != NULL);
	struct vdm *vdm = data_mover_sync_get_vdm(dms);
	char x = 1, y = 0;
	FUTURE_CHAIN_ENTRY_INIT(&c.a, vdm_memcpy(vdm, &y, &x, 1, 0), NULL, NULL);
	FUTURE_CHAIN_ENTRY_INIT(&c.b, vdm_memcpy(vdm, &y, &x, 1, 0), NULL, NULL);
	CHECK(!FUTURE_CHAIN_ENTRY_IS_LAST(&c.a));
	CHECK(FUTURE_CHAIN_ENTRY_IS_LAST(&c.b));
	CHECK(FUTURE_CHAIN_ENTRY_IS_INITIALIZED(&c.a));
	CHECK_EQ(c.a.fut.data.operation.data.memcpy.n, 1);
	/* run both to keep the mover's bookkeeping balanced */
	FUTURE_BUSY_POLL(&c.a.fut);
	FUTURE_BUSY_POLL(&c.b.fut);
	CHECK_EQ(y, 1);
	data_mover_sync_delete(dms);
	return 0;
}
