/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ras_ndctl.c -- the device layer through libndctl/libdaxctl: which nd
 * region and namespace back a source, and what they report (device DAX
 * size and alignment, DIMM ids, unsafe shutdown counts, NUMA node, bad
 * blocks, clearing them).
 *
 * A device DAX source is found by its character device number among the
 * dax devices of every namespace; a regular file by its file system's block
 * device, whose "maj:min" sysfs attribute must equal the file's st_dev.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <ndctl/libndctl.h>
#include <daxctl/libdaxctl.h>

#include "libpmem2.h"
#include "errors.h"
#include "source.h"
#include "ras.h"

#define SECTOR 512ULL

struct nd_match {
	struct ndctl_region *region;
	struct ndctl_namespace *ndns;
	struct ndctl_dax *dax;		/* device DAX sources only */
};

static int
ctx_new(struct ndctl_ctx **ctx)
{
	int r = ndctl_new(ctx);
	if (r) {
		int e = r < 0 ? -r : (errno ? errno : ENOMEM);
		ERR_ERRNO(e, "ndctl_new");
		return -e;
	}
	/* keep libndctl quiet on stderr: errors come back as codes */
	ndctl_set_log_priority(*ctx, 0);
	return 0;
}

/* Reads /sys/block/<bdev>/dev ("maj:min\n") and compares it with dev. */
static int
blockdev_matches(const char *bdev, dev_t dev, int *match)
{
	char path[256];
	char buf[64];
	*match = 0;
	snprintf(path, sizeof(path), "/sys/block/%s/dev", bdev);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ERR_ERRNO(e, "open %s", path);
		return e ? -e : -EINVAL;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n < 0) {
		ERR_ERRNO(e, "read %s", path);
		return e ? -e : -EINVAL;
	}
	buf[n] = '\0';
	if (n == 0 || buf[n - 1] != '\n') {
		ERR("%s does not hold \"major:minor\\n\"", path);
		return PMEM2_E_INVALID_DEV_FORMAT;
	}
	unsigned maj, min;
	if (sscanf(buf, "%u:%u", &maj, &min) != 2) {
		ERR("%s does not hold \"major:minor\\n\"", path);
		return PMEM2_E_INVALID_DEV_FORMAT;
	}
	*match = makedev(maj, min) == dev;
	return 0;
}

static const char *
ns_block_device(struct ndctl_namespace *ndns)
{
	struct ndctl_pfn *pfn = ndctl_namespace_get_pfn(ndns);
	if (pfn)
		return ndctl_pfn_get_block_device(pfn);
	struct ndctl_btt *btt = ndctl_namespace_get_btt(ndns);
	if (btt)
		return ndctl_btt_get_block_device(btt);
	return ndctl_namespace_get_block_device(ndns);
}

/*
 * Finds the region/namespace behind src. Returns 0 with m->region NULL when
 * nothing matches (not an error at this level).
 */
static int
find_nd(struct ndctl_ctx *ctx, const struct pmem2_source *src,
	struct nd_match *m)
{
	struct ndctl_bus *bus;
	struct ndctl_region *region;
	struct ndctl_namespace *ndns;
	memset(m, 0, sizeof(*m));

	ndctl_bus_foreach(ctx, bus) {
	ndctl_region_foreach(bus, region) {
	ndctl_namespace_foreach(region, ndns) {
		if (src->value.ftype == PMEM2_FTYPE_DEVDAX) {
			struct ndctl_dax *dax = ndctl_namespace_get_dax(ndns);
			if (!dax)
				continue;
			struct daxctl_region *dreg =
				ndctl_dax_get_daxctl_region(dax);
			struct daxctl_dev *dev;
			if (!dreg)
				continue;
			daxctl_dev_foreach(dreg, dev) {
				dev_t d = makedev(
					(unsigned)daxctl_dev_get_major(dev),
					(unsigned)daxctl_dev_get_minor(dev));
				if (d == src->value.st_rdev) {
					m->region = region;
					m->ndns = ndns;
					m->dax = dax;
					return 0;
				}
			}
		} else {
			const char *bdev = ns_block_device(ndns);
			if (!bdev || !*bdev)
				continue;
			int match;
			int ret = blockdev_matches(bdev, src->value.st_dev,
				&match);
			if (ret)
				return ret;
			if (match) {
				m->region = region;
				m->ndns = ndns;
				return 0;
			}
		}
	}
	}
	}
	return 0;
}

int
pmem2_devdax_size(const struct pmem2_source *src, size_t *size)
{
	struct ndctl_ctx *ctx;
	int ret = ctx_new(&ctx);
	if (ret)
		return ret;
	struct nd_match m;
	ret = find_nd(ctx, src, &m);
	if (ret == 0 && !m.dax) {
		ERR("cannot find the device DAX %u:%u among the nd regions",
			major(src->value.st_rdev), minor(src->value.st_rdev));
		ret = PMEM2_E_DAX_REGION_NOT_FOUND;
	}
	if (ret == 0)
		*size = (size_t)ndctl_dax_get_size(m.dax);
	ndctl_unref(ctx);
	return ret;
}

int
pmem2_devdax_alignment(const struct pmem2_source *src, size_t *align)
{
	struct ndctl_ctx *ctx;
	int ret = ctx_new(&ctx);
	if (ret)
		return ret;
	struct nd_match m;
	ret = find_nd(ctx, src, &m);
	if (ret == 0 && !m.dax) {
		ERR("cannot read the alignment of device DAX %u:%u: not found among the nd regions",
			major(src->value.st_rdev), minor(src->value.st_rdev));
		ret = PMEM2_E_INVALID_ALIGNMENT_FORMAT;
	}
	if (ret == 0)
		*align = (size_t)ndctl_dax_get_align(m.dax);
	ndctl_unref(ctx);
	return ret;
}

int
pmem2_devdax_region_id(const struct pmem2_source *src, unsigned *id)
{
	struct ndctl_ctx *ctx;
	int ret = ctx_new(&ctx);
	if (ret)
		return ret;
	struct nd_match m;
	ret = find_nd(ctx, src, &m);
	if (ret == 0 && !m.region) {
		ERR("cannot find the nd region of the source");
		ret = PMEM2_E_DAX_REGION_NOT_FOUND;
	}
	if (ret == 0)
		*id = ndctl_region_get_id(m.region);
	ndctl_unref(ctx);
	return ret;
}

int
pmem2_source_device_id(const struct pmem2_source *src, char *id, size_t *len)
{
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no device id");
		return PMEM2_E_NOSUPP;
	}
	struct ndctl_ctx *ctx;
	int ret = ctx_new(&ctx);
	if (ret)
		return ret;
	struct nd_match m;
	ret = find_nd(ctx, src, &m);
	if (ret)
		goto out;
	if (!m.region) {
		ERR("the source is not on an nd region: no device id");
		ret = PMEM2_E_NOSUPP;
		goto out;
	}

	size_t need = 1;
	struct ndctl_dimm *dimm;
	ndctl_dimm_foreach_in_region(m.region, dimm) {
		const char *uid = ndctl_dimm_get_unique_id(dimm);
		if (!uid) {
			ERR("a DIMM of the region has no unique id");
			ret = PMEM2_E_NOSUPP;
			goto out;
		}
		need += strlen(uid);
	}
	if (id == NULL) {
		*len = need;
		goto out;
	}
	if (need > *len) {
		ERR("the id needs %zu bytes, the buffer has %zu", need, *len);
		ret = PMEM2_E_BUFFER_TOO_SMALL;
		goto out;
	}
	size_t pos = 0;
	ndctl_dimm_foreach_in_region(m.region, dimm) {
		const char *uid = ndctl_dimm_get_unique_id(dimm);
		size_t l = strlen(uid);
		memcpy(id + pos, uid, l);
		pos += l;
	}
	id[pos] = '\0';
out:
	ndctl_unref(ctx);
	return ret;
}

int
pmem2_source_device_usc(const struct pmem2_source *src, uint64_t *usc)
{
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no unsafe shutdown count");
		return PMEM2_E_NOSUPP;
	}
	struct ndctl_ctx *ctx;
	int ret = ctx_new(&ctx);
	if (ret)
		return ret;
	struct nd_match m;
	ret = find_nd(ctx, src, &m);
	if (ret)
		goto out;
	if (!m.region) {
		ERR("Unsafe shutdown count is not supported for this source");
		ret = PMEM2_E_NOSUPP;
		goto out;
	}
	uint64_t sum = 0;
	struct ndctl_dimm *dimm;
	ndctl_dimm_foreach_in_region(m.region, dimm) {
		long long v = ndctl_dimm_get_dirty_shutdown(dimm);
		if (v < 0) {
			ERR("Unsafe shutdown count is not supported for this source");
			ret = PMEM2_E_NOSUPP;
			goto out;
		}
		sum += (uint64_t)v;
	}
	*usc = sum;
out:
	ndctl_unref(ctx);
	return ret;
}

int
pmem2_source_numa_node(const struct pmem2_source *src, int *numa_node)
{
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no NUMA node");
		return PMEM2_E_NOSUPP;
	}
	struct ndctl_ctx *ctx;
	int ret = ctx_new(&ctx);
	if (ret)
		return ret;
	struct nd_match m;
	ret = find_nd(ctx, src, &m);
	if (ret == 0 && !m.region) {
		ERR("the source is not on an nd region: NUMA node unknown");
		ret = PMEM2_E_DAX_REGION_NOT_FOUND;
	}
	if (ret == 0)
		*numa_node = ndctl_region_get_numa_node(m.region);
	ndctl_unref(ctx);
	return ret;
}

/* ---- bad blocks ---- */

struct pmem2_badblock_context {
	int fd;
	enum pmem2_file_type ftype;
	struct ndctl_ctx *ctx;
	struct ndctl_bus *bus;		/* device DAX: for clearing */
	unsigned long long dev_start;	/* device DAX: bus address of byte 0 */
	struct pmem2_badblock *bbs;	/* in source bytes, ascending */
	size_t n, next;
};

static int
bb_push(struct pmem2_badblock_context *c, size_t *cap, size_t off,
	size_t len)
{
	if (c->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct pmem2_badblock *b = realloc(c->bbs, ncap * sizeof(*b));
		if (!b) {
			ERR_ERRNO(ENOMEM, "cannot allocate the bad block list");
			return -ENOMEM;
		}
		c->bbs = b;
		*cap = ncap;
	}
	c->bbs[c->n].offset = off;
	c->bbs[c->n].length = len;
	c->n++;
	return 0;
}

/* The file's extents (logical -> physical), through FIEMAP. */
static int
file_extents(int fd, struct fiemap **out)
{
	struct fiemap probe;
	memset(&probe, 0, sizeof(probe));
	probe.fm_length = FIEMAP_MAX_OFFSET;
	if (ioctl(fd, FS_IOC_FIEMAP, &probe) != 0) {
		int e = errno;
		ERR_ERRNO(e, "FS_IOC_FIEMAP");
		return e ? -e : -EINVAL;
	}
	size_t n = probe.fm_mapped_extents;
	struct fiemap *fm = calloc(1, sizeof(*fm) +
		n * sizeof(struct fiemap_extent));
	if (!fm) {
		ERR_ERRNO(ENOMEM, "cannot allocate the extent list");
		return -ENOMEM;
	}
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_extent_count = (unsigned)n;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0) {
		int e = errno;
		free(fm);
		ERR_ERRNO(e, "FS_IOC_FIEMAP");
		return e ? -e : -EINVAL;
	}
	*out = fm;
	return 0;
}

/* Device bad range [b, b+l) (bytes of the block device) -> file offsets. */
static int
file_bb_translate(struct pmem2_badblock_context *c, size_t *cap,
	const struct fiemap *fm, unsigned long long b, unsigned long long l,
	size_t blksz)
{
	for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
		const struct fiemap_extent *x = &fm->fm_extents[i];
		unsigned long long ps = x->fe_physical;
		unsigned long long pe = ps + x->fe_length;
		unsigned long long s = b > ps ? b : ps;
		unsigned long long e = b + l < pe ? b + l : pe;
		if (s >= e)
			continue;
		unsigned long long fs = x->fe_logical + (s - ps);
		unsigned long long fe = x->fe_logical + (e - ps);
		fs -= fs % blksz;	/* whole file system blocks */
		fe = (fe + blksz - 1) / blksz * blksz;
		int ret = bb_push(c, cap, (size_t)fs, (size_t)(fe - fs));
		if (ret)
			return ret;
	}
	return 0;
}

static int
bb_cmp(const void *a, const void *b)
{
	const struct pmem2_badblock *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int
pmem2_badblock_context_new(struct pmem2_badblock_context **bbctx,
	const struct pmem2_source *src)
{
	*bbctx = NULL;
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no bad blocks");
		return PMEM2_E_NOSUPP;
	}
	struct pmem2_badblock_context *c = calloc(1, sizeof(*c));
	if (!c) {
		ERR_ERRNO(ENOMEM, "cannot allocate a bad block context");
		return -ENOMEM;
	}
	c->fd = src->value.fd;
	c->ftype = src->value.ftype;
	int ret = ctx_new(&c->ctx);
	if (ret) {
		free(c);
		return ret;
	}
	struct nd_match m;
	ret = find_nd(c->ctx, src, &m);
	if (ret)
		goto err;
	if (!m.region)
		goto done;	/* not on pmem: a context with no bad blocks */

	size_t cap = 0;
	struct badblock *bb;
	if (c->ftype == PMEM2_FTYPE_DEVDAX) {
		/* region bad blocks, clipped to the device's data */
		unsigned long long rstart = ndctl_region_get_resource(m.region);
		unsigned long long dstart = ndctl_dax_get_resource(m.dax);
		unsigned long long dsize = ndctl_dax_get_size(m.dax);
		if (rstart == ULLONG_MAX || dstart == ULLONG_MAX ||
				dstart < rstart) {
			ERR("cannot read the bounds of the device DAX");
			ret = PMEM2_E_CANNOT_READ_BOUNDS;
			goto err;
		}
		c->bus = ndctl_region_get_bus(m.region);
		c->dev_start = dstart;
		unsigned long long doff = dstart - rstart;
		ndctl_region_badblock_foreach(m.region, bb) {
			unsigned long long s = bb->offset * SECTOR;
			unsigned long long e = s + bb->len * SECTOR;
			if (e <= doff || s >= doff + dsize)
				continue;
			if (s < doff)
				s = doff;
			if (e > doff + dsize)
				e = doff + dsize;
			ret = bb_push(c, &cap, (size_t)(s - doff),
				(size_t)(e - s));
			if (ret)
				goto err;
		}
	} else {
		struct fiemap *fm = NULL;
		ret = file_extents(c->fd, &fm);
		if (ret)
			goto err;
		struct stat st;
		size_t blksz = 4096;
		if (fstat(c->fd, &st) == 0 && st.st_blksize > 0)
			blksz = (size_t)st.st_blksize;
		ndctl_namespace_badblock_foreach(m.ndns, bb) {
			ret = file_bb_translate(c, &cap, fm,
				bb->offset * SECTOR,
				(unsigned long long)bb->len * SECTOR, blksz);
			if (ret) {
				free(fm);
				goto err;
			}
		}
		free(fm);
	}
	qsort(c->bbs, c->n, sizeof(*c->bbs), bb_cmp);
done:
	*bbctx = c;
	return 0;
err:
	ndctl_unref(c->ctx);
	free(c->bbs);
	free(c);
	return ret;
}

int
pmem2_badblock_next(struct pmem2_badblock_context *bbctx,
	struct pmem2_badblock *bb)
{
	if (bbctx->next >= bbctx->n) {
		ERR("no more bad blocks");
		return PMEM2_E_NO_BAD_BLOCK_FOUND;
	}
	*bb = bbctx->bbs[bbctx->next++];
	return 0;
}

static int
devdax_clear(struct pmem2_badblock_context *c, const struct pmem2_badblock *bb)
{
	unsigned long long addr = c->dev_start + bb->offset;
	unsigned long long len = bb->length;
	struct ndctl_cmd *cap = ndctl_bus_cmd_new_ars_cap(c->bus, addr, len);
	if (!cap) {
		ERR("cannot create an ARS capabilities command");
		return -ENOMEM;
	}
	int r = ndctl_cmd_submit(cap);
	if (r < 0) {
		ndctl_cmd_unref(cap);
		ERR_ERRNO(-r, "ARS capabilities command");
		return r;
	}
	struct ndctl_cmd *clr = ndctl_bus_cmd_new_clear_error(addr, len, cap);
	if (!clr) {
		ndctl_cmd_unref(cap);
		ERR("cannot create a clear-error command");
		return -ENOMEM;
	}
	r = ndctl_cmd_submit(clr);
	int ret = 0;
	if (r < 0) {
		ERR_ERRNO(-r, "clear-error command");
		ret = r;
	} else if (ndctl_cmd_clear_error_get_cleared(clr) < len) {
		ERR("only %llu of %llu bytes were cleared",
			ndctl_cmd_clear_error_get_cleared(clr), len);
		ret = -ENXIO;
	}
	ndctl_cmd_unref(clr);
	ndctl_cmd_unref(cap);
	return ret;
}

int
pmem2_badblock_clear(struct pmem2_badblock_context *bbctx,
	const struct pmem2_badblock *bb)
{
	if (bbctx->ftype == PMEM2_FTYPE_DEVDAX)
		return devdax_clear(bbctx, bb);

	if (bb->offset > (size_t)INT64_MAX) {
		ERR("bad block offset %zu is greater than INT64_MAX", bb->offset);
		return PMEM2_E_OFFSET_OUT_OF_RANGE;
	}
	if (bb->length > (size_t)INT64_MAX) {
		ERR("bad block length %zu is greater than INT64_MAX", bb->length);
		return PMEM2_E_LENGTH_OUT_OF_RANGE;
	}
	/* drop the poisoned blocks, then give the range fresh ones */
	if (fallocate(bbctx->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)bb->offset, (off_t)bb->length) != 0) {
		int e = errno;
		ERR_ERRNO(e, "fallocate(PUNCH_HOLE, %zu, %zu)", bb->offset,
			bb->length);
		return e ? -e : -EINVAL;
	}
	if (fallocate(bbctx->fd, FALLOC_FL_KEEP_SIZE, (off_t)bb->offset,
			(off_t)bb->length) != 0) {
		int e = errno;
		ERR_ERRNO(e, "fallocate(%zu, %zu)", bb->offset, bb->length);
		return e ? -e : -EINVAL;
	}
	return 0;
}

void
pmem2_badblock_context_delete(struct pmem2_badblock_context **bbctx)
{
	struct pmem2_badblock_context *c = *bbctx;
	if (!c)
		return;
	ndctl_unref(c->ctx);
	free(c->bbs);
	free(c);
	*bbctx = NULL;
}
