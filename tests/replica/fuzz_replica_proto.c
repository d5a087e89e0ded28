// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_replica_proto.c -- the daemon's parser and per-connection state
 * machine (rep_srv_step) on arbitrary bytes. Input: one byte of setup
 * (bit 0: start authenticated; bits 1-3: the served size's scale), then
 * messages, each a length byte followed by that many bytes.
 * Invariants: a parse that succeeds re-encodes to the same bytes; PERSIST
 * actions (also each of a PERSISTV's) only for non-empty ranges inside the
 * served size; the only answers are 0 and -ERANGE; a closed connection stays closed; WELCOME
 * only for a MAC made with the key.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define ASSERT(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_action(const struct rep_srv_action *act, enum rep_srv_phase before,
	const struct rep_srv *s, uint64_t served, unsigned nact)
{
	/* only PERSISTV yields several, and only persist or answer ones */
	if (nact > 1)
		ASSERT(act->kind == REP_ACT_PERSIST ||
			act->kind == REP_ACT_ANSWER);
	switch (act->kind) {
	case REP_ACT_PERSIST:
		ASSERT(before == REP_SRV_SERVING);
		ASSERT(act->len > 0);
		ASSERT(rep_range_ok(act->offset, act->len, served));
		ASSERT(act->offset + act->len <= served);
		break;
	case REP_ACT_ANSWER:
		ASSERT(before == REP_SRV_SERVING);
		ASSERT(act->status == 0 || act->status == -ERANGE);
		if (act->status == 0)
			ASSERT(act->len == 0 && act->offset <= served);
		break;
	case REP_ACT_WELCOME:
		/* a random MAC matching is not going to happen */
		ASSERT(0);
		break;
	case REP_ACT_REFUSE:
		ASSERT(before == REP_SRV_WAIT_AUTH);
		ASSERT(s->phase == REP_SRV_CLOSED);
		break;
	case REP_ACT_CLOSE:
		ASSERT(s->phase == REP_SRV_CLOSED);
		break;
	case REP_ACT_NONE:
		ASSERT(0);
		break;
	}
	if (before == REP_SRV_CLOSED)
		ASSERT(act->kind == REP_ACT_CLOSE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = "fuzzing key, not a secret 12345";
	struct rep_srv s;
	struct rep_msg hello;

	if (size == 0)
		return 0;
	uint8_t setup = data[0];
	data++;
	size--;
	uint64_t served = (uint64_t)4096 << (4 * ((setup >> 1) & 7));
	ASSERT(rep_srv_init(&s, key, sizeof(key), served, &hello) == 0);
	if (setup & 1)
		s.phase = REP_SRV_SERVING;

	while (size > 0) {
		size_t len = data[0];
		data++;
		size--;
		if (len > size)
			len = size;
		/* a copy of exactly len bytes: ASan sees any overread */
		uint8_t *msg = malloc(len ? len : 1);
		ASSERT(msg != NULL);
		memcpy(msg, data, len);
		data += len;
		size -= len;

		struct rep_msg m;
		if (rep_msg_parse(msg, len, &m) == 0) {
			uint8_t again[REP_MSG_MAX];
			size_t n = rep_msg_encode(&m, again);
			ASSERT(n == len && memcmp(again, msg, n) == 0);
		}
		enum rep_srv_phase before = s.phase;
		struct rep_srv_action acts[REP_PERSISTV_MAX];
		unsigned nact = rep_srv_step(&s, msg, len, acts);
		free(msg);
		ASSERT(nact >= 1 && nact <= REP_PERSISTV_MAX);
		for (unsigned i = 0; i < nact; i++) {
			const struct rep_srv_action *a = &acts[i];
			check_action(a, before, &s, served, nact);
		}
	}
	return 0;
}
