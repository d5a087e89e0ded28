// SPDX-License-Identifier: BSD-3-Clause
/*
 * replica_proto.c -- a client that breaks the protocol: messages before
 * authentication, truncated, oversized, empty or with a bad magic; PERSIST
 * requests outside the served range, alone or among good ones in a
 * PERSISTV; PERSISTVs with a wrong count; RMA writes past the registered
 * region. Each gets an error or a closed connection, nothing is written
 * outside a request, and the daemon keeps serving a well-behaved client,
 * also while more keyless clients than it holds connect and idle. A
 * forged answer (an id never asked, one op answered twice through an
 * alias of its id, a status of INT32_MIN) fails the write, never a crash.
 * With 1 to 3 credits, all held by queued requests, writes still start.
 * Usage: replica_proto PMEM2-REPLICAD
 */
#include <libpmem2rep.h>

#include "proto.h"
#include "rep_internal.h"
#include "rutil.h"

#define SIZE ((size_t)1 << 20)

static char keyp[256], datp[256];

static void
cleanup(void)
{
	unlink(keyp);
	unlink(datp);
}

/* A good client still works: writes one block and finds it in the file. */
static void
still_serving(const char *target, unsigned seed)
{
	struct pmem2rep *rep = NULL;
	int r = pmem2rep_connect(&rep, target, keyp);
	if (r)
		FAIL("connect after abuse: %d %s", r, pmem2rep_errormsg());
	unsigned char buf[4096];
	test_pattern(buf, sizeof(buf), seed);
	struct vdm_operation_future f = pmem2rep_write_async(rep, 8192, buf,
		sizeof(buf), 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	unsigned char *got = rutil_read(datp, SIZE);
	CHECK_MEM(got + 8192, buf, sizeof(buf));
	/* nothing else changed: the rest is still 0xee */
	for (size_t i = 0; i < SIZE; i++)
		if ((i < 8192 || i >= 8192 + sizeof(buf)) && got[i] != 0xee)
			FAIL("byte %zu changed to %#x", i, got[i]);
	free(got);
}

/* Sends raw bytes on a fresh unauthenticated connection: it must close. */
static void
unauth_closed(const char *target, const void *msg, size_t len,
	const char *what)
{
	struct pmem2rep *rep = NULL;
	int r = rep_test_connect_noauth(&rep, target);
	if (r)
		FAIL("noauth connect: %d %s", r, pmem2rep_errormsg());
	CHECK_EQ(rep_test_send_raw(rep, msg, len), 0);
	if (!rep_test_wait_closed(rep, 5000))
		FAIL("%s: the daemon did not close the connection", what);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
}

/*
 * Receives answers (DONE or DONEV) until each of the n ids got one; each
 * id's status goes to status[i]. Fails on an answer twice or to another id.
 */
static void
collect(struct pmem2rep *rep, const uint64_t *ids, int32_t *status,
	unsigned n)
{
	int got[8] = { 0 };
	unsigned left = n;
	CHECK(n <= 8);
	while (left) {
		uint8_t in[REP_MSG_MAX];
		int len = rep_test_recv_raw(rep, in, sizeof(in), 5000);
		if (len < 0)
			FAIL("%u answers missing: %s", left,
				pmem2rep_errormsg());
		struct rep_msg a;
		CHECK_EQ(rep_msg_parse(in, (size_t)len, &a), 0);
		uint64_t one = a.u.done.id;
		const uint64_t *aid = &one;
		uint32_t an = 1;
		int32_t st = a.u.done.status;
		if (a.type == REP_DONEV) {
			aid = a.u.donev.id;
			an = a.u.donev.n;
			st = a.u.donev.status;
		} else {
			CHECK_EQ(a.type, REP_DONE);
		}
		for (uint32_t k = 0; k < an; k++) {
			unsigned i;
			for (i = 0; i < n && ids[i] != aid[k]; i++)
				;
			if (i == n || got[i])
				FAIL("answer to id %llu unexpected",
					(unsigned long long)aid[k]);
			got[i] = 1;
			status[i] = st;
			left--;
		}
	}
}

/*
 * An answer the daemon never gave, handled as if it had: `kind` 0 is a
 * DONE whose id is a real one with a bit above the generation set, 1 a
 * DONEV with the real id and that alias (one op answered twice), 2 the
 * real id with status INT32_MIN. 0 and 1 must fail the connection, 2 the
 * write; none may crash or succeed.
 */
static void
forged_answer(const char *target, int kind)
{
	struct pmem2rep *rep = NULL;
	CHECK_EQ(pmem2rep_connect(&rep, target, keyp), 0);
	/* raw mode: the daemon's real answers stay in the test queue */
	struct rep_msg m;
	uint8_t buf[REP_MSG_MAX], in[REP_MSG_MAX];
	memset(&m, 0, sizeof(m));
	m.type = REP_PERSIST;
	m.u.persist.id = 7777;
	CHECK_EQ(rep_test_send_raw(rep, buf, rep_msg_encode(&m, buf)), 0);
	int n = rep_test_recv_raw(rep, in, sizeof(in), 5000);
	CHECK(n > 0);
	CHECK_EQ(rep_msg_parse(in, (size_t)n, &m), 0);
	CHECK_EQ(m.type, REP_DONE);
	CHECK_EQ(m.u.done.id, 7777);

	/* the bytes the file holds already: still_serving() checks it all */
	unsigned char data[4096];
	memset(data, 0xee, sizeof(data));
	struct vdm_operation_future f = pmem2rep_write_async(rep, 0, data,
		sizeof(data), 0);
	/* the second poll sends the queued request */
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL),
		FUTURE_STATE_RUNNING);
	CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL),
		FUTURE_STATE_RUNNING);
	n = rep_test_recv_raw(rep, in, sizeof(in), 5000);
	if (n < 0)
		FAIL("kind %d: no answer: %s", kind, pmem2rep_errormsg());
	CHECK_EQ(rep_msg_parse(in, (size_t)n, &m), 0);
	CHECK_EQ(m.type, REP_DONE);
	CHECK_EQ(m.u.done.status, 0);
	uint64_t id = m.u.done.id;
	/* let the RMA write's completion in: only the answer is missing */
	for (int i = 0; i < 50; i++) {
		CHECK_EQ(future_poll(FUTURE_AS_RUNNABLE(&f), NULL),
			FUTURE_STATE_RUNNING);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}

	memset(&m, 0, sizeof(m));
	if (kind == 1) {
		m.type = REP_DONEV;
		m.u.donev.n = 2;
		m.u.donev.id[0] = id;
		m.u.donev.id[1] = id | 1ULL << 40;
	} else {
		m.type = REP_DONE;
		m.u.done.id = kind == 0 ? id | 1ULL << 40 : id;
		m.u.done.status = kind == 2 ? INT32_MIN : 0;
	}
	CHECK_EQ(rep_test_answer(rep, buf, rep_msg_encode(&m, buf)),
		kind == 2 ? 0 : 1);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(f.output.result, VDM_ERROR_IO);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
}

/*
 * Few credits (1 to 3, fewer than a PERSISTV holds) and a caller that
 * polls each future until it started before it starts the next: every
 * credit is then held by a request still in the send queue, and only a
 * start that sends the queue when it finds no credit can go on.
 */
static void
few_credits(const char *target, unsigned credits)
{
	struct pmem2rep *rep = NULL;
	CHECK_EQ(pmem2rep_connect(&rep, target, keyp), 0);
	rep_test_set_credits(rep, credits);
	enum { N = 12 };
	static unsigned char data[N][4096];
	struct vdm_operation_future f[N];
	memset(data, 0xee, sizeof(data));
	for (int i = 0; i < N; i++) {
		f[i] = pmem2rep_write_async(rep, (size_t)i * 4096, data[i],
			4096, 0);
		uint64_t t0 = rutil_ms();
		while (future_poll(FUTURE_AS_RUNNABLE(&f[i]), NULL) ==
				FUTURE_STATE_IDLE)
			if (rutil_ms() - t0 > 10000)
				FAIL("%u credits: write %d never started",
					credits, i);
	}
	for (int i = 0; i < N; i++) {
		FUTURE_BUSY_POLL(&f[i]);
		CHECK_EQ(f[i].output.result, VDM_SUCCESS);
	}
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
}

/* An authenticated connection gets raw bytes: the daemon must close it. */
static void
auth_closed(const char *target, const void *msg, size_t len,
	const char *what)
{
	struct pmem2rep *rep = NULL;
	CHECK_EQ(pmem2rep_connect(&rep, target, keyp), 0);
	CHECK_EQ(rep_test_send_raw(rep, msg, len), 0);
	if (!rep_test_wait_closed(rep, 5000))
		FAIL("%s: the daemon did not close the connection", what);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
}

int
main(int argc, char *argv[])
{
	if (argc != 2)
		FAIL("usage: replica_proto PMEM2-REPLICAD");
	rutil_need_fabric();
	snprintf(keyp, sizeof(keyp), "%s/rep_proto_%d.key", test_dir(),
		(int)getpid());
	snprintf(datp, sizeof(datp), "%s/rep_proto_%d.dat", test_dir(),
		(int)getpid());
	atexit(cleanup);
	rutil_key(keyp, 0600, -1);
	rutil_file(datp, SIZE, 0xee);
	struct rutil_daemon d;
	CHECK_EQ(rutil_daemon_start(&d, argv[1], keyp, datp), 0);

	struct rep_msg m;
	uint8_t buf[512];
	size_t len;

	/* PERSIST before AUTH */
	memset(&m, 0, sizeof(m));
	m.type = REP_PERSIST;
	m.u.persist.offset = 0;
	m.u.persist.len = 4096;
	len = rep_msg_encode(&m, buf);
	unauth_closed(d.target, buf, len, "PERSIST before AUTH");
	memset(&m, 0, sizeof(m));
	m.type = REP_PERSISTV;
	m.u.persistv.n = 1;
	m.u.persistv.r[0].len = 4096;
	len = rep_msg_encode(&m, buf);
	unauth_closed(d.target, buf, len, "PERSISTV before AUTH");
	/* truncated AUTH */
	memset(&m, 0, sizeof(m));
	m.type = REP_AUTH;
	len = rep_msg_encode(&m, buf);
	unauth_closed(d.target, buf, len - 1, "truncated AUTH");
	unauth_closed(d.target, buf, 5, "5-byte message");
	/* bad magic */
	buf[0] ^= 0xff;
	unauth_closed(d.target, buf, len, "bad magic");
	buf[0] ^= 0xff;
	/* non-zero reserved header bytes, unknown type */
	buf[6] = 1;
	unauth_closed(d.target, buf, len, "reserved bytes");
	buf[6] = 0;
	buf[4] = 99;
	unauth_closed(d.target, buf, len, "unknown type");
	/* longer than any message */
	memset(buf, 0x41, sizeof(buf));
	unauth_closed(d.target, buf, sizeof(buf), "oversized message");
	/* AUTH with a forged MAC (all zero): refused */
	memset(&m, 0, sizeof(m));
	m.type = REP_AUTH;
	len = rep_msg_encode(&m, buf);
	unauth_closed(d.target, buf, len, "forged AUTH");
	still_serving(d.target, 1);

	/* authenticated, then out-of-range PERSIST: an error answer */
	struct pmem2rep *rep = NULL;
	CHECK_EQ(pmem2rep_connect(&rep, d.target, keyp), 0);
	const uint64_t bad[][2] = {
		{ SIZE, 1 }, { SIZE - 1, 2 }, { UINT64_MAX, 2 },
		{ 4096, UINT64_MAX }, { SIZE + 4096, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.type = REP_PERSIST;
		m.u.persist.id = 1000 + i;
		m.u.persist.offset = bad[i][0];
		m.u.persist.len = bad[i][1];
		len = rep_msg_encode(&m, buf);
		CHECK_EQ(rep_test_send_raw(rep, buf, len), 0);
		uint8_t in[REP_MSG_MAX];
		int n = rep_test_recv_raw(rep, in, sizeof(in), 5000);
		if (n < 0)
			FAIL("no answer to bad PERSIST %zu: %s", i,
				pmem2rep_errormsg());
		struct rep_msg a;
		CHECK_EQ(rep_msg_parse(in, (size_t)n, &a), 0);
		CHECK_EQ(a.type, REP_DONE);
		CHECK_EQ(a.u.done.id, 1000 + i);
		CHECK_EQ(a.u.done.status, -ERANGE);
	}
	/*
	 * A PERSISTV mixing good, empty and out-of-range requests: each
	 * answered on its own, the bad ones with -ERANGE, the rest with 0.
	 */
	memset(&m, 0, sizeof(m));
	m.type = REP_PERSISTV;
	m.u.persistv.n = 4;
	const struct rep_range mix[4] = {
		{ 3000, 4096, 4096 }, { 3001, SIZE, 1 }, { 3002, 100, 0 },
		{ 3003, 4096, UINT64_MAX },
	};
	memcpy(m.u.persistv.r, mix, sizeof(mix));
	len = rep_msg_encode(&m, buf);
	CHECK_EQ(rep_test_send_raw(rep, buf, len), 0);
	{
		const uint64_t ids[4] = { 3000, 3001, 3002, 3003 };
		int32_t st[4];
		collect(rep, ids, st, 4);
		CHECK_EQ(st[0], 0);
		CHECK_EQ(st[1], -ERANGE);
		CHECK_EQ(st[2], 0);
		CHECK_EQ(st[3], -ERANGE);
	}
	/* several good PERSISTs in a row: all answered, none twice */
	{
		uint64_t ids[8];
		int32_t st[8];
		for (unsigned i = 0; i < 8; i++) {
			memset(&m, 0, sizeof(m));
			m.type = REP_PERSISTV;
			m.u.persistv.n = 1;
			ids[i] = 4000 + i;
			m.u.persistv.r[0] = (struct rep_range){ ids[i],
				4096 * i, 4096 };
			len = rep_msg_encode(&m, buf);
			CHECK_EQ(rep_test_send_raw(rep, buf, len), 0);
		}
		collect(rep, ids, st, 8);
		for (unsigned i = 0; i < 8; i++)
			CHECK_EQ(st[i], 0);
	}
	/* a second AUTH on an authenticated connection: closed */
	memset(&m, 0, sizeof(m));
	m.type = REP_AUTH;
	len = rep_msg_encode(&m, buf);
	CHECK_EQ(rep_test_send_raw(rep, buf, len), 0);
	CHECK(rep_test_wait_closed(rep, 5000));
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	still_serving(d.target, 2);

	/* PERSISTV whose count disagrees with its length, or is 0 or 5 */
	memset(&m, 0, sizeof(m));
	m.type = REP_PERSISTV;
	m.u.persistv.n = 2;
	m.u.persistv.r[0] = (struct rep_range){ 1, 0, 4096 };
	m.u.persistv.r[1] = (struct rep_range){ 2, 4096, 4096 };
	len = rep_msg_encode(&m, buf);
	buf[8] = 3;
	auth_closed(d.target, buf, len, "PERSISTV count 3, 2 entries");
	buf[8] = 0;
	auth_closed(d.target, buf, 16, "PERSISTV count 0");
	buf[8] = 2;
	buf[12] = 1;
	auth_closed(d.target, buf, len, "PERSISTV reserved bytes");
	buf[12] = 0;
	uint8_t big[REP_MSG_MAX + 32];
	memset(big, 0, sizeof(big));
	memcpy(big, buf, len);
	big[8] = REP_PERSISTV_MAX + 1;
	auth_closed(d.target, big, 16 + 24 * (REP_PERSISTV_MAX + 1),
		"PERSISTV count past the maximum");
	/* a DONEV (an answer) sent to the daemon */
	memset(&m, 0, sizeof(m));
	m.type = REP_DONEV;
	m.u.donev.n = 2;
	len = rep_msg_encode(&m, buf);
	auth_closed(d.target, buf, len, "DONEV to the daemon");
	still_serving(d.target, 5);

	for (unsigned c = 1; c <= 3; c++)
		few_credits(d.target, c);

	/* answers the daemon never gave: an error, never a crash */
	for (int kind = 0; kind < 3; kind++)
		forged_answer(d.target, kind);
	still_serving(d.target, 6);

	/* RMA writes past the registered region: rejected, nothing lands */
	CHECK_EQ(pmem2rep_connect(&rep, d.target, keyp), 0);
	unsigned char junk[8192];
	memset(junk, 0x99, sizeof(junk));
	int r = rep_test_write_raw(rep, SIZE - 4, junk, sizeof(junk), 5000);
	fprintf(stderr, "RMA write past the end: %d\n", r);
	rep_test_wait_closed(rep, 2000);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	still_serving(d.target, 3);

	/*
	 * Keyless clients that connect and idle, more than the daemon holds:
	 * they must not lock out a client with the key.
	 */
	static struct pmem2rep *idle[300];
	unsigned nidle = 0;
	while (nidle < 300 && rep_test_connect_noauth(&idle[nidle],
			d.target) == 0)
		nidle++;
	CHECK(nidle >= 16);
	still_serving(d.target, 4);
	for (unsigned i = 0; i < nidle; i++)
		CHECK_EQ(pmem2rep_disconnect(&idle[i]), 0);

	rutil_daemon_stop(&d);
	return 0;
}
