/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * suite_page.c -- the "page" suite: durable 4 KiB writes to a disk-backed
 * file (PAGE granularity; $PMEM2_TEST_DISK_DIR, else $TMPDIR, else
 * /var/tmp) with 32 pmem2_memcpy_async futures in flight through
 * runtime_wait_multiple, against one pmem2_get_memcpy_fn() copy (with its
 * msync) at a time. One row per mover: the map's default (writing through
 * the file, and storing through the mapping with PMEM2_ASYNC_NO_PWRITE=1),
 * the sync mover, the default threads mover, and a mover written the way a
 * user would (examples/miniasync/user_mover.c: it copies in op_start and
 * declares no capabilities).
 * ops/s, medians of several timed runs, all taking turns run by run.
 *
 * Then what the number of maps costs: the same durable writes, the default
 * mover, walking the 10,000 pages of one file mapped as 1, 100 or 10,000
 * maps (the application's descriptor closed once they are made), against
 * the one-map figure of the same run; and the CPU time (every thread of
 * the process, user and system: the poller, the syncer, the movers) per
 * write. The wall-clock figure is mostly the disk's sync latency, which on
 * a shared machine swings far more between runs than the maps can change
 * it; the CPU time shows what the number of maps costs the library and the
 * kernel.
 */
#define _GNU_SOURCE
#define PMEM2_USE_MINIASYNC 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <libpmem2.h>
#include <libminiasync.h>
#include "bench.h"
#include "user_mover.h"

struct page_map {
	struct pmem2_map *map;
	struct pmem2_source *src;
	int fd;
	char path[256];
	char *addr;
	size_t size;
};

/*
 * stores: PMEM2_ASYNC_NO_PWRITE=1 (stores through the mapping); vdm: the
 * mover, NULL for the map's default.
 */
static int
page_open(struct page_map *m, size_t size, int stores, struct vdm *vdm,
	int id)
{
	const char *dir = getenv("PMEM2_TEST_DISK_DIR");
	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	snprintf(m->path, sizeof(m->path), "%s/pa_bench_async_page_%d_%d",
		dir && *dir ? dir : "/var/tmp", (int)getpid(), id);
	m->size = size;
	m->fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (m->fd < 0 || ftruncate(m->fd, (off_t)size) != 0) {
		perror(m->path);
		return -1;
	}
	struct pmem2_config *cfg;
	if (stores)
		setenv("PMEM2_ASYNC_NO_PWRITE", "1", 1);
	if (pmem2_source_from_fd(&m->src, m->fd) ||
			pmem2_config_new(&cfg) ||
			pmem2_config_set_required_store_granularity(cfg,
				PMEM2_GRANULARITY_PAGE) ||
			(vdm && pmem2_config_set_vdm(cfg, vdm)) ||
			pmem2_map_new(&m->map, cfg, m->src)) {
		pmem2_perror("page_open");
		return -1;
	}
	unsetenv("PMEM2_ASYNC_NO_PWRITE");
	pmem2_config_delete(&cfg);
	m->addr = pmem2_map_get_address(m->map);
	/* allocate the blocks once: the runs measure overwrites */
	memset(m->addr, 0, size);
	pmem2_get_persist_fn(m->map)(m->addr, size);
	return 0;
}

static void
page_close(struct page_map *m)
{
	pmem2_map_delete(&m->map);
	pmem2_source_delete(&m->src);
	close(m->fd);
	unlink(m->path);
}

#define INFLIGHT 32

/* INFLIGHT futures, waited for together */
struct batch {
	struct vdm_operation_future f[INFLIGHT];
	struct future *fp[INFLIGHT];
};

static void
batch_init(struct batch *b)
{
	for (int k = 0; k < INFLIGHT; k++)
		b->fp[k] = FUTURE_AS_RUNNABLE(&b->f[k]);
}

/* Waits for the whole batch: 0, or -1 (said) when a write failed. */
static int
batch_wait(struct batch *b, struct runtime *r, const char *what)
{
	runtime_wait_multiple(r, b->fp, INFLIGHT);
	for (int k = 0; k < INFLIGHT; k++)
		if (b->f[k].output.result != VDM_SUCCESS) {
			fprintf(stderr, "%s: PAGE write failed\n", what);
			return -1;
		}
	return 0;
}

/* ops/s of one timed run: batches of INFLIGHT futures */
static double
run_async(struct page_map *m, struct runtime *r, const char *src,
	size_t *off, double secs)
{
	struct batch b;
	batch_init(&b);
	long n = 0;
	double t0 = bench_now(), t;
	do {
		for (int k = 0; k < INFLIGHT; k++) {
			b.f[k] = pmem2_memcpy_async(m->map, m->addr + *off,
				src, 4096, 0);
			*off = (*off + 4096) % m->size;
		}
		if (batch_wait(&b, r, "async") != 0)
			return 0;
		n += INFLIGHT;
	} while ((t = bench_now() - t0) < secs);
	return (double)n / t;
}

enum { V_DEFAULT, V_STORES, V_SYNC, V_THREADS, V_USER, NV };

static const char *const vname[NV] = {
	"durable 4KiB writes, PAGE file, 32 in flight",
	"the same, stores (PMEM2_ASYNC_NO_PWRITE=1)",
	"the same, sync mover",
	"the same, threads mover (default)",
	"the same, a user's mover",
};

/* ---- many maps of one file ---- */

#define NMAP_MAX 10000

struct many {
	int n;
	unsigned ppm;	/* pages per map */
	char path[256];
	struct pmem2_map **maps;
	unsigned next;
};

static int
many_open(struct many *mm, int n)
{
	const char *dir = getenv("PMEM2_TEST_DISK_DIR");
	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	snprintf(mm->path, sizeof(mm->path), "%s/pa_bench_many_%d_%d",
		dir && *dir ? dir : "/var/tmp", (int)getpid(), n);
	mm->n = n;
	mm->ppm = NMAP_MAX / (unsigned)n;
	mm->next = 0;
	mm->maps = calloc((size_t)n, sizeof(*mm->maps));
	int fd = open(mm->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!mm->maps || fd < 0 || ftruncate(fd, (off_t)NMAP_MAX * 4096) != 0) {
		perror(mm->path);
		return -1;
	}
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	if (pmem2_source_from_fd(&src, fd) || pmem2_config_new(&cfg) ||
			pmem2_config_set_required_store_granularity(cfg,
				PMEM2_GRANULARITY_PAGE)) {
		pmem2_perror("many_open");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		size_t len = (size_t)mm->ppm * 4096;
		if (pmem2_config_set_offset(cfg, (size_t)i * len) ||
				pmem2_config_set_length(cfg, len) ||
				pmem2_map_new(&mm->maps[i], cfg, src)) {
			pmem2_perror("many_open: map");
			return -1;
		}
		/* allocate the blocks once: the runs measure overwrites */
		char *a = pmem2_map_get_address(mm->maps[i]);
		memset(a, 0, len);
		pmem2_get_persist_fn(mm->maps[i])(a, len);
	}
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	close(fd);
	return 0;
}

static void
many_close(struct many *mm)
{
	for (int i = 0; i < mm->n; i++)
		if (mm->maps[i])
			pmem2_map_delete(&mm->maps[i]);
	free(mm->maps);
	unlink(mm->path);
}

/* CPU seconds of the whole process so far, user and system */
static double
cpu_secs(void)
{
	struct rusage u;
	if (getrusage(RUSAGE_SELF, &u) != 0)
		return 0;
	return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 +
		(double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec * 1e-6;
}

/*
 * ops/s of one timed run, each future into the next page of the file;
 * *cpu_us: CPU microseconds per write
 */
static double
run_many(struct many *mm, struct runtime *r, const char *src, double secs,
	double *cpu_us)
{
	struct batch b;
	batch_init(&b);
	long n = 0;
	double c0 = cpu_secs();
	double t0 = bench_now(), t;
	do {
		for (int k = 0; k < INFLIGHT; k++) {
			struct pmem2_map *m = mm->maps[mm->next / mm->ppm];
			char *a = (char *)pmem2_map_get_address(m) +
				(size_t)(mm->next % mm->ppm) * 4096;
			mm->next = (mm->next + 1) % NMAP_MAX;
			b.f[k] = pmem2_memcpy_async(m, a, src, 4096, 0);
		}
		if (batch_wait(&b, r, "many") != 0)
			return 0;
		n += INFLIGHT;
	} while ((t = bench_now() - t0) < secs);
	*cpu_us = (cpu_secs() - c0) * 1e6 / (double)n;
	return (double)n / t;
}

static void
bench_many_maps(struct runtime *r, const char *src, double secs, int runs)
{
	static const int counts[] = { 1, 100, NMAP_MAX };
	enum { NC = sizeof(counts) / sizeof(counts[0]) };
	struct many mm[NC];
	double v[NC][8], cpu[NC][8];
	memset(mm, 0, sizeof(mm));
	for (int c = 0; c < NC; c++)
		if (many_open(&mm[c], counts[c]))
			goto out;
	/*
	 * All take turns, and each run starts at another count, so that
	 * neither the place in the order nor what ran just before (the disk
	 * still busy with another file) favours one count.
	 */
	for (int i = 0; i < runs; i++)
		for (int k = 0; k < NC; k++) {
			int c = (i + k) % NC;
			if ((v[c][i] = run_many(&mm[c], r, src, secs,
					&cpu[c][i])) == 0)
				goto out;
		}
	double one = bench_median(v[0], runs) / 1e3;
	for (int c = 0; c < NC; c++) {
		char name[96];
		snprintf(name, sizeof(name),
			"durable 4KiB writes, 10000 pages as %d map%s",
			counts[c], counts[c] == 1 ? "" : "s");
		bench_row("page", name, bench_median(v[c], runs) / 1e3,
			"Kops/s", c ? "the same, 1 map" : NULL, c ? one : 0, 1);
	}
	double cone = bench_median(cpu[0], runs);
	for (int c = 0; c < NC; c++) {
		char name[96];
		snprintf(name, sizeof(name),
			"CPU per durable write, %d map%s", counts[c],
			counts[c] == 1 ? "" : "s");
		bench_row("page", name, bench_median(cpu[c], runs), "us",
			c ? "the same, 1 map" : NULL, c ? cone : 0, 0);
	}
out:
	for (int c = 0; c < NC; c++)
		many_close(&mm[c]);
}

void
bench_suite_page(void)
{
	struct data_mover_sync *dms = data_mover_sync_new();
	struct data_mover_threads *dmt = data_mover_threads_default();
	if (!dms || !dmt)
		return;
	struct vdm *vdms[NV] = { NULL, NULL, data_mover_sync_get_vdm(dms),
		data_mover_threads_get_vdm(dmt), user_mover() };
	struct page_map m[NV];
	for (int v = 0; v < NV; v++)
		if (page_open(&m[v], 32u << 20, v == V_STORES, vdms[v], v))
			return;
	char *src = aligned_alloc(4096, 4096);
	struct runtime *r = runtime_new();
	if (!src || !r)
		return;
	memset(src, 0x5a, 4096);
	double secs = bench_quick() ? 0.1 : 0.4;
	int runs = bench_quick() ? 3 : 5;
	double ref[8], ours[NV][8];
	size_t off = 0, voff[NV] = { 0 };

	pmem2_memcpy_fn cpy = pmem2_get_memcpy_fn(m[V_DEFAULT].map);
	/* all take turns, run by run, so that disk noise hits all */
	for (int i = 0; i < runs; i++) {
		long n = 0;
		double t0 = bench_now(), t;
		do {
			cpy(m[V_DEFAULT].addr + off, src, 4096, 0);
			off = (off + 4096) % m[V_DEFAULT].size;
			n++;
		} while ((t = bench_now() - t0) < secs);
		ref[i] = (double)n / t;
		for (int v = 0; v < NV; v++) {
			ours[v][i] = run_async(&m[v], r, src, &voff[v], secs);
			if (ours[v][i] == 0)
				return;
		}
	}
	double rv = bench_median(ref, runs) / 1e3;
	for (int v = 0; v < NV; v++)
		bench_row("page", vname[v], bench_median(ours[v], runs) / 1e3,
			"Kops/s", "one memcpy_fn+msync at a time", rv, 1);

	bench_many_maps(r, src, secs, runs);

	runtime_delete(r);
	free(src);
	for (int v = 0; v < NV; v++)
		page_close(&m[v]);
	data_mover_threads_delete(dmt);
	data_mover_sync_delete(dms);
}
