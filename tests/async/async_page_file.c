/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async_page_file.c -- on PAGE maps of a file, the default mover writes
 * through the file (pwrite) instead of storing through the mapping.
 *
 *   (no argument)  the two paths side by side, each on its own map (one
 *                  made with PMEM2_ASYNC_NO_PWRITE=1): memcpy to pages the
 *                  last sync cleaned takes no write fault on the file path
 *                  and one per page on the other; memset over several
 *                  pwritev calls, memmove that overlaps (stores) and that
 *                  does not (file), a source inside the map, NOFLUSH,
 *                  persist. Every result is read back from the file with
 *                  pread and through the map, and cachestat shows no dirty
 *                  page when the future completes. O_APPEND set on the
 *                  application's descriptor does not move the writes; a
 *                  read-only map is never written through the file.
 *   rlimit         with a file size limit below the file's size, the map
 *                  stores (a pwrite past the limit would raise SIGXFSZ):
 *                  writes past the limit succeed.
 *   enospc         a sparse file on a 256 KiB tmpfs: writing into its holes
 *                  fails with VDM_ERROR_IO and a message, no SIGBUS. Needs
 *                  root to mount the tmpfs; skips otherwise.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include "helpers.h"

#define PG 4096u
#define NPAGES 512u
#define MAPSZ (NPAGES * PG)

static int No_cachestat;

/* Polls f to completion; its result. */
static enum vdm_operation_result
run(struct vdm_operation_future f)
{
	FUTURE_BUSY_POLL(&f);
	return f.output.result;
}

/* [off, off+len) of m: the file (pread) and the map both hold want. */
static void
check_bytes(struct test_map *m, int fd, size_t off, const void *want, size_t len)
{
	char *got = malloc(len);
	CHECK(got != NULL);
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, got + done, len - done, (off_t)(off + done));
		CHECK(r > 0);
		done += (size_t)r;
	}
	CHECK_MEM_FAST(got, want, len);
	CHECK_MEM_FAST(m->addr + off, want, len);
	free(got);
}

/* No dirty page in [off, off+len): what a COMPLETE durable write leaves. */
static void
check_clean(int fd, size_t off, size_t len)
{
	if (test_check_no_dirty_page(fd, off, len) == -ENOSYS)
		No_cachestat = 1;
}

static long
minor_faults(void)
{
	struct rusage ru;
	CHECK_EQ(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_minflt;
}

/* A PAGE map; stores: made with PMEM2_ASYNC_NO_PWRITE=1. */
static void
open_page(struct test_map *m, int stores, int *fd)
{
	if (stores)
		setenv("PMEM2_ASYNC_NO_PWRITE", "1", 1);
	test_map_open(m, PMEM2_GRANULARITY_PAGE, MAPSZ, NULL);
	unsetenv("PMEM2_ASYNC_NO_PWRITE");
	*fd = open(m->path, O_RDONLY);
	CHECK(*fd >= 0);
	/* every block allocated and every page clean: the runs overwrite */
	memset(m->addr, 0, MAPSZ);
	pmem2_get_persist_fn(m->map)(m->addr, MAPSZ);
}

/*
 * Minor faults taken by durable 4 KiB copies to n pages the last sync
 * cleaned (the kernel write-protected them), one future at a time.
 */
static long
faults_of_copies(struct test_map *m, int fd, const char *src, unsigned n)
{
	long before = minor_faults();
	for (unsigned i = 0; i < n; i++)
		CHECK_EQ(run(pmem2_memcpy_async(m->map, m->addr + i * PG,
			src + i * PG, PG, 0)), VDM_SUCCESS);
	long faults = minor_faults() - before;
	check_bytes(m, fd, 0, src, (size_t)n * PG);
	check_clean(fd, 0, (size_t)n * PG);
	return faults;
}

/* Every operation on one map, each checked from the file. */
static void
operations(struct test_map *m, int fd)
{
	size_t big = 300 * PG + 5;	/* memset: several pwritev calls */
	char *want = malloc(MAPSZ);
	CHECK(want != NULL);

	/* memset at an odd offset, over more than one call's 256 KiB */
	size_t off = 3 * PG + 3;
	memset(want, 0x3c, big);
	CHECK_EQ(run(pmem2_memset_async(m->map, m->addr + off, 0x3c, big, 0)),
		VDM_SUCCESS);
	check_bytes(m, fd, off, want, big);
	check_clean(fd, off, big);

	/* memmove that overlaps, either way: the stores path, exactly memmove */
	for (int dir = 0; dir < 2; dir++) {
		size_t a = 320 * PG + 17, len = 3 * PG + 100;
		size_t d = dir ? a + 1000 : a - 1000;
		test_pattern(m->addr + a, len, 7u + (unsigned)dir);
		memcpy(want, m->addr + 310 * PG, 20 * PG);
		memmove(want + (d - 310 * PG), want + (a - 310 * PG), len);
		CHECK_EQ(run(pmem2_memmove_async(m->map, m->addr + d,
			m->addr + a, len, 0)), VDM_SUCCESS);
		check_bytes(m, fd, 310 * PG, want, 20 * PG);
		check_clean(fd, d, len);
	}

	/* memmove that does not overlap, source inside the map */
	test_pattern(m->addr + 400 * PG, 8 * PG, 11);
	memcpy(want, m->addr + 400 * PG, 8 * PG);
	CHECK_EQ(run(pmem2_memmove_async(m->map, m->addr + 440 * PG + 1,
		m->addr + 400 * PG, 8 * PG, 0)), VDM_SUCCESS);
	check_bytes(m, fd, 440 * PG + 1, want, 8 * PG);
	check_clean(fd, 440 * PG + 1, 8 * PG);

	/* memcpy within one page, source and destination apart */
	test_pattern(m->addr + 460 * PG, 100, 13);
	memcpy(want, m->addr + 460 * PG, 100);
	CHECK_EQ(run(pmem2_memcpy_async(m->map, m->addr + 460 * PG + 2000,
		m->addr + 460 * PG, 100, 0)), VDM_SUCCESS);
	check_bytes(m, fd, 460 * PG + 2000, want, 100);
	check_clean(fd, 460 * PG, PG);

	/* NOFLUSH: the bytes, nothing said about durability */
	test_pattern(want, 2 * PG, 17);
	CHECK_EQ(run(pmem2_memcpy_async(m->map, m->addr + 470 * PG, want,
		2 * PG, PMEM2_F_MEM_NOFLUSH)), VDM_SUCCESS);
	check_bytes(m, fd, 470 * PG, want, 2 * PG);

	/* persist of what plain stores wrote */
	CHECK_EQ(run(pmem2_persist_async(m->map, m->addr + 470 * PG, 2 * PG)),
		VDM_SUCCESS);
	check_clean(fd, 470 * PG, 2 * PG);

	/* nothing to write */
	CHECK_EQ(run(pmem2_memcpy_async(m->map, m->addr, want, 0, 0)),
		VDM_SUCCESS);
	free(want);
}

static void
both_paths(void)
{
	struct test_map file, stores;
	int ffd, sfd;
	open_page(&file, 0, &ffd);
	open_page(&stores, 1, &sfd);

	unsigned n = 64;
	char *src = malloc((size_t)n * PG);
	CHECK(src != NULL);
	test_pattern(src, (size_t)n * PG, 1);
	/* touch what the copies use first: their faults are not counted */
	(void)faults_of_copies(&file, ffd, src, 1);
	(void)faults_of_copies(&stores, sfd, src, 1);
	pmem2_get_persist_fn(file.map)(file.addr, MAPSZ);
	pmem2_get_persist_fn(stores.map)(stores.addr, MAPSZ);

	test_pattern(src, (size_t)n * PG, 2);
	long ff = faults_of_copies(&file, ffd, src, n);
	long sf = faults_of_copies(&stores, sfd, src, n);
	printf("minor faults for %u durable 4 KiB copies: file %ld, stores %ld\n",
		n, ff, sf);
	/* one write fault per page on the stores path, none on the file's */
	CHECK(sf >= (long)n);
	CHECK(ff <= sf - (long)n / 2);

	operations(&file, ffd);
	operations(&stores, sfd);

	free(src);
	close(ffd);
	close(sfd);
	test_map_close(&file);
	test_map_close(&stores);
}

/* A PAGE map of the whole file fd; the source and config are gone. */
static struct pmem2_map *
map_fd(int fd)
{
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	CHECK_PMEM2_OK(pmem2_source_from_fd(&src, fd));
	CHECK_PMEM2_OK(pmem2_config_new(&cfg));
	CHECK_PMEM2_OK(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	CHECK_PMEM2_OK(pmem2_map_new(&map, cfg, src));
	CHECK_PMEM2_OK(pmem2_config_delete(&cfg));
	CHECK_PMEM2_OK(pmem2_source_delete(&src));
	CHECK_EQ(pmem2_map_get_store_granularity(map), PMEM2_GRANULARITY_PAGE);
	return map;
}

/*
 * O_APPEND set on the application's descriptor after the map was made: the
 * writes still land at their offsets (a dup would share the flag, and every
 * pwrite would go to the end of the file).
 */
static void
append_flag(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/pmem2_async_append_%d",
		test_disk_dir(), (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, MAPSZ), 0);
	struct pmem2_map *map = map_fd(fd);
	char *addr = pmem2_map_get_address(map);
	CHECK_EQ(fcntl(fd, F_SETFL, O_APPEND), 0);

	char buf[3 * PG];
	test_pattern(buf, sizeof(buf), 9);
	CHECK_EQ(run(pmem2_memcpy_async(map, addr + 10 * PG + 1, buf,
		sizeof(buf), 0)), VDM_SUCCESS);
	struct stat st;
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, MAPSZ);
	char got[sizeof(buf)];
	CHECK_EQ(pread(fd, got, sizeof(got), 10 * PG + 1), sizeof(got));
	CHECK_MEM_FAST(got, buf, sizeof(buf));
	check_clean(fd, 10 * PG + 1, sizeof(buf));

	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	close(fd);
	unlink(path);
}

#define SEGV_EXIT 42

static void
segv_exit(int sig)
{
	(void)sig;
	_exit(SEGV_EXIT);
}

/*
 * A map made with PMEM2_PROT_READ is never written through the file, even
 * when the descriptor could: the copy stores, and the store faults (in a
 * child), leaving the file as it was.
 */
static void
read_only(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/pmem2_async_ro_%d", test_disk_dir(),
		(int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, MAPSZ), 0);

	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* ours, not a sanitizer's (which would abort instead) */
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = segv_exit;
		sigaction(SIGSEGV, &sa, NULL);
		struct pmem2_source *src;
		struct pmem2_config *cfg;
		struct pmem2_map *map;
		if (pmem2_source_from_fd(&src, fd) || pmem2_config_new(&cfg) ||
				pmem2_config_set_required_store_granularity(cfg,
					PMEM2_GRANULARITY_PAGE) ||
				pmem2_config_set_protection(cfg,
					PMEM2_PROT_READ) ||
				pmem2_map_new(&map, cfg, src))
			_exit(3);
		char buf[PG];
		memset(buf, 0x77, sizeof(buf));
		char *addr = pmem2_map_get_address(map);
		run(pmem2_memcpy_async(map, addr + PG, buf, sizeof(buf), 0));
		_exit(4);	/* written: it should have faulted */
	}
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != SEGV_EXIT)
		FAIL("the child's store did not fault (status %#x)", st);
	char got[PG], zero[PG];
	memset(zero, 0, sizeof(zero));
	CHECK_EQ(pread(fd, got, sizeof(got), PG), sizeof(got));
	CHECK_MEM_FAST(got, zero, sizeof(got));
	close(fd);
	unlink(path);
}

/* RLIMIT_FSIZE below the file size: stores, and no SIGXFSZ. */
static void
rlimit_stores(void)
{
	struct test_map m;
	memset(&m, 0, sizeof(m));
	snprintf(m.path, sizeof(m.path), "%s/pmem2_async_rlimit_%d",
		test_disk_dir(), (int)getpid());
	int fd = open(m.path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, MAPSZ), 0);
	struct rlimit rl;
	CHECK_EQ(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = 64 * 1024;
	CHECK_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
	m.map = map_fd(fd);
	m.addr = pmem2_map_get_address(m.map);

	char *src = malloc(16 * PG);
	CHECK(src != NULL);
	test_pattern(src, 16 * PG, 5);
	long before = minor_faults();
	CHECK_EQ(run(pmem2_memcpy_async(m.map, m.addr + 256 * PG, src, 16 * PG,
		0)), VDM_SUCCESS);
	CHECK(minor_faults() - before >= 16);	/* stored, page by page */
	check_bytes(&m, fd, 256 * PG, src, 16 * PG);
	check_clean(fd, 256 * PG, 16 * PG);
	free(src);
	close(fd);
	test_map_close(&m);
}

/* A sparse file on a full tmpfs: an error result instead of SIGBUS. */
static void
enospc(void)
{
	if (geteuid() != 0)
		SKIP("enospc: mounting a small tmpfs needs root");
	char dir[] = "/tmp/pmem2_async_enospc.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=256k") != 0) {
		int e = errno;
		rmdir(dir);
		SKIP("enospc: cannot mount a tmpfs: %s", strerror(e));
	}
	char path[sizeof(dir) + 16];
	snprintf(path, sizeof(path), "%s/f", dir);
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 4 << 20), 0);
	struct pmem2_map *map = map_fd(fd);
	char *addr = pmem2_map_get_address(map);

	size_t len = 1 << 20;	/* four times what the tmpfs holds */
	char *buf = malloc(len);
	CHECK(buf != NULL);
	test_pattern(buf, len, 3);
	CHECK_EQ(run(pmem2_memcpy_async(map, addr, buf, len, 0)),
		VDM_ERROR_IO);
	printf("memcpy into a full tmpfs: %s\n", pmem2_errormsg());
	CHECK(strstr(pmem2_errormsg(), strerror(ENOSPC)) != NULL);
	CHECK_EQ(run(pmem2_memset_async(map, addr + len, 1, len, 0)),
		VDM_ERROR_IO);
	/* what fitted is there (pread: a load from a hole would SIGBUS) */
	char *got = calloc(1, len);
	CHECK(got != NULL);
	CHECK(pread(fd, got, len, 0) >= 0);
	size_t fitted = 0;
	while (fitted < len && got[fitted] == buf[fitted])
		fitted++;
	printf("%zu bytes fitted\n", fitted);
	CHECK(fitted > 0 && fitted < len);

	free(got);
	free(buf);
	CHECK_PMEM2_OK(pmem2_map_delete(&map));
	close(fd);
	unlink(path);
	CHECK_EQ(umount(dir), 0);
	rmdir(dir);
}

int
main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "rlimit") == 0)
		rlimit_stores();
	else if (strcmp(mode, "enospc") == 0)
		enospc();
	else {
		both_paths();
		append_flag();
		read_only();
	}
	if (No_cachestat)
		SKIP("cachestat(2) is missing (ENOSYS): durability unchecked, "
			"everything else passed");
	return 0;
}
