/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_eadr.c -- eADR detection on fake sysfs trees (internal function, so this
 * links the static library): BYTE granularity needs every nd region to
 * report "cpu_cache\n" as its persistence domain.
 */
#include <sys/stat.h>

#include "helpers.h"
#include "granularity.h"

static char Root[256];

static void
region(const char *name, const char *domain)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", Root, name);
	CHECK_EQ(mkdir(p, 0700), 0);
	if (!domain)
		return;
	snprintf(p, sizeof(p), "%s/%s/persistence_domain", Root, name);
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	fputs(domain, f);
	fclose(f);
}

static void
reset(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir '%s'", Root, Root);
	CHECK_EQ(system(cmd), 0);
}

int
main(void)
{
	snprintf(Root, sizeof(Root), "%s/pmem2_core_eadr_%d", test_dir(),
		(int)getpid());

	/* no nd bus at all */
	CHECK_EQ(pmem2_eadr_detect("/nonexistent/nd/devices"), 0);

	reset();	/* a bus without regions */
	CHECK_EQ(pmem2_eadr_detect(Root), 0);

	region("region0", "cpu_cache\n");
	region("namespace0.0", NULL);	/* not a region: ignored */
	CHECK_EQ(pmem2_eadr_detect(Root), 1);

	region("region1", "cpu_cache\n");
	CHECK_EQ(pmem2_eadr_detect(Root), 1);

	region("region2", "memory_controller\n");
	CHECK_EQ(pmem2_eadr_detect(Root), 0);

	reset();	/* exact text only */
	region("region0", "cpu_cache");
	CHECK_EQ(pmem2_eadr_detect(Root), 0);

	reset();	/* a region whose attribute is missing */
	region("region0", "cpu_cache\n");
	region("region1", NULL);
	CHECK_EQ(pmem2_eadr_detect(Root), 0);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", Root);
	CHECK_EQ(system(cmd), 0);
	printf("ok\n");
	return 0;
}
