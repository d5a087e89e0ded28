/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proto.h -- the libpmem2rep wire protocol, shared by the client library and
 * pmem2-replicad. Every message is small, fixed-size per type and
 * little-endian, so one receive buffer of REP_MSG_MAX bytes holds any valid
 * message and anything longer or shorter is malformed.
 *
 *   daemon -> client  HELLO    version, server nonce
 *   client -> daemon  AUTH     client nonce, HMAC(key, "client", ns, nc)
 *   daemon -> client  WELCOME  size, remote address base, remote key,
 *                              credits, HMAC(key, "server", nc, ns, fields)
 *                  or REFUSED  status
 *   client -> daemon  PERSIST  id, offset, length  (after its RMA writes)
 *                  or PERSISTV n, then n x (id, offset, length)
 *   daemon -> client  DONE     id, status
 *                  or DONEV    n, status, then n ids
 *
 * The vector forms carry several writes' requests or answers in one
 * message: a small write then costs the transport one RMA write and a
 * share of a message each way instead of a whole message each way.
 *
 * Nothing about the served memory (size, key, address) leaves the daemon
 * before AUTH checked out; the daemon registers the memory only then.
 */
#ifndef PMEM2REP_PROTO_H
#define PMEM2REP_PROTO_H 1

#include <stddef.h>
#include <stdint.h>

#define REP_MAGIC 0x31523250u	/* "P2R1" */
#define REP_VERSION 2u		/* 2: PERSISTV, DONEV */
#define REP_NONCE 32
#define REP_MAC 32		/* HMAC-SHA256 */
#define REP_MSG_MAX 128		/* receive buffer size; fits fi_inject */
#define REP_KEY_MIN 16
#define REP_KEY_MAX 4096
#define REP_CREDITS 64		/* PERSIST requests in flight per connection */
#define REP_PERSISTV_MAX 4	/* 8 + 8 + 4 * 24 bytes <= REP_MSG_MAX */
#define REP_DONEV_MAX 13	/* 8 + 8 + 13 * 8 bytes <= REP_MSG_MAX */

enum rep_msg_type {
	REP_HELLO = 1,
	REP_AUTH = 2,
	REP_WELCOME = 3,
	REP_REFUSED = 4,
	REP_PERSIST = 5,
	REP_DONE = 6,
	REP_PERSISTV = 7,
	REP_DONEV = 8,
};

struct rep_range {
	uint64_t id, offset, len;
};

struct rep_msg {
	enum rep_msg_type type;
	union {
		struct { uint32_t version; uint8_t nonce[REP_NONCE]; } hello;
		struct { uint8_t nonce[REP_NONCE]; uint8_t mac[REP_MAC]; } auth;
		struct {
			uint64_t size, base, rkey;
			uint32_t credits;
			uint8_t mac[REP_MAC];
		} welcome;
		struct { int32_t status; } refused;
		struct { uint64_t id, offset, len; } persist;
		struct { uint64_t id; int32_t status; } done;
		struct {
			uint32_t n;	/* 1..REP_PERSISTV_MAX */
			struct rep_range r[REP_PERSISTV_MAX];
		} persistv;
		struct {
			uint32_t n;	/* 1..REP_DONEV_MAX */
			int32_t status;	/* the same for every id */
			uint64_t id[REP_DONEV_MAX];
		} donev;
	} u;
};

/* Encodes m into buf (REP_MSG_MAX bytes); returns the message's length. */
size_t rep_msg_encode(const struct rep_msg *m, uint8_t *buf);
/*
 * Decodes one received message; 0, or -EPROTO when its length, magic,
 * type or reserved fields are wrong. Never reads past buf[len - 1].
 */
int rep_msg_parse(const uint8_t *buf, size_t len, struct rep_msg *m);

/*
 * NULL, or why libfabric provider `prov` cannot carry this protocol. The
 * sockets provider's connection manager rejects our connection requests
 * itself, before the listener sees them: refused with this message.
 */
const char *rep_provider_unsupported(const char *prov);

/* Whether [offset, offset + len) lies inside a region of `size` bytes. */
static inline int
rep_range_ok(uint64_t offset, uint64_t len, uint64_t size)
{
	return offset <= size && len <= size - offset;
}

/*
 * The daemon's side of one connection as a pure state machine, so the
 * fuzzer drives exactly the code that faces the network.
 */
enum rep_srv_phase {
	REP_SRV_WAIT_AUTH,	/* HELLO sent */
	REP_SRV_SERVING,	/* WELCOME sent */
	REP_SRV_CLOSED,		/* refused or protocol error: drop it */
};

struct rep_srv {
	enum rep_srv_phase phase;
	const uint8_t *key;
	size_t keylen;
	uint64_t size;		/* the served region */
	uint8_t nonce[REP_NONCE];	/* ours, sent in HELLO */
	uint8_t peer_nonce[REP_NONCE];
};

enum rep_srv_action_kind {
	REP_ACT_NONE,
	REP_ACT_WELCOME,	/* register the memory, then send WELCOME */
	REP_ACT_REFUSE,		/* send REFUSED(status), then close */
	REP_ACT_PERSIST,	/* persist [offset, offset+len), answer id */
	REP_ACT_ANSWER,		/* send DONE(id, status) now */
	REP_ACT_CLOSE,		/* malformed: close without an answer */
};

struct rep_srv_action {
	enum rep_srv_action_kind kind;
	int status;		/* REFUSE, ANSWER: negative errno */
	uint64_t id, offset, len;
	const char *why;	/* for the daemon's log */
};

/* Starts a connection: fills HELLO (with a fresh nonce) into *hello. */
int rep_srv_init(struct rep_srv *s, const uint8_t *key, size_t keylen,
	uint64_t size, struct rep_msg *hello);
/*
 * Handles one received message: fills act[0..ret-1] and returns how many
 * actions it holds (1, or up to REP_PERSISTV_MAX for PERSISTV).
 */
unsigned rep_srv_step(struct rep_srv *s, const uint8_t *buf, size_t len,
	struct rep_srv_action act[REP_PERSISTV_MAX]);
/* The WELCOME for an accepted client, once the memory is registered. */
void rep_srv_welcome(const struct rep_srv *s, uint64_t base, uint64_t rkey,
	struct rep_msg *w);

/* The client's answer to HELLO: a fresh nonce and its MAC. 0 or -EIO. */
int rep_client_auth(const uint8_t *key, size_t keylen,
	const struct rep_msg *hello, uint8_t nonce[REP_NONCE],
	struct rep_msg *auth);
/* 1 when WELCOME's MAC proves the daemon holds the key too. */
int rep_client_check_welcome(const uint8_t *key, size_t keylen,
	const uint8_t server_nonce[REP_NONCE], const uint8_t nonce[REP_NONCE],
	const struct rep_msg *w);

/* ---- crypto helpers (OpenSSL libcrypto) ---- */

/* Cryptographically random bytes; 0 or -EIO. */
int rep_random(void *buf, size_t len);
/* Frees the crypto library's state of the calling thread (its RNG). */
void rep_thread_done(void);
/* HMAC-SHA256(key, label || a || b || extra) into mac. */
void rep_mac(const uint8_t *key, size_t keylen, const char *label,
	const uint8_t *a, const uint8_t *b, const uint8_t *extra,
	size_t extralen, uint8_t mac[REP_MAC]);
/* Constant-time comparison of two MACs: 1 when equal. */
int rep_mac_equal(const uint8_t *a, const uint8_t *b);
/* The fields of WELCOME the server's MAC covers, serialized. */
#define REP_WELCOME_FIELDS 28
void rep_welcome_fields(const struct rep_msg *w,
	uint8_t out[REP_WELCOME_FIELDS]);

/*
 * Reads a shared key file: a regular file nobody but its owner may read or
 * write (mode & 077 == 0), REP_KEY_MIN..REP_KEY_MAX bytes; its bytes are the
 * key. Returns 0 or a negative errno with a message in err (errlen bytes).
 */
int rep_key_load(const char *path, uint8_t *key, size_t *keylen,
	char *err, size_t errlen);

/*
 * Splits "HOST:PORT" (or "[V6]:PORT") into host and port strings; PORT
 * must be a number of at most 65535. Returns 0 or -EINVAL.
 */
int rep_split_target(const char *target, char *host, size_t hostlen,
	char *port, size_t portlen);
#endif /* PMEM2REP_PROTO_H */
