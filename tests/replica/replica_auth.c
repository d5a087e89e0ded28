// SPDX-License-Identifier: BSD-3-Clause
/*
 * replica_auth.c -- the handshake: a wrong key is refused with a clear
 * error and the daemon keeps serving; key files others can read are
 * refused by the daemon and by the client; bad targets; the unsupported
 * sockets provider refused with a clear error by both ends.
 * Usage: replica_auth PMEM2-REPLICAD
 */
#include <libpmem2rep.h>

#include "rutil.h"

#define SIZE ((size_t)1 << 20)

static char keyp[256], badp[256], openp[256], datp[256], fifop[256];

static void
cleanup(void)
{
	unlink(keyp);
	unlink(badp);
	unlink(openp);
	unlink(datp);
	unlink(fifop);
}

int
main(int argc, char *argv[])
{
	if (argc != 2)
		FAIL("usage: replica_auth PMEM2-REPLICAD");
	rutil_need_fabric();
	int pid = (int)getpid();
	snprintf(keyp, sizeof(keyp), "%s/rep_auth_%d.key", test_dir(), pid);
	snprintf(badp, sizeof(badp), "%s/rep_auth_%d.bad", test_dir(), pid);
	snprintf(openp, sizeof(openp), "%s/rep_auth_%d.open", test_dir(), pid);
	snprintf(datp, sizeof(datp), "%s/rep_auth_%d.dat", test_dir(), pid);
	snprintf(fifop, sizeof(fifop), "%s/rep_auth_%d.fifo", test_dir(), pid);
	atexit(cleanup);
	rutil_key(keyp, 0600, 0x11);
	rutil_key(badp, 0600, 0x12);	/* differs in every byte */
	rutil_key(openp, 0644, 0x11);	/* the right key, but readable */
	rutil_file(datp, SIZE, 0);

	/* the daemon refuses a key file others can read or write */
	struct rutil_daemon d;
	CHECK_EQ(rutil_daemon_start(&d, argv[1], openp, datp), 1);
	CHECK(chmod(openp, 0604) == 0);
	CHECK_EQ(rutil_daemon_start(&d, argv[1], openp, datp), 1);
	CHECK(chmod(openp, 0620) == 0);
	CHECK_EQ(rutil_daemon_start(&d, argv[1], openp, datp), 1);
	/* a FIFO as the key file: refused at once, not waited on forever */
	CHECK(mkfifo(fifop, 0600) == 0);
	CHECK_EQ(rutil_daemon_start(&d, argv[1], fifop, datp), 1);

	CHECK_EQ(rutil_daemon_start(&d, argv[1], keyp, datp), 0);
	struct pmem2rep *rep = NULL;

	/* wrong key: refused, clearly */
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(pmem2rep_connect(&rep, d.target, badp), -EACCES);
		CHECK(rep == NULL);
		CHECK(strstr(pmem2rep_errormsg(), "refused the key") != NULL);
	}
	/* the client refuses a readable key file too, before connecting */
	CHECK(chmod(openp, 0644) == 0);
	CHECK_EQ(pmem2rep_connect(&rep, d.target, openp), -EPERM);
	CHECK(strstr(pmem2rep_errormsg(), "chmod 600") != NULL);
	char missing[300];
	snprintf(missing, sizeof(missing), "%s.missing", keyp);
	CHECK_EQ(pmem2rep_connect(&rep, d.target, missing), -ENOENT);
	CHECK(strstr(pmem2rep_errormsg(), "missing") != NULL);
	alarm(20);	/* the old code blocked in open() until a writer came */
	CHECK_EQ(pmem2rep_connect(&rep, d.target, fifop), -EINVAL);
	CHECK(strstr(pmem2rep_errormsg(), "not a regular file") != NULL);
	alarm(0);
	CHECK_EQ(pmem2rep_connect(&rep, "127.0.0.1", keyp), -EINVAL);
	CHECK_EQ(pmem2rep_connect(&rep, "127.0.0.1:x1", keyp), -EINVAL);
	CHECK_EQ(pmem2rep_connect(&rep, NULL, keyp), -EINVAL);
	CHECK_EQ(pmem2rep_connect(NULL, d.target, keyp), -EINVAL);
	/* ports outside 1..65535 are refused, not wrapped to another port */
	CHECK_EQ(pmem2rep_connect(&rep, "127.0.0.1:0", keyp), -EINVAL);
	CHECK_EQ(pmem2rep_connect(&rep, "127.0.0.1:65536", keyp), -EINVAL);
	CHECK_EQ(pmem2rep_connect(&rep, "127.0.0.1:99999999999999999999",
		keyp), -EINVAL);
	char wrap[300];
	unsigned long dport = strtoul(strrchr(d.target, ':') + 1, NULL, 10);
	snprintf(wrap, sizeof(wrap), "127.0.0.1:%lu", dport + 65536);
	CHECK_EQ(pmem2rep_connect(&rep, wrap, keyp), -EINVAL);
	CHECK(rep == NULL);
	/* a short key file */
	int fd = open(badp, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK(write(fd, "short", 5) == 5);
	close(fd);
	CHECK_EQ(pmem2rep_connect(&rep, d.target, badp), -EINVAL);
	CHECK(strstr(pmem2rep_errormsg(), "fewer than") != NULL);

	/* a huge PMEM2REP_TIMEOUT_MS is a long bound, not an instant one */
	const char *huge[] = { "4294967296000", "99999999999999999999" };
	for (unsigned i = 0; i < 2; i++) {
		CHECK(setenv("PMEM2REP_TIMEOUT_MS", huge[i], 1) == 0);
		int hr = pmem2rep_connect(&rep, d.target, keyp);
		if (hr)
			FAIL("PMEM2REP_TIMEOUT_MS=%s: connect: %d %s", huge[i],
				hr, pmem2rep_errormsg());
		CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	}
	CHECK(unsetenv("PMEM2REP_TIMEOUT_MS") == 0);

	/*
	 * libfabric's sockets provider rejects our connections in its own
	 * connection manager: both ends say so instead of "refused".
	 */
	struct fi_info *sh = fi_allocinfo(), *si = NULL;
	CHECK(sh != NULL);
	sh->ep_attr->type = FI_EP_MSG;
	sh->fabric_attr->prov_name = strdup("sockets");
	int have_sockets = fi_getinfo(FI_VERSION(1, 10), "127.0.0.1", "0",
		FI_SOURCE, sh, &si) == 0;
	fi_freeinfo(sh);
	fi_freeinfo(si);
	if (have_sockets) {
		const char *was = getenv("PMEM2REP_PROVIDER");
		char *saved = was ? strdup(was) : NULL;
		CHECK(setenv("PMEM2REP_PROVIDER", "sockets", 1) == 0);
		CHECK_EQ(pmem2rep_connect(&rep, d.target, keyp), -ENOTSUP);
		CHECK(strstr(pmem2rep_errormsg(), "sockets provider is not "
			"supported") != NULL);
		struct rutil_daemon sd;
		CHECK_EQ(rutil_daemon_start(&sd, argv[1], keyp, datp), 1);
		if (saved)
			CHECK(setenv("PMEM2REP_PROVIDER", saved, 1) == 0);
		else
			CHECK(unsetenv("PMEM2REP_PROVIDER") == 0);
		free(saved);
	} else {
		fprintf(stderr, "no sockets provider here: its check skipped\n");
	}

	/* after all that, the daemon still serves the right key */
	int r = pmem2rep_connect(&rep, d.target, keyp);
	if (r)
		FAIL("connect: %d %s", r, pmem2rep_errormsg());
	unsigned char buf[8192];
	test_pattern(buf, sizeof(buf), 9);
	struct vdm_operation_future f = pmem2rep_write_async(rep, 4096, buf,
		sizeof(buf), 0);
	FUTURE_BUSY_POLL(&f);
	CHECK_EQ(f.output.result, VDM_SUCCESS);
	CHECK_EQ(pmem2rep_disconnect(&rep), 0);
	unsigned char *got = rutil_read(datp, SIZE);
	CHECK_MEM(got + 4096, buf, sizeof(buf));
	for (size_t i = 0; i < 4096; i++)
		CHECK_EQ(got[i], 0);
	free(got);
	rutil_daemon_stop(&d);

	/* nobody listens there any more: an error, not a hang */
	uint64_t t0 = rutil_ms();
	r = pmem2rep_connect(&rep, d.target, keyp);
	CHECK(r < 0);
	CHECK(pmem2rep_errormsg()[0] != '\0');
	CHECK(rutil_ms() - t0 < 30000);
	return 0;
}
