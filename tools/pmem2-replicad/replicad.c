// SPDX-License-Identifier: BSD-3-Clause
/*
 * pmem2-replicad -- serves one file, mapped whole with libpmem2, to
 * libpmem2rep clients over libfabric. See pmem2-replicad(8).
 *
 * The main thread listens; every connection gets a thread of its own with
 * its own fabric domain, so the memory registration that an authenticated
 * client receives does not exist in any other connection's domain (a
 * client that did not authenticate has nothing it could write through).
 * Persist requests are handled in batches: everything that arrived by the
 * time the thread looks is made durable together, on PAGE files with one
 * msync(MS_SYNC) over the batch's span (group commit: while one sync runs,
 * the next requests queue up and share the next one, also across
 * connections, see group_sync()), on pmem with the map's persist function
 * per range. A batch is answered with DONEVs of up to REP_DONEV_MAX ids:
 * one send per batch, not one per request. Syncing in a connection's own
 * thread keeps the answer path free of hand-offs, which is what small
 * writes on fast media pay for.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>

#include <libpmem2.h>
#include "proto.h"

#define FI_VER FI_VERSION(1, 10)
#define NRECV (REP_CREDITS + 4)
#define MAX_CONNS 256
#define AUTH_TIMEOUT_MS 10000
/* evicted connections still closing may exceed MAX_CONNS by this many */
#define EVICT_SLACK (MAX_CONNS / 4)

static atomic_int stop_flag;
static atomic_int nconns;
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conns_cond = PTHREAD_COND_INITIALIZER;

static struct {
	struct pmem2_map *map;
	char *addr;
	size_t size;
	int page;		/* PAGE granularity: msync */
	size_t pagesize;
	pmem2_persist_fn persist;
	uint8_t key[REP_KEY_MAX];
	size_t keylen;
	struct fid_fabric *fabric;
} g;

static void
logmsg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "pmem2-replicad: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct batch {
	uint64_t id, offset, len;
};

struct conn {
	unsigned num;
	struct fi_info *info;
	struct fid_domain *domain;
	struct fid_eq *eq;
	struct fid_cq *cq;
	struct fid_ep *ep;
	struct fid_mr *mr;
	struct rep_srv srv;
	int closing;
	atomic_int evict;	/* made room for a newer one: close */
	/* in the list of unauthenticated connections, oldest first */
	int pending;
	struct conn *pprev, *pnext;
	unsigned nbatch;
	struct batch batch[NRECV];
	struct fi_context rctx[NRECV];
	uint8_t rbuf[NRECV][REP_MSG_MAX];
	struct fi_context sctx;
	uint8_t sbuf[REP_MSG_MAX];
};

/* unauthenticated connections, oldest first; under conns_lock */
static struct conn *pend_head, *pend_tail;

static void
pending_remove_locked(struct conn *c)
{
	if (!c->pending)
		return;
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		pend_head = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	else
		pend_tail = c->pprev;
	c->pprev = c->pnext = NULL;
	c->pending = 0;
}

static void
pending_remove(struct conn *c)
{
	pthread_mutex_lock(&conns_lock);
	pending_remove_locked(c);
	pthread_mutex_unlock(&conns_lock);
}

static int
send_small(struct conn *c, const struct rep_msg *m)
{
	uint8_t buf[REP_MSG_MAX];
	size_t len = rep_msg_encode(m, buf);
	uint64_t deadline = now_ms() + 5000;
	for (;;) {
		ssize_t r = fi_inject(c->ep, buf, len, 0);
		if (r == 0)
			return 0;
		if (r != -FI_EAGAIN || now_ms() > deadline)
			return (int)r;
		struct fi_cq_msg_entry e;
		/* only our own sends complete here; nothing to handle */
		(void)fi_cq_read(c->cq, &e, 0);
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
}

static void
answer(struct conn *c, uint64_t id, int status)
{
	struct rep_msg m;
	memset(&m, 0, sizeof(m));
	m.type = REP_DONE;
	m.u.done.id = id;
	m.u.done.status = status;
	if (send_small(c, &m) != 0)
		c->closing = 1;
}

/*
 * REFUSED goes out with a completion we wait for, so the client reads it
 * before the connection closes.
 */
static void
refuse(struct conn *c, int status)
{
	struct rep_msg m;
	memset(&m, 0, sizeof(m));
	m.type = REP_REFUSED;
	m.u.refused.status = status;
	size_t len = rep_msg_encode(&m, c->sbuf);
	if (fi_send(c->ep, c->sbuf, len, NULL, 0, &c->sctx) != 0)
		return;
	uint64_t deadline = now_ms() + 1000;
	while (now_ms() < deadline) {
		struct fi_cq_msg_entry e;
		ssize_t n = fi_cq_read(c->cq, &e, 1);
		if (n == 1 && e.op_context == &c->sctx)
			return;
		if (n == -FI_EAVAIL)
			return;
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
}

static int
register_map(struct conn *c, uint64_t *base, uint64_t *rkey)
{
	uint64_t mode = c->info->domain_attr->mr_mode;
	uint64_t want = 0;
	if (!(mode & FI_MR_PROV_KEY) && rep_random(&want, sizeof(want)))
		return -EIO;
	if (c->info->domain_attr->mr_key_size < sizeof(want))
		want &= (1ULL << (8 * c->info->domain_attr->mr_key_size)) - 1;
	int r = fi_mr_reg(c->domain, g.addr, g.size, FI_REMOTE_WRITE, 0, want,
		0, &c->mr, NULL);
	if (r)
		return r;
	if (mode & FI_MR_ENDPOINT) {
		r = fi_mr_bind(c->mr, &c->ep->fid, 0);
		if (!r)
			r = fi_mr_enable(c->mr);
		if (r)
			return r;
	}
	*rkey = fi_mr_key(c->mr);
	*base = (mode & FI_MR_VIRT_ADDR) ? (uint64_t)(uintptr_t)g.addr : 0;
	return 0;
}

static void
queue_persist(struct conn *c, uint64_t id, uint64_t off, uint64_t len)
{
	if (c->nbatch == NRECV) {
		/* more than the credits granted: a misbehaving client */
		answer(c, id, -EBUSY);
		return;
	}
	struct batch *b = &c->batch[c->nbatch++];
	b->id = id;
	b->offset = off;
	b->len = len;
}

/*
 * Group commit across connections for PAGE files: a thread that needs a
 * sync queues its span; whoever finds no sync running takes everything
 * queued so far and covers it with one msync over the union, while the
 * threads that arrive meanwhile queue for the next one. Each waiter gets
 * the status of the very msync that covered its span.
 *
 * A failed msync breaks the file for good: the kernel reports a write-back
 * error once and then counts the lost pages as clean (fsync(2)), so a
 * later msync's success says nothing about bytes written before it. From
 * then on every sync fails with the first error, until a restart.
 */
struct sync_waiter {
	uint64_t lo, hi;
	int status, done;
	struct sync_waiter *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int running;
	struct sync_waiter *queue;
	int broken;	/* the first failed msync's -errno, then sticky */
} gsync = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL,
	0 };

static int
group_sync(uint64_t lo, uint64_t hi)
{
	struct sync_waiter w = { lo, hi, 0, 0, NULL };
	pthread_mutex_lock(&gsync.lock);
	if (gsync.broken) {
		int st = gsync.broken;
		pthread_mutex_unlock(&gsync.lock);
		return st;
	}
	w.next = gsync.queue;
	gsync.queue = &w;
	while (!w.done) {
		if (gsync.running) {
			pthread_cond_wait(&gsync.cond, &gsync.lock);
			continue;
		}
		struct sync_waiter *round = gsync.queue;
		gsync.queue = NULL;
		gsync.running = 1;
		uint64_t l = UINT64_MAX, h = 0;
		for (struct sync_waiter *p = round; p; p = p->next) {
			if (p->lo < l)
				l = p->lo;
			if (p->hi > h)
				h = p->hi;
		}
		int st = gsync.broken;
		pthread_mutex_unlock(&gsync.lock);
		if (st == 0)
			st = msync(g.addr + l, h - l, MS_SYNC) ? -errno : 0;
		pthread_mutex_lock(&gsync.lock);
		if (st && !gsync.broken) {
			gsync.broken = st;
			logmsg("msync: %s; every later persist request fails "
				"until a restart (the kernel reports a lost "
				"write-back only once)", strerror(-st));
		}
		for (struct sync_waiter *p = round; p;) {
			/* p lives on its thread's stack: read next first */
			struct sync_waiter *next = p->next;
			p->status = st;
			p->done = 1;
			p = next;
		}
		gsync.running = 0;
		pthread_cond_broadcast(&gsync.cond);
	}
	pthread_mutex_unlock(&gsync.lock);
	return w.status;
}

/* Makes the batch durable, then answers every request in it. */
static void
persist_batch(struct conn *c)
{
	if (c->nbatch == 0)
		return;
	int status = 0;
	if (g.page) {
		uint64_t lo = UINT64_MAX, hi = 0;
		for (unsigned i = 0; i < c->nbatch; i++) {
			struct batch *b = &c->batch[i];
			if (b->offset < lo)
				lo = b->offset;
			if (b->offset + b->len > hi)
				hi = b->offset + b->len;
		}
		lo &= ~(uint64_t)(g.pagesize - 1);
		status = group_sync(lo, hi);
		if (status)
			logmsg("connection %u: msync: %s", c->num,
				strerror(-status));
	} else {
		for (unsigned i = 0; i < c->nbatch; i++)
			g.persist(g.addr + c->batch[i].offset,
				c->batch[i].len);
	}
	/* one DONEV answers up to REP_DONEV_MAX requests of the batch */
	for (unsigned i = 0; i < c->nbatch && !c->closing;) {
		unsigned n = c->nbatch - i;
		if (n == 1) {
			answer(c, c->batch[i].id, status);
			break;
		}
		if (n > REP_DONEV_MAX)
			n = REP_DONEV_MAX;
		struct rep_msg m;
		memset(&m, 0, sizeof(m));
		m.type = REP_DONEV;
		m.u.donev.n = n;
		m.u.donev.status = status;
		for (unsigned k = 0; k < n; k++)
			m.u.donev.id[k] = c->batch[i + k].id;
		if (send_small(c, &m) != 0)
			c->closing = 1;
		i += n;
	}
	c->nbatch = 0;
}

static void
handle_action(struct conn *c, const struct rep_srv_action *a)
{
	struct rep_srv_action act = *a;
	switch (act.kind) {
	case REP_ACT_NONE:
		break;
	case REP_ACT_WELCOME: {
		uint64_t base = 0, rkey = 0;
		int r = register_map(c, &base, &rkey);
		if (r) {
			logmsg("connection %u: registering the map: %s",
				c->num, fi_strerror(r < 0 ? -r : r));
			refuse(c, -EIO);
			c->closing = 1;
			break;
		}
		struct rep_msg w;
		rep_srv_welcome(&c->srv, base, rkey, &w);
		if (send_small(c, &w) != 0)
			c->closing = 1;
		else {
			pending_remove(c);	/* no longer evictable */
			logmsg("connection %u: authenticated", c->num);
		}
		break;
	}
	case REP_ACT_REFUSE:
		logmsg("connection %u: %s", c->num, act.why);
		refuse(c, act.status);
		c->closing = 1;
		break;
	case REP_ACT_PERSIST:
		queue_persist(c, act.id, act.offset, act.len);
		break;
	case REP_ACT_ANSWER:
		if (act.why)
			logmsg("connection %u: request %" PRIu64 ": %s",
				c->num, act.id, act.why);
		answer(c, act.id, act.status);
		break;
	case REP_ACT_CLOSE:
		logmsg("connection %u: %s; closing it", c->num, act.why);
		c->closing = 1;
		break;
	}
}

static void
handle_msg(struct conn *c, const uint8_t *buf, size_t len)
{
	struct rep_srv_action act[REP_PERSISTV_MAX];
	unsigned n = rep_srv_step(&c->srv, buf, len, act);
	for (unsigned i = 0; i < n && !c->closing; i++)
		handle_action(c, &act[i]);
}

static void
conn_serve(struct conn *c)
{
	struct fi_cq_msg_entry ent[16];
	uint64_t auth_deadline = now_ms() + AUTH_TIMEOUT_MS;
	int idle = 0;

	while (!c->closing && !atomic_load(&stop_flag)) {
		/* one that authenticated in the meantime stays */
		if (atomic_load(&c->evict) &&
				c->srv.phase == REP_SRV_WAIT_AUTH) {
			logmsg("connection %u: not authenticated yet; closed to "
				"make room for a newer one", c->num);
			break;
		}
		ssize_t n;
		if (idle)
			n = fi_cq_sread(c->cq, ent, 16, NULL, 100);
		else
			n = fi_cq_read(c->cq, ent, 16);
		if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry e;
			memset(&e, 0, sizeof(e));
			fi_cq_readerr(c->cq, &e, 0);
			if (e.err == FI_ETRUNC)
				logmsg("connection %u: message longer than %d "
					"bytes; closing it", c->num,
					REP_MSG_MAX);
			else if (e.err == FI_ECANCELED)
				logmsg("connection %u: closed by the client",
					c->num);
			else
				logmsg("connection %u: %s; closing it", c->num,
					fi_strerror(e.err));
			c->closing = 1;
			break;
		}
		for (ssize_t k = 0; k < n && !c->closing; k++) {
			if (!(ent[k].flags & FI_RECV))
				continue;
			unsigned i = (unsigned)((struct fi_context *)
				ent[k].op_context - c->rctx);
			if (i >= NRECV)
				continue;
			uint8_t msg[REP_MSG_MAX];
			size_t len = ent[k].len < REP_MSG_MAX ? ent[k].len :
				REP_MSG_MAX;
			memcpy(msg, c->rbuf[i], len);
			if (fi_recv(c->ep, c->rbuf[i], REP_MSG_MAX, NULL, 0,
					&c->rctx[i]) != 0) {
				c->closing = 1;
				break;
			}
			handle_msg(c, msg, len);
		}
		/* more may be queued already: gather them into this batch */
		if (n > 0) {
			idle = 0;
			continue;
		}
		/* the CQ is empty: sync what was gathered, then wait */
		persist_batch(c);
		idle = 1;

		uint32_t event;
		struct fi_eq_cm_entry entry;
		ssize_t r = fi_eq_read(c->eq, &event, &entry, sizeof(entry), 0);
		if (r == -FI_EAVAIL || (r >= 0 && event == FI_SHUTDOWN)) {
			if (r == -FI_EAVAIL) {
				struct fi_eq_err_entry e;
				memset(&e, 0, sizeof(e));
				fi_eq_readerr(c->eq, &e, 0);
			}
			logmsg("connection %u: closed by the client", c->num);
			c->closing = 1;
		}
		if (c->srv.phase == REP_SRV_WAIT_AUTH &&
				now_ms() > auth_deadline) {
			logmsg("connection %u: no authentication within %d ms;"
				" closing it", c->num, AUTH_TIMEOUT_MS);
			c->closing = 1;
		}
	}
	/* requests read before the end are made durable all the same */
	persist_batch(c);
}

static void
conn_free(struct conn *c)
{
	if (c->ep) {
		fi_shutdown(c->ep, 0);
		fi_close(&c->ep->fid);
	}
	if (c->mr)
		fi_close(&c->mr->fid);
	if (c->cq)
		fi_close(&c->cq->fid);
	if (c->eq)
		fi_close(&c->eq->fid);
	if (c->domain)
		fi_close(&c->domain->fid);
	if (c->info)
		fi_freeinfo(c->info);
	free(c);
}

static void *
conn_thread(void *arg)
{
	struct conn *c = arg;
	struct fi_eq_attr eqa = { .size = 16, .wait_obj = FI_WAIT_UNSPEC };
	struct fi_cq_attr cqa = { .size = 2 * NRECV + 16,
		.format = FI_CQ_FORMAT_MSG, .wait_obj = FI_WAIT_UNSPEC };
	const char *what = "fi_domain";
	int r = fi_domain(g.fabric, c->info, &c->domain, NULL);
	if (!r) {
		what = "fi_eq_open";
		r = fi_eq_open(g.fabric, &eqa, &c->eq, NULL);
	}
	if (!r) {
		what = "fi_cq_open";
		r = fi_cq_open(c->domain, &cqa, &c->cq, NULL);
	}
	if (!r) {
		what = "fi_endpoint";
		r = fi_endpoint(c->domain, c->info, &c->ep, NULL);
	}
	if (!r) {
		what = "fi_ep_bind";
		r = fi_ep_bind(c->ep, &c->eq->fid, 0);
	}
	if (!r)
		r = fi_ep_bind(c->ep, &c->cq->fid, FI_TRANSMIT | FI_RECV);
	if (!r) {
		what = "fi_enable";
		r = fi_enable(c->ep);
	}
	for (unsigned i = 0; !r && i < NRECV; i++) {
		what = "fi_recv";
		r = (int)fi_recv(c->ep, c->rbuf[i], REP_MSG_MAX, NULL, 0,
			&c->rctx[i]);
	}
	if (!r) {
		what = "fi_accept";
		r = fi_accept(c->ep, NULL, 0);
	}
	if (r) {
		logmsg("connection %u: %s: %s", c->num, what,
			fi_strerror(r < 0 ? -r : r));
		if (!c->ep)
			fi_reject(NULL, c->info->handle, NULL, 0);
		goto out;
	}
	uint32_t event;
	struct fi_eq_cm_entry entry;
	ssize_t n = fi_eq_sread(c->eq, &event, &entry, sizeof(entry),
		AUTH_TIMEOUT_MS, 0);
	if (n < 0 || event != FI_CONNECTED) {
		logmsg("connection %u: not established", c->num);
		goto out;
	}
	struct rep_msg hello;
	if (rep_srv_init(&c->srv, g.key, g.keylen, g.size, &hello) != 0 ||
			send_small(c, &hello) != 0) {
		logmsg("connection %u: cannot send HELLO", c->num);
		goto out;
	}
	conn_serve(c);
out:
	pthread_mutex_lock(&conns_lock);
	pending_remove_locked(c);
	pthread_mutex_unlock(&conns_lock);
	conn_free(c);
	/*
	 * Now, not at thread exit: main may return as soon as the count
	 * below drops, before a detached thread's destructors ran.
	 */
	rep_thread_done();
	pthread_mutex_lock(&conns_lock);
	atomic_fetch_sub(&nconns, 1);
	pthread_cond_broadcast(&conns_cond);
	pthread_mutex_unlock(&conns_lock);
	return NULL;
}

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: pmem2-replicad [--listen HOST:PORT] --key-file KEY "
		"FILE\n"
		"Serves FILE (mapped whole with libpmem2) to libpmem2rep clients "
		"that hold KEY.\n"
		"  --listen HOST:PORT  where to listen (default 127.0.0.1:7950; "
		"port 0: any free port)\n"
		"  --key-file KEY      the shared key (mode 0600 or stricter)\n");
}

static int
map_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		logmsg("%s: %s", path, strerror(errno));
		return -1;
	}
	/*
	 * Every block allocated up front: a client's write into a hole of a
	 * filesystem without room would be a SIGBUS that kills the daemon
	 * and all its connections. Filesystems that cannot preallocate are
	 * served as before.
	 */
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		int e = posix_fallocate(fd, 0, st.st_size);
		if (e != 0 && e != EOPNOTSUPP && e != EINVAL) {
			logmsg("%s: cannot allocate its %lld bytes: %s", path,
				(long long)st.st_size, strerror(e));
			close(fd);
			return -1;
		}
	}
	struct pmem2_source *src = NULL;
	struct pmem2_config *cfg = NULL;
	int r = pmem2_source_from_fd(&src, fd);
	if (!r)
		r = pmem2_config_new(&cfg);
	if (!r)
		r = pmem2_config_set_required_store_granularity(cfg,
			PMEM2_GRANULARITY_PAGE);
	if (!r)
		r = pmem2_map_new(&g.map, cfg, src);
	if (r)
		logmsg("%s: cannot map it: %s", path, pmem2_errormsg());
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	close(fd);	/* the map keeps what it needs */
	if (r)
		return -1;
	g.addr = pmem2_map_get_address(g.map);
	g.size = pmem2_map_get_size(g.map);
	g.page = pmem2_map_get_store_granularity(g.map) ==
		PMEM2_GRANULARITY_PAGE;
	g.pagesize = (size_t)sysconf(_SC_PAGESIZE);
	g.persist = pmem2_get_persist_fn(g.map);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *listen_at = "127.0.0.1:7950", *key_file = NULL;
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "l:k:h", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen_at = optarg; break;
		case 'k': key_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (key_file == NULL || optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	char err[512];
	if (rep_key_load(key_file, g.key, &g.keylen, err, sizeof(err)) != 0) {
		logmsg("%s", err);
		return 1;
	}
	char host[256], port[32];
	if (rep_split_target(listen_at, host, sizeof(host), port,
			sizeof(port))) {
		logmsg("--listen %s: not HOST:PORT", listen_at);
		return 2;
	}
	if (map_file(argv[optind]))
		return 1;

	struct fi_info *hints = fi_allocinfo(), *info = NULL;
	if (hints == NULL)
		return 1;
	hints->ep_attr->type = FI_EP_MSG;
	hints->caps = FI_MSG | FI_RMA | FI_REMOTE_WRITE;
	hints->mode = 0;
	hints->domain_attr->mr_mode = FI_MR_VIRT_ADDR | FI_MR_PROV_KEY |
		FI_MR_ALLOCATED | FI_MR_ENDPOINT;
	const char *prov = getenv("PMEM2REP_PROVIDER");
	if (prov && *prov)
		hints->fabric_attr->prov_name = strdup(prov);
	int r = fi_getinfo(FI_VER, host, port, FI_SOURCE, hints, &info);
	fi_freeinfo(hints);
	if (r) {
		logmsg("%s: no libfabric provider with messages and RMA "
			"writes: %s", listen_at, fi_strerror(-r));
		return 1;
	}
	const char *why = rep_provider_unsupported(info->fabric_attr->prov_name);
	if (why) {
		logmsg("%s", why);
		fi_freeinfo(info);
		return 1;
	}
	struct fid_eq *eq = NULL;
	struct fid_pep *pep = NULL;
	struct fi_eq_attr eqa = { .size = 64, .wait_obj = FI_WAIT_UNSPEC };
	const char *what = "fi_fabric";
	r = fi_fabric(info->fabric_attr, &g.fabric, NULL);
	if (!r) {
		what = "fi_eq_open";
		r = fi_eq_open(g.fabric, &eqa, &eq, NULL);
	}
	if (!r) {
		what = "fi_passive_ep";
		r = fi_passive_ep(g.fabric, info, &pep, NULL);
	}
	if (!r) {
		what = "fi_pep_bind";
		r = fi_pep_bind(pep, &eq->fid, 0);
	}
	if (!r) {
		what = "fi_listen";
		r = fi_listen(pep);
	}
	if (r) {
		logmsg("%s: %s: %s", listen_at, what, fi_strerror(-r));
		return 1;
	}
	struct sockaddr_storage ss;
	size_t sslen = sizeof(ss);
	char shown[300];
	snprintf(shown, sizeof(shown), "%s", listen_at);
	if (fi_getname(&pep->fid, &ss, &sslen) == 0) {
		char a[INET6_ADDRSTRLEN];
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
			snprintf(shown, sizeof(shown), "%s:%u", a,
				ntohs(s4->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
			snprintf(shown, sizeof(shown), "[%s]:%u", a,
				ntohs(s6->sin6_port));
		}
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	printf("pmem2-replicad: listening on %s\n", shown);
	fflush(stdout);
	logmsg("serving %zu bytes of %s (provider %s)", g.size, argv[optind],
		info->fabric_attr->prov_name);

	unsigned num = 0;
	while (!atomic_load(&stop_flag)) {
		uint32_t event;
		struct fi_eq_cm_entry entry;
		ssize_t n = fi_eq_sread(eq, &event, &entry, sizeof(entry), 200,
			0);
		if (n == -FI_EAVAIL) {
			struct fi_eq_err_entry e;
			memset(&e, 0, sizeof(e));
			fi_eq_readerr(eq, &e, 0);
			continue;
		}
		if (n < 0 || event != FI_CONNREQ)
			continue;
		struct conn *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			fi_reject(pep, entry.info->handle, NULL, 0);
			fi_freeinfo(entry.info);
			continue;
		}
		/*
		 * Full: the oldest connection that has not authenticated yet
		 * makes room, so that keyless clients which connect and idle
		 * cannot lock out the ones holding the key.
		 */
		pthread_mutex_lock(&conns_lock);
		int full = atomic_load(&nconns) >= MAX_CONNS;
		if (full && pend_head &&
				atomic_load(&nconns) < MAX_CONNS + EVICT_SLACK) {
			atomic_store(&pend_head->evict, 1);
			pending_remove_locked(pend_head);
			full = 0;
		}
		if (!full) {
			c->pending = 1;
			c->pprev = pend_tail;
			if (pend_tail)
				pend_tail->pnext = c;
			else
				pend_head = c;
			pend_tail = c;
			atomic_fetch_add(&nconns, 1);
		}
		pthread_mutex_unlock(&conns_lock);
		if (full) {
			logmsg("too many connections; rejecting one");
			fi_reject(pep, entry.info->handle, NULL, 0);
			fi_freeinfo(entry.info);
			free(c);
			continue;
		}
		c->num = ++num;
		c->info = entry.info;
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, conn_thread, c) != 0) {
			pending_remove(c);
			atomic_fetch_sub(&nconns, 1);
			fi_reject(pep, entry.info->handle, NULL, 0);
			c->info = NULL;
			fi_freeinfo(entry.info);
			free(c);
		}
		pthread_attr_destroy(&at);
	}
	logmsg("stopping");
	pthread_mutex_lock(&conns_lock);
	while (atomic_load(&nconns) > 0)
		pthread_cond_wait(&conns_cond, &conns_lock);
	pthread_mutex_unlock(&conns_lock);
	fi_close(&pep->fid);
	fi_close(&eq->fid);
	fi_close(&g.fabric->fid);
	fi_freeinfo(info);
	pmem2_map_delete(&g.map);
	memset(g.key, 0, sizeof(g.key));
	return 0;
}
