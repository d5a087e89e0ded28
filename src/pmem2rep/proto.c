// SPDX-License-Identifier: BSD-3-Clause
/*
 * proto.c -- encoding, parsing and the daemon's per-connection state
 * machine of the libpmem2rep protocol, and the crypto it relies on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "proto.h"

#define HDR 8

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/*
 * The body length of a message of `type` whose vector (PERSISTV, DONEV)
 * holds n entries; 0: unknown type or n out of bounds.
 */
static size_t
body_len(unsigned type, uint32_t n)
{
	switch (type) {
	case REP_PERSISTV:
		return n >= 1 && n <= REP_PERSISTV_MAX ? 8 + 24 * (size_t)n : 0;
	case REP_DONEV:
		return n >= 1 && n <= REP_DONEV_MAX ? 8 + 8 * (size_t)n : 0;
	case REP_HELLO: return 4 + REP_NONCE;
	case REP_AUTH: return REP_NONCE + REP_MAC;
	case REP_WELCOME: return 28 + REP_MAC;
	case REP_REFUSED: return 8;
	case REP_PERSIST: return 24;
	case REP_DONE: return 16;
	default: return 0;
	}
}

size_t
rep_msg_encode(const struct rep_msg *m, uint8_t *buf)
{
	uint32_t n = m->type == REP_PERSISTV ? m->u.persistv.n :
		m->type == REP_DONEV ? m->u.donev.n : 0;
	size_t blen = body_len(m->type, n);
	uint8_t *b = buf + HDR;

	memset(buf, 0, HDR + blen);
	put32(buf, REP_MAGIC);
	put16(buf + 4, (uint16_t)m->type);
	switch (m->type) {
	case REP_HELLO:
		put32(b, m->u.hello.version);
		memcpy(b + 4, m->u.hello.nonce, REP_NONCE);
		break;
	case REP_AUTH:
		memcpy(b, m->u.auth.nonce, REP_NONCE);
		memcpy(b + REP_NONCE, m->u.auth.mac, REP_MAC);
		break;
	case REP_WELCOME:
		rep_welcome_fields(m, b);
		memcpy(b + 28, m->u.welcome.mac, REP_MAC);
		break;
	case REP_REFUSED:
		put32(b, (uint32_t)m->u.refused.status);
		break;
	case REP_PERSIST:
		put64(b, m->u.persist.id);
		put64(b + 8, m->u.persist.offset);
		put64(b + 16, m->u.persist.len);
		break;
	case REP_DONE:
		put64(b, m->u.done.id);
		put32(b + 8, (uint32_t)m->u.done.status);
		break;
	case REP_PERSISTV:
		put32(b, n);
		for (uint32_t i = 0; i < n; i++) {
			const struct rep_range *r = &m->u.persistv.r[i];
			put64(b + 8 + 24 * i, r->id);
			put64(b + 16 + 24 * i, r->offset);
			put64(b + 24 + 24 * i, r->len);
		}
		break;
	case REP_DONEV:
		put32(b, n);
		put32(b + 4, (uint32_t)m->u.donev.status);
		for (uint32_t i = 0; i < n; i++)
			put64(b + 8 + 8 * i, m->u.donev.id[i]);
		break;
	}
	return HDR + blen;
}

void
rep_welcome_fields(const struct rep_msg *w, uint8_t out[REP_WELCOME_FIELDS])
{
	put64(out, w->u.welcome.size);
	put64(out + 8, w->u.welcome.base);
	put64(out + 16, w->u.welcome.rkey);
	put32(out + 24, w->u.welcome.credits);
}

int
rep_msg_parse(const uint8_t *buf, size_t len, struct rep_msg *m)
{
	if (len < HDR || get32(buf) != REP_MAGIC || get16(buf + 6) != 0)
		return -EPROTO;
	unsigned type = get16(buf + 4);
	uint32_t n = 0;
	if (type == REP_PERSISTV || type == REP_DONEV) {
		if (len < HDR + 8)
			return -EPROTO;
		n = get32(buf + HDR);
	}
	size_t blen = body_len(type, n);
	if (blen == 0 || len != HDR + blen)
		return -EPROTO;

	const uint8_t *b = buf + HDR;
	memset(m, 0, sizeof(*m));
	m->type = (enum rep_msg_type)type;
	switch (type) {
	case REP_HELLO:
		m->u.hello.version = get32(b);
		memcpy(m->u.hello.nonce, b + 4, REP_NONCE);
		break;
	case REP_AUTH:
		memcpy(m->u.auth.nonce, b, REP_NONCE);
		memcpy(m->u.auth.mac, b + REP_NONCE, REP_MAC);
		break;
	case REP_WELCOME:
		m->u.welcome.size = get64(b);
		m->u.welcome.base = get64(b + 8);
		m->u.welcome.rkey = get64(b + 16);
		m->u.welcome.credits = get32(b + 24);
		memcpy(m->u.welcome.mac, b + 28, REP_MAC);
		break;
	case REP_REFUSED:
		m->u.refused.status = (int32_t)get32(b);
		if (get32(b + 4) != 0)
			return -EPROTO;
		break;
	case REP_PERSIST:
		m->u.persist.id = get64(b);
		m->u.persist.offset = get64(b + 8);
		m->u.persist.len = get64(b + 16);
		break;
	case REP_DONE:
		m->u.done.id = get64(b);
		m->u.done.status = (int32_t)get32(b + 8);
		if (get32(b + 12) != 0)
			return -EPROTO;
		break;
	case REP_PERSISTV:
		if (get32(b + 4) != 0)
			return -EPROTO;
		m->u.persistv.n = n;
		for (uint32_t i = 0; i < n; i++) {
			struct rep_range *r = &m->u.persistv.r[i];
			r->id = get64(b + 8 + 24 * i);
			r->offset = get64(b + 16 + 24 * i);
			r->len = get64(b + 24 + 24 * i);
		}
		break;
	case REP_DONEV:
		m->u.donev.n = n;
		m->u.donev.status = (int32_t)get32(b + 4);
		for (uint32_t i = 0; i < n; i++)
			m->u.donev.id[i] = get64(b + 8 + 8 * i);
		break;
	}
	return 0;
}

int
rep_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

void
rep_thread_done(void)
{
	OPENSSL_thread_stop();
}

void
rep_mac(const uint8_t *key, size_t keylen, const char *label,
	const uint8_t *a, const uint8_t *b, const uint8_t *extra,
	size_t extralen, uint8_t mac[REP_MAC])
{
	uint8_t in[64 + 2 * REP_NONCE + REP_WELCOME_FIELDS];
	size_t ll = strlen(label), n = 0;

	memcpy(in, label, ll);
	n += ll;
	memcpy(in + n, a, REP_NONCE);
	n += REP_NONCE;
	memcpy(in + n, b, REP_NONCE);
	n += REP_NONCE;
	if (extralen > REP_WELCOME_FIELDS)
		extralen = REP_WELCOME_FIELDS;
	if (extralen)
		memcpy(in + n, extra, extralen);
	n += extralen;
	unsigned outlen = REP_MAC;
	if (HMAC(EVP_sha256(), key, (int)keylen, in, n, mac, &outlen) == NULL)
		memset(mac, 0, REP_MAC);	/* never matches a real MAC */
}

int
rep_mac_equal(const uint8_t *a, const uint8_t *b)
{
	return CRYPTO_memcmp(a, b, REP_MAC) == 0;
}

#define LABEL_CLIENT "pmem2rep v1 client"
#define LABEL_SERVER "pmem2rep v1 server"

int
rep_srv_init(struct rep_srv *s, const uint8_t *key, size_t keylen,
	uint64_t size, struct rep_msg *hello)
{
	memset(s, 0, sizeof(*s));
	s->phase = REP_SRV_WAIT_AUTH;
	s->key = key;
	s->keylen = keylen;
	s->size = size;
	if (rep_random(s->nonce, REP_NONCE))
		return -EIO;
	memset(hello, 0, sizeof(*hello));
	hello->type = REP_HELLO;
	hello->u.hello.version = REP_VERSION;
	memcpy(hello->u.hello.nonce, s->nonce, REP_NONCE);
	return 0;
}

/* One requested range: persist it, or answer at once. */
static void
srv_range(const struct rep_srv *s, const struct rep_range *r,
	struct rep_srv_action *act)
{
	act->id = r->id;
	act->offset = r->offset;
	act->len = r->len;
	if (!rep_range_ok(act->offset, act->len, s->size)) {
		act->kind = REP_ACT_ANSWER;
		act->status = -ERANGE;
		act->why = "range outside the served region";
	} else if (act->len == 0) {
		act->kind = REP_ACT_ANSWER;
		act->status = 0;
	} else {
		act->kind = REP_ACT_PERSIST;
	}
}

unsigned
rep_srv_step(struct rep_srv *s, const uint8_t *buf, size_t len,
	struct rep_srv_action act[REP_PERSISTV_MAX])
{
	struct rep_msg m;

	memset(act, 0, sizeof(*act));
	if (s->phase == REP_SRV_CLOSED) {
		act->kind = REP_ACT_CLOSE;
		act->why = "message after the connection was refused";
		return 1;
	}
	if (rep_msg_parse(buf, len, &m) != 0) {
		act->kind = REP_ACT_CLOSE;
		act->why = "malformed message";
		s->phase = REP_SRV_CLOSED;
		return 1;
	}
	if (s->phase == REP_SRV_WAIT_AUTH) {
		if (m.type != REP_AUTH) {
			act->kind = REP_ACT_CLOSE;
			act->why = "message before authentication";
			s->phase = REP_SRV_CLOSED;
			return 1;
		}
		uint8_t want[REP_MAC];
		rep_mac(s->key, s->keylen, LABEL_CLIENT, s->nonce,
			m.u.auth.nonce, NULL, 0, want);
		if (!rep_mac_equal(want, m.u.auth.mac)) {
			act->kind = REP_ACT_REFUSE;
			act->status = -EACCES;
			act->why = "authentication failed (wrong key)";
			s->phase = REP_SRV_CLOSED;
			return 1;
		}
		memcpy(s->peer_nonce, m.u.auth.nonce, REP_NONCE);
		s->phase = REP_SRV_SERVING;
		act->kind = REP_ACT_WELCOME;
		return 1;
	}
	/* serving */
	if (m.type == REP_PERSIST) {
		struct rep_range r = { m.u.persist.id, m.u.persist.offset,
			m.u.persist.len };
		srv_range(s, &r, act);
		return 1;
	}
	if (m.type == REP_PERSISTV) {
		/* each range on its own: a bad one does not fail the others */
		for (uint32_t i = 0; i < m.u.persistv.n; i++) {
			memset(&act[i], 0, sizeof(act[i]));
			srv_range(s, &m.u.persistv.r[i], &act[i]);
		}
		return m.u.persistv.n;
	}
	act->kind = REP_ACT_CLOSE;
	act->why = "unexpected message type";
	s->phase = REP_SRV_CLOSED;
	return 1;
}

void
rep_srv_welcome(const struct rep_srv *s, uint64_t base, uint64_t rkey,
	struct rep_msg *w)
{
	uint8_t f[REP_WELCOME_FIELDS];

	memset(w, 0, sizeof(*w));
	w->type = REP_WELCOME;
	w->u.welcome.size = s->size;
	w->u.welcome.base = base;
	w->u.welcome.rkey = rkey;
	w->u.welcome.credits = REP_CREDITS;
	rep_welcome_fields(w, f);
	/* binds the fields to this exchange: the client checks them */
	rep_mac(s->key, s->keylen, LABEL_SERVER, s->peer_nonce, s->nonce,
		f, sizeof(f), w->u.welcome.mac);
}

int
rep_key_load(const char *path, uint8_t *key, size_t *keylen,
	char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "key file %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	int ret = 0;
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		snprintf(err, errlen, "key file %s: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "key file %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		ret = -EPERM;
		snprintf(err, errlen,
			"key file %s can be read or written by others (mode %04o); "
			"chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	size_t n = 0;
	for (;;) {
		if (n == REP_KEY_MAX) {
			char extra;
			if (read(fd, &extra, 1) > 0) {
				ret = -EINVAL;
				snprintf(err, errlen, "key file %s is longer than %d bytes",
					path, REP_KEY_MAX);
				goto out;
			}
			break;
		}
		ssize_t r = read(fd, key + n, REP_KEY_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			snprintf(err, errlen, "key file %s: %s", path, strerror(-ret));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n < REP_KEY_MIN) {
		ret = -EINVAL;
		snprintf(err, errlen, "key file %s holds %zu bytes, fewer than %d",
			path, n, REP_KEY_MIN);
		goto out;
	}
	*keylen = n;
out:
	close(fd);
	return ret;
}

const char *
rep_provider_unsupported(const char *prov)
{
	if (prov && strcmp(prov, "sockets") == 0)
		return "libfabric's sockets provider is not supported (its "
			"connection manager rejects the connection before the "
			"daemon sees it); use tcp, verbs or another provider "
			"with connected endpoints and RMA writes";
	return NULL;
}

int
rep_split_target(const char *target, char *host, size_t hostlen,
	char *port, size_t portlen)
{
	if (target == NULL)
		return -EINVAL;
	const char *colon = strrchr(target, ':');
	if (colon == NULL || colon[1] == '\0')
		return -EINVAL;
	const char *h = target;
	size_t hl = (size_t)(colon - target);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen || strlen(colon + 1) >= portlen)
		return -EINVAL;
	/* a port past 65535 would silently wrap to another port */
	unsigned long pn = 0;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		pn = pn * 10 + (unsigned long)(*p - '0');
		if (pn > 65535)
			return -EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

int
rep_client_auth(const uint8_t *key, size_t keylen, const struct rep_msg *hello,
	uint8_t nonce[REP_NONCE], struct rep_msg *auth)
{
	if (rep_random(nonce, REP_NONCE))
		return -EIO;
	memset(auth, 0, sizeof(*auth));
	auth->type = REP_AUTH;
	memcpy(auth->u.auth.nonce, nonce, REP_NONCE);
	rep_mac(key, keylen, LABEL_CLIENT, hello->u.hello.nonce, nonce, NULL, 0,
		auth->u.auth.mac);
	return 0;
}

int
rep_client_check_welcome(const uint8_t *key, size_t keylen,
	const uint8_t server_nonce[REP_NONCE], const uint8_t nonce[REP_NONCE],
	const struct rep_msg *w)
{
	uint8_t f[REP_WELCOME_FIELDS], want[REP_MAC];

	rep_welcome_fields(w, f);
	rep_mac(key, keylen, LABEL_SERVER, nonce, server_nonce, f, sizeof(f),
		want);
	return rep_mac_equal(want, w->u.welcome.mac);
}
