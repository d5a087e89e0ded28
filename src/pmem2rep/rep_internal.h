/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rep_internal.h -- hooks of the client library that only the tests use
 * (linked from the static library; the shared one does not export them).
 */
#ifndef PMEM2REP_INTERNAL_H
#define PMEM2REP_INTERNAL_H 1

#include <stddef.h>
#include <stdint.h>

struct pmem2rep;

/* Connects and stops after the daemon's HELLO: no AUTH sent. */
int rep_test_connect_noauth(struct pmem2rep **rep, const char *target);
/* Sends len raw bytes as one message (len <= 4096). 0 or negative. */
int rep_test_send_raw(struct pmem2rep *rep, const void *buf, size_t len);
/*
 * RMA-writes without the library's range check, then waits up to
 * timeout_ms for the write's completion. 0 or negative.
 */
int rep_test_write_raw(struct pmem2rep *rep, uint64_t offset,
	const void *src, size_t len, int timeout_ms);
/*
 * Waits up to timeout_ms for the daemon to close the connection; 1 when it
 * did, 0 when the connection is still up.
 */
int rep_test_wait_closed(struct pmem2rep *rep, int timeout_ms);
/* Receives one message within timeout_ms into buf; its length or < 0. */
int rep_test_recv_raw(struct pmem2rep *rep, void *buf, size_t cap,
	int timeout_ms);
/*
 * Handles buf (a DONE or DONEV) as if the daemon had sent it, whatever
 * the raw mode: 1 when it failed the connection, 0 when not, -EINVAL
 * when buf is no answer.
 */
int rep_test_answer(struct pmem2rep *rep, const void *buf, size_t len);
/* Lowers the connection's credits (1 up to what the daemon granted). */
void rep_test_set_credits(struct pmem2rep *rep, unsigned credits);
#endif
