/* SPDX-License-Identifier: BSD-3-Clause */
/* pmem2_utils.h -- small helpers shared by the core's source files. */
#ifndef PMEM2_UTILS_H
#define PMEM2_UTILS_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "source.h"

size_t pmem2_pagesize(void);
/* reads the page size; a step of the library's init (init.c) */
void pmem2_pagesize_init(void);
int pmem2_file_type_from_stat(const struct stat *st,
	enum pmem2_file_type *type);

#define PMEM2_ALIGN_UP(x, a) (((x) + (a) - 1) & ~((a) - 1))
#define PMEM2_ALIGN_DOWN(x, a) ((x) & ~((a) - 1))

#endif /* PMEM2_UTILS_H */
