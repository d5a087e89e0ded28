/* SPDX-License-Identifier: BSD-3-Clause */
/* source.h -- what a pmem2_source holds. */
#ifndef PMEM2_SOURCE_H
#define PMEM2_SOURCE_H 1

#include <stddef.h>
#include <sys/types.h>
#include <libpmem2/base.h>

enum pmem2_source_type {
	PMEM2_SOURCE_ANON,
	PMEM2_SOURCE_FD,
};

enum pmem2_file_type {
	PMEM2_FTYPE_REG,
	PMEM2_FTYPE_DEVDAX,
	PMEM2_FTYPE_DIR,
};

struct pmem2_source {
	enum pmem2_source_type type;
	union {
		size_t size;		/* ANON */
		struct {		/* FD */
			int fd;		/* the caller's, not duplicated */
			enum pmem2_file_type ftype;
			dev_t st_rdev;
			dev_t st_dev;
		};
	} value;
};

#endif /* PMEM2_SOURCE_H */
